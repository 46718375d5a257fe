"""Workspaces come into being on their first request and are marked, not erased, on uninstall."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.rituals.access import Actor, Need, require
from bot.rituals.events import record_event
from storage.claims import insert_if_absent
from storage.db import rows_matched
from storage.models import DashboardSession, Workspace
from storage.slack_tables import bots, installations


def find_workspace(session: Session, *, slack_team_id: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slack_team_id == slack_team_id))


def ensure_workspace(
    session: Session, *, slack_team_id: str, enterprise_id: str | None, installed: bool = True, now: datetime
) -> Workspace:
    """The workspace row for a Slack team, created on first sight; a reinstall clears the uninstall mark."""
    workspace = find_workspace(session, slack_team_id=slack_team_id)
    if workspace is None:
        insert_if_absent(
            session,
            Workspace.__table__,
            {"slack_team_id": slack_team_id, "enterprise_id": enterprise_id, "created_at": now},
        )
        workspace = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack_team_id)).one()
    elif installed and workspace.uninstalled_at is not None:
        workspace.uninstalled_at = None
        record_event(session, workspace_id=workspace.id, entity="workspace", action="reinstalled", now=now)
    return workspace


def mark_uninstalled(session: Session, *, workspace: Workspace, reason: str, now: datetime) -> None:
    """Keep the workspace's OKRs (a reinstall picks up where the team left off); stop acting for it, and end everyone's
    dashboard session (a reinstall does not bring them back)."""
    if workspace.uninstalled_at is None:
        workspace.uninstalled_at = now
        end_dashboard_sessions(session, workspace_id=workspace.id)
        record_event(
            session,
            workspace_id=workspace.id,
            entity="workspace",
            action="uninstalled",
            reason=reason,
            now=now,
        )


def set_dashboard(session: Session, *, workspace: Workspace, enabled: bool, actor: Actor, now: datetime) -> bool:
    """A workspace admin turns the workspace's web dashboard on or off; off ends every session at once. True when
    this changed the setting."""
    require(session, Need.ADMIN, actor, doing="turn the dashboard on or off for everyone")
    if workspace.dashboard_enabled == enabled:
        return False
    workspace.dashboard_enabled = enabled
    if not enabled:
        end_dashboard_sessions(session, workspace_id=workspace.id)
    action = "dashboard_on" if enabled else "dashboard_off"
    record_event(session, workspace_id=workspace.id, entity="workspace", action=action, actor=actor.user_id, now=now)
    return True


def end_dashboard_sessions(session: Session, *, workspace_id: int) -> int:
    """Sign everyone of a workspace out of the web dashboard (an uninstall, the dashboard turned off)."""
    return rows_matched(session, delete(DashboardSession).where(DashboardSession.workspace_id == workspace_id))


def purge_workspace(session: Session, *, slack_team_id: str) -> bool:
    """Delete a workspace, its installation tokens and, through ON DELETE CASCADE, every row it owns.

    True if there was anything to delete.
    """
    tokens = 0
    for table in (installations, bots):
        owned = (table.c.team_id == slack_team_id) | (table.c.enterprise_id == slack_team_id)
        tokens += rows_matched(session, delete(table).where(owned))
    deleted = rows_matched(session, delete(Workspace).where(Workspace.slack_team_id == slack_team_id))
    return deleted == 1 or tokens > 0
