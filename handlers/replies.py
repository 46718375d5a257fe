"""Payloads for the three ways a listener answers: ack body, respond(), or a posted message."""

from __future__ import annotations

from typing import Any

from bot.errors import OkrError
from bot.render import render_message


def ephemeral(template: str, **context: Any) -> dict[str, Any]:
    return {"response_type": "ephemeral", **render_message(template, **context)}


def in_channel(template: str, **context: Any) -> dict[str, Any]:
    return {"response_type": "in_channel", **render_message(template, **context)}


def error_reply(error: OkrError) -> dict[str, Any]:
    return ephemeral("error.j2", message=error.message, usage=error.usage)
