"""Step 1 of a reset, the start (`reset_started_at`): at the cycle's last midnight by the sweep, or earlier by a
facilitator's `/okr reset`; the key results' owners are then asked for a final value and score until
`scoring_closes_at`.

The team's row is locked, so two sweeps, or a sweep and a facilitator, never start a cycle's reset twice. Cycles an
outage skipped past are closed quietly, so a team never has more than one cycle open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.errors import Conflict
from bot.rituals import teams as team_rules
from bot.rituals.cycles import CYCLE_DAYS, CycleSpan, cycle_row, span_on, team_today
from bot.rituals.events import record_event
from bot.rituals.reset.calendar import apply_waiting_anchor, plan_calendar
from bot.rituals.reset.closing import Closed, close_cycle
from bot.rituals.reset.final_scores import team_cycle
from bot.rituals.reset.status import reset_status
from storage.db import rows_matched
from storage.models import Cycle, CycleState, Team

SCORING_TIME = timedelta(hours=48)  # how long owners have to give final scores before the cycle closes anyway


@dataclass(frozen=True)
class Due:
    """What the calendar asked of a team: "started" a reset (of `cycle_id`), or "planned" (nothing to do)."""

    outcome: str
    cycle_id: int | None = None


def reset_if_due(session: Session, *, team: Team, now: datetime) -> Due:
    """At a cycle's end: start the reset of the cycle that just ended, once. Cycles an outage skipped past are
    closed quietly (their scores are their progress) so the team is never left with more than one open."""
    team_rules.lock_team(session, team)
    session.refresh(team)
    if team.reset_at is not None and team.reset_at > now:
        return Due("moved")
    today = team_today(team, now)
    running = span_on(team, today, skip_closed=False)
    ended = running.number - 1
    started = None
    if team.reset_at is not None and ended >= 1 and team.closed_through < ended:
        ended_span = span_on(team, running.starts_on - timedelta(days=1), skip_closed=False)
        if ended_span.number != ended:  # the day before a new anchor: the cycle that ended there
            ended_span = CycleSpan(ended, running.starts_on - timedelta(days=CYCLE_DAYS), running.starts_on)
        cycle = cycle_row(session, team=team, span=ended_span, now=now)
        for older in session.scalars(
            select(Cycle).where(Cycle.team_id == team.id, Cycle.number < ended, Cycle.state != CycleState.CLOSED)
        ):
            close_cycle(session, team=team, cycle=older, now=now, actor=None, quiet=True)
        if begin_reset(session, team=team, cycle=cycle, actor=None, now=now):
            started = cycle.id
        apply_waiting_anchor(session, team=team, ended=ended)
    plan_calendar(team, now)
    return Due("started" if started else "planned", started)


def begin_reset(session: Session, *, team: Team, cycle: Cycle, actor: str | None, now: datetime) -> bool:
    """Start the cycle's reset (owners are then asked for final scores); False if it had started already."""
    started = rows_matched(
        session,
        update(Cycle)
        .where(Cycle.id == cycle.id, Cycle.reset_started_at.is_(None), Cycle.state != CycleState.CLOSED)
        .values(reset_started_at=now, reset_by=actor, scoring_closes_at=now + SCORING_TIME),
    )
    if started != 1:
        return False
    session.refresh(cycle)
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="cycle",
        entity_id=cycle.id,
        action="reset_started",
        actor=actor,
        now=now,
        data={"cycle": cycle.number},
    )
    return True


def start_offered_reset(session: Session, *, team: Team, user_id: str, number: int, now: datetime) -> Cycle:
    """The confirmation of `/okr reset` for cycle `number`: start it if it is still the cycle `/okr reset` offers
    (a confirmation left on screen while the cycle changed is refused)."""
    status = reset_status(session, team=team, now=now)
    if status.span.number != number:
        raise Conflict(
            f"Cycle {number} is not the one to reset any more. Run `/okr reset` again to see where it stands."
        )
    cycle = status.cycle or cycle_row(session, team=team, span=status.span, now=now)
    return start_reset_now(session, team=team, user_id=user_id, cycle_id=cycle.id, now=now)


def start_reset_now(session: Session, *, team: Team, user_id: str, cycle_id: int, now: datetime) -> Cycle:
    """`/okr reset`, confirmed: start the reset of the team's current cycle now (facilitators)."""
    team_rules.require_facilitator(session, team=team, user_id=user_id)
    team_rules.lock_team(session, team)
    session.refresh(team)
    cycle = team_cycle(session, team=team, cycle_id=cycle_id)
    session.refresh(cycle)  # as it is now that the team is locked, not as it was read before
    if cycle.state is CycleState.CLOSED:
        raise Conflict(
            f"Cycle {cycle.number} of *{team.name}* is closed already; `/okr history {cycle.number}` shows it."
        )
    if cycle.reset_started_at is not None:
        raise Conflict(f"The reset of cycle {cycle.number} has started already; `/okr reset` shows where it stands.")
    if team_today(team, now) < cycle.starts_on:
        raise Conflict(f"Cycle {cycle.number} has not started yet (it starts on {cycle.starts_on.isoformat()}).")
    if not begin_reset(session, team=team, cycle=cycle, actor=user_id, now=now):
        raise Conflict(f"The reset of cycle {cycle.number} has started already; `/okr reset` shows where it stands.")
    return cycle


def close_scoring_now(session: Session, *, team: Team, user_id: str, cycle_id: int, now: datetime) -> Closed:
    """A facilitator closes final scoring without waiting for the owners who have not answered."""
    team_rules.require_facilitator(session, team=team, user_id=user_id)
    cycle = team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.reset_started_at is None:
        raise Conflict(f"The reset of cycle {cycle.number} has not started; `/okr reset` starts it.")
    closed = close_cycle(session, team=team, cycle=cycle, now=now, actor=user_id)
    if closed is None:
        raise Conflict(f"Cycle {cycle.number} of *{team.name}* is closed already.")
    return closed
