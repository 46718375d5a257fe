"""Installations of the app, the event log, and the record of Slack events already handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKeyConstraint, Index, SmallInteger, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped


class Workspace(Timestamped, Base):
    """A Slack workspace the bot is installed in; every other row hangs off one."""

    __tablename__ = "workspaces"
    __table_args__ = (
        CheckConstraint("digest_weekday BETWEEN 0 AND 6", name="digest_weekday"),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the weekly cross-team digest: where (besides any team's own digest channel) and when, in which zone
    digest_channel_id: Mapped[str | None] = mapped_column(String(32))
    digest_weekday: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")  # 0 = Monday
    digest_hour: Mapped[int] = mapped_column(SmallInteger, default=9, server_default="9")
    digest_timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    digest_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # None: not planned yet
    # when everyone's time zone and status were last read in bulk (users.list); None: never
    people_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the web dashboard: a workspace admin may turn it off (`/okr dashboard off`); its sessions then end
    dashboard_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())


class ProcessedEvent(WorkspaceScoped, Base):
    """Slack's `event_id` of every event whose effect was committed: a retry finds it and stops."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class EventLog(WorkspaceScoped, Timestamped, Base):
    """Who changed what, when and why: the team's memory, read by retros and the digest."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_entity", "entity", "entity_id"),
        Index("ix_event_log_team_created", "team_id", "created_at"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None]
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
