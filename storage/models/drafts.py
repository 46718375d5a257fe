"""Drafts of objectives, saved at every step of the drafting modal, and every version of a committed one."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped, utcnow, value_enum


class DraftState(enum.Enum):
    OPEN = "open"  # its author is still writing it
    SHARED = "shared"  # posted to the team channel for review; any member may commit it
    COMMITTED = "committed"  # became an objective of the team's cycle
    DISCARDED = "discarded"  # kept, never deleted: nothing anyone typed is lost


class DraftStep(enum.Enum):
    """Where the drafting modal was left, so `/okr draft` reopens it there."""

    OBJECTIVE = "objective"
    KEY_RESULTS = "key_results"
    KEY_RESULT = "key_result"  # the form of one key result, half filled
    REVIEW = "review"


class Draft(WorkspaceScoped, Timestamped, Base):
    """What someone typed into the drafting modal, kept as typed (strings), checked when it moves on.

    `content` holds ``title``, ``why``, ``vision_id``, ``key_results`` (a list of dicts of strings) and,
    while a key result's form is open, ``pending`` (that form's fields) and ``pending_index``. `version`
    goes up whenever what the draft says changes (not when someone only moves between its steps): a form
    opened at version 3 cannot overwrite a draft someone changed into version 4.
    """

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        Index("ix_drafts_team_state", "team_id", "state"),
        Index("ix_drafts_author_state", "author_user_id", "state"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
        # an objective is carried forward into the next cycle once
        UniqueConstraint("team_id", "carried_from_id"),
        ForeignKeyConstraint(["workspace_id", "carried_from_id"], ["objectives.workspace_id", "objectives.id"]),
        # set when committed; NO ACTION, so the objective a draft became is never silently lost
        ForeignKeyConstraint(["workspace_id", "objective_id"], ["objectives.workspace_id", "objectives.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    author_user_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[DraftState] = mapped_column(value_enum(DraftState, "draft_state"), default=DraftState.OPEN)
    step: Mapped[DraftStep] = mapped_column(value_enum(DraftStep, "draft_step"), default=DraftStep.OBJECTIVE)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # the review message in the team channel, once shared
    shared_channel_id: Mapped[str | None] = mapped_column(String(32))
    shared_ts: Mapped[str | None] = mapped_column(String(32))
    objective_id: Mapped[int | None]
    carried_from_id: Mapped[int | None]  # the closed cycle's objective this draft was carried forward from


class ObjectiveVersion(WorkspaceScoped, Timestamped, Base):
    """A snapshot of an objective and its key results after each change, with who made it and why."""

    __tablename__ = "objective_versions"
    __table_args__ = (
        UniqueConstraint("objective_id", "version"),
        ForeignKeyConstraint(
            ["workspace_id", "objective_id"], ["objectives.workspace_id", "objectives.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int]
    version: Mapped[int]
    change: Mapped[str] = mapped_column(String(40))  # committed, revised, dropped, kr_revised, kr_dropped
    reason: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[str] = mapped_column(String(32))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
