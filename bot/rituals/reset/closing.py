"""Step 2 of a reset, the close: once per cycle, under the team's lock.

Key results nobody scored keep their progress as final score; the cycle becomes read-only; every unfinished
backlog item goes to "not now" (with its history kept); ripples from or to the cycle's key results end; the next
cycle opens for drafting. A cycle in which nothing was ever committed leaves the backlog as it is. The sweep closes
a cycle when its scoring time is up or every owner has answered; the reset's later steps are stamped on the cycle
by the one process that does them (`mark_owners_asked`, `mark_reset_done`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.rituals import teams as team_rules
from bot.rituals.backlog import move
from bot.rituals.cycles import cycle_row, span_on, team_span, team_today
from bot.rituals.events import record_event
from bot.rituals.reset.calendar import apply_waiting_anchor, plan_calendar
from bot.rituals.reset.final_scores import all_scored, committed_anything, live_key_results
from bot.rituals.ripples import end_with_cycle
from bot.rituals.scoring import score
from storage.db import rows_matched
from storage.models import BacklogItem, Cycle, CycleState, ItemState, Round, RoundState, Team

RESET_FROM = (ItemState.INBOX, ItemState.DISCOVERY, ItemState.PRODUCT, ItemState.SPRINT)


@dataclass(frozen=True)
class Closed:
    cycle: Cycle
    next_cycle: Cycle
    scored_by_owners: int
    scored_by_progress: int
    moved: dict[str, int]  # backlog state → items moved to "not now"


def close_cycle(
    session: Session, *, team: Team, cycle: Cycle, now: datetime, actor: str | None, quiet: bool = False
) -> Closed | None:
    """Close the cycle, once (None if it was closed already): final scores for every live key result (the
    owner's, or the progress), read-only from then on, the backlog back to "not now", the next cycle opened.
    `quiet`: a cycle an outage skipped past; nothing will be posted about it. A cycle in which nothing was ever
    committed leaves the backlog as it is: no OKRs filtered it, and no retro would say it moved."""
    team_rules.lock_team(session, team)
    session.refresh(team)
    # exclusive on the cycle: a revision or a check-in holds it shared while it writes, so it either finishes
    # before the close reads the key results or finds the cycle closed
    session.execute(select(Cycle.id).where(Cycle.id == cycle.id).with_for_update())
    session.refresh(cycle)
    if cycle.state is CycleState.CLOSED:
        return None
    by_owner = by_progress = 0
    for kr, _ in live_key_results(session, cycle_id=cycle.id):
        if kr.final_at is not None:
            by_owner += 1
            continue
        kr.final_value = kr.current if kr.current is not None else kr.baseline
        kr.final_score = score(kr.direction, kr.baseline, kr.target, kr.final_value)
        kr.final_by, kr.final_at = None, now
        by_progress += 1
    cycle.state, cycle.closed_at = CycleState.CLOSED, now
    if cycle.reset_started_at is None:
        cycle.reset_started_at, cycle.reset_by = now, actor
    if quiet:
        cycle.reset_done_at = now
    running = span_on(team, team_today(team, now), skip_closed=False).number
    team.closed_through = max(team.closed_through, cycle.number)
    if running == cycle.number:  # closed before its end: a start chosen while it ran now applies to the next
        apply_waiting_anchor(session, team=team, ended=cycle.number)
    # a cycle an outage skipped past leaves the backlog to the close of the cycle that ended last, whose retro
    # then says how many items went back to "not now"
    empty = not committed_anything(session, cycle_id=cycle.id)
    moved = {} if quiet or empty else _reset_backlog(session, team=team, cycle=cycle, actor=actor, now=now)
    ended = _end_ripples(session, cycle=cycle, now=now)
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="cycle",
        entity_id=cycle.id,
        action="closed",
        actor=actor,
        now=now,
        data={
            "cycle": cycle.number,
            "scored_by_owners": by_owner,
            "scored_by_progress": by_progress,
            "moved": moved,
            "quiet": quiet,
            "empty": empty,
            "ripples_ended": ended,
        },
    )
    next_cycle = cycle_row(session, team=team, span=team_span(team, now), now=now)
    plan_calendar(team, now)
    return Closed(cycle, next_cycle, by_owner, by_progress, moved)


def _end_ripples(session: Session, *, cycle: Cycle, now: datetime) -> list[int]:
    """Ripples from or to a key result of the closed cycle end with it (the other team's included)."""
    return end_with_cycle(session, cycle=cycle, now=now)


def _reset_backlog(session: Session, *, team: Team, cycle: Cycle, actor: str | None, now: datetime) -> dict[str, int]:
    """Every item not done goes to "not now" with its history kept; `/okr backlog restore N` brings one back."""
    moved: Counter[str] = Counter()
    # an open round's close locks its round, then its items: take the rounds first too, so the two never
    # wait on each other's items in a different order (PostgreSQL would abort one as a deadlock)
    session.execute(
        select(Round.id).where(Round.team_id == team.id, Round.state == RoundState.OPEN).with_for_update()
    ).all()
    # a vote still open would decide items that are going to "not now" anyway: its deadline is now, and the
    # sweep closes it as any round past its deadline (its items stay where the reset put them)
    session.execute(update(Round).where(Round.team_id == team.id, Round.state == RoundState.OPEN).values(closes_at=now))
    items = session.scalars(
        select(BacklogItem)
        .where(BacklogItem.team_id == team.id, BacklogItem.state.in_(RESET_FROM))
        .order_by(BacklogItem.id)
        .with_for_update(key_share=True)
    )
    for item in items:
        moved[item.state.value] += 1
        move(session, item, ItemState.NOT_NOW, actor=actor, now=now, reason=f"cycle {cycle.number} reset")
    return dict(moved)


def ready_to_close(session: Session, *, cycle: Cycle, now: datetime) -> bool:
    return cycle.state is not CycleState.CLOSED and (
        (cycle.scoring_closes_at is not None and cycle.scoring_closes_at <= now)
        or all_scored(session, cycle_id=cycle.id)
    )


def close_if_ready(session: Session, *, cycle_id: int, now: datetime) -> Closed | None:
    """The sweep's close: when scoring time is up or every owner has answered (checked again under the lock)."""
    cycle = session.get_one(Cycle, cycle_id)
    team = session.get_one(Team, cycle.team_id)
    team_rules.lock_team(session, team)
    session.refresh(cycle)
    if not ready_to_close(session, cycle=cycle, now=now):
        return None
    return close_cycle(session, team=team, cycle=cycle, now=now, actor=None)


def mark_owners_asked(session: Session, *, cycle_id: int, now: datetime) -> bool:
    """Every owner's final-score DM is out (or refused for good); True for the one process that marks it."""
    return _mark_step(session, cycle_id, Cycle.owners_asked_at, now)


def mark_reset_done(session: Session, *, cycle_id: int, now: datetime) -> bool:
    """The reset's last message is out; True for the one process that marks it."""
    return _mark_step(session, cycle_id, Cycle.reset_done_at, now)


def _mark_step(session: Session, cycle_id: int, column: InstrumentedAttribute[datetime | None], now: datetime) -> bool:
    stamped = rows_matched(
        session, update(Cycle).where(Cycle.id == cycle_id, column.is_(None)).values({column.key: now})
    )
    return stamped == 1
