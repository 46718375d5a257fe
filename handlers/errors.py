"""The one place errors become replies: people see what went wrong, never a stack trace.

One mapping, from the error hierarchy (bot/errors.py) to what each surface shows:
- `words_for(error)`: the sentence, for every surface. An `OkrError` (a `Stale` payload included) says its own
  words; a database that cannot be reached says so and is logged; anything else is a programming error, logged
  as an error with its traceback and shown as "something went wrong on the bot's side", never as a form out of
  date.
- `message_for(error)`: an ephemeral message, where the person typed or clicked (`replying_errors`).
- `form_answer(error, view)`: the answer to a form's submission. A field's mistake goes under the field, the
  form's other refusals replace it with their reason; a failure that is not theirs keeps the form open with
  everything typed in it, the reason under its first field.
- `modal_for(error, title)`: a small form, for a click on the App Home, which has no message to answer in.

Listeners run after they ack, so their errors are caught here, in the listener, rather than left to Bolt: when a
listener raises just after acking, Bolt (1.30) can reset the ack it already recorded and answer Slack 404.
`replying_errors` keeps the ack and still tells the person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltResponse, Respond

from bot.ack import form_refusal
from bot.errors import InvalidFields, OkrError
from bot.render import render_view
from handlers.replies import ephemeral, error_reply
from storage.db import UNAVAILABLE, RequestAbandoned

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.error(on_error)


def message_for(error: Exception) -> dict[str, Any]:
    """An ephemeral message saying what went wrong (the surface of commands and clicked messages)."""
    if isinstance(error, OkrError):
        return error_reply(error)
    if isinstance(error, UNAVAILABLE):
        log.error("database unavailable", exc_info=error)
        return ephemeral("unavailable.j2")
    log.error("unexpected error handling a Slack request", exc_info=error)
    return ephemeral("internal_error.j2")


def words_for(error: Exception) -> str:
    """The sentence for any surface; the same words `message_for` sends (and logs the same way)."""
    if isinstance(error, OkrError):
        return error.message
    return str(message_for(error)["text"])


def form_answer(error: Exception, view: object, *, title: str, first_field: str | None = None) -> dict[str, Any]:
    """What a form's submission is answered with (the ack's fields) when saving it failed. A refusal about the
    whole form replaces it with its reason, or, with `first_field`, is shown under that field so that nothing
    typed is lost (the drafting forms)."""
    if isinstance(error, InvalidFields):
        return {"response_action": "errors", "errors": error.fields}
    block_id = getattr(error, "block_id", None)
    if isinstance(error, OkrError) and isinstance(block_id, str):  # a refusal that belongs under one field
        return {"response_action": "errors", "errors": {block_id: error.message}}
    if isinstance(error, OkrError) and first_field:
        return {"response_action": "errors", "errors": {first_field: error.message}}
    if isinstance(error, OkrError):
        return {"response_action": "update", "view": modal_for(error, title)}
    return form_refusal(view, words_for(error))  # not their mistake: keep what they typed, to submit again


def modal_for(error: Exception, title: str) -> dict[str, Any]:
    """A small form saying what went wrong."""
    return render_view("modal_error.j2", title=title, message=words_for(error))


@contextmanager
def replying_errors(respond: Callable[..., Any] | None) -> Iterator[None]:
    """Turn any error in the block into an ephemeral reply (or a log line when there is no one to tell)."""
    try:
        yield
    except RequestAbandoned:
        log.info("work of a request Slack was already answered for was rolled back")
    except Exception as error:  # every failure must reach the person, not Bolt
        reply = message_for(error)
        if respond is not None:
            respond(replace_original=False, **reply)


def on_error(
    error: Exception, body: dict[str, Any], respond: Respond | None = None, response: BoltResponse | None = None
) -> None:
    """Errors Bolt itself caught: in middleware, or before a listener acked."""
    if isinstance(error, RequestAbandoned):
        log.info("work of a request Slack was already answered for was rolled back")
        return
    if body.get("type") == "view_submission" and response is not None:
        # a form whose save failed before it was answered (the database went away mid-save): the form stays open
        # with everything typed in it, the reason next to its first field, to submit again
        response.status = 200
        response.body = json.dumps(form_refusal(body.get("view"), message_for(error)["text"]))
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        return
    reply = message_for(error)
    if respond is not None:
        respond(replace_original=False, **reply)
