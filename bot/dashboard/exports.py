"""A cycle's downloads on the dashboard: the same two files `/okr export` uploads to Slack (bot/rituals/export.py),
one at a time, by the address `export_url(team, cycle, "csv" | "json")` links to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.dashboard.team_reads import find_team
from bot.errors import NotFound
from bot.rituals import export

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def cycle_file(
    session: Session, *, workspace_id: int, team_id: int, number: int, fmt: str, now: datetime
) -> tuple[str, str, bytes]:
    """Cycle `number` of the team as (file name, content type, bytes), `fmt` "csv" or "json" (8 statements: the
    team, then export.read_cycle's 7).

    A `NotFound` for a team of another workspace, a format other than those two, or a cycle the team never had
    (its current cycle is always there, empty until someone drafts in it, as `/okr export` has it)."""
    if fmt not in CONTENT_TYPES:
        raise NotFound(f"There is no {fmt[:10]!r} download: a cycle downloads as CSV or JSON.")
    team = find_team(session, workspace_id=workspace_id, team_id=team_id)
    found = export.read_cycle(session, team=team, number=number, now=now)
    content = export.to_csv(found) if fmt == "csv" else export.to_json(found)  # only the file asked for
    return export.file_name(team, found.span.number, fmt), CONTENT_TYPES[fmt], content
