"""Vision statements: leaders say where the organisation is heading; teams choose how to help."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import NotFound, UsageError
from bot.rituals import access
from bot.rituals.access import Actor, Need
from bot.rituals.events import record_event
from bot.text import clean
from storage.models import VisionStatement
from storage.numbering import add_numbered

MAX_VISION_TEXT = 1500


def publish_vision(
    session: Session, *, workspace_id: int, user_id: str, text: str, is_workspace_admin: bool, now: datetime
) -> VisionStatement:
    text = clean(text, what="The vision statement", max_length=MAX_VISION_TEXT, multiline=True, required=False)
    if not text:
        raise UsageError("Write the vision statement after `add`.", usage="/okr vision add TEXT")
    actor = Actor(workspace_id, user_id, is_admin=is_workspace_admin)
    access.require(session, Need.LEADER, actor, doing="write vision statements (teams set their own OKRs)")
    statement = add_numbered(  # another leader may take the same number at the same moment
        session,
        VisionStatement.number,
        VisionStatement.workspace_id == workspace_id,
        lambda number: VisionStatement(
            workspace_id=workspace_id, number=number, text=text, author_user_id=user_id, created_at=now
        ),
    )
    record_event(
        session,
        workspace_id=workspace_id,
        entity="vision",
        entity_id=statement.id,
        action="published",
        actor=user_id,
        now=now,
    )
    return statement


def list_visions(session: Session, *, workspace_id: int) -> list[VisionStatement]:
    query = (
        select(VisionStatement)
        .where(VisionStatement.workspace_id == workspace_id, VisionStatement.archived_at.is_(None))
        .order_by(VisionStatement.number)
    )
    return list(session.scalars(query))


def archive_vision(
    session: Session,
    *,
    workspace_id: int,
    number_text: str,
    user_id: str,
    is_workspace_admin: bool,
    now: datetime,
) -> VisionStatement:
    """Retire a statement; objectives that link to it keep the link."""
    number_text = number_text.strip().lstrip("#")
    if not (number_text.isascii() and number_text.isdigit()) or len(number_text) > 9:
        raise UsageError("Give the number of the statement to archive.", usage="/okr vision archive NUMBER")
    statement = session.scalar(
        select(VisionStatement).where(
            VisionStatement.workspace_id == workspace_id, VisionStatement.number == int(number_text)
        )
    )
    if statement is None or statement.archived_at is not None:
        raise NotFound(f"There is no current vision statement number {number_text}. `/okr vision` lists them.")
    actor = Actor(workspace_id, user_id, is_admin=is_workspace_admin)
    access.require(
        session, Need.AUTHOR_OR_ADMIN, actor, author=statement.author_user_id, doing="archive a vision statement"
    )
    statement.archived_at = now
    record_event(
        session,
        workspace_id=workspace_id,
        entity="vision",
        entity_id=statement.id,
        action="archived",
        actor=user_id,
        now=now,
    )
    return statement
