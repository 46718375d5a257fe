"""What each dashboard address shows: the viewer's workspace is the only one any page reads, and each page is read
in one short session, in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dashboard.exports import cycle_file
from bot.dashboard.network import network_page
from bot.dashboard.overview import Filters
from bot.dashboard.overview import overview as overview_of
from bot.dashboard.sessions import Viewer
from bot.dashboard.team_page import key_result_page, team_page
from bot.dashboard.templating import BASE
from storage.db import Database
from storage.models import Person

MAX_NEXT = 500


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


def _common(viewer: Viewer, now: datetime, section: str, people: dict[str, str]) -> dict[str, Any]:
    return {
        "viewer": viewer,
        "workspace_name": viewer.workspace_name,
        "now": now,
        "section": section,
        "people": people,
    }


def names(session: Session, *, workspace_id: int) -> dict[str, str]:
    """The names Slack shows for the people the bot knows in the workspace, by Slack id (one statement)."""
    rows = session.execute(
        select(Person.user_id, Person.name).where(Person.workspace_id == workspace_id, Person.name.is_not(None))
    )
    return {user_id: name for user_id, name in rows if name}


def overview(db: Database, viewer: Viewer, args: Mapping[str, str], now: datetime) -> Page:
    filters, notes = Filters.from_query(args)
    with db.read() as session:
        page = overview_of(session, workspace_id=viewer.workspace_id, now=now, filters=filters)
        people = names(session, workspace_id=viewer.workspace_id)
    return Page("overview.html.j2", {**_common(viewer, now, "overview", people), "page": page, "notes": notes})


def team(db: Database, viewer: Viewer, team_id: int, now: datetime) -> Page:
    with db.read() as session:
        page = team_page(session, workspace_id=viewer.workspace_id, team_id=team_id, now=now)
        people = names(session, workspace_id=viewer.workspace_id)
    return Page("team.html.j2", {**_common(viewer, now, "teams", people), "page": page})


def key_result(db: Database, viewer: Viewer, team_id: int, key_result_id: int, now: datetime) -> Page:
    with db.read() as session:
        page = key_result_page(
            session, workspace_id=viewer.workspace_id, team_id=team_id, key_result_id=key_result_id, now=now
        )
        people = names(session, workspace_id=viewer.workspace_id)
    return Page("key_result.html.j2", {**_common(viewer, now, "teams", people), "page": page})


def network(db: Database, viewer: Viewer, args: Mapping[str, str], now: datetime) -> Page:
    team_id, ripple = _whole(args.get("team")), _whole(args.get("ripple"))
    with db.read() as session:
        page = network_page(
            session,
            workspace_id=viewer.workspace_id,
            now=now,
            team=team_id,
            ripple=ripple,
            everything=args.get("all") == "1",
        )
        people = names(session, workspace_id=viewer.workspace_id)
    return Page("network.html.j2", {**_common(viewer, now, "network", people), "page": page})


def export(db: Database, viewer: Viewer, team_id: int, number: int, fmt: str, now: datetime) -> tuple[str, str, bytes]:
    with db.read() as session:
        return cycle_file(session, workspace_id=viewer.workspace_id, team_id=team_id, number=number, fmt=fmt, now=now)


def _whole(raw: str | None) -> int | None:
    """A positive whole number from the address, or None for anything else (ignored, not an error page)."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 0 < int(raw) < 2**31:
        return None
    return int(raw)


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a page of the dashboard only (never another site)."""
    if (
        not raw
        or len(raw) > MAX_NEXT
        or not raw.startswith(f"{BASE}/")
        or "//" in raw
        or "\\" in raw
        or any(ord(c) < 32 for c in raw)
    ):
        return f"{BASE}/"
    return raw


def quote_path(path: str) -> str:
    return quote(path.rstrip("?"), safe="")
