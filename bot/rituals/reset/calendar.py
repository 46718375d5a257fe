"""The team's reset calendar: when the sweep next looks at a team (a cycle's end, and the notice a week before
it), and a new cycle start chosen by a facilitator.

A new start never rewrites a cycle that has begun: a team that has committed nothing yet moves its whole
calendar, a team drafting ahead of a cycle that has not begun moves that cycle's start, and a team in a
running cycle keeps it (the new start waits, and the cycle's reset makes it the next cycle's).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidFields
from bot.rituals.cycles import CYCLE_DAYS, midnight, span_on, team_span, team_today
from storage.models import Cycle, CycleState, Team

NOTICE_DAYS = 7  # the team hears the reset is coming this long before the cycle's end


def plan_calendar(team: Team, now: datetime, *, noticed: bool = False) -> None:
    """When the sweep next looks at the team: the cycle's end (by the dates), and a week before it. A notice
    time already past stays due (the sweep posts it late, or finds it posted) unless `noticed`: then the next
    cycle's."""
    today = team_today(team, now)
    running = span_on(team, today, skip_closed=False)
    team.reset_at = midnight(team, running.ends_on)
    notice = midnight(team, running.ends_on - timedelta(days=NOTICE_DAYS))
    if noticed and notice <= now:
        notice = midnight(team, running.ends_on + timedelta(days=CYCLE_DAYS - NOTICE_DAYS))
    team.reset_notice_at = notice


def plan_after_notice(session: Session, *, team_id: int, read: datetime | None, now: datetime) -> None:
    """Plan past the notice of the running cycle (posted, found posted, or not wanted), unless another process
    planned the team's calendar since `read` (the team's `reset_notice_at` as the sweep found it)."""
    team = session.get_one(Team, team_id)
    session.refresh(team)
    if team.reset_notice_at == read:
        plan_calendar(team, now, noticed=True)


def replan(session: Session, *, team: Team, now: datetime) -> None:
    """`plan_calendar` after a change of zone or start: if the change puts the team past a cycle's end whose
    reset has not started, that reset is due now rather than skipped."""
    plan_calendar(team, now)
    assert team.reset_at is not None, "set by plan_calendar"
    running = span_on(team, team_today(team, now), skip_closed=False)
    ended = running.number - 1
    if ended < 1 or team.closed_through >= ended:
        return
    started = session.scalar(select(Cycle.reset_started_at).where(Cycle.team_id == team.id, Cycle.number == ended))
    if started is None:
        team.reset_at = min(team.reset_at, now)


def calendar_in_use(session: Session, *, team: Team) -> bool:
    """Whether the team has committed OKRs in any cycle, or closed one: its cycles' dates then mean something."""
    if team.closed_through:
        return True
    query = select(Cycle.id).where(Cycle.team_id == team.id, Cycle.state != CycleState.DRAFTING)
    return session.scalar(query.limit(1)) is not None


def anchor_shown(session: Session, *, team: Team, now: datetime) -> date:
    """The "cycle start" a facilitator sees and changes: the team's first cycle until it has used its calendar,
    then the start of the next cycle that has not begun (a running cycle's own start is not theirs to move)."""
    if not calendar_in_use(session, team=team):
        return team.cycle_anchor
    span = team_span(team, now)
    if team_today(team, now) < span.starts_on:
        return span.starts_on
    return team.next_cycle_anchor or span.ends_on


def check_anchor_change(session: Session, *, team: Team, wanted: date, now: datetime) -> None:
    """A new cycle start never rewrites a cycle that has begun: refuse one that would (an InvalidFields on the
    setting, so the form shows it next to the date)."""
    if wanted == anchor_shown(session, team=team, now=now) or not calendar_in_use(session, team=team):
        return
    today = team_today(team, now)
    span = team_span(team, now)
    if today < span.starts_on:  # drafting ahead of a cycle that has not begun
        if wanted < today:
            raise InvalidFields(
                {"cycle_anchor": f"Cycle {span.number} has not started yet; pick today or a later day."}
            )
        return
    if wanted < span.ends_on:
        raise InvalidFields(
            {
                "cycle_anchor": (
                    f"Cycle {span.number} runs until {span.last_day.isoformat()}, and a running cycle keeps its "
                    f"dates: the next one can start on {span.ends_on.isoformat()} or later. To end this cycle "
                    "early, a facilitator can use `/okr reset`."
                )
            }
        )


def change_anchor(session: Session, *, team: Team, wanted: date, now: datetime) -> bool:
    """Apply a new cycle start (checked by `check_anchor_change`); True when anything changed.

    - A team that has not committed anything yet moves its whole calendar.
    - A team drafting ahead of a cycle that has not begun moves that cycle's start.
    - A team in a running cycle keeps it: the new start waits, and the reset makes it the next cycle's.
    """
    if wanted == anchor_shown(session, team=team, now=now):
        return False
    check_anchor_change(session, team=team, wanted=wanted, now=now)
    span = team_span(team, now)
    in_use = calendar_in_use(session, team=team)
    if not in_use or team_today(team, now) < span.starts_on:
        team.cycle_anchor, team.next_cycle_anchor = wanted, None
        if in_use:
            team.anchor_cycle = span.number
        number = team_span(team, now).number  # a team that has only drafted may be in another cycle now
        _move_unstarted_cycle(session, team=team, number=number)
        plan_calendar(team, now)
        return True
    pending = None if wanted == span.ends_on else wanted
    if team.next_cycle_anchor == pending:
        return False
    team.next_cycle_anchor = pending
    return True


def apply_waiting_anchor(session: Session, *, team: Team, ended: int) -> None:
    """Once cycle `ended` is over (its end passed, or it closed early), a start chosen meanwhile becomes the
    anchor of the cycle after it."""
    if team.next_cycle_anchor is None:
        return
    team.cycle_anchor, team.anchor_cycle, team.next_cycle_anchor = team.next_cycle_anchor, ended + 1, None
    _move_unstarted_cycle(session, team=team, number=ended + 1)


def _move_unstarted_cycle(session: Session, *, team: Team, number: int) -> None:
    """A row for a cycle that has not begun (someone drafted ahead) takes the calendar's new dates."""
    cycle = session.scalar(select(Cycle).where(Cycle.team_id == team.id, Cycle.number == number))
    if cycle is not None and cycle.state is not CycleState.CLOSED:
        cycle.starts_on = team.cycle_anchor + timedelta(days=(number - team.anchor_cycle) * CYCLE_DAYS)
        cycle.ends_on = cycle.starts_on + timedelta(days=CYCLE_DAYS)
