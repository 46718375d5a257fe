"""Declared ripples: how one team's key result touches another team."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, String, Text
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
    __tablename__ = "ripples"
    __table_args__ = (
        CheckConstraint("from_team_id <> to_team_id", name="other_team"),
        ForeignKeyConstraint(
            ["workspace_id", "from_team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "to_team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "key_result_id"],
            ["key_results.workspace_id", "key_results.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "to_key_result_id"], ["key_results.workspace_id", "key_results.id"]
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_team_id: Mapped[int] = mapped_column(index=True)
    to_team_id: Mapped[int] = mapped_column(index=True)
    key_result_id: Mapped[int]
    to_key_result_id: Mapped[int | None]
    kind: Mapped[RippleKind] = mapped_column(value_enum(RippleKind, "ripple_kind"))
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[RippleState] = mapped_column(
        value_enum(RippleState, "ripple_state"), default=RippleState.OPEN
    )
    created_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
