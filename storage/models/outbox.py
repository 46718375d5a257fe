"""Claims for scheduled sends: a unique row taken before a message goes out, so it goes out once."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, WorkspaceScoped, value_enum


class ClaimState(enum.Enum):
    CLAIMED = "claimed"  # taken; the send is in flight (or its process died: see claimed_at)
    SENT = "sent"
    FAILED = "failed"  # Slack refused for good (user gone, channel archived…); recorded, not retried
    SKIPPED = "skipped"  # due but deliberately not sent (stale, owner away…)


class SendClaim(WorkspaceScoped, Base):
    """`claim_key` names the send, e.g. ``kr:42:2026-W48``; the unique key makes a second claim fail."""

    __tablename__ = "send_claims"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "claim_key"),
        Index("ix_send_claims_state_claimed_at", "state", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    claim_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[ClaimState] = mapped_column(value_enum(ClaimState, "claim_state"), default=ClaimState.CLAIMED)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(64))  # host:pid of the process that claimed it
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(100))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
