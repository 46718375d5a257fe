"""Cross-cutting concerns: the request's workspace resolved, and the typed context every listener takes (`ctx`,
handlers/context.py) built once.

The workspace is read for every request but reactions, whose one transaction reads it itself (handlers/reactions.py):
nothing about an installation is cached in a process, so a workspace uninstalled through any replica is refused by
all of them from that moment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App, BoltContext, BoltResponse
from sqlalchemy import bindparam, select

from bot import clock
from bot.ack import Fallbacks, Reason, event_not_stored, form_refusal, json_answer
from bot.rituals.workspaces import ensure_workspace
from bot.slack import counted
from handlers.context import Context
from handlers.payload import slack_id
from handlers.replies import LoggedRespond, OnceRespond, ephemeral
from storage.db import UNAVAILABLE, Database, cause
from storage.models import Workspace

log = logging.getLogger(__name__)
LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")
# Events whose one transaction finds the workspace by its Slack id and checks it is installed
# (handlers/reactions.py): they are not read for here first. A reaction is the event Slack sends most.
SELF_CHECKED_EVENTS = ("reaction_added", "reaction_removed")
VOTE_WORKSPACE = "vote_slack_team_id"  # what such an event's context carries instead of `workspace_id`


def register(app: App, *, db: Database, fallbacks: Fallbacks, served: frozenset[str] | None = None) -> None:
    """`served`: with a single bot token, the Slack team (and enterprise) ids it was installed in; requests from
    anywhere else are refused. None when the installation store decides (OAuth)."""

    def attach(body: dict, context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context["db"] = db  # for the reactions, which read no workspace here and so get no `ctx`
        context["client"] = counted(context.client)  # Bolt's client for this request, its calls counted (/metrics)
        slack_team_id = context.team_id or context.enterprise_id
        if not isinstance(slack_team_id, str) or not 0 < len(slack_team_id) <= 32:
            return refused(body, "no_workspace")  # no workspace, or not one Slack would name: nothing is written
        named = {value for value in (context.team_id, context.enterprise_id) if isinstance(value, str)}
        if served is not None and not named & served:
            return refused(body, "other_workspace")
        event_type = body.get("event", {}).get("type")
        if event_type in SELF_CHECKED_EVENTS:
            context[VOTE_WORKSPACE] = slack_team_id
            return next()
        lifecycle = event_type in LIFECYCLE_EVENTS
        try:
            workspace_id, uninstalled = _workspace(db, slack_team_id, context.enterprise_id)
        except UNAVAILABLE as error:
            log.error("database unavailable", exc_info=error)
            return fallbacks.answer(body, Reason.DATABASE)
        if uninstalled and not lifecycle:
            return refused(body, "uninstalled")
        respond = None
        if context.response_url:
            context["respond"] = OnceRespond(
                response_url=context.response_url, proxy=context.client.proxy, ssl=context.client.ssl
            )
            respond = LoggedRespond(context["respond"])
        trigger_id = body.get("trigger_id")
        context["ctx"] = Context(
            db=db,
            client=context["client"],
            workspace_id=workspace_id,
            acting=context.user_id if slack_id(context.user_id) else None,
            channel_id=context.channel_id if slack_id(context.channel_id) else "",
            trigger_id=trigger_id if isinstance(trigger_id, str) else None,
            respond=respond,
        )
        return next()

    app.use(attach)


_INSTALLED = select(Workspace.__table__.c.id, Workspace.__table__.c.uninstalled_at).where(
    Workspace.__table__.c.slack_team_id == bindparam("slack_team_id")
)


def _workspace(db: Database, slack_team_id: str, enterprise_id: str | None) -> tuple[int, bool]:
    """(id, uninstalled) of the request's workspace. Usually a read: the row is written at install (or start-up).

    A request never marks a workspace installed again: only an install (OAuth) or a start with a working token
    does, so a request arriving after `app_uninstalled` cannot bring the bot back to life there.
    """
    with db.read() as session:
        found = session.execute(_INSTALLED, {"slack_team_id": slack_team_id}).first()
        if found is not None:
            return found.id, found.uninstalled_at is not None
    with db.transaction() as session:
        workspace = ensure_workspace(
            session, slack_team_id=slack_team_id, enterprise_id=enterprise_id, installed=False, now=now()
        )
        return workspace.id, workspace.uninstalled_at is not None


REFUSALS = {
    "no_workspace": "The OKR bot could not tell which Slack workspace this came from, so it did nothing.",
    "other_workspace": "This OKR bot is installed for another Slack workspace, so it did nothing here.",
    "uninstalled": "The OKR bot has been uninstalled from this workspace. Reinstall it to use it again: your "
    "teams and OKRs are still there.",
}


def refused(body: dict, why: str) -> BoltResponse:
    """A request the bot will not act on, answered so that Slack does not send it again; nothing is written."""
    log.info("a request was refused", extra={"why": why, "type": body.get("type")})
    if body.get("command"):
        return json_answer(ephemeral("error.j2", message=REFUSALS[why], usage=None))
    if body.get("type") == "view_submission":
        return json_answer(form_refusal(body.get("view"), REFUSALS[why]))
    return BoltResponse(status=200, body="")


def before_ack(work: Callable[..., None]) -> Callable[..., BoltResponse | None]:
    """Listener middleware that does an event's `work(event=, body=, context=)` before Slack is told the event
    arrived: what an acknowledged event changes is in the database before the ack, so a crash the next instant
    loses nothing. When the database cannot take it, Slack is answered 503 and sends the event again (its
    `event_id` keeps a redelivery from counting twice)."""

    def middleware(event: dict, body: dict, context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        try:
            work(event=event, body=body, context=context)
        except UNAVAILABLE as error:
            log.warning(
                "an event could not be stored: Slack will send it again",
                extra={"type": event.get("type"), "error": cause(error)},
            )
            return event_not_stored()
        return next()

    return middleware


def nothing_after_ack() -> None:
    """The listener of an event whose whole work is done before its ack (`before_ack`)."""


def now() -> datetime:
    """The one clock listeners read (bot/clock.py: the sandbox moves it, tests freeze it with freezegun)."""
    return clock.now()
