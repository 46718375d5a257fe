"""Reading what people typed into a modal: Slack's view state, one string per input block."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.errors import OkrError
from bot.slack import Delivery, deliver
from handlers.errors import form_answer, message_for, modal_for
from handlers.payload import mapping, row_id, text

log = logging.getLogger(__name__)
T = TypeVar("T")
STALE = "This form is out of date. Open it again from the message."

# where each kind of element keeps its value in `view.state.values`
_VALUE_KEYS = ("value", "selected_user", "selected_conversation", "selected_channel", "selected_date")


def element_value(element: object) -> str | None:
    """The value of one input element, whatever kind it is (text, select, user, channel, date); None for an
    element left empty, or one whose value is not the string Slack sends."""
    if not isinstance(element, dict):
        return None
    if "selected_option" in element:
        return text(mapping(element, "selected_option"), "value")
    for key in _VALUE_KEYS:
        if key in element:
            return text(element, key)
    return None


def form_fields(view: dict[str, Any]) -> dict[str, str | None]:
    """{block_id: typed string} for every input block Slack reported in the view's state."""
    fields: dict[str, str | None] = {}
    for block_id, elements in state_values(view).items():
        for element in elements.values() if isinstance(elements, dict) else ():
            fields[block_id] = element_value(element)
    return fields


def state_values(view: object) -> dict[str, Any]:
    """`view.state.values`: {block_id: {action_id: element}}, or {} when Slack sent something else."""
    return mapping(mapping(view, "state"), "values")


def refuse(
    error: Exception, *, body: dict[str, Any], respond: Callable[..., Any] | None, client: WebClient, title: str
) -> None:
    """A button's refusal: in reply to the message clicked, or, for a button with no message to answer in (the
    App Home's), as a form."""
    if body.get("response_url") and respond is not None:
        respond(replace_original=False, **message_for(error))
        return
    deliver(client.views_open, trigger_id=body.get("trigger_id"), view=modal_for(error, title))


def open_form(
    body: dict[str, Any],
    respond: Callable[..., Any] | None,
    client: WebClient,
    title: str,
    build: Callable[[], dict[str, Any]],
) -> None:
    """Open the form `build()` returns (the trigger works for 3 seconds: build it from a read, then open at
    once), or tell the person why not."""
    try:
        view = build()
    except Exception as error:  # the refusal must reach the person, not Bolt
        refuse(error, body=body, respond=respond, client=client, title=title)
        return
    opened = deliver(client.views_open, trigger_id=body.get("trigger_id"), view=view)
    tell_if_not_opened(opened, body=body, respond=respond)


def tell_if_not_opened(opened: Delivery, *, body: dict[str, Any], respond: Callable[..., Any] | None) -> None:
    """A form Slack would not open (its trigger expired, or Slack kept failing): say so where the person clicked,
    so the click is not silently lost."""
    if opened.ok:
        return
    if body.get("response_url") and respond is not None:
        failure = OkrError(f"Slack would not open the form ({opened.error}). Please click the button again.")
        respond(replace_original=False, **message_for(failure))
        return
    log.warning("a form could not be opened", extra={"error": opened.error})


def checked(ack: Ack, title: str, save: Callable[[], T]) -> T | None:
    """Run a form's `save()` before the form closes: a field's mistake is shown next to it, any other refusal
    replaces the form with its reason, and nothing is written (handlers/errors.py's `form_answer`). Any other
    failure (the database, a bug) goes on to Bolt's error handler, `handlers.errors.on_error`, which logs it and
    keeps the form open with what was typed. Returns what `save` returned, or None (acked)."""
    try:
        return save()
    except OkrError as error:
        ack(**form_answer(error, None, title=title))
    return None


def number_of(raw: object) -> int:
    """A row's id that a form or its button carries (handlers/payload.py); anything else: the form is out of date."""
    return row_id(raw, stale=STALE)
