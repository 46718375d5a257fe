"""The event log (who changed what, when, why) and the record of Slack events already handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
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


def first_delivery(session: Session, *, workspace_id: int, event_id: str, event_type: str, now: datetime) -> bool:
    """True the first time Slack's `event_id` is seen; False for Slack's retries of it.

    Call it in the same transaction as the event's effect: if the effect rolls back, so does
    the mark, and Slack's next retry is processed instead of being dropped.
    """
    return insert_if_absent(
        session,
        ProcessedEvent.__table__,
        {"event_id": event_id, "workspace_id": workspace_id, "event_type": event_type, "received_at": now},
    )
