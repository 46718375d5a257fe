"""Teams, who is in them, and the leaders' vision statements teams may link their objectives to."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, SmallInteger, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped, value_enum

DEFAULT_MAX_OBJECTIVES = 3
DEFAULT_REMINDER_HOURS = 24  # a check-in DM not answered after this long gets one reminder
DEFAULT_TRIAGE_HOURS = 48  # an open triage or sprint pick closes itself this long after it started
DEFAULT_SPRINT_SIZE = 5  # items a sprint pick takes when `/okr sprint close` is given no number


class Role(enum.Enum):
    MEMBER = "member"
    FACILITATOR = "facilitator"  # runs the rituals: settings, triage close, reset


class Team(WorkspaceScoped, Timestamped, Base):
    """A team is bound to one channel; commands typed there act on it."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        UniqueConstraint("workspace_id", "channel_id"),
        UniqueConstraint("workspace_id", "name_key"),
        CheckConstraint("checkin_weekday BETWEEN 0 AND 6", name="checkin_weekday"),
        CheckConstraint("checkin_hour BETWEEN 0 AND 23", name="checkin_hour"),
        CheckConstraint("max_objectives BETWEEN 1 AND 5", name="max_objectives"),
        CheckConstraint("reminder_hours BETWEEN 1 AND 72", name="reminder_hours"),
        CheckConstraint("triage_hours BETWEEN 1 AND 336", name="triage_hours"),
        CheckConstraint("sprint_size BETWEEN 1 AND 50", name="sprint_size"),
        CheckConstraint("anchor_cycle >= 1 AND closed_through >= 0", name="cycle_numbers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # casefolded name: "Growth" and "growth" are the same team
    name_key: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    checkin_weekday: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = Monday
    checkin_hour: Mapped[int] = mapped_column(SmallInteger, default=10)
    digest_channel_id: Mapped[str | None] = mapped_column(String(32))
    # cycle `anchor_cycle` starts on `cycle_anchor`, the ones after it every 13 weeks (bot/rituals/cycles.py)
    cycle_anchor: Mapped[date]
    anchor_cycle: Mapped[int] = mapped_column(default=1, server_default="1")
    # every cycle up to this number is closed: the team is drafting the next one, even before its first day
    closed_through: Mapped[int] = mapped_column(default=0, server_default="0")
    # a new start chosen while a cycle runs: it applies when that cycle ends, never to the running one
    next_cycle_anchor: Mapped[date | None]
    # when the sweep next has to look at the team's calendar: the reset notice, and the cycle's end
    reset_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    max_objectives: Mapped[int] = mapped_column(SmallInteger, default=DEFAULT_MAX_OBJECTIVES)
    # the team paused every check-in
    checkins_paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    reminder_hours: Mapped[int] = mapped_column(
        SmallInteger, default=DEFAULT_REMINDER_HOURS, server_default=str(DEFAULT_REMINDER_HOURS)
    )
    # words and :emoji: in a Slack status that mean "away"; None means the defaults
    away_words: Mapped[str | None] = mapped_column(String(500))
    # hours a triage or sprint pick stays open before it closes itself; None: only a facilitator closes it
    triage_hours: Mapped[int | None] = mapped_column(
        SmallInteger, default=DEFAULT_TRIAGE_HOURS, server_default=str(DEFAULT_TRIAGE_HOURS)
    )
    sprint_size: Mapped[int] = mapped_column(
        SmallInteger, default=DEFAULT_SPRINT_SIZE, server_default=str(DEFAULT_SPRINT_SIZE)
    )
    created_by: Mapped[str] = mapped_column(String(32))


class Membership(WorkspaceScoped, Timestamped, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[Role] = mapped_column(value_enum(Role, "role"), default=Role.MEMBER)


class TeamLeader(WorkspaceScoped, Timestamped, Base):
    """Someone a team names as one of its leaders: they may publish vision statements.

    Leaders write vision, never OKRs, so naming one does not make them a member of the team.
    """

    __tablename__ = "team_leaders"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        ForeignKeyConstraint(["workspace_id", "team_id"], ["teams.workspace_id", "teams.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int]
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    named_by: Mapped[str] = mapped_column(String(32))


class VisionStatement(WorkspaceScoped, Timestamped, Base):
    """Leaders publish where the organisation is heading; teams decide how they contribute."""

    __tablename__ = "vision_statements"
    __table_args__ = (UniqueConstraint("workspace_id", "id"), UniqueConstraint("workspace_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]  # shown to people; counts from 1 in each workspace
    text: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[str] = mapped_column(String(32))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
