"""The digest's settings (`/okr digest settings`: its channel, day, hour and time zone), who may change them and
who may post the digest on demand, and the channels it goes to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UsageError
from bot.rituals import access
from bot.rituals.access import Actor, Need
from bot.rituals.digest.schedule import next_digest_at
from bot.rituals.team_settings import parse_channel, parse_hour, parse_timezone, parse_weekday
from storage.models import Team, Workspace

SETTINGS_USAGE = "/okr digest settings [channel=#okr-ripples day=monday hour=9 timezone=Europe/Paris]"


_SETTING_KEYS = {
    "channel": ("digest_channel_id", parse_channel),
    "day": ("digest_weekday", parse_weekday),
    "hour": ("digest_hour", parse_hour),
    "timezone": ("digest_timezone", parse_timezone),
    "tz": ("digest_timezone", parse_timezone),
}


def parse_digest_settings(text: str) -> dict[str, Any]:
    """`channel=#okr-ripples day=monday hour=9 timezone=Europe/Paris` → the workspace columns to set; every
    mistake is named, and nothing is set if there is one."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for pair in text.split():
        key, sep, value = pair.partition("=")
        if not sep or key.casefold() not in _SETTING_KEYS:
            problems.append(f"`{pair[:40]}` is not a digest setting; they are channel=, day=, hour= and timezone=.")
            continue
        column, parse = _SETTING_KEYS[key.casefold()]
        try:
            parsed = parse(value)
        except ValueError as error:
            problems.append(str(error))
            continue
        values[column] = next(iter(parsed.values())) if "clear_digest_channel" not in parsed else None
    if problems:
        raise UsageError("\n".join(problems), usage=SETTINGS_USAGE)
    if not values:
        raise UsageError("Set at least one of channel=, day=, hour= and timezone=.", usage=SETTINGS_USAGE)
    return values


def apply_digest_settings(
    session: Session,
    *,
    workspace: Workspace,
    values: dict[str, Any],
    user_id: str,
    is_workspace_admin: bool,
    now: datetime,
) -> Workspace:
    actor = Actor(workspace.id, user_id, is_admin=is_workspace_admin)
    access.require(session, Need.LEADER, actor, doing="set where and when the digest goes (it is the workspace's)")
    for column, value in values.items():
        setattr(workspace, column, value)
    workspace.digest_due_at = next_digest_at(workspace, now)
    return workspace


def digest_channels(session: Session, *, workspace: Workspace) -> list[str]:
    """The workspace's digest channel, then every channel a team named for the digest, each once."""
    named = session.scalars(
        select(Team.digest_channel_id).where(Team.workspace_id == workspace.id, Team.digest_channel_id.is_not(None))
    ).all()
    teams = sorted(c for c in named if c is not None)
    return list(dict.fromkeys([c for c in [workspace.digest_channel_id, *teams] if c]))
