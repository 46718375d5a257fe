"""The 13-week reset, as database steps: each one a transaction that can run twice and do its work once.

A reset of cycle N goes through three steps, recorded on the cycle row:
1. started (`reset_started_at`): at the cycle's last midnight, or earlier by a facilitator's `/okr reset`.
   The key results' owners are asked for a final value and score until `scoring_closes_at`.
2. closed (`state` closed): when every owner has answered, when scoring time is up, or when a facilitator
   closes scoring. Key results nobody scored keep their progress as final score; the cycle becomes
   read-only; every unfinished backlog item goes to "not now"; the next cycle opens for drafting.
3. done (`reset_done_at`): the retro and the next cycle's prompt are in the team channel (bot/delivery/resets.py).

A cycle in which nothing was ever committed (`committed_anything`) has nothing to score or review: it gets no
notice, asks nobody, leaves the backlog as it is, and closes at once; its only message is the short one saying
the next cycle is open for drafting. A cycle whose objectives were all dropped is not one of them: its retro says
what was dropped and why.

The team's row is locked for steps 1 and 2, so two sweeps or a sweep and a facilitator never start or close
a cycle twice; every item moved and every score given is in the event log.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.errors import Conflict, InvalidFields, NotAllowed, NotFound
from bot.numbers import format_number, parse_number
from bot.rituals import teams as team_rules
from bot.rituals.cycles import (
    CYCLE_DAYS,
    CycleSpan,
    cycle_row,
    midnight,
    span_on,
    team_span,
    team_today,
)
from bot.rituals.events import record_event
from bot.rituals.okrs import retro_answers
from bot.rituals.scoring import average, key_result_score, score
from bot.text import normalise
from storage.claims import insert_if_absent
from storage.models import (
    BacklogItem,
    Cycle,
    CycleState,
    Draft,
    DraftState,
    DraftStep,
    EventLog,
    ItemState,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    RetroAnswer,
    Round,
    RoundState,
    Team,
    VisionStatement,
)
from storage.models.okrs import LIVE_OBJECTIVE_STATES

SCORING_TIME = timedelta(hours=48)  # how long owners have to give final scores before the cycle closes anyway
NOTICE_DAYS = 7  # the team hears the reset is coming this long before the cycle's end
AMBITION = 0.7  # about what an ambitious team lands on average
RESET_FROM = (ItemState.INBOX, ItemState.DISCOVERY, ItemState.PRODUCT, ItemState.SPRINT)
RETRO_PROMPTS = (
    "What did we learn?",
    "What do we stop doing?",
    "Are we working differently from 13 weeks ago?",
)
RETRO_ANSWER_MAX = 3000
# "1. …", "1) …", "3 - …", "#2: …", "Q3) …": the number of the prompt an answer in the thread is for; not the
# start of "1.5x faster", "3:30 is too late", "1 thing we learned" or "Q3 revenue was flat"
_PROMPT_NUMBER = re.compile(r"^\s*(?:q|#)?\s*([1-3])\s*[.):\-–—](?!\d)\s*", flags=re.IGNORECASE)


# the calendar ---------------------------------------------------------------------------------------------


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
    team = session.get(Team, team_id)
    session.refresh(team)
    if team.reset_notice_at == read:
        plan_calendar(team, now, noticed=True)


def replan(session: Session, *, team: Team, now: datetime) -> None:
    """`plan_calendar` after a change of zone or start: if the change puts the team past a cycle's end whose
    reset has not started, that reset is due now rather than skipped."""
    plan_calendar(team, now)
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


# starting -------------------------------------------------------------------------------------------------


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
    started = session.execute(
        update(Cycle)
        .where(Cycle.id == cycle.id, Cycle.reset_started_at.is_(None), Cycle.state != CycleState.CLOSED)
        .values(reset_started_at=now, reset_by=actor, scoring_closes_at=now + SCORING_TIME)
    ).rowcount
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
    cycle = _team_cycle(session, team=team, cycle_id=cycle_id)
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
    cycle = _team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.reset_started_at is None:
        raise Conflict(f"The reset of cycle {cycle.number} has not started; `/okr reset` starts it.")
    closed = close_cycle(session, team=team, cycle=cycle, now=now, actor=user_id)
    if closed is None:
        raise Conflict(f"Cycle {cycle.number} of *{team.name}* is closed already.")
    return closed


def _team_cycle(session: Session, *, team: Team, cycle_id: int) -> Cycle:
    cycle = session.scalar(
        select(Cycle).where(Cycle.workspace_id == team.workspace_id, Cycle.team_id == team.id, Cycle.id == cycle_id)
    )
    if cycle is None:
        raise NotFound("That cycle is not one of this team's. Run `/okr reset` again.")
    return cycle


# final scores ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scorable:
    """A key result an owner is asked to score, with what the form shows first."""

    key_result: KeyResult
    objective: Objective
    value: float | None  # the last value checked in (or the baseline)
    progress: float | None  # the score that value gives

    @property
    def label(self) -> str:
        return f"KR {self.objective.number}.{self.key_result.position}"


def committed_anything(session: Session, *, cycle_id: int) -> bool:
    """Whether an objective was ever committed in the cycle (live now, or revised or dropped since)."""
    query = select(Objective.id).where(Objective.cycle_id == cycle_id, Objective.state != ObjectiveState.DRAFT)
    return session.scalar(query.limit(1)) is not None


def live_key_results(session: Session, *, cycle_id: int) -> list[tuple[KeyResult, Objective]]:
    """The cycle's key results that count: active, of a committed or revised objective (1 query)."""
    return list(
        session.execute(
            select(KeyResult, Objective)
            .join(
                Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id)
            )
            .where(
                Objective.cycle_id == cycle_id,
                Objective.state.in_(LIVE_OBJECTIVE_STATES),
                KeyResult.state == KeyResultState.ACTIVE,
            )
            .order_by(Objective.number, KeyResult.position)
        ).all()
    )


