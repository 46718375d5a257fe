"""Cross-cutting concerns: the database and the resolved workspace, put in the request context."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App, BoltContext, BoltResponse
from sqlalchemy.exc import OperationalError

from bot import clock
from bot.render import render_message
from bot.rituals.workspaces import ensure_workspace, find_workspace
from storage.db import Database

log = logging.getLogger(__name__)
LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")


def register(app: App, *, db: Database) -> None:
    def attach(body: dict, context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context["db"] = db
        slack_team_id = context.team_id or context.enterprise_id
        if not isinstance(slack_team_id, str) or not 0 < len(slack_team_id) <= 32:
            return next()  # no workspace, or not one Slack would name: nothing is written for it
        # a request that got through authorisation means the app is installed, unless it is
        # the very event saying it no longer is
        installed = body.get("event", {}).get("type") not in LIFECYCLE_EVENTS
        try:
            context["workspace_id"] = _workspace_id(db, context, installed=installed)
        except OperationalError as error:
            log.error("database unavailable", exc_info=error)
            return unavailable(body)
        return next()

    app.use(attach)


def _workspace_id(db: Database, context: BoltContext, *, installed: bool) -> int:
    """Usually a read: the row is written at install (or start-up) and only changes on reinstall."""
    slack_team_id = context.team_id or context.enterprise_id
    with db.read() as session:
        workspace = find_workspace(session, slack_team_id=slack_team_id)
        if workspace is not None and not (installed and workspace.uninstalled_at is not None):
            return workspace.id
    with db.transaction() as session:
        workspace = ensure_workspace(
            session,
            slack_team_id=slack_team_id,
            enterprise_id=context.enterprise_id,
            installed=installed,
            now=now(),
        )
        return workspace.id


def unavailable(body: dict) -> BoltResponse:
    """Without its database the bot can do nothing safely: say so, and let Slack retry events."""
    if body.get("command"):
        message = {"response_type": "ephemeral", **render_message("unavailable.j2")}
        return BoltResponse(status=200, body=json.dumps(message), headers={"content-type": "application/json"})
    # Slack retries events answered with an error, so an event received during an outage is not lost
    return BoltResponse(status=503, body="")


def now() -> datetime:
    """The one clock listeners read (bot/clock.py: the sandbox moves it, tests freeze it with freezegun)."""
    return clock.now()
