"""The minute sweep's news step (ripple notices still to post, digests due) reads through its indexes: with
nothing due it never walks the workspaces or the ripples, however many there are.

Each database says how it would run each statement, as in test_reset_sweep_reads.py.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, insert, update

from bot.delivery.digests import sweep_news
from storage.models import Ripple, RippleKind, RippleState, Workspace
from tests import factories
from tests.factories import NOW
from tests.storage.test_reset_sweep_reads import _plan


def test_nothing_due_is_found_without_scanning_workspaces_or_ripples(db):
    with db.transaction() as session:
        workspaces = [factories.workspace(session) for _ in range(20)]
        teams = [factories.team(session, workspaces[0], name=f"Team {n}") for n in range(4)]
        krs = [factories.key_result(session, team) for team in teams]
        session.execute(
            insert(Ripple),
            [
                {
                    "workspace_id": workspaces[0].id,
                    "number": n + 1,
                    "from_team_id": teams[n % 4].id,
                    "to_team_id": teams[(n + 1) % 4].id,
                    "key_result_id": krs[n % 4].id,
                    "kind": RippleKind.AFFECTS,
                    "state": RippleState.OPEN,
                    "note": "n",
                    "created_by": "U0ADA",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "notice_done_at": NOW,
                }
                for n in range(40)
            ],
        )
        session.execute(update(Workspace).values(digest_due_at=NOW + timedelta(days=3)))

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        report = sweep_news(db, lambda _workspace: None, now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert not report
    reads = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == len([s for s, _ in seen if s.lstrip().upper()[:6] in ("SELECT", "UPDATE", "INSERT")])
    assert len(reads) == 3  # notices not done, digests due, digests never planned
    with db.engine.connect() as connection:
        for statement, parameters in reads:
            # walking the partial index is fine: it holds only the notices still to post
            plan = _plan(connection, statement, parameters).replace(
                "SCAN ripples USING INDEX ix_ripples_notice_pending", ""
            )
            assert "SCAN workspaces" not in plan and "SCAN ripples" not in plan, (statement, plan)  # SQLite
            assert "Seq Scan" not in plan, (statement, plan)  # PostgreSQL
