"""Forms opened from ephemeral messages: the response_url to answer through, kept by the bot (models/origins.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
from storage.models import FormOrigin

RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack honours a response_url for 30 minutes
VIEW_ID_MAX, RESPONSE_URL_MAX = 64, 1000


def keep_origin(
    session: Session, *, workspace_id: int, view_id: str, user_id: str, response_url: str, now: datetime
) -> bool:
    """Keep the response_url of the click that opened the form `view_id` for `user_id`; forget expired ones.
    False (nothing kept) for values Slack would not send."""
    session.execute(delete(FormOrigin).where(FormOrigin.created_at < now - RESPONSE_URL_LIFETIME))
    if not (0 < len(view_id) <= VIEW_ID_MAX and 0 < len(response_url) <= RESPONSE_URL_MAX):
        return False
    values = {
        "workspace_id": workspace_id,
        "view_id": view_id,
        "user_id": user_id,
        "response_url": response_url,
        "created_at": now,
    }
    return insert_if_absent(session, FormOrigin.__table__, values)


def take_origin(session: Session, *, workspace_id: int, view_id: str, user_id: str, now: datetime) -> str | None:
    """The response_url kept for `user_id`'s form `view_id`, still valid, removed as it is taken (a form is
    submitted once); None when there is none: another person's form, an expired one, or a form not opened from
    an ephemeral message."""
    origin = session.scalar(
        select(FormOrigin).where(
            FormOrigin.workspace_id == workspace_id, FormOrigin.view_id == view_id, FormOrigin.user_id == user_id
        )
    )
    if origin is None:
        return None
    session.delete(origin)
    return origin.response_url if origin.created_at >= now - RESPONSE_URL_LIFETIME else None
