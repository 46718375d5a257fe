"""Where a form was opened from, when the bot must answer there after the form closes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, WorkspaceScoped


class FormOrigin(WorkspaceScoped, Base):
    """The ephemeral message a form was opened from, kept by the bot rather than in the form's metadata.

    A form's submission carries no response_url, and an ephemeral message has no `ts` the bot can update. So
    the response_url Slack gave with the click that opened the form is kept here, under the id Slack gave the
    form (`view_id`) and the person who clicked, for as long as Slack honours it (30 minutes). The submission
    of that person's form finds it, uses it once and deletes it.
    """

    __tablename__ = "form_origins"
    __table_args__ = (
        UniqueConstraint("workspace_id", "view_id"),
        Index("ix_form_origins_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    view_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    response_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
