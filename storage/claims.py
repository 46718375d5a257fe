"""Insert-if-absent on both backends: the primitive behind every exactly-once effect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_if_absent(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already holds it; True when this call inserted it.

    The database decides, so two processes racing for the same key get one winner, and the
    loser learns it without an exception that would abort its transaction.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    key = next(iter(table.primary_key.columns))
    # rowcount is not reliable on every driver once RETURNING is involved; a returned row is
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None
