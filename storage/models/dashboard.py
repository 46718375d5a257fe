"""Who is signed in to the web dashboard: one row per browser session, so that signing out, an uninstall or a
person's deactivation ends it at once, on every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Timestamped, UTCDateTime, WorkspaceScoped


class DashboardSession(WorkspaceScoped, Timestamped, Base):
    """A person of the workspace signed in with Slack. The browser holds a signed cookie with the session's random
    token; only its SHA-256 is kept here, so a copy of this table opens no session."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index("ix_dashboard_sessions_workspace_user", "workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))  # as Slack's userInfo gave it, shown in the page's corner
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
