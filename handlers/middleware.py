"""Cross-cutting concerns: the database and the resolved workspace, put in the request context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import App, BoltContext, BoltResponse

from bot.rituals.workspaces import ensure_workspace
from storage.db import Database

LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")


def register(app: App, *, db: Database) -> None:
    def attach(body: dict, context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context["db"] = db
        slack_team_id = context.team_id or context.enterprise_id
        if slack_team_id:
            # a request that got through authorisation means the app is installed, unless it is
            # the very event saying it no longer is
            installed = body.get("event", {}).get("type") not in LIFECYCLE_EVENTS
            with db.transaction() as session:
                workspace = ensure_workspace(
                    session,
                    slack_team_id=slack_team_id,
                    enterprise_id=context.enterprise_id,
                    installed=installed,
                    now=now(),
                )
                context["workspace_id"] = workspace.id
        return next()

    app.use(attach)


def now() -> datetime:
    """The one clock listeners read (tests move it with freezegun)."""
    return datetime.now(UTC)
