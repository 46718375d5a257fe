"""Sweeps: what it costs the minute sweep to find what is due, with 1,000 teams and 10,000 key results (one
owner each, one check-in row each) when 1% of them are due and when all of them are.

The sweep reads what is due in batches (`Sweeper._due`, 200 rows at a time, each read going on from where the
last stopped) and handles each batch before reading the next. Here a batch is "handled" by moving its rows to next
week, outside the timing, so only the reads are measured: their total per pass must grow with what is due (one
read per 200 rows due), not with the 10,000 rows scheduled.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import update

from benchmarks.common import median
from benchmarks.seed import okr_workspace
from bot.rituals import schedule
from bot.sweep import BATCH, Sweeper
from storage.db import Database
from storage.models import Schedule

TEAMS = 1_000
KEY_RESULTS_PER_TEAM = 10
RUNS = 5


def run(backend: str, database_url: str, *, teams: int = TEAMS, runs: int = RUNS) -> dict:
    now = datetime.now(UTC)
    db = Database(database_url)
    try:
        seeded = okr_workspace(
            db, slack_team_id="TSWEEP", teams=teams, key_results=KEY_RESULTS_PER_TEAM, now=now, due_share=1.0
        )
        rows = len(seeded.owners)
        with db.read() as session:
            due_at = session.query(Schedule.due_at).limit(1).scalar()
        sweeper = Sweeper(db, lambda _workspace: None)
        results = {"backend": backend, "teams": teams, "key_results": rows}
        for label, share in (("1%", 0.01), ("100%", 1.0)):
            due = round(rows * share)
            timings, reads = [], 0
            for _ in range(runs):
                _make_due(db, due_at, due)
                elapsed, reads = _one_pass(sweeper, db, now, due_at + schedule.WEEK)
                timings.append(elapsed)
            results[label] = {
                "due": due,
                "reads": reads,  # one per batch of due rows, and the last one that finds nothing left
                "pass_ms": median(timings) * 1000,
                "per_read_ms": median(timings) * 1000 / reads,
            }
        results["growth"] = results["100%"]["pass_ms"] / results["1%"]["pass_ms"]
        results["due_growth"] = results["100%"]["due"] / results["1%"]["due"]
        return results
    finally:
        db.dispose()


def _make_due(db: Database, due_at: datetime, count: int) -> None:
    """The first `count` rows due now, the others next week."""
    with db.transaction() as session:
        session.execute(update(Schedule).values(due_at=due_at + schedule.WEEK, remind_at=None))
        ids = session.scalars(
            Schedule.__table__.select().with_only_columns(Schedule.id).order_by(Schedule.id).limit(count)
        ).all()
        session.execute(update(Schedule).where(Schedule.id.in_(ids)).values(due_at=due_at))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE schedules")


def _one_pass(sweeper: Sweeper, db: Database, now: datetime, later: datetime) -> tuple[float, int]:
    """One sweep's reads of what is due, as `Sweeper.run` makes them (each read goes on from where the last one
    stopped); the time they took and how many reads it was."""
    elapsed, reads = 0.0, 0
    after = None
    while True:
        started = time.perf_counter()
        due, after = sweeper._due(now, after)
        elapsed += time.perf_counter() - started
        reads += 1
        if not due:
            return elapsed, reads
        assert len(due) <= BATCH
        with db.transaction() as session:  # handled: planned for next week
            ids = [item.row_id for item in due]
            session.execute(update(Schedule).where(Schedule.id.in_(ids)).values(due_at=later))
