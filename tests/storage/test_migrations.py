"""The migrations are the schema: they must round-trip and agree exactly with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import downgrade, pending_revision, target_metadata, upgrade

EXPECTED_TABLES = {
    "workspaces", "teams", "memberships", "team_leaders", "vision_statements", "cycles", "objectives", "key_results",
    "checkins", "backlog_items", "votes", "ripples", "event_log", "processed_events", "send_claims",
    "slack_installations", "slack_bots", "slack_oauth_states", "alembic_version",
}  # fmt: skip


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
