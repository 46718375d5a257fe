"""Small builders for test data; each returns the flushed row so ids are usable at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.rituals import schedule
from bot.rituals.cycles import current_cycle
from bot.rituals.drafts import snapshot
from bot.rituals.events import record_event
from storage.models import (
    BacklogItem,
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    KeyResult,
    Membership,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Role,
    Team,
    Workspace,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def workspace(session: Session, *, slack_team_id: str | None = None) -> Workspace:
    row = Workspace(slack_team_id=slack_team_id or f"T{next(_ids):06d}", created_at=NOW)
    session.add(row)
    session.flush()
    return row


def team(session: Session, ws: Workspace, *, name: str | None = None, channel_id: str | None = None) -> Team:
    n = next(_ids)
    name = name or f"Team {n}"
    row = Team(
        workspace_id=ws.id,
        name=name,
        name_key=name.casefold(),
        channel_id=channel_id or f"C{n:06d}",
        cycle_anchor=date(2026, 11, 23),
        created_by="U0ADA",
        created_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def member(session: Session, t: Team, user_id: str, *, role: Role = Role.MEMBER) -> Membership:
    row = Membership(workspace_id=t.workspace_id, team_id=t.id, user_id=user_id, role=role, created_at=NOW)
    session.add(row)
    session.flush()
    return row


def key_result(session: Session, t: Team, *, workspace_id: int | None = None) -> KeyResult:
    """A KR under a fresh cycle and objective of team `t` (optionally claiming another workspace)."""
    ws_id = workspace_id or t.workspace_id
    cycle = Cycle(
        workspace_id=t.workspace_id,
        team_id=t.id,
        number=next(_ids),
        starts_on=date(2026, 11, 23),
        ends_on=date(2027, 2, 22),
        created_at=NOW,
    )
    session.add(cycle)
    session.flush()
    objective = Objective(
        workspace_id=t.workspace_id,
        cycle_id=cycle.id,
        number=1,
        title="Customers love onboarding",
        author_user_id="U0ADA",
        created_at=NOW,
    )
    session.add(objective)
    session.flush()
    kr = KeyResult(
        workspace_id=ws_id,
        objective_id=objective.id,
        position=1,
        metric="activation rate",
        unit="%",
        baseline=20,
        target=35,
        owner_user_id="U0BEN",
        created_at=NOW,
    )
    session.add(kr)
    session.flush()
    return kr


def backlog_item(session: Session, t: Team, *, text: str = "Shorter sign-up form") -> BacklogItem:
    number = (session.scalar(select(func.max(BacklogItem.number)).where(BacklogItem.team_id == t.id)) or 0) + 1
    row = BacklogItem(
        workspace_id=t.workspace_id, team_id=t.id, number=number, text=text, created_by="U0BEN", created_at=NOW
    )
    session.add(row)
    session.flush()
    return row


KEY_RESULTS = (
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
    {
        "metric": "Median minutes to first dashboard",
        "unit": "min",
        "baseline": 30,
        "target": 10,
        "direction": "decrease",
        "owner": "U0CLEO",
    },
)


def committed_objective(
    session: Session,
    t: Team,
    *,
    now: datetime = NOW,
    title: str = "New teams get value in their first week",
    why: str | None = None,
    key_results: Sequence[dict[str, Any]] = KEY_RESULTS,
    author: str = "U0ADA",
) -> Objective:
    """What the drafting flow's commit writes: the objective in the team's current cycle, numbered next,
    its key results standing at their baseline, version 1 with its snapshot, and the event-log entry."""
    cycle = current_cycle(session, team=t, now=now)
    if cycle.state is CycleState.DRAFTING:
        cycle.state = CycleState.ACTIVE
    number = (session.scalar(select(func.max(Objective.number)).where(Objective.cycle_id == cycle.id)) or 0) + 1
    objective = Objective(
        workspace_id=t.workspace_id,
        cycle_id=cycle.id,
        number=number,
        title=title,
        why=why,
        state=ObjectiveState.COMMITTED,
        version=1,
        owner_user_id=author,
        author_user_id=author,
        created_at=now,
        updated_at=now,
    )
    session.add(objective)
    session.flush()
    rows = [_key_result_row(t, objective, position, kr, now=now) for position, kr in enumerate(key_results, start=1)]
    session.add_all(rows)
    session.flush()
    version = ObjectiveVersion(
        workspace_id=t.workspace_id,
        objective_id=objective.id,
        version=1,
        change="committed",
        actor_user_id=author,
        snapshot=snapshot(objective, rows),
        created_at=now,
    )
    session.add(version)
    record_event(
        session,
        workspace_id=t.workspace_id,
        team_id=t.id,
        entity="objective",
        entity_id=objective.id,
        action="committed",
        actor=author,
        now=now,
        data={"cycle": cycle.number, "number": number, "key_results": len(rows)},
    )
    session.flush()
    schedule.refresh_team(session, team=t, now=now)
    return objective


def _key_result_row(t: Team, objective: Objective, position: int, kr: dict[str, Any], *, now: datetime) -> KeyResult:
    return KeyResult(
        workspace_id=t.workspace_id,
        objective_id=objective.id,
        position=position,
        metric=kr["metric"],
        unit=kr.get("unit"),
        baseline=kr.get("baseline"),
        target=kr.get("target"),
        current=kr.get("baseline"),
        direction=Direction(kr.get("direction", "increase")),
        owner_user_id=kr.get("owner"),
        created_at=now,
        updated_at=now,
    )


def checkin(session: Session, kr: KeyResult, *, week_start: date, value: float, confidence: int) -> CheckIn:
    """A weekly check-in, and the key result's current value it sets."""
    row = CheckIn(
        workspace_id=kr.workspace_id,
        key_result_id=kr.id,
        week_start=week_start,
        value=value,
        confidence=confidence,
        author_user_id=kr.owner_user_id or "U0ADA",
        created_at=NOW,
    )
    kr.current = value
    session.add(row)
    session.flush()
    return row
