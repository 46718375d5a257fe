"""What building the weekly digest costs for a small workspace and a large one: time and SQL statements.

    python benchmarks/digest_build.py            # SQLite in a temporary file
    DATABASE_URL=postgresql://… python benchmarks/digest_build.py   # an empty, migrated PostgreSQL database

For each size it fills one workspace with teams (one committed objective of two key results each, in a running
cycle), ripples between them (ten per team), this week's events (every objective committed, one in five
revised, one in ten dropped) and check-ins (one in five falling to at risk), then times, median of RUNS:
- the build (`build_digest`: the reads and the rules), with the number of SQL statements it ran;
- the messages (the build, Block Kit from the templates, and the cut into messages);
- the picture of the ripple network.
The statement count must be the same for every size. The machine is noisy: compare ratios, not absolutes.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select

from bot.charts import NetworkEdge, network_chart
from bot.delivery.digests import digest_messages
from bot.rituals.digest import build_digest
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    EventLog,
    KeyResult,
    Objective,
    ObjectiveState,
    Ripple,
    RippleKind,
    Team,
    Workspace,
)

SIZES = ((20, 200), (200, 2_000))  # (teams, ripples)
RUNS = 7


def fill(db: Database, *, teams: int, ripples: int, now: datetime) -> int:
    """One workspace of `teams` teams and `ripples` ripples; its id."""
    today = now.date()
    with db.transaction() as session:
        workspace = Workspace(slack_team_id=f"TBENCH{teams}", created_at=now)
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
                    "channel_id": f"C{teams}T{n:05d}",
                    "cycle_anchor": today - timedelta(days=30),
                    "created_by": "U0",
                }
                for n in range(teams)
            ],
        )
        team_ids = session.scalars(select(Team.id).where(Team.workspace_id == ws).order_by(Team.id)).all()
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
        session.execute(
            insert(Objective),
            [
                {
                    **common,
                    "cycle_id": cycles[t],
                    "number": 1,
                    "title": f"Objective of team {i}",
                    "state": ObjectiveState.DROPPED if i % 10 == 0 else ObjectiveState.COMMITTED,
                    "author_user_id": "U0",
                    "updated_at": now,
                }
                for i, t in enumerate(team_ids)
            ],
        )
        objectives = dict(
            session.execute(
                select(Cycle.team_id, Objective.id)
                .join(Cycle, Cycle.id == Objective.cycle_id)
                .where(Objective.workspace_id == ws)
            ).all()
        )
        session.execute(
            insert(KeyResult),
            [
                {
                    **common,
                    "objective_id": objectives[t],
                    "position": p,
                    "metric": f"Metric {i % 50} {p}",
                    "baseline": 0,
                    "target": 10,
                    "current": 5,
                    "owner_user_id": "U0",
                    "updated_at": now,
                    "confidence": 5 if i % 5 == 0 else 8,
                }
                for i, t in enumerate(team_ids)
                for p in (1, 2)
            ],
        )
        krs = session.execute(
            select(Objective.id, KeyResult.id)
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(KeyResult.workspace_id == ws)
            .order_by(KeyResult.id)
        ).all()
        kr_of = {}
        for objective_id, kr_id in krs:
            kr_of.setdefault(objective_id, []).append(kr_id)
        team_krs = [kr_of[objectives[t]] for t in team_ids]
        rows = []
        for n in range(ripples):
            a, b = n % teams, (n * 7 + 1 + n // teams) % teams
            if a == b:
                b = (b + 1) % teams
            rows.append(
                {
                    **common,
                    "number": n + 1,
                    "from_team_id": team_ids[a],
                    "to_team_id": team_ids[b],
                    "key_result_id": team_krs[a][n % 2],
                    "to_key_result_id": team_krs[b][0] if n % 3 == 0 else None,
                    "kind": RippleKind.DEPENDS_ON if n % 2 else RippleKind.AFFECTS,
                    "note": f"Ripple {n}",
                    "created_by": "U0",
                    "updated_at": now,
                    "notice_done_at": now,
                }
            )
        session.execute(insert(Ripple), rows)
        events = []
        for i, t in enumerate(team_ids):
            objective_id = objectives[t]
            events.append(
                {
                    **common,
                    "team_id": t,
                    "entity": "objective",
                    "entity_id": objective_id,
                    "action": "committed",
                    "actor_user_id": "U0",
                    "data": {"number": 1},
                }
            )
            if i % 5 == 1:
                events.append(
                    {
                        **common,
                        "team_id": t,
                        "entity": "key_result",
                        "entity_id": kr_of[objective_id][0],
                        "action": "revised",
                        "actor_user_id": "U0",
                        "reason": "Learned more",
                        "data": {"objective_id": objective_id, "number": 1},
                    }
                )
            if i % 10 == 0:
                events.append(
                    {
                        **common,
                        "team_id": t,
                        "entity": "objective",
                        "entity_id": objective_id,
                        "action": "dropped",
                        "actor_user_id": "U0",
                        "reason": "Not worth it",
                        "data": {"number": 1},
                    }
                )
        session.execute(insert(EventLog), events)
        week = today - timedelta(days=today.weekday())
        session.execute(
            insert(CheckIn),
            [
                {
                    **common,
                    "key_result_id": kr_id,
                    "week_start": week,
                    "value": 5,
                    "author_user_id": "U0",
                    "confidence": 5 if i % 5 == 0 else 8,
                }
                for i, (_o, kr_id) in enumerate(krs)
            ],
        )
        return ws


def median_seconds(work, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(db: Database, *, teams: int, ripples: int, now: datetime, runs: int = RUNS, picture: bool = True) -> dict:
    """Fill one more workspace of this size and time its digest: the figures of one row of the table."""
    since, until = now - timedelta(days=7), now + timedelta(minutes=1)
    ws = fill(db, teams=teams, ripples=ripples, now=now - timedelta(hours=1))
    statements: list[str] = []
    listener = lambda *args, seen=statements: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    with db.read() as session:
        digest = build_digest(session, workspace_id=ws, since=since, until=until)
    event.remove(db.engine, "before_cursor_execute", listener)

    def build() -> None:
        with db.read() as session:
            build_digest(session, workspace_id=ws, since=since, until=until)

    def messages():
        return digest_messages(db, workspace_id=ws, since=since, until=until, preview=True)

    edges = [NetworkEdge(e.from_team, e.to_team, e.kind == "depends_on", e.at_risk) for e in digest.edges]
    return {
        "teams": teams,
        "ripples": ripples,
        "statements": sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")),
        "build_ms": median_seconds(build, runs) * 1000,
        "messages_ms": median_seconds(messages, runs) * 1000,
        "messages": len(messages().messages),
        "picture_ms": median_seconds(lambda: network_chart(edges, title="Ripples"), runs) * 1000 if picture else None,
    }


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    print(
        f"{'teams':>6} {'ripples':>8} {'statements':>11} {'build ms':>9} {'messages ms':>12} {'messages':>9} "
        f"{'picture ms':>11}"
    )
    for teams, ripples in SIZES:
        row = measure(db, teams=teams, ripples=ripples, now=now)
        print(
            f"{teams:>6} {ripples:>8} {row['statements']:>11} {row['build_ms']:>9.1f} {row['messages_ms']:>12.1f} "
            f"{row['messages']:>9} {row['picture_ms']:>11.1f}"
        )


if __name__ == "__main__":
    main()
