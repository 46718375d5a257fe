"""Dashboard sessions: a signed cookie in the browser, a row in the database.

The cookie holds a random token signed with the app's client secret (itsdangerous), so a forged or altered cookie is
refused before the database is asked. The row (storage/models/dashboard.py) keeps the token's SHA-256, who signed in
and until when; every page reads it together with the workspace and the person, so a session ends as soon as:
- it expires (`SESSION_LIFETIME` after sign-in),
- the person signs out (the row is deleted),
- the workspace uninstalls the bot or an admin turns the dashboard off (the rows are deleted, and checked),
- Slack says the person was deactivated (checked on every page).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from storage.db import rows_matched
from storage.models import DashboardSession, Person, Workspace

SESSION_LIFETIME = timedelta(hours=12)
SESSION_COOKIE = "okr_dashboard"
SIGN_IN_COOKIE = "okr_dashboard_sign_in"  # the state and nonce of a sign-in under way, for 10 minutes
SIGN_IN_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a person of one installed workspace."""

    workspace_id: int
    slack_team_id: str
    workspace_name: str
    user_id: str
    name: str


class Signer:
    """Signs what the dashboard hands the browser: the session's token, and a sign-in's state and nonce."""

    def __init__(self, secret: str) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="okr-dashboard-session")
        self._sign_ins = URLSafeTimedSerializer(secret, salt="okr-dashboard-sign-in")

    def session_cookie(self, token: str) -> str:
        return self._sessions.dumps(token)

    def session_token(self, cookie: str | None) -> str | None:
        """The token of a cookie this server signed, within the session's lifetime; None for anything else."""
        if not cookie or len(cookie) > 400:
            return None
        try:
            token = self._sessions.loads(cookie, max_age=int(SESSION_LIFETIME.total_seconds()))
        except BadSignature:  # SignatureExpired is one
            return None
        return token if isinstance(token, str) else None

    def sign_in_cookie(self, *, state: str, nonce: str, next_path: str) -> str:
        return self._sign_ins.dumps({"state": state, "nonce": nonce, "next": next_path})

    def sign_in(self, cookie: str | None) -> dict[str, str] | None:
        if not cookie or len(cookie) > 2000:
            return None
        try:
            value = self._sign_ins.loads(cookie, max_age=int(SIGN_IN_LIFETIME.total_seconds()))
        except BadSignature:
            return None
        if not (isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ("state", "nonce", "next"))):
            return None
        return value


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, *, workspace: Workspace, user_id: str, name: str, now: datetime) -> str:
    """A new session for a person who just signed in; returns its token (for the cookie). The workspace's expired
    sessions are cleared on the way."""
    session.execute(
        delete(DashboardSession).where(
            DashboardSession.workspace_id == workspace.id, DashboardSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            workspace_id=workspace.id,
            token_hash=_hash(token),
            user_id=user_id,
            name=name[:200],
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


def viewer_of(session: Session, *, token: str, now: datetime) -> Viewer | None:
    """The person a session token belongs to, in one statement; None when the session is unknown, expired, signed
    out, of a workspace that uninstalled the bot or turned the dashboard off, or of a person Slack deactivated."""
    row = session.execute(
        select(DashboardSession, Workspace)
        .join(Workspace, Workspace.id == DashboardSession.workspace_id)
        .outerjoin(
            Person,
            and_(Person.workspace_id == DashboardSession.workspace_id, Person.user_id == DashboardSession.user_id),
        )
        .where(
            DashboardSession.token_hash == _hash(token),
            DashboardSession.expires_at > now,
            Workspace.uninstalled_at.is_(None),
            Workspace.dashboard_enabled.is_(True),
            (Person.id.is_(None)) | (Person.deactivated.is_(False)),
        )
    ).first()
    if row is None:
        return None
    found, workspace = row
    return Viewer(
        workspace_id=workspace.id,
        slack_team_id=workspace.slack_team_id,
        workspace_name=workspace.name or workspace.slack_team_id,
        user_id=found.user_id,
        name=found.name,
    )


def end_session(session: Session, *, token: str) -> bool:
    return rows_matched(session, delete(DashboardSession).where(DashboardSession.token_hash == _hash(token))) > 0
