"""`/okr away [UNTIL-DATE | off]`: mark yourself away; the rules are in bot/rituals/away.py.

It works from any channel or a DM: time away belongs to the person, not to a team.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.commands import ParsedCommand
from bot.rituals.away import away_timezone, away_until, clear_away, parse_away, set_away, usage
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.db import Database

if TYPE_CHECKING:
    from handlers.commands import CommandRequest


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    moment = now()
    who = {"workspace_id": request.workspace_id, "user_id": request.user_id}
    with db.read() as session:
        zone, team_zone = away_timezone(session, **who)
        today = moment.astimezone(ZoneInfo(zone)).date()
        command = parse_away(parsed.args, today=today)
        if command.action == "show":
            until = away_until(session, **who, today=today)
    where = {"timezone": zone, "team_zone": team_zone, "usage": usage()}
    if command.action == "show":
        respond(**ephemeral("away_status.j2", until=until, **where))
    elif command.action == "clear":
        with db.transaction() as session:
            was = clear_away(session, **who, today=today, now=moment)
        respond(**ephemeral("away_cleared.j2", was_until=was, **where))
    else:
        assert command.until is not None
        with db.transaction() as session:
            set_away(session, **who, until=command.until, timezone=zone, now=moment)
        respond(**ephemeral("away_set.j2", until=command.until, resumes=command.until + timedelta(days=1), **where))
