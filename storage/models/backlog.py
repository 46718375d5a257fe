"""Backlog items, the triage and sprint rounds that vote on them, and the emoji votes themselves."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
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
        UniqueConstraint("team_id", "number"),
        # a Slack message is added to a team's backlog once
        UniqueConstraint("team_id", "source_channel_id", "source_ts"),
        Index("ix_backlog_items_team_state", "team_id", "state"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
        # optional link: NO ACTION, so a key result with backlog items is dropped, never deleted
        ForeignKeyConstraint(["workspace_id", "key_result_id"], ["key_results.workspace_id", "key_results.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    number: Mapped[int]  # shown to people as #12; counts from 1 in each team and is never reused
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[ItemState] = mapped_column(value_enum(ItemState, "item_state"), default=ItemState.INBOX)
    key_result_id: Mapped[int | None]
    # a link back to where the item came from (a Slack message's permalink)
    source_url: Mapped[str | None] = mapped_column(String(500))
    source_channel_id: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RoundKind(enum.Enum):
    TRIAGE = "triage"  # ✅ ❌ 🤔 and numbers: does an inbox item help a key result, and which?
    SPRINT = "sprint"  # 🚀: which product-backlog items move the key results fastest?


class RoundState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Round(WorkspaceScoped, Timestamped, Base):
    """One triage or sprint pick in the team channel: a header message with one threaded message per item.

    A team has at most one open round of each kind; the partial unique index makes a second `start` fail.
    """

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        Index(
            "ix_rounds_one_open",
            "team_id",
            "kind",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_rounds_state_closes_at", "state", "closes_at"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    kind: Mapped[RoundKind] = mapped_column(value_enum(RoundKind, "round_kind"))
    state: Mapped[RoundState] = mapped_column(value_enum(RoundState, "round_state"), default=RoundState.OPEN)
    channel_id: Mapped[str] = mapped_column(String(32))
    header_ts: Mapped[str | None] = mapped_column(String(32))  # set once the header message is posted
    # key result ids in ballot order: the number emoji `one` is the first (frozen when the round opens)
    ballot: Mapped[list[int]] = mapped_column(JSON, default=list)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: a facilitator closes it
    opened_by: Mapped[str] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(32))  # None when it closed at its deadline
    # the sprint pick's N, given to `/okr sprint close N` or the team's default
    pick: Mapped[int | None] = mapped_column(SmallInteger)
    # set once the closing summary was posted and every item's message redrawn
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoundItem(WorkspaceScoped, Base):
    """An item put to the vote in a round, and its message in the round's thread."""

    __tablename__ = "round_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("round_id", "item_id"),
        UniqueConstraint("round_id", "position"),
        # reactions find their item by the message they were added to
        UniqueConstraint("workspace_id", "channel_id", "message_ts"),
        CheckConstraint("shown_version <= votes_version", name="shown_not_ahead"),
        ForeignKeyConstraint(["workspace_id", "round_id"], ["rounds.workspace_id", "rounds.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["workspace_id", "item_id"], ["backlog_items.workspace_id", "backlog_items.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    item_id: Mapped[int] = mapped_column(index=True)
    position: Mapped[int]  # order in the thread
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))  # None until posted
    # every vote change counts up `votes_version`; the message shows the tally as of `shown_version`
    votes_version: Mapped[int] = mapped_column(default=0)
    shown_version: Mapped[int] = mapped_column(default=0)
    votes_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what closing the round decided for this item (an ItemState value, or "kept": stays where it was)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_key_result_id: Mapped[int | None]


class Vote(WorkspaceScoped, Timestamped, Base):
    """A person's reaction on a round item's message, as Slack last told it: one row per user per item per
    emoji as shown (`white_check_mark::skin-tone-4` and `white_check_mark` are two rows), kept when the
    reaction is taken back (`present` false) so that an older event arriving late changes nothing.

    A person's vote counts once per base emoji, whichever tones they show. `event_ts` (Slack's, in
    microseconds) orders the events: a row only ever moves to a newer one.
    """

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("round_item_id", "user_id", "emoji"),
        ForeignKeyConstraint(
            ["workspace_id", "round_item_id"],
            ["round_items.workspace_id", "round_items.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_item_id: Mapped[int]
    user_id: Mapped[str] = mapped_column(String(32))
    reaction: Mapped[str] = mapped_column(String(64))  # the base emoji name, skin tone removed
    emoji: Mapped[str] = mapped_column(String(100))  # the name as Slack sent it, skin tone and all
    present: Mapped[bool]
    event_ts: Mapped[int] = mapped_column(BigInteger)
