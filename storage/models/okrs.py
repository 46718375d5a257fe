"""Cycles, objectives, key results and weekly check-ins."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
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


class CycleState(enum.Enum):
    DRAFTING = "drafting"
    ACTIVE = "active"
    CLOSED = "closed"


class ObjectiveState(enum.Enum):
    DRAFT = "draft"
    COMMITTED = "committed"
    REVISED = "revised"
    DROPPED = "dropped"


# objectives whose key results are measured and checked in on
LIVE_OBJECTIVE_STATES = (ObjectiveState.COMMITTED, ObjectiveState.REVISED)


class KeyResultState(enum.Enum):
    ACTIVE = "active"
    DROPPED = "dropped"


class Direction(enum.Enum):
    INCREASE = "increase"
    DECREASE = "decrease"
    KEEP_ABOVE = "keep_above"
    KEEP_BELOW = "keep_below"


class Cycle(WorkspaceScoped, Timestamped, Base):
    """Thirteen weeks of one team's OKRs; `ends_on` is exclusive.

    Its reset (bot/rituals/reset/) is recorded here: started (owners asked for final scores until
    `scoring_closes_at`), then closed (state `closed`, read-only from then on), then done once the retro and
    the next cycle's prompt are posted. The retro message's `ts` lets thread replies find their cycle.
    """

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("team_id", "number"),
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        # the resets the sweep still has work on: a handful at any time, however many cycles there are
        Index(
            "ix_cycles_resetting",
            "reset_started_at",
            sqlite_where=text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
            postgresql_where=text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
        ),
        Index("ix_cycles_retro", "retro_channel_id", "retro_ts"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    number: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    state: Mapped[CycleState] = mapped_column(value_enum(CycleState, "cycle_state"), default=CycleState.DRAFTING)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reset_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reset_by: Mapped[str | None] = mapped_column(String(32))  # the facilitator who ran `/okr reset`; None: the calendar
    scoring_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owners_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # every final-score DM is sent or refused
    reset_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retro_channel_id: Mapped[str | None] = mapped_column(String(32))
    retro_ts: Mapped[str | None] = mapped_column(String(32))


class Objective(WorkspaceScoped, Timestamped, Base):
    __tablename__ = "objectives"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("cycle_id", "number"),
        ForeignKeyConstraint(["workspace_id", "cycle_id"], ["cycles.workspace_id", "cycles.id"], ondelete="CASCADE"),
        # optional link: NO ACTION, so a linked vision statement is archived, never deleted
        ForeignKeyConstraint(["workspace_id", "vision_id"], ["vision_statements.workspace_id", "vision_statements.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int]  # shown to people as O1, O2…; counts from 1 in each cycle and is never reused
    title: Mapped[str] = mapped_column(String(300))
    why: Mapped[str | None] = mapped_column(Text)
    vision_id: Mapped[int | None]
    state: Mapped[ObjectiveState] = mapped_column(
        value_enum(ObjectiveState, "objective_state"), default=ObjectiveState.COMMITTED
    )
    version: Mapped[int] = mapped_column(default=1)  # the latest of its `objective_versions`
    owner_user_id: Mapped[str | None] = mapped_column(String(32))
    author_user_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KeyResult(WorkspaceScoped, Timestamped, Base):
    """An outcome with a number: the metric moves from `baseline` toward `target` in `direction`."""

    __tablename__ = "key_results"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("objective_id", "position"),
        CheckConstraint("position BETWEEN 1 AND 5", name="position"),
        CheckConstraint("confidence BETWEEN 1 AND 10", name="confidence"),
        CheckConstraint("final_score BETWEEN 0 AND 1", name="final_score"),
        ForeignKeyConstraint(
            ["workspace_id", "objective_id"], ["objectives.workspace_id", "objectives.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int]
    position: Mapped[int] = mapped_column(SmallInteger)
    metric: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str | None] = mapped_column(String(40))
    baseline: Mapped[float | None]
    target: Mapped[float | None]
    direction: Mapped[Direction] = mapped_column(value_enum(Direction, "direction"), default=Direction.INCREASE)
    current: Mapped[float | None]
    owner_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    confidence: Mapped[int | None] = mapped_column(SmallInteger)
    state: Mapped[KeyResultState] = mapped_column(
        value_enum(KeyResultState, "key_result_state"), default=KeyResultState.ACTIVE
    )
    # the cycle's final scoring: given by `final_by` (the owner) or, when nobody answered, the progress at the
    # close (`final_by` None); `final_at` is set for every live key result of a closed cycle
    final_value: Mapped[float | None]
    final_score: Mapped[float | None]
    final_by: Mapped[str | None] = mapped_column(String(32))
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RetroAnswer(WorkspaceScoped, Timestamped, Base):
    """A reply to a cycle's retro: typed in the retro message's thread (its message `ts` keeps it once, and an
    edit or a deletion in Slack follows it) or in the retro form (`message_ts` None)."""

    __tablename__ = "retro_answers"
    __table_args__ = (
        UniqueConstraint("cycle_id", "message_ts"),
        CheckConstraint("prompt BETWEEN 1 AND 3", name="prompt"),
        ForeignKeyConstraint(["workspace_id", "cycle_id"], ["cycles.workspace_id", "cycles.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    prompt: Mapped[int | None] = mapped_column(SmallInteger)  # 1–3 when the answer says which prompt it is for
    text: Mapped[str] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CheckIn(WorkspaceScoped, Timestamped, Base):
    """One per key result per week: a second check-in that week replaces the first."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("key_result_id", "week_start"),
        CheckConstraint("confidence BETWEEN 1 AND 10", name="confidence"),
        ForeignKeyConstraint(
            ["workspace_id", "key_result_id"],
            ["key_results.workspace_id", "key_results.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_result_id: Mapped[int]
    week_start: Mapped[date]  # the Monday of the check-in's week, in the team's time zone
    value: Mapped[float]
    confidence: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    author_user_id: Mapped[str] = mapped_column(String(32))
