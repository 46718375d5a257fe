"""Payloads for the three ways a listener answers: ack body, respond(), or a posted message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.errors import OkrError
from bot.render import render_message
from bot.slack import deliver

log = logging.getLogger(__name__)


def ephemeral(template: str, **context: Any) -> dict[str, Any]:
    return {"response_type": "ephemeral", **render_message(template, **context)}


def in_channel(template: str, **context: Any) -> dict[str, Any]:
    return {"response_type": "in_channel", **render_message(template, **context)}


def error_reply(error: OkrError) -> dict[str, Any]:
    return ephemeral("error.j2", message=error.message, usage=error.usage)


class OnceRespond(Respond):
    """Bolt's respond(), sending each reply once: Bolt's own webhook client sends a reply again after a dropped
    connection, which may come after Slack showed it (an in-channel announcement twice). This one waits out a 429
    (Slack did nothing) and retries nothing else; a reply that cannot reach Slack is logged, not raised, since
    what it reports has been done. Put in every request's context by handlers/middleware.py."""

    # None for a reply that could not reach Slack (logged), where Bolt's respond() raises
    def __call__(self, text: str | dict = "", **fields: Any) -> WebhookResponse | None:  # type: ignore[override]
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        message = _build_message(**text) if isinstance(text, dict) else _build_message(text=text, **fields)
        client = WebhookClient(
            url=self.response_url,
            proxy=self.proxy,
            ssl=self.ssl,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        try:
            return client.send_dict(message)
        except OSError as error:
            log.warning("a reply may not have reached Slack", extra={"error": type(error).__name__})
            return None


class LoggedRespond:
    """Bolt's respond(), but a reply Slack refuses, or that cannot reach it, is logged instead of vanishing."""

    def __init__(self, respond: Callable[..., Any]) -> None:
        self._respond = respond

    def __call__(self, **kwargs: Any) -> None:
        try:
            response = self._respond(**kwargs)
        except (OSError, ValueError) as error:  # Slack unreachable, or a response_url that is no URL
            log.warning("could not reply through the response_url", extra={"error": type(error).__name__})
            return
        if response is not None and response.status_code != 200:
            log.warning("slack refused a reply", extra={"status": response.status_code, "body": response.body[:200]})


def ephemeral_in(client: WebClient, *, channel: str, user: str) -> Callable[..., None]:
    """After a modal closes there is no response_url: problems reach the person as an ephemeral message."""

    def send(**reply: Any) -> None:
        payload = {k: v for k, v in reply.items() if k in ("text", "blocks")}
        deliver(client.chat_postEphemeral, channel=channel, user=user, **payload)

    return send
