"""Requests no listener can act on: nobody named as the actor, or a button, form or shortcut the bot no longer has.

Slack sends back what the bot once drew: a message from an older version of the bot keeps its buttons, and a form
left open over a deploy is still submitted. Bolt answers a request no listener matches with a 404, which Slack
shows as "the app did not respond" (and retries, for an event); here such a request is answered in time instead, and
the person is told that what they used is out of date. A request that does not say who acted is refused before any
listener runs, so every listener can read `body["user"]["id"]` as a Slack user id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond

from bot.ack import json_answer
from bot.render import render_view
from handlers.payload import NOBODY, mapping, slack_id
from handlers.replies import LoggedRespond, ephemeral

log = logging.getLogger(__name__)
ANYTHING = re.compile(r"")
# what people do in Slack that names them as `body.user`
ACTED = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion")
OLD_BUTTON = "This button is out of date: the OKR bot no longer has it. Run the command again for a fresh one."
OLD_FORM = "This form is out of date: the OKR bot no longer has it. Close it and start again from the command."
OLD_SHORTCUT = "This shortcut is out of date: the OKR bot no longer has it."


def register(app: App) -> None:
    """After every other listener: the middleware runs before them, the fallbacks only when none matched."""
    app.use(actor_named)
    app.action(ANYTHING)(on_old_button)
    app.view_submission(ANYTHING)(on_old_form)
    app.view_closed(ANYTHING)(on_closed)
    app.shortcut(ANYTHING)(on_old_shortcut)
    app.options(ANYTHING)(on_options)
    app.event(ANYTHING)(on_other_event)


def actor_named(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
    """An interaction whose `user.id` is not a Slack user id is refused: there is nobody to act for."""
    if body.get("type") not in ACTED or slack_id(mapping(body, "user").get("id")):
        return next()
    log.info("an interaction naming no user was refused", extra={"type": body.get("type")})
    if body.get("type") == "view_submission":
        answer = {"response_action": "update", "view": render_view("modal_error.j2", title="OKR bot", message=NOBODY)}
        return json_answer(answer)
    return BoltResponse(status=200, body="")


def on_old_button(ack: Ack, body: dict[str, Any], respond: Respond | None = None) -> None:
    ack()
    log.info("a button the bot no longer has was used", extra={"action": _first_action(body)})
    if body.get("response_url") and respond is not None:
        LoggedRespond(respond)(replace_original=False, **ephemeral("error.j2", message=OLD_BUTTON, usage=None))


def on_old_form(ack: Ack, view: dict[str, Any]) -> None:
    log.info("a form the bot no longer has was submitted", extra={"callback": str(view.get("callback_id"))[:80]})
    ack(response_action="update", view=render_view("modal_error.j2", title="OKR bot", message=OLD_FORM))


def on_closed(ack: Ack) -> None:
    ack()


def on_old_shortcut(ack: Ack, body: dict[str, Any], respond: Respond | None = None) -> None:
    ack()
    log.info("a shortcut the bot no longer has was used", extra={"callback": str(body.get("callback_id"))[:80]})
    if body.get("response_url") and respond is not None:
        LoggedRespond(respond)(replace_original=False, **ephemeral("error.j2", message=OLD_SHORTCUT, usage=None))


def on_options(ack: Ack) -> None:
    """The bot draws no select whose options it serves: nothing to offer."""
    ack(options=[])


def on_other_event(event: dict[str, Any]) -> None:
    """An event the bot is not subscribed to, or one it ignores: acknowledged, so that Slack does not send it
    again."""


def _first_action(body: dict[str, Any]) -> str:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    return str(first.get("action_id"))[:80]
