"""Step 1 of a reset, the final scores: the key results that count, each owner asked to score theirs while the
cycle's scoring is open, and what their form reads.

A key result its owner leaves unscored is not scored: at the close its progress becomes its final score. A second
answer replaces the first; scores and the close take the team's lock, so they never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidFields, NotAllowed, NotFound
from bot.numbers import parse_number
from bot.rituals import teams as team_rules
from bot.rituals.events import record_event
from bot.rituals.scoring import score
from bot.text import normalise
from storage.models import Cycle, CycleState, KeyResult, KeyResultState, Objective, ObjectiveState, Team
from storage.models.okrs import LIVE_OBJECTIVE_STATES


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
    answers: dict[int, tuple[float | None, float] | None] = {}
    errors: dict[str, str] = {}
    for item in items:
        kr_id = item.key_result.id
        raw_value, raw_score = fields.get(f"value:{kr_id}"), fields.get(f"score:{kr_id}")
        value = final = None
        try:
            value = parse_number(raw_value) if raw_value and raw_value.strip() else None
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


def team_cycle(session: Session, *, team: Team, cycle_id: int) -> Cycle:
    """The team's cycle of that id (a button's or a form's), or NotFound."""
    cycle = session.scalar(
        select(Cycle).where(Cycle.workspace_id == team.workspace_id, Cycle.team_id == team.id, Cycle.id == cycle_id)
    )
    if cycle is None:
        raise NotFound("That cycle is not one of this team's. Run `/okr reset` again.")
    return cycle


def _require_scoring_open(cycle: Cycle, team: Team) -> None:
    if cycle.state is CycleState.CLOSED:
        raise NotAllowed(f"Cycle {cycle.number} of *{team.name}* is closed: its scores are final.")
    if cycle.reset_started_at is None:
        raise NotAllowed(f"Final scoring of cycle {cycle.number} has not started yet.")


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
