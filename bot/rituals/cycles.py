"""The 13-week calendar: which cycle a day belongs to, and the team's current cycle row.

A team's calendar is its anchor: cycle `anchor_cycle` starts on `cycle_anchor` and every later one 13 weeks
after the one before. Two things move it on without rewriting a cycle that has begun:
- a reset closes cycle N (`closed_through`): from then on the team is in cycle N+1, drafting it ahead of
  its first day if N closed early;
- a new start chosen while a cycle runs waits for that cycle's end (`next_cycle_anchor`); the reset then
  makes it the anchor of the next cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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

    def week_on(self, day: date) -> int:
        """The week of the cycle `/okr list` shows on `day`: 0 before the cycle starts, at most 13 (the days after
        its last day, while its reset runs, are still its last week)."""
        if day < self.starts_on:
            return 0
        return min(CYCLE_WEEKS, (day - self.starts_on).days // 7 + 1)


@dataclass(frozen=True)
class CycleDay:
    """Where a moment falls in a team's calendar."""

    day: date  # the date in the team's time zone
    span: CycleSpan
    week: int  # 1–13; 0 before the first cycle starts


def cycle_day(
    anchor: date, timezone: str, moment: datetime, *, anchor_cycle: int = 1, closed_through: int = 0
) -> CycleDay:
    """The cycle, and week of it, that `moment` falls in for a team whose cycle `anchor_cycle` starts at
    `anchor` and whose days are those of `timezone`: cycles and weeks turn over at the team's midnight, so a
    daylight-saving change (a 23- or 25-hour day) neither skips nor doubles a day."""
    day = moment.astimezone(ZoneInfo(timezone)).date()
    span = cycle_span(anchor, day, anchor_cycle=anchor_cycle, closed_through=closed_through)
    return CycleDay(day, span, span.week_of(day))


def cycle_span(anchor: date, day: date, *, anchor_cycle: int = 1, closed_through: int = 0) -> CycleSpan:
    """The cycle `day` falls in. Before the anchor, the anchor's cycle: a team drafts ahead of its start.
    A cycle already closed is behind the team: `day` then belongs to the first cycle not closed, which
    starts on its own calendar date (week 0 until then)."""
    number = anchor_cycle + max(0, (day - anchor).days // CYCLE_DAYS)
    number = max(number, closed_through + 1)
    starts_on = anchor + timedelta(days=(number - anchor_cycle) * CYCLE_DAYS)
    return CycleSpan(number, starts_on, starts_on + timedelta(days=CYCLE_DAYS))


def span_on(team: Team, day: date, *, skip_closed: bool = True) -> CycleSpan:
    """The team's cycle on `day` (a date in the team's zone); `skip_closed=False`: by the dates alone, closed
    or not (the reset uses it to find the cycle that has just ended)."""
    closed = (team.closed_through or 0) if skip_closed else 0
    return cycle_span(team.cycle_anchor, day, anchor_cycle=team.anchor_cycle or 1, closed_through=closed)


def team_span(team: Team, now: datetime) -> CycleSpan:
    """The team's current cycle: today's by the calendar, or the next one once today's is closed."""
    return span_on(team, team_today(team, now))


def team_today(team: Team, now: datetime) -> date:
    """The date in the team's own time zone: a cycle turns over at the team's midnight."""
    return now.astimezone(ZoneInfo(team.timezone)).date()


def midnight(team: Team, day: date) -> datetime:
    """The instant `day` begins in the team's zone (an hour earlier or later in UTC across a DST change)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(team.timezone)).astimezone(UTC)


def current_cycle(session: Session, *, team: Team, now: datetime) -> Cycle:
    """The team's cycle for today, created (in drafting state) the first time anyone needs it.

    Two requests creating it at once both end up with the one row: the unique (team, number) key decides.
    """
    return cycle_row(session, team=team, span=team_span(team, now), now=now)


def cycle_row(session: Session, *, team: Team, span: CycleSpan, now: datetime) -> Cycle:
    """The row of cycle `span.number`, created with the span's dates (drafting) if the team has none yet."""
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
