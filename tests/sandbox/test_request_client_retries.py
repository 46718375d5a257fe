"""The request's client (bot.slack.web_client) against the fake Slack: slack-sdk's retry handlers as the bot
configures them. Every 5xx is retried (slack-sdk's ServerErrorRetryHandler alone retries 500 and 503), 429s are
waited out, and a client meant to send once retries neither."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack import web_client

METHOD = "conversations.info"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_retried_by_the_request_client(slack, status):
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token)
    slack.fail_next(METHOD, "internal_error", status=status)

    assert client.conversations_info(channel="C0ROCKET")["ok"]
    assert [call.status for call in slack.calls_to(METHOD)] == [status, 200]


def test_a_once_client_does_not_retry_a_5xx(slack):
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, resend=False)
    slack.fail_next(METHOD, "internal_error", status=502)

    with pytest.raises(SlackApiError):
        client.conversations_info(channel="C0ROCKET")
    assert len(slack.calls_to(METHOD)) == 1


def test_a_429_is_waited_out_and_counted(slack):
    from prometheus_client import REGISTRY

    def waited() -> float:
        return REGISTRY.get_sample_value("okr_slack_retry_after_seconds_total", {"method": METHOD}) or 0.0

    before = waited()
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, resend=False)
    slack.rate_limit_next(METHOD, retry_after=1)

    assert client.conversations_info(channel="C0ROCKET")["ok"]
    assert [call.status for call in slack.calls_to(METHOD)] == [429, 200]
    assert waited() - before == 1.0
