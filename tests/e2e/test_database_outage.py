"""Without a reachable database the bot answers politely and lets Slack retry what it cannot take."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

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
        assert json.loads(response.read()) == {"ok": True, "database": "ok"}
