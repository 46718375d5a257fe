"""When a workspace's digest goes out (a weekday and an hour in its digest time zone), and what the sweep reads and
writes around a week's posting (bot/delivery/digests.py): the workspaces due, the week's messages kept as first
built (`keep_week`), the week moved on by one process (`move_digest_on`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
from storage.db import rows_matched
from storage.models import DigestSnapshot, Workspace

WEEK = timedelta(days=7)


def next_digest_at(workspace: Workspace, after: datetime) -> datetime:
    """The first digest moment (weekday and hour in the workspace's digest time zone) strictly after `after`."""
    zone = ZoneInfo(workspace.digest_timezone)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(workspace.digest_weekday - local.weekday()) % 7)
    for _ in range(3):
        moment = datetime(day.year, day.month, day.day, workspace.digest_hour, tzinfo=zone)
        if moment > after:
            return moment.astimezone(after.tzinfo)
        day += WEEK
    raise AssertionError("a digest moment is always within three weeks")


def latest_digest_at(workspace: Workspace, now: datetime) -> datetime:
    """The last digest moment at or before `now`: after downtime, only the latest week is sent."""
    moment = next_digest_at(workspace, now - WEEK - timedelta(hours=2))  # a week is 7 days ± 1 hour across DST
    while (following := next_digest_at(workspace, moment)) <= now:
        moment = following
    return moment


def previous_digest_at(workspace: Workspace, moment: datetime) -> datetime:
    """The digest moment before `moment`: a week's digest covers [previous, moment), which is 167 or 169 hours
    across a change of clocks, so no hour is left out or told twice."""
    return latest_digest_at(workspace, moment - timedelta(seconds=1))


def digests_due(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Workspaces whose digest moment has come (`workspaces.digest_due_at`, indexed), earliest first."""
    query = select(Workspace.id).where(Workspace.digest_due_at <= now).order_by(Workspace.digest_due_at)
    return list(session.scalars(query.limit(limit)))


def digests_unplanned(session: Session, *, limit: int) -> list[int]:
    """Workspaces whose first digest moment is not planned yet."""
    return list(session.scalars(select(Workspace.id).where(Workspace.digest_due_at.is_(None)).limit(limit)))


def plan_first_digest(session: Session, *, workspace_id: int, now: datetime) -> None:
    workspace = session.get_one(Workspace, workspace_id)
    if workspace.digest_due_at is None:
        workspace.digest_due_at = next_digest_at(workspace, now)


def move_digest_on(session: Session, *, workspace: Workspace, read: datetime, now: datetime) -> bool:
    """Plan the next week's digest, unless another process moved it on since it was `read`; True for the one
    process that moves it."""
    moved = rows_matched(
        session,
        update(Workspace)
        .where(Workspace.id == workspace.id, Workspace.digest_due_at == read)
        .values(digest_due_at=next_digest_at(workspace, now)),
    )
    return moved == 1


def keep_week(
    session: Session, *, workspace_id: int, week: str, messages: list[dict[str, Any]], created_at: datetime
) -> list[dict[str, Any]]:
    """The week's messages as first built (`digest_snapshots`): these `messages` unless another try kept its own,
    so a retry posts the same parts even if the news moved meanwhile."""
    values = {"workspace_id": workspace_id, "week": week, "messages": messages, "created_at": created_at}
    insert_if_absent(session, DigestSnapshot.__table__, values)
    return session.execute(
        select(DigestSnapshot.messages).where(DigestSnapshot.workspace_id == workspace_id, DigestSnapshot.week == week)
    ).scalar_one()