def owners_to_ask(session: Session, *, cycle_id: int) -> dict[str, list[Scorable]]:
    """Each owner with the key results they are asked to score, in the order the team sees them."""
    asked: dict[str, list[Scorable]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle_id):
        if kr.owner_user_id:
            asked.setdefault(kr.owner_user_id, []).append(_scorable(kr, objective))
    return asked


def _scorable(kr: KeyResult, objective: Objective) -> Scorable:
    value = kr.current if kr.current is not None else kr.baseline
    return Scorable(kr, objective, value, score(kr.direction, kr.baseline, kr.target, value))


def all_scored(session: Session, *, cycle_id: int) -> bool:
    """Every owned key result has its owner's final score: nothing left to wait for."""
    return all(kr.final_at is not None for kr, _ in live_key_results(session, cycle_id=cycle_id) if kr.owner_user_id)


@dataclass(frozen=True)
class ScoringForm:
    team: Team
    cycle: Cycle
    items: list[Scorable]


def scoring_form(session: Session, *, workspace_id: int, cycle_id: int, user_id: str) -> ScoringForm:
    """What someone's final-score form holds: their key results of a cycle whose scoring is open."""
    cycle, team = cycle_and_team(session, workspace_id=workspace_id, cycle_id=cycle_id)
    _require_scoring_open(cycle, team)
    items = owners_to_ask(session, cycle_id=cycle.id).get(user_id, [])
    if not items:
        raise NotAllowed(
            f"You own no key result of cycle {cycle.number} of *{team.name}*, so there is nothing to score."
        )
    return ScoringForm(team, cycle, items)


def parse_score(raw: str | None) -> float | None:
    """`0.7`, `.7`, `0,7` or `70%` → 0.7; empty → None. Anything else, or outside 0–1, is a ValueError."""
    text = normalise(str(raw or "")).strip()
    if not text:
        return None
    percent = text.endswith("%")
    number = parse_number(text[:-1] if percent else text)
    if percent:
        number /= 100
    if not 0 <= number <= 1:
        raise ValueError("A score runs from 0.0 to 1.0 (or 0% to 100%).")
    return round(number, 2)


