"""Large workspaces written straight into the database, in bulk: teams in a running cycle, one committed objective
each, key results with distinct owners, and their weekly check-in rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.rituals import schedule
from storage.db import Database
from storage.models import (
    Cycle,
    CycleState,
    KeyResult,
    Membership,
    Objective,
    ObjectiveState,
    Role,
    Schedule,
    ScheduleKind,
    Team,
    Workspace,
)

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    team_ids: list[int]
    owners: list[str]  # one per key result, in team order


def owner_id(n: int) -> str:
    return f"U{n:08d}"


def okr_workspace(
    db: Database,
    *,
    slack_team_id: str,
    teams: int,
    key_results: int,
    now: datetime,
    due_share: float | None = None,
    first_owner: int = 0,
) -> Seeded:
    """`teams` teams of `key_results` key results each, every key result owned by its own person.

    The teams check in on `now`'s weekday at 00:00 UTC, so this week's check-in time has passed. With
    `due_share` set, every owner gets a check-in row: that share of them due now, the rest next week. Owners are
    numbered from `first_owner` + 1 (each workspace's its own people).
    """
    today = now.date()
    with db.transaction() as session:
        workspace = Workspace(slack_team_id=slack_team_id, created_at=now)
        session.add(workspace)
        session.flush()
        ws = workspace.id
        common = {"workspace_id": ws, "created_at": now}
        session.execute(
            insert(Team),
            [
                {
                    **common,
                    "name": f"Team {n}",
                    "name_key": f"team {n}",
                    "channel_id": f"C{slack_team_id}{n:05d}",
                    "cycle_anchor": today - timedelta(days=30),
                    "created_by": owner_id(0),
                    "checkin_weekday": now.weekday(),
                    "checkin_hour": 0,
                }
                for n in range(teams)
            ],
        )
        team_rows = session.scalars(select(Team).where(Team.workspace_id == ws).order_by(Team.id)).all()
        team_ids = [t.id for t in team_rows]
        session.execute(
            insert(Cycle),
            [
                {
                    **common,
                    "team_id": t,
                    "number": 1,
                    "starts_on": today - timedelta(days=30),
                    "ends_on": today + timedelta(days=60),
                    "state": CycleState.ACTIVE,
                }
                for t in team_ids
            ],
        )
        cycles = dict(session.execute(select(Cycle.team_id, Cycle.id).where(Cycle.workspace_id == ws)).all())
        per_objective = 5  # a key result's position is 1 to 5
        objective_count = -(-key_results // per_objective)
        session.execute(
            insert(Objective),
            [
                {
                    **common,
                    "cycle_id": cycles[t],
                    "number": o + 1,
                    "title": f"Objective {o + 1} of team {i}",
                    "state": ObjectiveState.COMMITTED,
                    "author_user_id": owner_id(0),
                    "updated_at": now,
                }
                for i, t in enumerate(team_ids)
                for o in range(objective_count)
            ],
        )
        objectives = {
            (team_id, number): objective_id
            for team_id, number, objective_id in session.execute(
                select(Cycle.team_id, Objective.number, Objective.id)
                .join(Cycle, Cycle.id == Objective.cycle_id)
                .where(Objective.workspace_id == ws)
            )
        }
        owners = [owner_id(first_owner + i * key_results + p + 1) for i in range(teams) for p in range(key_results)]
        session.execute(
            insert(KeyResult),
            [
                {
                    **common,
                    "objective_id": objectives[t, p // per_objective + 1],
                    "position": p % per_objective + 1,
                    "metric": f"Metric {i} {p}",
                    "baseline": 0,
                    "target": 10,
                    "current": 0,
                    "owner_user_id": owners[i * key_results + p],
                    "updated_at": now,
                }
                for i, t in enumerate(team_ids)
                for p in range(key_results)
            ],
        )
        session.execute(
            insert(Membership),
            [
                {
                    **common,
                    "team_id": t,
                    "user_id": owners[i * key_results + p],
                    "role": Role.FACILITATOR if p == 0 else Role.MEMBER,
                }
                for i, t in enumerate(team_ids)
                for p in range(key_results)
            ],
        )
        if due_share is not None:
            team = team_rows[0]
            week = schedule.week_of(now, weekday=team.checkin_weekday, hour=team.checkin_hour, zone=UTC_ZONE)
            due = schedule.checkin_due(team, week, UTC_ZONE)
            due_count = round(len(owners) * due_share)
            session.execute(
                insert(Schedule),
                [
                    {
                        "workspace_id": ws,
                        "team_id": team_ids[n // key_results],
                        "kind": ScheduleKind.CHECKIN,
                        "user_id": owner,
                        "week_start": week if n < due_count else week + schedule.WEEK,
                        "due_at": due if n < due_count else due + schedule.WEEK,
                    }
                    for n, owner in enumerate(owners)
                ],
            )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    return Seeded(ws, team_ids, owners)
