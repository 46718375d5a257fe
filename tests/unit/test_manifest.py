"""app.yaml is how people create the Slack app: it must ask for what the code uses, no more."""

from pathlib import Path

import yaml

from bot.app import BOT_SCOPES
from handlers.backlog import SHORTCUT

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app.yaml").read_text())


def test_scopes_match_what_the_bot_requests_through_oauth():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_events_and_interactivity_reach_the_one_endpoint():
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "reaction_added", "reaction_removed", "message.channels", "message.groups",
        "app_uninstalled", "tokens_revoked", "user_change",
    }  # fmt: skip
    command = MANIFEST["features"]["slash_commands"][0]
    assert command["command"] == "/okr"
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        command["url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_the_message_shortcut_is_the_one_the_bot_listens_to():
    [shortcut] = MANIFEST["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", SHORTCUT)
    assert len(shortcut["name"]) <= 25 and len(shortcut["description"]) <= 80
