"""What the coach is shown of a draft, and what it needs to know about the team the draft is for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.coach import Finding, KeyResultDraft, ObjectiveDraft, OtherTeamKeyResult, TeamContext, coach
from bot.rituals.cycles import current_cycle
from bot.rituals.draft_fields import number_or_none
from bot.rituals.scoring import average, key_result_score
from storage.models import (
    Cycle,
    CycleState,
    Draft,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    Team,
    VisionStatement,
)
from storage.models.okrs import LIVE_OBJECTIVE_STATES


def draft_findings(session: Session, *, draft: Draft, team: Team, now: datetime) -> list[Finding]:
    """The coach's notes on a draft, knowing the team and its current cycle (which this may open)."""
    cycle = current_cycle(session, team=team, now=now)
    return coach(coach_draft(draft.content), coach_context(session, team=team, cycle=cycle))


def coach_draft(content: dict[str, Any]) -> ObjectiveDraft:
    """The draft as the coach sees it: numbers that do not read as numbers count as missing."""
    return ObjectiveDraft(
        title=content.get("title") or "",
        why=content.get("why") or "",
        key_results=tuple(
            KeyResultDraft(
                metric=kr.get("metric") or "",
                unit=kr.get("unit") or "",
                baseline=number_or_none(kr.get("baseline")),
                target=number_or_none(kr.get("target")),
                direction=kr.get("direction") or "increase",
                owner=kr.get("owner") or None,
            )
            for kr in content.get("key_results", [])
        ),
    )


def coach_context(session: Session, *, team: Team, cycle: Cycle) -> TeamContext:
    """What the coach needs to know about the team: its limit, its cycle so far, other teams, its history."""
    committed = live_objectives(session, cycle=cycle)
    others = session.execute(
        select(Team.name, KeyResult.metric)
        .join(Cycle, (Cycle.workspace_id == Team.workspace_id) & (Cycle.team_id == Team.id))
        .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
        .join(KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id))
        .where(
            Team.workspace_id == team.workspace_id,
            Team.id != team.id,
            Cycle.state != CycleState.CLOSED,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            KeyResult.state == KeyResultState.ACTIVE,
        )
    )
    closed = session.execute(
        select(Cycle.id, KeyResult)
        .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
        .join(KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id))
        .where(
            Cycle.team_id == team.id,
            Cycle.state == CycleState.CLOSED,
            Objective.state != ObjectiveState.DROPPED,
            KeyResult.state == KeyResultState.ACTIVE,
        )
        .order_by(Cycle.number)
    )
    by_cycle: dict[int, list[float | None]] = {}
    for cycle_id, kr in closed:
        by_cycle.setdefault(cycle_id, []).append(key_result_score(kr))
    scores = tuple(s for s in (average(v) for v in by_cycle.values()) if s is not None)
    return TeamContext(
        max_objectives=team.max_objectives,
        committed_objectives=committed,
        other_teams_key_results=tuple(OtherTeamKeyResult(team=name, metric=metric) for name, metric in others),
        closed_cycle_scores=scores,
    )


def live_objectives(session: Session, *, cycle: Cycle) -> int:
    query = select(func.count()).select_from(Objective)
    return session.scalar(query.where(Objective.cycle_id == cycle.id, Objective.state.in_(LIVE_OBJECTIVE_STATES))) or 0


def active_visions(session: Session, *, workspace_id: int) -> list[VisionStatement]:
    query = select(VisionStatement).where(
        VisionStatement.workspace_id == workspace_id, VisionStatement.archived_at.is_(None)
    )
    return list(session.scalars(query.order_by(VisionStatement.number)))


def draft_vision(session: Session, *, draft: Draft) -> VisionStatement | None:
    """The vision statement the draft aims at, if it names one (archived or not)."""
    vision_id = draft.content.get("vision_id")
    if not vision_id:
        return None
    query = select(VisionStatement).where(
        VisionStatement.workspace_id == draft.workspace_id, VisionStatement.id == vision_id
    )
    return session.scalar(query)
