"""What the scheduler will do next, and the people it does it for.

A `Schedule` row says when one recurring send is next due: a key-result owner's weekly check-in DM
(with its reminder), or a team's weekly summary. The sweep reads only the rows that are due, through
the `due_at` and `remind_at` indexes, so its cost follows what is due, not how many teams there are.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped, utcnow, value_enum


class ScheduleKind(enum.Enum):
    CHECKIN = "checkin"  # one per key-result owner and team
    SUMMARY = "summary"  # one per team; `user_id` is empty


class Schedule(WorkspaceScoped, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "user_id"),
        Index("ix_schedules_due_at", "due_at"),
        Index("ix_schedules_remind_at", "remind_at"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    kind: Mapped[ScheduleKind] = mapped_column(value_enum(ScheduleKind, "schedule_kind"))
    user_id: Mapped[str] = mapped_column(String(32), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    week_start: Mapped[date]  # the check-in week `due_at` belongs to (its Monday)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set once a check-in DM went out
    remind_week_start: Mapped[date | None]


class Person(WorkspaceScoped, Timestamped, Base):
    """What the bot knows about someone it writes to: their time zone, time away, and whether DMs reach them."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str | None] = mapped_column(String(64))  # from users.info; None until first read
    away_until: Mapped[date | None]  # `/okr away`: no check-ins up to and including this day
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable_reason: Mapped[str | None] = mapped_column(String(40))
    # from users.info: a bot's reactions are not votes; None until first read
    is_bot: Mapped[bool | None]
    # the DM channel with them: it never changes, so it is opened once (conversations.open) and kept
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    # their Slack profile as last read (users.list, users.info or a `user_change` event): None until read
    profile_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated: Mapped[bool] = mapped_column(default=False, server_default=false())
    # the name Slack shows for them (display name, else real name), for the web dashboard; None until read
    name: Mapped[str | None] = mapped_column(String(200))
    status_text: Mapped[str | None] = mapped_column(String(150))
    status_emoji: Mapped[str | None] = mapped_column(String(100))
    status_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: the status does not expire
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
