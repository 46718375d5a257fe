"""`/okr away [UNTIL-DATE | off]`: mark yourself away; the rules are in bot/rituals/away.py.

It works from any channel or a DM: time away belongs to the person, not to a team. Days are read in the
person's own time zone; when Slack has not given it to us yet, one `users.info` call asks for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.commands import ParsedCommand
from bot.rituals.away import (
    AwayZone,
    away_timezone,
    away_until,
    clear_away,
    parse_away,
    remember_timezone,
    set_away,
    usage,
    valid_zone,
)
from bot.slack import deliver
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral


def route(parsed: ParsedCommand, ctx: Context) -> None:
    moment = now()
    who: dict[str, Any] = {"workspace_id": ctx.workspace_id, "user_id": ctx.user_id}
    with ctx.read() as session:
        zone = away_timezone(session, **who)
    learned = None if zone.source == "person" else slack_zone(ctx.client, ctx.user_id)
    if learned is not None:
        zone = AwayZone(learned, "person")
    today = moment.astimezone(ZoneInfo(zone.name)).date()
    command = parse_away(parsed.args, today=today)
    where = {"timezone": zone.name, "zone_source": zone.source, "usage": usage()}
    if command.action == "show":
        _remember(ctx, who, learned, moment)
        with ctx.read() as session:
            until = away_until(session, **who, today=today)
        ctx.reply(**ephemeral("away_status.j2", until=until, **where))
    elif command.action == "clear":
        with ctx.transaction() as session:
            was = clear_away(session, **who, today=today, now=moment)
        _remember(ctx, who, learned, moment)
        ctx.reply(**ephemeral("away_cleared.j2", was_until=was, **where))
    else:
        assert command.until is not None
        with ctx.transaction() as session:
            set_away(session, **who, until=command.until, timezone=zone.name, now=moment)
            if learned is not None:
                remember_timezone(session, **who, timezone=learned, now=moment, create=True)
        ctx.reply(**ephemeral("away_set.j2", until=command.until, resumes=command.until + timedelta(days=1), **where))


ROUTES = {"away": route}


def slack_zone(client: WebClient, user_id: str) -> str | None:
    """The person's time zone as Slack has it, or None when Slack cannot say (or names a zone we do not know)."""
    delivery = deliver(client.users_info, user=user_id)
    tz = (delivery.response or {}).get("user", {}).get("tz") if delivery.ok else None
    return tz if isinstance(tz, str) and valid_zone(tz) else None


def _remember(ctx: Context, who: dict[str, Any], learned: str | None, moment: datetime) -> None:
    """Store a zone just learned from Slack on the person's row, if they have one (so Slack is asked once)."""
    if learned is not None:
        with ctx.transaction() as session:
            remember_timezone(session, **who, timezone=learned, now=moment, create=False)
