"""Run Alembic from code, so `okr-bot migrate` and the tests use exactly the same path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import URL

import migrations
from storage.models import Base
from storage.slack_tables import slack_metadata

MIGRATIONS_DIR = Path(migrations.__file__).parent


def target_metadata() -> list[MetaData]:
    """Everything Alembic owns: our models and slack-sdk's installation and OAuth state tables."""
    return [Base.metadata, slack_metadata]


def alembic_config(url: URL | str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url_text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    # ConfigParser interpolation would read '%' in a password as a directive
    config.set_main_option("sqlalchemy.url", url_text.replace("%", "%%"))
    return config


def upgrade(url: URL | str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL | str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def pending_revision(url: URL | str) -> str | None:
    """The head revision if the database is behind it (or empty), else None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.db import make_engine

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return None if current == head else head
