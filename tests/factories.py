"""Small builders for test data; each returns the flushed row so ids are usable at once."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from storage.models import BacklogItem, Cycle, KeyResult, Membership, Objective, Role, Team, Workspace

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
        workspace_id=ws.id, name=name, name_key=name.casefold(), channel_id=channel_id or f"C{n:06d}",
        cycle_anchor=date(2026, 11, 23), created_by="U0ADA", created_at=NOW,
    )  # fmt: skip
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
        workspace_id=t.workspace_id, team_id=t.id, number=next(_ids), starts_on=date(2026, 11, 23),
        ends_on=date(2027, 2, 22), created_at=NOW,
    )  # fmt: skip
    session.add(cycle)
    session.flush()
    objective = Objective(
        workspace_id=t.workspace_id, cycle_id=cycle.id, number=1, title="Customers love onboarding",
        author_user_id="U0ADA", created_at=NOW,
    )  # fmt: skip
    session.add(objective)
    session.flush()
    kr = KeyResult(
        workspace_id=ws_id, objective_id=objective.id, position=1, metric="activation rate", unit="%",
        baseline=20, target=35, owner_user_id="U0BEN", created_at=NOW,
    )  # fmt: skip
    session.add(kr)
    session.flush()
    return kr


def backlog_item(session: Session, t: Team, *, text: str = "Shorter sign-up form") -> BacklogItem:
    row = BacklogItem(workspace_id=t.workspace_id, team_id=t.id, text=text, created_by="U0BEN", created_at=NOW)
    session.add(row)
    session.flush()
    return row
