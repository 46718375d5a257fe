"""Without a reachable database the bot answers politely and lets Slack retry what it cannot take."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient

from bot.sandbox import SlackDriver
from bot.web import EVENTS_PATH
from storage.db import Database
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.helpers import flatten


@pytest.fixture
def unreachable(slack, tmp_path):
    url = f"sqlite:///{tmp_path}/missing-dir/okr.db"  # the directory does not exist: SQLite cannot open it
    db = Database(url)
    running, stop = serve_bot(sandbox_settings(slack, url), db)
    yield running, SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    stop()
    db.dispose()


def test_commands_get_a_polite_ephemeral_answer(unreachable, slack):
    _running, driver = unreachable
    result = driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    assert result.status == 200
    assert result.json["response_type"] == "ephemeral"
    assert "can't reach its database" in flatten(result.json)


def test_events_are_refused_so_slack_retries_them(unreachable):
    _running, driver = unreachable
    assert driver.open_home("U0ADA").status == 503


def test_health_check_reports_the_database(unreachable):
    running, _driver = unreachable
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(running.url + "/healthz", timeout=5)
    assert error.value.code == 503
    assert json.loads(error.value.read()) == {"ok": False, "database": "unreachable"}


def test_health_check_is_ok_with_the_database_up(bot):
    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True, "database": "ok", "migrations": "ok"}


def test_a_click_is_told_in_the_conversation_and_a_form_keeps_what_was_typed(unreachable, slack):
    """SQLite the bot cannot open: a button and a form the person had in front of them from before."""
    _running, driver = unreachable
    button = {"type": "button", "action_id": "checkin_open", "value": "1", "text": {"type": "plain_text", "text": "Go"}}
    message = slack.add_message("C0ROCKET", "U0ADA", "Check in", blocks=[{"type": "actions", "elements": [button]}])
    clicked = driver.click(user="U0BEN", action_id="checkin_open", value="1", channel="C0ROCKET", ts=message["ts"])
    assert clicked.status == 200 and clicked.elapsed < 3.0, clicked
    told = slack.wait_for_response(lambda r: "can't reach its database" in flatten(r["body"]), timeout=5)
    assert told["body"]["response_type"] == "ephemeral"

    form = {
        "type": "modal",
        "callback_id": "checkin",
        "title": {"type": "plain_text", "text": "Check in"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "value",
                "label": {"type": "plain_text", "text": "Value"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    client = WebClient(token=slack.workspace().bot_token, base_url=slack.api_url)
    view_id = client.views_open(trigger_id=slack.new_trigger_id("U0BEN"), view=form)["view"]["id"]
    typed = {"value": {"value": {"type": "plain_text_input", "value": "42"}}}
    submitted = driver.submit_view(view_id, user="U0BEN", values=typed)
    assert submitted.status == 200 and submitted.elapsed < 3.0, submitted
    assert submitted.json["response_action"] == "errors"
    assert "can't reach its database" in submitted.json["errors"]["value"]
    assert [v["id"] for v in slack.open_views("U0BEN")] == [view_id]  # still open, with what was typed


def test_a_button_inside_a_form_is_told_on_a_form_stacked_on_top(unreachable, slack):
    _running, driver = unreachable
    form = {
        "type": "modal",
        "callback_id": "draft_key_results",
        "title": {"type": "plain_text", "text": "Draft"},
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "draft_kr_add", "text": {"type": "plain_text", "text": "Add"}}
                ],
            }
        ],
    }
    client = WebClient(token=slack.workspace().bot_token, base_url=slack.api_url)
    view_id = client.views_open(trigger_id=slack.new_trigger_id("U0BEN"), view=form)["view"]["id"]

    clicked = driver.click(user="U0BEN", action_id="draft_kr_add", view_id=view_id)

    assert clicked.status == 200 and clicked.elapsed < 3.0, clicked
    pushed = slack.wait_for("views.push", timeout=5)
    assert pushed.ok and "can't reach its database" in flatten(pushed.args["view"])
    stack = [v["id"] for v in slack.open_views("U0BEN")]
    assert stack == [view_id, pushed.response["view"]["id"]]  # the form underneath, as it was
