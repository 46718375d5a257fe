"""Declared ripples (how one team's key result touches another team), and the weekly digests made from them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped, utcnow, value_enum


class RippleKind(enum.Enum):
    AFFECTS = "affects"
    DEPENDS_ON = "depends_on"


class RippleState(enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class Ripple(WorkspaceScoped, Timestamped, Base):
    """One team's key result that affects another team, or depends on it (and perhaps on one of its key results).

    People call it by its `number` (R1, R2… per workspace). The other team's channel is told once: the notice's
    message is kept (`notice_*`), and a partial index finds the notices the sweep still has to post.
    """

    __tablename__ = "ripples"
    __table_args__ = (
        CheckConstraint("from_team_id <> to_team_id", name="other_team"),
        UniqueConstraint("workspace_id", "number"),
        Index("ix_ripples_workspace_state", "workspace_id", "state"),
        Index(
            "ix_ripples_notice_pending",
            "created_at",
            sqlite_where=text("notice_done_at IS NULL"),
            postgresql_where=text("notice_done_at IS NULL"),
        ),
        ForeignKeyConstraint(["workspace_id", "from_team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["workspace_id", "to_team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["workspace_id", "key_result_id"],
            ["key_results.workspace_id", "key_results.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["workspace_id", "to_key_result_id"], ["key_results.workspace_id", "key_results.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_team_id: Mapped[int] = mapped_column(index=True)
    to_team_id: Mapped[int] = mapped_column(index=True)
    key_result_id: Mapped[int]
    to_key_result_id: Mapped[int | None]
    kind: Mapped[RippleKind] = mapped_column(value_enum(RippleKind, "ripple_kind"))
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[RippleState] = mapped_column(value_enum(RippleState, "ripple_state"), default=RippleState.OPEN)
    created_by: Mapped[str] = mapped_column(String(32))
    number: Mapped[int]
    notice_channel_id: Mapped[str | None] = mapped_column(String(32))
    notice_ts: Mapped[str | None] = mapped_column(String(32))
    notice_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # posted, or refused for good
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(32))  # who resolved or withdrew it
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DigestSnapshot(WorkspaceScoped, Timestamped, Base):
    """A week's digest as first built: every try to post it (after a failure, on another replica) posts these
    same messages, so a part that went out is never repeated and none is lost when the news moves meanwhile."""

    __tablename__ = "digest_snapshots"
    __table_args__ = (UniqueConstraint("workspace_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(40))  # the digest's moment, e.g. 2026-12-07T09:00+00:00
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
