"""The driver against a tiny real Bolt app served by waitress: signed requests in, Slack effects out."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.sandbox import FakeSlack, SlackDriver
from bot.sandbox.driver import SlackRefused
from bot.web import BackgroundServer

SECRET = "sandbox-signing-secret"


def modal(title: str, *, callback_id: str = "goal", notify_on_close: bool = False) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "notify_on_close": notify_on_close,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "goal_block",
                "label": {"type": "plain_text", "text": "Goal"},
                "element": {"type": "plain_text_input", "action_id": "goal"},
            }
        ],
    }


VOTE_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Item 7"}},
    {
        "type": "actions",
        "block_id": "vote_block",
        "elements": [
            {
                "type": "button",
                "action_id": "vote",
                "value": "item-7",
                "text": {"type": "plain_text", "text": "Vote"},
            },
        ],
    },
]


def build_app(client: WebClient, seen: dict[str, list]) -> App:
    """A minimal bot: just enough listeners to observe what the driver sends and to answer like a bot."""
    app = App(client=client, signing_secret=SECRET)

    @app.command("/okr")
    def okr(ack, command, respond, client):
        seen["commands"].append(command)
        if command["text"] == "modal":
            ack()
            client.views_open(trigger_id=command["trigger_id"], view=modal("Draft"))
        elif command["text"] == "public":
            ack()
            respond(text="for everyone", response_type="in_channel")
        else:
            ack(f"you said: {command['text']}")

    @app.event("reaction_added")
    @app.event("reaction_removed")
    def reaction_changed(event, body, request):
        retry = request.headers.get("x-slack-retry-num")
        seen["events"].append({"event": event, "body": body, "retry": retry})

    @app.event("user_change")
    def user_change(event, body):
        seen["user_changes"].append({"event": event, "body": body})

    @app.event("app_home_opened")
    def home_opened(event, client):
        seen["homes"].append(event)
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": VOTE_BLOCKS[:1]})

    @app.action("vote")
    def vote(ack, body, respond):
        ack()
        seen["actions"].append(body)
        if body["container"]["type"] == "message":
            respond(replace_original=True, text="voted")

    @app.view("goal")
    def goal(ack, view):
        seen["submissions"].append(view)
        value = view["state"]["values"]["goal_block"]["goal"]["value"]
        if value == "bad":
            ack(response_action="errors", errors={"goal_block": "Say what changes for users"})
        elif value == "next":
            ack(response_action="update", view=modal("Step 2"))
        elif value == "more":
            ack(response_action="push", view=modal("Details"))
        elif value == "typo":
            ack(response_action="errors", errors={"goal_blok": "no such block"})
        elif value == "broken":
            ack(response_action="update", view=modal("A title far too long for Slack"))
        else:
            ack()

    @app.view_closed("goal")
    def closed(ack, body):
        ack()
        seen["closed"].append(body)

    @app.shortcut("save_idea")
    def save_idea(ack, shortcut):
        ack()
        seen["shortcuts"].append(shortcut)

    return app


@dataclass
class Sandbox:
    fake: FakeSlack
    driver: SlackDriver
    client: WebClient
    seen: dict[str, list]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with FakeSlack() as fake:
        fake.add_user("U1", "alice")
        fake.add_user("U2", "bob")
        fake.add_channel("C1", "okr-team", members=["U1", "U2"])
        client = WebClient(token=fake.workspace().bot_token, base_url=fake.api_url)
        seen: dict[str, list] = defaultdict(list)
        handler = SlackRequestHandler(build_app(client, seen))
        server = BackgroundServer(handler)
        url = f"http://127.0.0.1:{server.port}/slack/events"
        try:
            yield Sandbox(fake, SlackDriver(fake, bot_url=url, signing_secret=SECRET), client, seen)
        finally:
            server.stop()


def wait_until(condition, timeout: float = 5.0) -> None:
    """For effects of the bot's background work that are not Web API calls (listener bookkeeping)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# signatures -------------------------------------------------------------------------------------------------


def test_signed_command_reaches_the_app_with_slacks_fields(sandbox: Sandbox) -> None:
    result = sandbox.driver.command("list", user="U1", channel="C1")
    assert result.status == 200 and result.text == "you said: list"
    [command] = sandbox.seen["commands"]
    assert (command["command"], command["text"], command["user_id"], command["channel_id"]) == (
        "/okr",
        "list",
        "U1",
        "C1",
    )
    assert command["team_id"] == "T0SANDBOX" and command["user_name"] == "alice"
    assert command["channel_name"] == "okr-team" and command["api_app_id"] == "A0SANDBOX"
    assert command["response_url"].startswith(sandbox.fake.base_url + "/response/")
    assert command["trigger_id"]


