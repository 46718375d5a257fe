"""The minute sweep's reset step reads what is due through its indexes: it never walks the teams or the cycles.

Every replica runs it every minute, so a plan that scans would grow with the workspace, not with what is due
(benchmarks/reset_sweep.py measures it). Each database says how it would run each statement: SQLite with
`EXPLAIN QUERY PLAN`; PostgreSQL with `EXPLAIN` once sequential scans are priced out, so that only a statement
no index can serve still shows one (with a few rows it would otherwise rightly prefer a scan).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from bot.delivery.resets import sweep_resets
from bot.rituals.reset import plan_calendar
from storage.models import Cycle, CycleState, Objective
from tests import factories
from tests.factories import NOW


def _plan(connection, statement: str, parameters) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return " | ".join(row[3] for row in rows)
    connection.exec_driver_sql("SET enable_seqscan = off")
    return " | ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


def test_nothing_due_is_found_without_scanning_teams_or_cycles(db):
    with db.transaction() as session:
        workspace = factories.workspace(session)
        for n in range(30):
            team = factories.team(session, workspace, name=f"Team {n}")
            factories.committed_objective(session, team, now=NOW)
            plan_calendar(team, NOW)
        earlier = factories.team(session, workspace, name="Earlier")
        objective = factories.committed_objective(session, earlier, now=NOW - timedelta(days=100))
        plan_calendar(earlier, NOW)
        session.flush()
        done = session.get(Cycle, session.get(Objective, objective.id).cycle_id)  # a reset long finished
        done.state, done.closed_at, done.reset_started_at, done.reset_done_at = CycleState.CLOSED, NOW, NOW, NOW

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        report = sweep_resets(db, lambda _workspace: None, now=NOW + timedelta(minutes=1))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert not report
    assert len(seen) == 5  # ends due, ends never planned, notices due, notices never planned, resets under way
    with db.engine.connect() as connection:
        for statement, parameters in seen:
            plan = _plan(connection, statement, parameters)
            assert "SCAN teams" not in plan and "SCAN cycles" not in plan, (statement, plan)  # SQLite
            assert "Seq Scan" not in plan, (statement, plan)  # PostgreSQL