def parse_final_scores(
    fields: dict[str, str | None], items: list[Scorable]
) -> dict[int, tuple[float | None, float] | None]:
    """The form's fields (`value:<kr id>`, `score:<kr id>`) → {key result id: (final value, score)}, or None for a
    key result whose earlier score was emptied.

    A key result left with no score is not scored (its progress will count); every bad field is named."""
    answers: dict[int, tuple[float | None, float]] = {}
    errors: dict[str, str] = {}
    for item in items:
        kr_id = item.key_result.id
        raw_value, raw_score = fields.get(f"value:{kr_id}"), fields.get(f"score:{kr_id}")
        value = final = None
        try:
            value = parse_number(raw_value) if (raw_value or "").strip() else None
        except ValueError:
            errors[f"value:{kr_id}"] = f"{item.label}: the final value should be a number, like 42 or 3.5."
        try:
            final = parse_score(raw_score)
        except ValueError as error:
            errors[f"score:{kr_id}"] = (
                f"{item.label}: {error}"
                if "runs from" in str(error)
                else (f"{item.label}: the score should be a number from 0.0 to 1.0, like 0.7.")
            )
        if final is None and value is not None and f"score:{kr_id}" not in errors:
            errors[f"score:{kr_id}"] = f"{item.label}: give a score with the final value (0.0 to 1.0)."
        if final is not None:
            answers[kr_id] = (value, final)
        elif value is None and item.key_result.final_by:  # emptied: the progress counts again
            answers[kr_id] = None
    if errors:
        raise InvalidFields(errors)
    return answers


def record_final_scores(
    session: Session,
    *,
    workspace_id: int,
    cycle_id: int,
    user_id: str,
    answers: dict[int, tuple[float | None, float] | None],
    now: datetime,
) -> ScoringForm:
    """Save an owner's final scores (a second answer replaces the first) while the cycle's scoring is open."""
    cycle, team = cycle_and_team(session, workspace_id=workspace_id, cycle_id=cycle_id, lock=True)
    _require_scoring_open(cycle, team)
    items = owners_to_ask(session, cycle_id=cycle.id).get(user_id, [])
    mine = {item.key_result.id: item for item in items}
    for kr_id, answer in answers.items():
        item = mine.get(kr_id)
        if item is None:
            raise NotAllowed("One of those key results is no longer yours to score; open the form again.")
        kr = item.key_result
        value, final = answer if answer is not None else (None, None)
        kr.final_value, kr.final_score = value, final
        kr.final_by, kr.final_at = (user_id, now) if answer is not None else (None, None)
        record_event(
            session,
            workspace_id=workspace_id,
            team_id=team.id,
            entity="key_result",
            entity_id=kr.id,
            action="final_scored",
            actor=user_id,
            now=now,
            data={"cycle": cycle.number, "value": value, "score": final},
        )
    return ScoringForm(team, cycle, items)


def cycle_and_team(session: Session, *, workspace_id: int, cycle_id: int, lock: bool = False) -> tuple[Cycle, Team]:
    row = session.execute(
        select(Cycle, Team)
        .join(Team, (Team.workspace_id == Cycle.workspace_id) & (Team.id == Cycle.team_id))
        .where(Cycle.workspace_id == workspace_id, Cycle.id == cycle_id)
    ).first()
    if row is None:
        raise NotFound("That cycle no longer exists.")
    cycle, team = row
    if lock:  # scores and the close never interleave: the close takes the same lock
        team_rules.lock_team(session, team)
        session.refresh(cycle)
    return cycle, team


def _require_scoring_open(cycle: Cycle, team: Team) -> None:
    if cycle.state is CycleState.CLOSED:
        raise NotAllowed(f"Cycle {cycle.number} of *{team.name}* is closed: its scores are final.")
    if cycle.reset_started_at is None:
        raise NotAllowed(f"Final scoring of cycle {cycle.number} has not started yet.")


