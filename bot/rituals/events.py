"""The event log (who changed what, when, why) and the record of Slack events already handled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import rows_matched
from storage.models import EventLog, ProcessedEvent


def record_event(
    session: Session,
    *,
    workspace_id: int,
    entity: str,
    action: str,
    now: datetime,
    entity_id: int | None = None,
    team_id: int | None = None,
    actor: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> EventLog:
    entry = EventLog(
        workspace_id=workspace_id,
        team_id=team_id,
        actor_user_id=actor,
        entity=entity,
        entity_id=entity_id,
        action=action,
        reason=reason,
        data=data or {},
        created_at=now,
    )
    session.add(entry)
    return entry


_LOG = EventLog.__table__.insert()


def log_event(
    session: Session,
    *,
    workspace_id: int,
    entity: str,
    action: str,
    now: datetime,
    entity_id: int | None = None,
    team_id: int | None = None,
    actor: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """`record_event` written at once, by one INSERT and no object for the session to flush: for the hot paths."""
    session.execute(
        _LOG,
        {
            "workspace_id": workspace_id,
            "team_id": team_id,
            "actor_user_id": actor,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "reason": reason,
            "data": data or {},
            "created_at": now,
        },
    )


_MARKS: dict[str, Any] = {}  # by dialect: the insert of an `event_id` unless it is there

# Slack retries an event three times within about an hour; a day later its `event_id` cannot come back
REMEMBER_DELIVERIES = timedelta(days=1)


def first_delivery(session: Session, *, workspace_id: int, event_id: str, event_type: str, now: datetime) -> bool:
    """True the first time Slack's `event_id` is seen; False for Slack's retries of it.

    Call it in the same transaction as the event's effect: if the effect rolls back, so does
    the mark, and Slack's next retry is processed instead of being dropped.
    """
    dialect = session.get_bind().dialect.name
    statement = _MARKS.get(dialect)
    if statement is None:  # storage.claims.insert_if_absent, built once: this is on every vote's path
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table = ProcessedEvent.__table__
        statement = _MARKS[dialect] = insert(table).on_conflict_do_nothing().returning(table.c.event_id)
    values = {"event_id": event_id, "workspace_id": workspace_id, "event_type": event_type, "received_at": now}
    return session.execute(statement, values).first() is not None


def forget_old_deliveries(session: Session, *, now: datetime, limit: int = 5000) -> int:
    """Drop the oldest `event_id`s past Slack's retry window, at most `limit` at a time (the index on
    `received_at` finds them); returns how many. The effects they guarded stay: only the marks go."""
    oldest = (
        select(ProcessedEvent.event_id)
        .where(ProcessedEvent.received_at < now - REMEMBER_DELIVERIES)
        .order_by(ProcessedEvent.received_at)
        .limit(limit)
    )
    return rows_matched(session, delete(ProcessedEvent).where(ProcessedEvent.event_id.in_(oldest)))
