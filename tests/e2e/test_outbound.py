"""Slack's refusals and rate limits are outcomes the bot handles, never crashes."""

from __future__ import annotations

import pytest

from bot.slack import Outcome, deliver, web_client
from tests.helpers import flatten


def test_a_private_channel_the_bot_cannot_join_gets_an_invite_hint(driver, slack):
    driver.command("team create Secret", user="U0ADA", channel="G0SECRET")
    text = flatten(slack.wait_for_response()["body"])
    assert "created the team *Secret*" in text
    assert "/invite @okr-bot" in text


def test_a_rate_limited_call_is_retried_after_retry_after(driver, slack):
    slack.rate_limit_next("conversations.join", retry_after=1)
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    text = flatten(slack.wait_for_response(timeout=10)["body"])
    assert "/invite" not in text  # the second attempt joined the channel
    joins = slack.calls_to("conversations.join")
    assert [c.status for c in joins] == [429, 200]
    assert joins[1].at - joins[0].at >= 0.9


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        ("cannot_dm_bot", Outcome.TARGET_UNREACHABLE),
        ("user_not_found", Outcome.TARGET_UNREACHABLE),
        ("is_archived", Outcome.TARGET_UNREACHABLE),
        ("account_inactive", Outcome.INSTALLATION_DEAD),
        ("invalid_auth", Outcome.INSTALLATION_DEAD),
        ("internal_error", Outcome.FAILED),
    ],
)
def test_slack_errors_become_outcomes(slack, error, outcome):
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token)
    slack.fail_next("chat.postMessage", error)
    delivery = deliver(client.chat_postMessage, channel="C0ROCKET", text="hello")
    assert (delivery.outcome, delivery.error) == (outcome, error)
    assert deliver(client.chat_postMessage, channel="C0ROCKET", text="hello").ok


def test_a_5xx_is_retried(slack):
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token)
    slack.fail_next("chat.postMessage", "internal_error", status=503)
    assert deliver(client.chat_postMessage, channel="C0ROCKET", text="hello").ok
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [503, 200]


def test_a_form_slack_refuses_to_open_is_explained(driver, slack):
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    slack.wait_for_response()
    slack.fail_next("views.open", "expired_trigger_id")
    driver.command("team settings", user="U0ADA", channel="C0ROCKET")
    text = flatten(slack.wait_for_response(count=2)["body"])
    assert "would not open the settings form (expired_trigger_id)" in text