# closing --------------------------------------------------------------------------------------------------


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
    from bot.rituals.ripples import end_with_cycle  # ripples read the current OKRs, which read cycles: import late

    return end_with_cycle(session, cycle=cycle, now=now)


def _reset_backlog(session: Session, *, team: Team, cycle: Cycle, actor: str | None, now: datetime) -> dict[str, int]:
    """Every item not done goes to "not now" with its history kept; `/okr backlog restore N` brings one back."""
    from bot.rituals.backlog import move  # backlog reads the current OKRs, which read cycles: import late

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
    cycle = session.get(Cycle, cycle_id)
    team = session.get(Team, cycle.team_id)
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


def _mark_step(session: Session, cycle_id: int, column, now: datetime) -> bool:
    stamped = session.execute(update(Cycle).where(Cycle.id == cycle_id, column.is_(None)).values({column.key: now}))
    return stamped.rowcount == 1


# the retro ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetroKeyResult:
    key_result: KeyResult
    objective: Objective
    by_owner: bool  # scored by its owner; otherwise its progress at the close

    @property
    def label(self) -> str:
        return f"KR {self.objective.number}.{self.key_result.position}"

    @property
    def score(self) -> float | None:
        return key_result_score(self.key_result)


@dataclass(frozen=True)
class Change:
    objective: Objective
    version: ObjectiveVersion


@dataclass(frozen=True)
class Retro:
    team: Team
    cycle: Cycle
    objectives: list[tuple[Objective, list[RetroKeyResult]]]  # live objectives, by number
    changes: list[Change]  # revisions and drops, in order
    moved: dict[str, int]
    answers: list[RetroAnswer] = field(default_factory=list)
    prompts: tuple[str, ...] = RETRO_PROMPTS

    @property
    def key_results(self) -> list[RetroKeyResult]:
        return [kr for _, krs in self.objectives for kr in krs]

    @property
    def score(self) -> float | None:
        return average(kr.score for kr in self.key_results)

    @property
    def ambition(self) -> str:
        """How the average compares with the ~0.7 guide: "none", "low", "healthy" or "safe"; "dropped" when every
        objective was dropped during the cycle, leaving none to score."""
        if not self.objectives and self.changes:
            return "dropped"
        average_score = self.score
        if average_score is None:
            return "none"
        if average_score >= 0.95:
            return "safe"
        if average_score >= 0.6:
            return "healthy"
        return "low"

    @property
    def by_progress(self) -> list[RetroKeyResult]:
        return [kr for kr in self.key_results if not kr.by_owner]

    @property
    def moved_total(self) -> int:
        return sum(self.moved.values())


