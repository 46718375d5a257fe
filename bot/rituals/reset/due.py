"""What the sweep finds due (bot/delivery/resets.py): teams at a cycle's end or its notice, each read through its
index, and the resets under way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import Cycle, Team


def cycle_numbered(session: Session, *, team: Team, number: int) -> Cycle | None:
    """The team's cycle row of that number, if it has one yet."""
    return session.scalar(select(Cycle).where(Cycle.team_id == team.id, Cycle.number == number))


def teams_at_cycle_end(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Teams whose cycle end has come (`teams.reset_at`), and teams never planned."""
    return _due_teams(session, Team.reset_at, now, limit)


def teams_due_notice(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Teams whose notice moment has come (`teams.reset_notice_at`), and teams never planned."""
    return _due_teams(session, Team.reset_notice_at, now, limit)


def _due_teams(
    session: Session, column: InstrumentedAttribute[datetime | None], now: datetime, limit: int
) -> list[int]:
    """Teams whose `column` has come, and those never planned (NULL), each read in its index's order: a query
    ordered otherwise would walk every team."""
    due = session.scalars(select(Team.id).where(column <= now).order_by(column).limit(limit)).all()
    unplanned = session.scalars(select(Team.id).where(column.is_(None)).limit(limit)).all()
    return list(dict.fromkeys([*due, *unplanned]))


def resets_under_way(session: Session) -> list[int]:
    """Every cycle whose reset has started and is not done, oldest first, through the partial index (ids only: a
    few per team resetting), so the ones waiting out their scoring never hide the others."""
    return list(
        session.scalars(
            select(Cycle.id)
            .where(Cycle.reset_started_at.is_not(None), Cycle.reset_done_at.is_(None))
            .order_by(Cycle.reset_started_at)
        )
    )
