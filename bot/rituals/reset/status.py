"""Where a team's reset stands, as `/okr reset` shows it: the cycle a reset would act on (the one being scored, else
one whose end passed without its reset, else the current one), and how far its scoring has got."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.rituals.cycles import CycleSpan, team_span, team_today
from bot.rituals.reset.final_scores import Scorable, committed_anything, owners_to_ask
from storage.models import Cycle, CycleState, Objective, ObjectiveState, Team


@dataclass(frozen=True)
class ResetStatus:
    """What `/okr reset` shows: the cycle a reset would close, or the reset under way."""

    team: Team
    span: CycleSpan
    cycle: Cycle | None
    week: int
    owners: dict[str, list[Scorable]]
    scored: int
    to_score: int
    waiting_anchor: date | None
    today: date
    committed: bool = True  # something was committed in the cycle; else its reset passes quietly

    @property
    def overdue(self) -> bool:
        """The cycle's end has passed without its reset starting (the sweep was not running)."""
        return self.today >= self.span.ends_on

    @property
    def stage(self) -> str:
        """ "unstarted" (nothing to close yet), "ready", "scoring", or "closed"."""
        if self.week == 0:
            return "unstarted"
        if self.cycle is None:
            return "ready"
        if self.cycle.state is CycleState.CLOSED:
            return "closed"
        if self.cycle.reset_started_at is not None:
            return "scoring"
        return "ready"


def reset_status(session: Session, *, team: Team, now: datetime) -> ResetStatus:
    """The team's cycle that a reset would act on: the one being scored if there is one, else one whose end
    passed without its reset, else the current one."""
    scoring = session.scalar(
        select(Cycle).where(
            Cycle.team_id == team.id, Cycle.reset_started_at.is_not(None), Cycle.state != CycleState.CLOSED
        )
    )
    overdue = scoring or session.scalar(
        select(Cycle)
        .where(Cycle.team_id == team.id, Cycle.state != CycleState.CLOSED, Cycle.ends_on <= team_today(team, now))
        .order_by(Cycle.number)
        .limit(1)
    )
    cycle: Cycle | None
    if overdue is not None:  # a cycle whose end passed without its reset (the sweep was off) comes first
        span = CycleSpan(overdue.number, overdue.starts_on, overdue.ends_on)
        cycle, week = overdue, 13
    else:
        span = team_span(team, now)
        cycle = session.scalar(select(Cycle).where(Cycle.team_id == team.id, Cycle.number == span.number))
        week = span.week_of(team_today(team, now))
    owners = owners_to_ask(session, cycle_id=cycle.id) if cycle is not None else {}
    items = [item for listed in owners.values() for item in listed]
    return ResetStatus(
        team=team,
        span=span,
        cycle=cycle,
        week=week,
        owners=owners,
        scored=sum(1 for item in items if item.key_result.final_at is not None),
        to_score=len(items),
        waiting_anchor=team.next_cycle_anchor,
        today=team_today(team, now),
        committed=cycle is not None and committed_anything(session, cycle_id=cycle.id),
    )


def objective_states(objectives: list[Objective]) -> dict[str, int]:
    return dict(Counter(o.state.value for o in objectives if o.state is not ObjectiveState.DRAFT))
