"""How the sweep's cost grows: with what is due, not with everything scheduled.

    python benchmarks/sweep_due_set.py            # SQLite in a temporary file
    DATABASE_URL=postgresql://… python benchmarks/sweep_due_set.py   # an empty, migrated PostgreSQL database

For each size it fills `schedules` with rows due next month and 10 rows due now, then times the sweep's
due-set read (Sweeper._due) 30 times and prints the median. The machine is noisy: compare the ratios
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

from sqlalchemy import delete, insert

from bot.sweep import Sweeper
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Schedule, ScheduleKind, Team, Workspace

SIZES = (1_000, 10_000, 100_000)
DUE = 10
RUNS = 30


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    with db.transaction() as session:
        workspace = Workspace(slack_team_id="TBENCH", created_at=now)
        session.add(workspace)
        session.flush()
        team = Team(
            workspace_id=workspace.id,
            name="Bench",
            name_key="bench",
            channel_id="CBENCH",
            cycle_anchor=date.today(),
            created_by="U0",
            created_at=now,
        )
        session.add(team)
        session.flush()
        ids = workspace.id, team.id
    sweeper = Sweeper(db, lambda _workspace: None)
    print(f"{'scheduled rows':>15} {'due':>5} {'median due-set read':>20}")
    baseline = None
    for size in SIZES:
        with db.transaction() as session:
            session.execute(delete(Schedule))
            rows = [
                {
                    "workspace_id": ids[0],
                    "team_id": ids[1],
                    "kind": ScheduleKind.CHECKIN,
                    "user_id": f"U{n:07d}",
                    "week_start": date.today(),
                    "due_at": now - timedelta(minutes=1) if n < DUE else now + timedelta(days=30, seconds=n),
                }
                for n in range(size)
            ]
            session.execute(insert(Schedule), rows)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE schedules")
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            found, _after = sweeper._due(now)
            timings.append(time.perf_counter() - started)
        assert len(found) == DUE, found
        median = statistics.median(timings) * 1000
        baseline = baseline or median
        print(f"{size:>15,} {DUE:>5} {median:>17.2f} ms  ({median / baseline:.2f}× the first)")
    db.dispose()


if __name__ == "__main__":
    main()
