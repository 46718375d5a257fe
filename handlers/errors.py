"""The one place errors become replies: people see what went wrong, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from sqlalchemy.exc import OperationalError

from bot.errors import OkrError
from handlers.replies import ephemeral, error_reply

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.error(on_error)


def on_error(error: Exception, body: dict[str, Any], respond=None) -> None:
    if isinstance(error, OkrError):
        reply = error_reply(error)
    elif isinstance(error, OperationalError):
        log.error("database unavailable", exc_info=error)
        reply = ephemeral("unavailable.j2")
    else:
        log.exception("unexpected error handling a Slack request", extra={"type": body.get("type")})
        reply = ephemeral("internal_error.j2")
    if respond is not None:
        respond(replace_original=False, **reply)
