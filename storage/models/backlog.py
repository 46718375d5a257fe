"""Backlog items and the emoji votes that triage them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped, utcnow, value_enum


class ItemState(enum.Enum):
    INBOX = "inbox"
    PRODUCT = "product"
    DISCOVERY = "discovery"
    NOT_NOW = "not_now"
    SPRINT = "sprint"
    DONE = "done"


class BacklogItem(WorkspaceScoped, Timestamped, Base):
    """Work the team might do; items that do not help a key result go to "not now", never away."""

    __tablename__ = "backlog_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("workspace_id", "channel_id", "message_ts"),
        Index("ix_backlog_items_team_state", "team_id", "state"),
        ForeignKeyConstraint(
            ["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"
        ),
        # optional link: NO ACTION, so a key result with backlog items is dropped, never deleted
        ForeignKeyConstraint(
            ["workspace_id", "key_result_id"], ["key_results.workspace_id", "key_results.id"]
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[ItemState] = mapped_column(value_enum(ItemState, "item_state"), default=ItemState.INBOX)
    key_result_id: Mapped[int | None]
    source_url: Mapped[str | None] = mapped_column(String(500))
    # where the item's triage message lives, so reactions can find it
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Vote(WorkspaceScoped, Timestamped, Base):
    """One vote per user per item per (base) reaction: the database refuses a second."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id", "reaction"),
        ForeignKeyConstraint(
            ["workspace_id", "item_id"],
            ["backlog_items.workspace_id", "backlog_items.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int]
    user_id: Mapped[str] = mapped_column(String(32))
    reaction: Mapped[str] = mapped_column(String(64))
