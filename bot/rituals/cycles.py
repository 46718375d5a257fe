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

    def week_of(self, day: date) -> int:
        """The week of the cycle `day` falls in: 1 to 13, counted from the cycle's first day (whatever
        weekday that is); 0 before the cycle starts (a team drafting ahead of its first cycle)."""
        if day < self.starts_on:
            return 0
        if day >= self.ends_on:
            raise ValueError(f"{day} is after cycle {self.number}, which ends on {self.last_day}")
        return (day - self.starts_on).days // 7 + 1


@dataclass(frozen=True)
class CycleDay:
    """Where a moment falls in a team's calendar."""

    day: date  # the date in the team's time zone
    span: CycleSpan
    week: int  # 1–13; 0 before the first cycle starts


def cycle_day(anchor: date, timezone: str, moment: datetime) -> CycleDay:
    """The cycle, and week of it, that `moment` falls in for a team whose cycles start at `anchor` and whose
    days are those of `timezone`: cycles and weeks turn over at the team's midnight, so a daylight-saving
    change (a 23- or 25-hour day) neither skips nor doubles a day."""
    day = moment.astimezone(ZoneInfo(timezone)).date()
    span = cycle_span(anchor, day)
    return CycleDay(day, span, span.week_of(day))


def cycle_span(anchor: date, day: date) -> CycleSpan:
    """The cycle `day` falls in; before the anchor, the first cycle (teams draft ahead of their start)."""
    number = max(0, (day - anchor).days // CYCLE_DAYS)
    starts_on = anchor + timedelta(days=number * CYCLE_DAYS)
    return CycleSpan(number + 1, starts_on, starts_on + timedelta(days=CYCLE_DAYS))


def team_today(team: Team, now: datetime) -> date:
    """The date in the team's own time zone: a cycle turns over at the team's midnight."""
    return cycle_day(team.cycle_anchor, team.timezone, now).day


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
