"""The one place errors become replies: people see what went wrong, never a stack trace.

Listeners run after they ack, so their errors are caught here, in the listener, rather than left
to Bolt: when a listener raises just after acking, Bolt (1.30) can reset the ack it already
recorded and answer Slack 404. `replying_errors` keeps the ack and still tells the person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltResponse

from bot.ack import form_refusal
from bot.errors import OkrError
from handlers.replies import ephemeral, error_reply
from storage.db import UNAVAILABLE, RequestAbandoned

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.error(on_error)


def reply_for(error: Exception) -> dict[str, Any]:
    if isinstance(error, OkrError):
        return error_reply(error)
    if isinstance(error, UNAVAILABLE):
        log.error("database unavailable", exc_info=error)
        return ephemeral("unavailable.j2")
    log.error("unexpected error handling a Slack request", exc_info=error)
    return ephemeral("internal_error.j2")


@contextmanager
def replying_errors(respond: Callable[..., Any] | None) -> Iterator[None]:
    """Turn any error in the block into an ephemeral reply (or a log line when there is no one to tell)."""
    try:
        yield
    except RequestAbandoned:
        log.info("work of a request Slack was already answered for was rolled back")
    except Exception as error:  # every failure must reach the person, not Bolt
        reply = reply_for(error)
        if respond is not None:
            respond(replace_original=False, **reply)


def on_error(error: Exception, body: dict[str, Any], respond=None, response: BoltResponse | None = None) -> None:
    """Errors Bolt itself caught: in middleware, or before a listener acked."""
    if isinstance(error, RequestAbandoned):
        log.info("work of a request Slack was already answered for was rolled back")
        return
    reply = reply_for(error)
    if body.get("type") == "view_submission" and response is not None:
        # a form whose save failed before it was answered (the database went away mid-save): the form stays open
        # with everything typed in it, the reason next to its first field, to submit again
        response.status = 200
        response.body = json.dumps(form_refusal(body.get("view"), reply["text"]))
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        return
    if respond is not None:
        respond(replace_original=False, **reply)
