"""The overview's reads of the teams' current cycles: plain columns, not entities, so 200 teams' 23,000 check-ins
are pairs of numbers rather than objects; and each query finds the current cycles by (team, number), so none
carries one parameter per objective or key result."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select, tuple_
from sqlalchemy.orm import Session

from bot.rituals.cycles import CycleSpan
from bot.rituals.drafts import LIVE_OBJECTIVE_STATES
from storage.models import CheckIn, Cycle, KeyResult, KeyResultState, Objective

Query = Select[*tuple[Any, ...]]  # a select of some columns


@dataclass(frozen=True)
class Current:
    """What the teams' current cycles hold, as `/okr list` shows it: committed or revised objectives (never drafts
    or dropped ones) and their active key results."""

    # team id → its objectives by number (id, number, title, state, vision_id, team_id)
    objectives: dict[int, list[Row[Any]]] = field(default_factory=lambda: defaultdict(list))
    # objective id → its key results by position, with what `key_result_score` reads
    key_results: dict[int, list[Row[Any]]] = field(default_factory=lambda: defaultdict(list))
    # key result id → the confidences of its check-ins, oldest week first
    trends: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    # key result id → when it was last checked in
    last_checkins: dict[int, datetime] = field(default_factory=dict)


def read_current(session: Session, *, workspace_id: int, spans: Mapping[int, CycleSpan]) -> Current:
    """The current cycles of these teams (team id → its current span): three queries when any team has a live
    objective, one when none has, none without teams."""
    found = Current()
    if not spans:
        return found
    live = _live_objectives(workspace_id, spans)
    query = live.add_columns(Objective.number, Objective.title, Objective.state, Objective.vision_id, Cycle.team_id)
    for objective in session.execute(query.order_by(Cycle.team_id, Objective.number)):
        found.objectives[objective.team_id].append(objective)
    if not found.objectives:
        return found
    for kr in session.execute(_key_results(workspace_id, live)):
        found.key_results[kr.objective_id].append(kr)
    last = found.last_checkins
    for kr_id, confidence, at in session.execute(
        _checkins(workspace_id, live, KeyResult.id, CheckIn.confidence, CheckIn.created_at)
    ):
        found.trends[kr_id].append(confidence)
        if kr_id not in last or at > last[kr_id]:
            last[kr_id] = at
    return found


def _live_objectives(workspace_id: int, spans: Mapping[int, CycleSpan]) -> Query:
    """The ids of the objectives `/okr list` shows (committed or revised) in each team's current cycle."""
    current = [(team_id, span.number) for team_id, span in spans.items()]
    return (
        select(Objective.id)
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .where(
            Objective.workspace_id == workspace_id,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            tuple_(Cycle.team_id, Cycle.number).in_(current),
        )
    )


def _key_results(workspace_id: int, live: Query) -> Query:
    """The active key results of the live objectives, with what scoring them takes."""
    return (
        select(
            KeyResult.id,
            KeyResult.objective_id,
            KeyResult.position,
            KeyResult.metric,
            KeyResult.unit,
            KeyResult.owner_user_id,
            KeyResult.created_at,
            # what `key_result_score` reads
            KeyResult.direction,
            KeyResult.baseline,
            KeyResult.target,
            KeyResult.current,
            KeyResult.final_at,
            KeyResult.final_score,
        )
        .where(
            KeyResult.workspace_id == workspace_id,
            KeyResult.state == KeyResultState.ACTIVE,
            KeyResult.objective_id.in_(live),
        )
        .order_by(KeyResult.objective_id, KeyResult.position)
    )


def _checkins(workspace_id: int, live: Query, *columns: Any) -> Query:
    """`columns` of the check-ins of those key results, by key result, oldest week first. A key result lives in one
    cycle (carrying one forward copies it without its check-ins): these are all this cycle's."""
    return (
        select(*columns)
        .select_from(CheckIn)
        .join(KeyResult, (KeyResult.workspace_id == CheckIn.workspace_id) & (KeyResult.id == CheckIn.key_result_id))
        .where(
            CheckIn.workspace_id == workspace_id,
            KeyResult.state == KeyResultState.ACTIVE,
            KeyResult.objective_id.in_(live),
        )
        .order_by(KeyResult.id, CheckIn.week_start)
    )
