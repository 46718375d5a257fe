"""The 13-week calendar: which cycle a day belongs to, and the team's current cycle row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
from storage.models import Cycle, CycleState, Team

CYCLE_WEEKS = 13
CYCLE_DAYS = CYCLE_WEEKS * 7


@dataclass(frozen=True)
class CycleSpan:
    number: int  # counts from 1 at the team's cycle anchor
    starts_on: date
    ends_on: date  # exclusive: the next cycle's first day

    @property
    def last_day(self) -> date:
        return self.ends_on - timedelta(days=1)


def cycle_span(anchor: date, day: date) -> CycleSpan:
    """The cycle `day` falls in; before the anchor, the first cycle (teams draft ahead of their start)."""
    number = max(0, (day - anchor).days // CYCLE_DAYS)
    starts_on = anchor + timedelta(days=number * CYCLE_DAYS)
    return CycleSpan(number + 1, starts_on, starts_on + timedelta(days=CYCLE_DAYS))


def team_today(team: Team, now: datetime) -> date:
    """The date in the team's own time zone: a cycle turns over at the team's midnight."""
    return now.astimezone(ZoneInfo(team.timezone)).date()


def current_cycle(session: Session, *, team: Team, now: datetime) -> Cycle:
    """The team's cycle for today, created (in drafting state) the first time anyone needs it.

    Two requests creating it at once both end up with the one row: the unique (team, number) key decides.
    """
    span = cycle_span(team.cycle_anchor, team_today(team, now))
    query = select(Cycle).where(Cycle.team_id == team.id, Cycle.number == span.number)
    cycle = session.scalar(query)
    if cycle is None:
        insert_if_absent(
            session,
            Cycle.__table__,
            {
                "workspace_id": team.workspace_id,
                "team_id": team.id,
                "number": span.number,
                "starts_on": span.starts_on,
                "ends_on": span.ends_on,
                "state": CycleState.DRAFTING,
                "created_at": now,
            },
        )
        cycle = session.scalars(query).one()
    return cycle