def test_wrong_secret_or_stale_timestamp_gets_401(sandbox: Sandbox) -> None:
    body = b"command=%2Fokr&text=help&user_id=U1&channel_id=C1&team_id=T0SANDBOX"
    forged = SlackDriver(sandbox.fake, bot_url=sandbox.driver.bot_url, signing_secret="not-the-secret")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert sandbox.driver.send_raw(body, {**headers, **forged.sign(body)}).status == 401
    stale = sandbox.driver.sign(body, timestamp=int(time.time()) - 6 * 60)
    assert sandbox.driver.send_raw(body, {**headers, **stale}).status == 401
    assert sandbox.seen["commands"] == []
    assert sandbox.driver.send_raw(body, {**headers, **sandbox.driver.sign(body)}).status == 200


def test_sign_matches_slacks_scheme(sandbox: Sandbox) -> None:
    import hashlib
    import hmac

    headers = sandbox.driver.sign(b"a=1", timestamp=1700000000)
    expected = hmac.new(SECRET.encode(), b"v0:1700000000:a=1", hashlib.sha256).hexdigest()
    assert headers == {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": f"v0={expected}"}


# commands ---------------------------------------------------------------------------------------------------


def test_command_ack_text_is_shown_ephemerally(sandbox: Sandbox) -> None:
    sandbox.driver.command("hello", user="U1", channel="C1")
    assert [(e["channel"], e["user"], e["text"]) for e in sandbox.fake.ephemerals] == [("C1", "U1", "you said: hello")]
    assert sandbox.fake.messages("C1") == []


def test_command_response_url_in_channel_becomes_a_message(sandbox: Sandbox) -> None:
    sandbox.driver.command("public", user="U1", channel="C1")
    sandbox.fake.wait_for_response()
    assert [(m["text"], m["user"]) for m in sandbox.fake.messages("C1")] == [("for everyone", "U0BOT")]


# events -----------------------------------------------------------------------------------------------------


def test_react_updates_the_fake_then_delivers_reaction_added(sandbox: Sandbox) -> None:
    ts = sandbox.client.chat_postMessage(channel="C1", text="Item 7")["ts"]
    assert sandbox.driver.react("U1", "C1", ts, "rocket").status == 200
    assert sandbox.driver.react("U2", "C1", ts, "rocket").status == 200
    reactions = sandbox.fake.message("C1", ts)["reactions"]
    assert reactions == [{"name": "rocket", "users": ["U1", "U2"], "count": 2}]
    wait_until(lambda: len(sandbox.seen["events"]) == 2)
    first, second = sandbox.seen["events"]
    assert first["event"]["item"] == {"type": "message", "channel": "C1", "ts": ts}
    assert first["event"]["item_user"] == "U0BOT" and first["event"]["reaction"] == "rocket"
    assert first["body"]["event_id"] != second["body"]["event_id"]
    assert first["body"]["authorizations"][0]["user_id"] == "U0BOT"
    assert first["retry"] is None


def test_unreact_removes_the_reaction(sandbox: Sandbox) -> None:
    ts = sandbox.client.chat_postMessage(channel="C1", text="Item 8")["ts"]
    sandbox.driver.react("U1", "C1", ts, "x")
    assert sandbox.driver.unreact("U1", "C1", ts, "x").status == 200
    assert sandbox.fake.message("C1", ts)["reactions"] == []
    wait_until(lambda: len(sandbox.seen["events"]) == 2)
    assert sandbox.seen["events"][1]["event"]["type"] == "reaction_removed"


def test_event_retry_carries_slacks_headers_and_the_same_event_id(sandbox: Sandbox) -> None:
    ts = sandbox.client.chat_postMessage(channel="C1", text="Item 9")["ts"]
    event = {
        "type": "reaction_added",
        "user": "U1",
        "reaction": "one",
        "item": {"type": "message", "channel": "C1", "ts": ts},
    }
    sandbox.driver.event(event, event_id="EvSAME")
    sandbox.driver.event(event, event_id="EvSAME", retry_num=1)
    wait_until(lambda: len(sandbox.seen["events"]) == 2)
    assert [e["body"]["event_id"] for e in sandbox.seen["events"]] == ["EvSAME", "EvSAME"]
    assert [e["retry"] for e in sandbox.seen["events"]] == [None, ["1"]]


def test_open_home_sends_the_dm_channel_and_current_home(sandbox: Sandbox) -> None:
    sandbox.driver.open_home("U1")
    sandbox.fake.wait_for("views.publish")
    assert sandbox.fake.home("U1")["blocks"] == VOTE_BLOCKS[:1]
    sandbox.driver.open_home("U1")
    wait_until(lambda: len(sandbox.seen["homes"]) == 2)
    first, second = sandbox.seen["homes"]
    assert first["channel"] == sandbox.fake.dm_channel_id("U1") and first["tab"] == "home"
    assert "view" not in first and second["view"]["id"] == sandbox.fake.home("U1")["id"]


def test_user_changed_carries_the_user_object_as_it_is_when_sent(sandbox: Sandbox) -> None:
    sandbox.fake.set_user_zone("U1", "Asia/Tokyo")
    sandbox.fake.set_user_status("U1", "Off sick", ":face_with_thermometer:", expiration=1_900_000_000)
    assert sandbox.driver.user_changed("U1").status == 200
    sent = sandbox.fake.user("U1")
    sandbox.fake.set_user_deleted("U2")
    assert sandbox.driver.user_changed("U2", event_id="EvGONE").status == 200
    sandbox.fake.set_user_zone("U1", "UTC")  # a later change does not rewrite what was already sent
    wait_until(lambda: len(sandbox.seen["user_changes"]) == 2)
    first, second = sandbox.seen["user_changes"]
    assert first["event"]["type"] == "user_change" and first["event"]["user"] == sent
    assert (sent["tz"], sent["tz_offset"], sent["profile"]["status_expiration"]) == ("Asia/Tokyo", 32400, 1_900_000_000)
    assert isinstance(first["event"]["cache_ts"], int) and first["event"]["event_ts"]
    assert first["body"]["type"] == "event_callback" and first["body"]["team_id"] == "T0SANDBOX"
    assert first["body"]["api_app_id"] == "A0SANDBOX" and first["body"]["authorizations"][0]["user_id"] == "U0BOT"
    assert second["event"]["user"]["id"] == "U2" and second["event"]["user"]["deleted"] is True
    assert second["body"]["event_id"] == "EvGONE"


def test_user_changed_goes_to_the_users_own_workspace(sandbox: Sandbox) -> None:
    sandbox.fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    sandbox.fake.add_user("UOTHER", "dave", team_id="T2")
    assert sandbox.driver.user_changed("UOTHER").status == 200
    wait_until(lambda: sandbox.seen["user_changes"])
    [change] = sandbox.seen["user_changes"]
    assert change["body"]["team_id"] == "T2" and change["event"]["user"]["team_id"] == "T2"


# interactions -----------------------------------------------------------------------------------------------


def test_click_on_a_message_button_finds_the_block_and_respond_replaces_it(sandbox: Sandbox) -> None:
    ts = sandbox.client.chat_postMessage(channel="C1", text="Item 7", blocks=VOTE_BLOCKS)["ts"]
    assert sandbox.driver.click(user="U2", action_id="vote", channel="C1", ts=ts).status == 200
    sandbox.fake.wait_for_response()
    [body] = sandbox.seen["actions"]
    [action] = body["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "vote",
        "vote_block",
        "item-7",
        "button",
    )
    assert body["message"]["ts"] == ts and body["container"]["channel_id"] == "C1"
    assert body["user"]["id"] == "U2" and body["trigger_id"]
    assert sandbox.fake.message("C1", ts)["text"] == "voted"


def test_click_on_a_missing_element_is_a_test_error(sandbox: Sandbox) -> None:
    ts = sandbox.client.chat_postMessage(channel="C1", text="plain")["ts"]
    with pytest.raises(LookupError, match="vote"):
        sandbox.driver.click(user="U1", action_id="vote", channel="C1", ts=ts)


def open_modal(sandbox: Sandbox) -> str:
    sandbox.driver.command("modal", user="U1", channel="C1")
    sandbox.fake.wait_for("views.open")
    [view] = sandbox.fake.open_views("U1")
    return view["id"]


def typed(value: str) -> dict:
    return {"goal_block": {"goal": {"type": "plain_text_input", "value": value}}}


def test_submit_view_sends_state_and_applies_errors(sandbox: Sandbox) -> None:
    view_id = open_modal(sandbox)
    result = sandbox.driver.submit_view(view_id, user="U1", values=typed("bad"))
    errors = {"goal_block": "Say what changes for users"}
    assert result.json == {"response_action": "errors", "errors": errors}
    [submitted] = sandbox.seen["submissions"]
    assert submitted["id"] == view_id and submitted["state"]["values"] == typed("bad")
    assert submitted["callback_id"] == "goal" and submitted["hash"]
    assert sandbox.fake.view(view_id)["errors"] == {"goal_block": "Say what changes for users"}


def test_submit_view_update_push_and_close(sandbox: Sandbox) -> None:
    view_id = open_modal(sandbox)
    old_hash = sandbox.fake.view(view_id)["hash"]
    sandbox.driver.submit_view(view_id, user="U1", values=typed("next"))
    updated = sandbox.fake.view(view_id)
    assert updated["view"]["title"]["text"] == "Step 2" and updated["hash"] != old_hash

    sandbox.driver.submit_view(view_id, user="U1", values=typed("more"))
    stack = sandbox.fake.open_views("U1")
    assert [v["view"]["title"]["text"] for v in stack] == ["Step 2", "Details"]

    sandbox.driver.submit_view(stack[-1]["id"], user="U1", values=typed("done"))
    assert [v["id"] for v in sandbox.fake.open_views("U1")] == [view_id]
    sandbox.driver.submit_view(view_id, user="U1", values=typed("done"))
    assert sandbox.fake.open_views("U1") == [] and sandbox.fake.views == {}


def test_submit_view_refuses_what_slack_would_refuse(sandbox: Sandbox) -> None:
    view_id = open_modal(sandbox)
    with pytest.raises(SlackRefused, match="invalid_arguments"):
        sandbox.driver.submit_view(view_id, user="U1", values=typed("broken"))
    with pytest.raises(SlackRefused, match="goal_block"):
        sandbox.driver.submit_view(view_id, user="U1", values=typed("typo"))
    assert sandbox.fake.view(view_id)["view"]["title"]["text"] == "Draft"
    with pytest.raises(LookupError):
        sandbox.driver.submit_view("VNOTOPEN", user="U1", values=typed("x"))


def test_click_inside_a_modal_carries_the_view_and_its_state(sandbox: Sandbox) -> None:
    view = dict(modal("Vote"), blocks=[*modal("Vote")["blocks"], VOTE_BLOCKS[1]])
    view_id = sandbox.client.views_open(trigger_id=sandbox.fake.new_trigger_id("U1"), view=view)["view"]["id"]
    sandbox.driver.click(user="U1", action_id="vote", view_id=view_id)
    wait_until(lambda: sandbox.seen["actions"])
    [body] = sandbox.seen["actions"]
    assert body["container"] == {"type": "view", "view_id": view_id}
    assert body["view"]["id"] == view_id and "response_url" not in body


def test_close_view_notifies_only_when_asked(sandbox: Sandbox) -> None:
    quiet = sandbox.client.views_open(trigger_id=sandbox.fake.new_trigger_id("U1"), view=modal("Quiet"))
    assert sandbox.driver.close_view(quiet["view"]["id"], user="U1") is None
    loud = sandbox.client.views_open(
        trigger_id=sandbox.fake.new_trigger_id("U1"), view=modal("Loud", notify_on_close=True)
    )
    result = sandbox.driver.close_view(loud["view"]["id"], user="U1")
    assert result is not None and result.status == 200
    [closed] = sandbox.seen["closed"]
    assert closed["type"] == "view_closed" and closed["view"]["id"] == loud["view"]["id"]
    assert sandbox.fake.open_views("U1") == []


def test_message_shortcut_carries_the_message(sandbox: Sandbox) -> None:
    message = sandbox.fake.add_message("C1", "U2", "we should measure churn")
    result = sandbox.driver.message_shortcut("save_idea", user="U1", channel="C1", ts=message["ts"])
    assert result.status == 200
    wait_until(lambda: sandbox.seen["shortcuts"])
    [shortcut] = sandbox.seen["shortcuts"]
    assert shortcut["type"] == "message_action" and shortcut["message"]["text"] == "we should measure churn"
    assert shortcut["channel"]["id"] == "C1" and json.loads(json.dumps(shortcut))["response_url"]
