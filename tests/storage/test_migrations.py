"""The migrations are the schema: they must round-trip and agree exactly with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import downgrade, pending_revision, target_metadata, upgrade

EXPECTED_TABLES = {
    "workspaces",
    "teams",
    "memberships",
    "team_leaders",
    "vision_statements",
    "cycles",
    "objectives",
    "key_results",
    "checkins",
    "backlog_items",
    "votes",
    "ripples",
    "event_log",
    "processed_events",
    "send_claims",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "alembic_version",
    "drafts",
    "objective_versions",
    "schedules",
    "people",
    "rounds",
    "round_items",
    "retro_answers",
    "digest_snapshots",
    "form_origins",
    "dashboard_sessions",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _drift(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, target_metadata())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips(database_url):
    assert _tables(database_url) == EXPECTED_TABLES
    assert pending_revision(database_url) is None

    downgrade(database_url, "base")
    assert _tables(database_url) == {"alembic_version"}
    assert pending_revision(database_url) is not None

    upgrade(database_url)
    assert _tables(database_url) == EXPECTED_TABLES
    assert pending_revision(database_url) is None


def test_models_and_migrations_do_not_drift(database_url):
    assert _drift(database_url) == []


def test_objectives_written_before_numbers_existed_get_one(database_url):
    """Revision 0002 adds `objectives.number` (NOT NULL, unique per cycle) over rows that have none, and
    later revisions alter tables that have children without losing a row."""
    downgrade(database_url, "0001")
    assert "drafts" not in _tables(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO workspaces (id, slack_team_id, created_at) VALUES (1, 'T1', CURRENT_TIMESTAMP)",
                "INSERT INTO teams (id, workspace_id, name, name_key, channel_id, timezone, checkin_weekday,"
                " checkin_hour, cycle_anchor, max_objectives, created_by, created_at)"
                " VALUES (1, 1, 'A', 'a', 'C1', 'UTC', 0, 10, '2026-11-23', 3, 'U1', CURRENT_TIMESTAMP)",
                "INSERT INTO cycles (id, workspace_id, team_id, number, starts_on, ends_on, state, created_at)"
                " VALUES (1, 1, 1, 1, '2026-11-23', '2027-02-22', 'active', CURRENT_TIMESTAMP)",
                "INSERT INTO objectives (id, workspace_id, cycle_id, title, state, author_user_id, created_at,"
                " updated_at) VALUES (7, 1, 1, 'one', 'committed', 'U1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                "INSERT INTO objectives (id, workspace_id, cycle_id, title, state, author_user_id, created_at,"
                " updated_at) VALUES (9, 1, 1, 'two', 'committed', 'U1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                "INSERT INTO key_results (id, workspace_id, objective_id, position, metric, direction, state,"
                " created_at, updated_at) VALUES (3, 1, 7, 1, 'm', 'increase', 'active', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)",
            ):
                connection.execute(text(statement))
        upgrade(database_url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, number, version FROM objectives ORDER BY id")).all()
            key_results = connection.execute(text("SELECT id FROM key_results")).scalars().all()
            teams = connection.execute(text("SELECT id, reminder_hours, checkins_paused FROM teams")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(7, 7, 1), (9, 9, 1)]
    # SQLite copies a table to alter it: the rows below it must survive the copy
    assert key_results == [3]
    assert [tuple(t) for t in teams] == [(1, 24, False)]
    assert _drift(database_url) == []
