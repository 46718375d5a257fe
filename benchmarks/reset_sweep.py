"""What the minute sweep's reset step costs when nothing is due: the same with 100 teams or 10,000.

    python benchmarks/reset_sweep.py            # SQLite in a temporary file
    DATABASE_URL=postgresql://… python benchmarks/reset_sweep.py   # an empty, migrated PostgreSQL database

For each size it fills `teams` (each with a closed cycle whose reset is done and a running one), all planned
for later, then times `sweep_resets` 100 times and prints the median. Every minute every replica runs it, so
it must read what is due through its indexes, not walk the teams. The machine is noisy: compare the ratios
between sizes, not the absolute figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, select

from bot.delivery.resets import sweep_resets
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Cycle, CycleState, Team, Workspace

SIZES = (100, 1_000, 10_000)
RUNS = 100


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    today = now.date()
    with db.transaction() as session:
        workspace = Workspace(slack_team_id="TBENCH", created_at=now)
        session.add(workspace)
        session.flush()
        workspace_id = workspace.id
    print(f"{'teams':>8} {'median reset sweep, nothing due':>32}")
    baseline = None
    for size in SIZES:
        with db.transaction() as session:
            session.execute(delete(Cycle))
            session.execute(delete(Team))
            session.execute(
                insert(Team),
                [
                    {
                        "workspace_id": workspace_id,
                        "name": f"Team {n}",
                        "name_key": f"team {n}",
                        "channel_id": f"C{n:08d}",
                        "cycle_anchor": today - timedelta(days=100),
                        "closed_through": 1,
                        "reset_at": now + timedelta(days=80, seconds=n),
                        "reset_notice_at": now + timedelta(days=73),
                        "created_by": "U0",
                        "created_at": now,
                    }
                    for n in range(size)
                ],
            )
            team_ids = session.scalars(select(Team.id)).all()
            cycles = []
            for team_id in team_ids:
                cycles.append(_cycle(workspace_id, team_id, 1, today - timedelta(days=100), CycleState.CLOSED, now))
                cycles.append(_cycle(workspace_id, team_id, 2, today - timedelta(days=9), CycleState.ACTIVE, None))
            session.execute(insert(Cycle), cycles)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE teams")
                connection.exec_driver_sql("ANALYZE cycles")
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            report = sweep_resets(db, lambda _workspace: None, now=now)
            timings.append(time.perf_counter() - started)
        assert not report, report
        median = statistics.median(timings) * 1000
        baseline = baseline or median
        print(f"{size:>8,} {median:>29.2f} ms  ({median / baseline:.2f}× the first)")
    db.dispose()


def _cycle(workspace_id: int, team_id: int, number: int, starts: date, state: CycleState, done) -> dict:
    return {
        "workspace_id": workspace_id,
        "team_id": team_id,
        "number": number,
        "starts_on": starts,
        "ends_on": starts + timedelta(days=91),
        "state": state,
        "created_at": datetime.now(UTC),
        "reset_started_at": done,
        "reset_done_at": done,
        "closed_at": done,
    }


if __name__ == "__main__":
    main()
