"""Step 3 of a reset, the next cycle: what the team is shown when it opens (last cycle's scores and the leaders'
vision; only the short message after a cycle in which nothing was ever committed), and carrying a closed cycle's
objectives forward as a facilitator's drafts, each objective once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import Conflict, InvalidFields, NotFound
from bot.numbers import format_number
from bot.rituals import teams as team_rules
from bot.rituals.cycles import CycleSpan, cycle_row, team_span
from bot.rituals.drafts import active_visions
from bot.rituals.events import record_event
from bot.rituals.reset.final_scores import committed_anything, live_key_results, team_cycle
from bot.rituals.scoring import average, key_result_score
from storage.claims import insert_if_absent
from storage.models import Cycle, CycleState, Draft, DraftState, DraftStep, KeyResult, Objective, Team, VisionStatement


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
    closed = session.get_one(Cycle, cycle_id)
    team = session.get_one(Team, closed.team_id)
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
    team_rules.require_facilitator(session, team=team, user_id=user_id)
    cycle = team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise Conflict(f"Cycle {cycle.number} is still open; carry objectives forward once it has closed.")
    if not picks:
        raise InvalidFields({"objective": "Pick at least one objective or key result to carry forward."})
    live: dict[int, tuple[Objective, list[KeyResult]]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        live.setdefault(objective.id, (objective, []))[1].append(kr)
    visions = {v.id for v in active_visions(session, workspace_id=team.workspace_id)}
    carried: list[tuple[Draft, Objective]] = []
    skipped: list[Objective] = []
    for objective_id, kr_ids in picks.items():
        if objective_id not in live:
            raise NotFound("One of those objectives is not in the cycle any more; open the form again.")
        objective, krs = live[objective_id]
        chosen = [kr for kr in krs if kr_ids is None or kr.id in kr_ids]
        values = {
            "workspace_id": team.workspace_id,
            "team_id": team.id,
            "author_user_id": user_id,
            "state": DraftState.OPEN,
            "step": DraftStep.KEY_RESULTS if chosen else DraftStep.OBJECTIVE,
            "content": _carried_content(objective, chosen, visions),
            "version": 1,
            "updated_by": user_id,
            "updated_at": now,
            "created_at": now,
            "carried_from_id": objective.id,
        }
        if not insert_if_absent(session, Draft.__table__, values):
            skipped.append(objective)
            continue
        draft = session.execute(
            select(Draft).where(Draft.team_id == team.id, Draft.carried_from_id == objective.id)
        ).scalar_one()
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


def _carried_content(objective: Objective, chosen: list[KeyResult], visions: set[int]) -> dict[str, Any]:
    """What a carried draft says: the objective's words, its vision while still active, the picked key results."""
    return {
        "title": objective.title,
        "why": objective.why or "",
        "vision_id": objective.vision_id if objective.vision_id in visions else None,
        "key_results": [_carried_key_result(kr) for kr in chosen],
    }


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
    cycle = team_cycle(session, team=team, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise Conflict(f"Cycle {cycle.number} is still open; carry objectives forward once it has closed.")
    grouped: dict[int, tuple[Objective, list[KeyResult]]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        grouped.setdefault(objective.id, (objective, []))[1].append(kr)
    if not grouped:
        raise NotFound(f"Cycle {cycle.number} had no committed objectives to carry forward.")
    return cycle, list(grouped.values())