def retro(session: Session, *, cycle_id: int) -> Retro:
    """What the retro shows of a closed cycle (5 queries)."""
    cycle = session.get(Cycle, cycle_id)
    team = session.get(Team, cycle.team_id)
    objectives = list(
        session.scalars(select(Objective).where(Objective.cycle_id == cycle.id).order_by(Objective.number))
    )
    grouped: dict[int, list[RetroKeyResult]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        grouped.setdefault(objective.id, []).append(RetroKeyResult(kr, objective, kr.final_by is not None))
    by_id = {o.id: o for o in objectives}
    versions = (
        session.scalars(
            select(ObjectiveVersion)
            .where(ObjectiveVersion.objective_id.in_(list(by_id)), ObjectiveVersion.change != "committed")
            .order_by(ObjectiveVersion.created_at, ObjectiveVersion.id)
        )
        if by_id
        else []
    )
    closed = session.scalar(
        select(EventLog)
        .where(EventLog.entity == "cycle", EventLog.entity_id == cycle.id, EventLog.action == "closed")
        .order_by(EventLog.id.desc())
        .limit(1)
    )
    answers = retro_answers(session, cycle_id=cycle.id)
    return Retro(
        team=team,
        cycle=cycle,
        objectives=[(o, grouped.get(o.id, [])) for o in objectives if o.state in LIVE_OBJECTIVE_STATES],
        changes=[Change(by_id[v.objective_id], v) for v in versions],
        moved=dict((closed.data or {}).get("moved") or {}) if closed is not None else {},
        answers=answers,
    )


def retro_cycle(session: Session, *, workspace_id: int, channel_id: str, thread_ts: str) -> Cycle | None:
    """The cycle whose retro message is `thread_ts` in `channel_id`, if any (an indexed lookup: every thread
    reply in a channel the bot is in asks)."""
    return session.scalar(
        select(Cycle).where(
            Cycle.workspace_id == workspace_id, Cycle.retro_channel_id == channel_id, Cycle.retro_ts == thread_ts
        )
    )


def remember_retro(session: Session, *, cycle_id: int, channel_id: str, ts: str) -> None:
    """The retro's message, on the cycle (the first one recorded): thread replies find their cycle by it."""
    session.execute(
        update(Cycle)
        .where(Cycle.id == cycle_id, Cycle.retro_ts.is_(None))
        .values(retro_channel_id=channel_id, retro_ts=ts)
    )


def prompt_of(text: str) -> tuple[int | None, str]:
    """Which prompt an answer is for, when it starts with its number ("2. Stop the Friday demo")."""
    match = _PROMPT_NUMBER.match(text)
    if match is None:
        return None, text
    rest = text[match.end() :].strip()
    return (int(match.group(1)), rest) if rest else (None, text)


def record_retro_reply(
    session: Session, *, cycle: Cycle, user_id: str, text: str, message_ts: str, now: datetime
) -> bool:
    """A reply in the retro's thread, kept once however often Slack delivers it; an edit replaces its text."""
    prompt, body = prompt_of(normalise(text, multiline=True)[:RETRO_ANSWER_MAX])
    if not body.strip():
        return False
    values = {
        "workspace_id": cycle.workspace_id,
        "cycle_id": cycle.id,
        "user_id": user_id,
        "prompt": prompt,
        "text": body,
        "message_ts": message_ts,
        "created_at": now,
        "updated_at": now,
    }
    if insert_if_absent(session, RetroAnswer.__table__, values):
        return True
    return bool(
        session.execute(
            update(RetroAnswer)
            .where(
                RetroAnswer.cycle_id == cycle.id, RetroAnswer.message_ts == message_ts, RetroAnswer.user_id == user_id
            )
            .values(prompt=prompt, text=body, updated_at=now)
        ).rowcount
    )


def forget_retro_reply(session: Session, *, cycle: Cycle, message_ts: str) -> bool:
    """A reply deleted in Slack leaves the retro too."""
    from sqlalchemy import delete

    deleted = session.execute(
        delete(RetroAnswer).where(RetroAnswer.cycle_id == cycle.id, RetroAnswer.message_ts == message_ts)
    )
    return bool(deleted.rowcount)


def record_retro_form(
    session: Session, *, workspace_id: int, cycle_id: int, user_id: str, answers: dict[int, str], now: datetime
) -> tuple[Cycle, Team, list[RetroAnswer]]:
    """Answers typed in the retro form, one per prompt answered; the handler then posts them in the thread."""
    cycle, team = cycle_and_team(session, workspace_id=workspace_id, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise NotAllowed(f"Cycle {cycle.number} has no retro yet: it opens when the cycle closes.")
    team_rules.require_member(session, team=team, user_id=user_id)
    saved = []
    for prompt, text in sorted(answers.items()):
        answer = RetroAnswer(
            workspace_id=workspace_id,
            cycle_id=cycle.id,
            user_id=user_id,
            prompt=prompt,
            text=text,
            created_at=now,
            updated_at=now,
        )
        session.add(answer)
        saved.append(answer)
    session.flush()
    return cycle, team, saved


def parse_retro_form(fields: dict[str, str | None]) -> dict[int, str]:
    answers: dict[int, str] = {}
    for number in range(1, len(RETRO_PROMPTS) + 1):
        text = normalise(str(fields.get(f"prompt:{number}") or ""), multiline=True).strip()
        if len(text) > RETRO_ANSWER_MAX:
            raise InvalidFields({f"prompt:{number}": f"Keep an answer under {RETRO_ANSWER_MAX:,} characters."})
        if text:
            answers[number] = text
    if not answers:
        raise InvalidFields({"prompt:1": "Answer at least one of the prompts."})
    return answers


# the next cycle -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextCycle:
    team: Team
    closed: Cycle
    cycle: Cycle
    span: CycleSpan
    objectives: list[tuple[Objective, float | None]]  # the closed cycle's live objectives with their scores
    score: float | None
    visions: list[VisionStatement]
    quiet: bool = False  # nothing was ever committed in the closed cycle: the short message only
    shared_drafts: int = 0  # drafts shared for review and not committed, waiting for the new cycle


def next_cycle_prompt(session: Session, *, cycle_id: int, now: datetime) -> NextCycle:
    """What the team is shown when its new cycle opens: last cycle's scores and the leaders' vision."""
    from bot.rituals.drafts import active_visions

    closed = session.get(Cycle, cycle_id)
    team = session.get(Team, closed.team_id)
    following = session.scalar(
        select(Cycle).where(Cycle.team_id == team.id, Cycle.number > closed.number).order_by(Cycle.number).limit(1)
    )
    if following is None:
        following = cycle_row(session, team=team, span=team_span(team, now), now=now)
    by_objective: dict[int, list[float | None]] = {}
    objectives: dict[int, Objective] = {}
    for kr, objective in live_key_results(session, cycle_id=closed.id):
        objectives[objective.id] = objective
        by_objective.setdefault(objective.id, []).append(key_result_score(kr))
    scored = [(objectives[i], average(s)) for i, s in by_objective.items()]
    quiet = not committed_anything(session, cycle_id=closed.id)
    shared = session.scalar(
        select(func.count()).where(Draft.team_id == team.id, Draft.state == DraftState.SHARED).select_from(Draft)
    )
    return NextCycle(
        team=team,
        closed=closed,
        cycle=following,
        span=CycleSpan(following.number, following.starts_on, following.ends_on),
        objectives=scored,
        score=average(s for _, s in scored),
        visions=[] if quiet else active_visions(session, workspace_id=team.workspace_id)[:5],
        quiet=quiet,
        shared_drafts=shared or 0,
    )


@dataclass(frozen=True)
class Carried:
    drafts: list[tuple[Draft, Objective]]
    skipped: list[Objective]  # carried forward before


def carry_forward(
    session: Session, *, team: Team, cycle_id: int, picks: dict[int, list[int] | None], user_id: str, now: datetime
) -> Carried:
    """Copy the picked objectives of a closed cycle into drafts of the facilitator (`picks`: objective id → the key
    result ids picked, None for all of them). Targets, units and owners are copied, and the start is where the
    metric ended; check-ins are not. Each objective is carried once (a unique key on the draft)."""
    from bot.rituals.drafts import active_visions

    team_rules.require_facilitator(session, team=team, user_id=user_id)
    cycle = _team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise Conflict(f"Cycle {cycle.number} is still open; carry objectives forward once it has closed.")
    if not picks:
        raise InvalidFields({"objective": "Pick at least one objective or key result to carry forward."})
    live = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        live.setdefault(objective.id, (objective, []))[1].append(kr)
    visions = {v.id for v in active_visions(session, workspace_id=team.workspace_id)}
    carried, skipped = [], []
    for objective_id, kr_ids in picks.items():
        if objective_id not in live:
            raise NotFound("One of those objectives is not in the cycle any more; open the form again.")
        objective, krs = live[objective_id]
        chosen = [kr for kr in krs if kr_ids is None or kr.id in kr_ids]
        content = {
            "title": objective.title,
            "why": objective.why or "",
            "vision_id": objective.vision_id if objective.vision_id in visions else None,
            "key_results": [_carried_key_result(kr) for kr in chosen],
        }
        values = {
            "workspace_id": team.workspace_id,
            "team_id": team.id,
            "author_user_id": user_id,
            "state": DraftState.OPEN,
            "step": DraftStep.KEY_RESULTS if chosen else DraftStep.OBJECTIVE,
            "content": content,
            "version": 1,
            "updated_by": user_id,
            "updated_at": now,
            "created_at": now,
            "carried_from_id": objective.id,
        }
        if not insert_if_absent(session, Draft.__table__, values):
            skipped.append(objective)
            continue
        draft = session.scalar(select(Draft).where(Draft.team_id == team.id, Draft.carried_from_id == objective.id))
        carried.append((draft, objective))
        record_event(
            session,
            workspace_id=team.workspace_id,
            team_id=team.id,
            entity="draft",
            entity_id=draft.id,
            action="carried_forward",
            actor=user_id,
            now=now,
            data={"from_cycle": cycle.number, "objective": objective.number, "key_results": len(chosen)},
        )
    return Carried(carried, skipped)


def _carried_key_result(kr: KeyResult) -> dict[str, str]:
    start = kr.final_value if kr.final_value is not None else (kr.current if kr.current is not None else kr.baseline)
    return {
        "metric": kr.metric,
        "unit": kr.unit or "",
        "baseline": format_number(start) if start is not None else "",
        "target": format_number(kr.target) if kr.target is not None else "",
        "direction": kr.direction.value,
        "owner": kr.owner_user_id or "",
    }


def carry_choices(
    session: Session, *, team: Team, cycle_id: int
) -> tuple[Cycle, list[tuple[Objective, list[KeyResult]]]]:
    """The closed cycle's live objectives and key results, for the carry-forward form."""
    cycle = _team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise Conflict(f"Cycle {cycle.number} is still open; carry objectives forward once it has closed.")
    grouped: dict[int, tuple[Objective, list[KeyResult]]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        grouped.setdefault(objective.id, (objective, []))[1].append(kr)
    if not grouped:
        raise NotFound(f"Cycle {cycle.number} had no committed objectives to carry forward.")
    return cycle, list(grouped.values())


def scoring_for(session: Session, *, workspace_id: int, user_id: str) -> list[tuple[Team, Cycle, int]]:
    """The cycles being scored in which someone owns key results, with how many they have not scored yet
    (1 query): the App Home asks for them too, in case the DM was missed."""
    rows = session.execute(
        select(Team, Cycle, KeyResult.final_by)
        .join(Cycle, (Cycle.workspace_id == Team.workspace_id) & (Cycle.team_id == Team.id))
        .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
        .join(KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id))
        .where(
            Team.workspace_id == workspace_id,
            Cycle.reset_started_at.is_not(None),
            Cycle.state != CycleState.CLOSED,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            KeyResult.state == KeyResultState.ACTIVE,
            KeyResult.owner_user_id == user_id,
        )
        .order_by(Team.name_key, Cycle.number)
    ).all()
    found: dict[int, tuple[Team, Cycle, int]] = {}
    for team, cycle, final_by in rows:
        _, _, missing = found.get(cycle.id, (team, cycle, 0))
        found[cycle.id] = (team, cycle, missing + (0 if final_by else 1))
    return list(found.values())


# where a team stands --------------------------------------------------------------------------------------


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


# what the sweep finds due -----------------------------------------------------------------------------------


def cycle_numbered(session: Session, *, team: Team, number: int) -> Cycle | None:
    """The team's cycle row of that number, if it has one yet."""
    return session.scalar(select(Cycle).where(Cycle.team_id == team.id, Cycle.number == number))


def teams_at_cycle_end(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Teams whose cycle end has come (`teams.reset_at`), and teams never planned."""
    return _due_teams(session, Team.reset_at, now, limit)


def teams_due_notice(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Teams whose notice moment has come (`teams.reset_notice_at`), and teams never planned."""
    return _due_teams(session, Team.reset_notice_at, now, limit)


def _due_teams(session: Session, column, now: datetime, limit: int) -> list[int]:
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
