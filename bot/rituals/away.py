"""Time away: someone marks themselves away, and the bot skips their check-ins and reminders.

Time away belongs to the person, not to a team. Days are read in the person's own time zone, the one Slack
gives for them and their check-in DMs follow, so "today" and "in the past" mean what they mean where the
person is. Until Slack has told us that zone, days are read in their team's zone (all of their teams, when
they share one), else in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import examples
from bot.blockkit import clip
from bot.commands import lookup
from bot.errors import UsageError
from bot.rituals.events import record_event
from bot.rituals.people import ensure_person, find_person
from bot.rituals.team_settings import WEEKDAYS
from bot.rituals.teams import teams_of

MAX_DAYS_AHEAD = 365
CLEAR_WORDS = ("off", "back")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class AwayCommand:
    """What `/okr away …` asks for: show the current state, clear it, or set the last day away."""

    action: str  # "show", "clear" or "set"
    until: date | None = None


def usage() -> str:
    return lookup("away").usage


def parse_away(text: str, *, today: date) -> AwayCommand:
    """`2026-12-24`, `today`, `tomorrow`, `friday` (the next Friday, never today), `off`/`back`, or nothing.

    An optional leading `until` is allowed (`/okr away until friday`). The day must be today or later,
    and at most `MAX_DAYS_AHEAD` days ahead.
    """
    words = text.split()
    if words and words[0].casefold() == "until" and len(words) > 1:
        words = words[1:]
    if not words:
        return AwayCommand("show")
    typed = " ".join(words)
    lowered = typed.casefold()
    if lowered in CLEAR_WORDS:
        return AwayCommand("clear")
    until = _day(typed, lowered, today=today)
    if until < today:
        raise UsageError(
            f"{until.isoformat()} is in the past (today is {today.isoformat()}); give today or a later day.",
            usage=usage(),
        )
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if until > latest:
        raise UsageError(
            f"{until.isoformat()} is more than {MAX_DAYS_AHEAD} days ahead; "
            f"you can be marked away until {latest.isoformat()} at the latest.",
            usage=usage(),
        )
    return AwayCommand("set", until)


def _day(typed: str, lowered: str, *, today: date) -> date:
    if lowered == "today":
        return today
    if lowered == "tomorrow":
        return today + timedelta(days=1)
    if lowered.isascii() and lowered.isalpha() and len(lowered) >= 3:
        for index, name in enumerate(WEEKDAYS):
            if name.startswith(lowered):
                return today + timedelta(days=(index - today.weekday() - 1) % 7 + 1)
    if _ISO_DATE.fullmatch(typed):
        try:
            return date.fromisoformat(typed)
        except ValueError:
            raise UsageError(f"`{typed}` is not a real date.", usage=usage()) from None
    raise UsageError(
        f"`{clip(typed, 30)}` is not a day I understand. Give the last day you are away, like "
        f"`{examples.away_until(today).isoformat()}`, `today`, `tomorrow` or `friday`; or `off` when you are back.",
        usage=usage(),
    )


@dataclass(frozen=True)
class AwayZone:
    """The zone someone's days are read in, and where it comes from: "person", "team" or "utc"."""

    name: str
    source: str


def valid_zone(name: str | None) -> bool:
    """Whether this machine's tz database knows the zone (Slack may know zones newer than ours)."""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True


def away_timezone(session: Session, *, workspace_id: int, user_id: str) -> AwayZone:
    """The person's own zone once Slack told us (as the check-in sweep reads it); else their team's zone when
    all their teams share one; else UTC."""
    person = find_person(session, workspace_id=workspace_id, user_id=user_id)
    if person is not None and valid_zone(person.timezone):
        assert person.timezone is not None
        return AwayZone(person.timezone, "person")
    zones = {team.timezone for team in teams_of(session, workspace_id=workspace_id, user_id=user_id)}
    if len(zones) == 1:
        return AwayZone(zones.pop(), "team")
    return AwayZone("UTC", "utc")


def remember_timezone(
    session: Session, *, workspace_id: int, user_id: str, timezone: str, now: datetime, create: bool
) -> None:
    """Keep the zone Slack gave for the person (the sweep reads the same field), unless one is known already.

    ``create``: also when the person has no row yet; without it, a look that writes nothing else stays so.
    """
    person = (
        ensure_person(session, workspace_id=workspace_id, user_id=user_id, now=now)
        if create
        else find_person(session, workspace_id=workspace_id, user_id=user_id)
    )
    if person is not None and not person.timezone:
        person.timezone = timezone


def away_until(session: Session, *, workspace_id: int, user_id: str, today: date) -> date | None:
    """The last day the person is away, or None when they are not (a day already past does not count)."""
    person = find_person(session, workspace_id=workspace_id, user_id=user_id)
    if person is None or person.away_until is None or person.away_until < today:
        return None
    return person.away_until


def set_away(session: Session, *, workspace_id: int, user_id: str, until: date, timezone: str, now: datetime) -> bool:
    """Mark the person away up to and including `until`; False when they already were, exactly so."""
    person = ensure_person(session, workspace_id=workspace_id, user_id=user_id, now=now)
    if person.away_until == until:
        return False
    previous = person.away_until
    person.away_until = until
    record_event(
        session,
        workspace_id=workspace_id,
        entity="person",
        entity_id=person.id,
        action="away_set",
        actor=user_id,
        now=now,
        data={"until": until.isoformat(), "timezone": timezone, "previous": previous and previous.isoformat()},
    )
    return True


def clear_away(session: Session, *, workspace_id: int, user_id: str, today: date, now: datetime) -> date | None:
    """The person is back: the day they were away until, or None when they were not away (nothing written)."""
    person = find_person(session, workspace_id=workspace_id, user_id=user_id)
    if person is None or person.away_until is None or person.away_until < today:
        return None
    was = person.away_until
    person.away_until = None
    record_event(
        session,
        workspace_id=workspace_id,
        entity="person",
        entity_id=person.id,
        action="away_cleared",
        actor=user_id,
        now=now,
        data={"was_until": was.isoformat()},
    )
    return was
