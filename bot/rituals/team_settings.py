"""Team settings, validated the same way whether typed as `key=value` or entered in the modal."""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidFields, NotAllowed, UsageError
from bot.rituals import reset, schedule
from bot.rituals.events import record_event
from bot.rituals.people import DEFAULT_AWAY_WORDS
from bot.rituals.teams import lock_team
from bot.text import check_characters
from storage.models import Membership, Role, Team, TeamLeader

# settings that move every check-in DM and summary of the team to the new time
RESCHEDULING = frozenset({"timezone", "checkin_weekday", "checkin_hour", "reminder_hours", "checkins_paused"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CHANNEL = re.compile(r"^<#(?P<id>[CG][A-Z0-9]{2,30})(\|[^>]*)?>$|^(?P<raw>[CG][A-Z0-9]{2,30})$")
# the keys people type, mapped to the field (and modal block) they set
KEYS = {
    "timezone": "timezone",
    "tz": "timezone",
    "day": "checkin_weekday",
    "checkin-day": "checkin_weekday",
    "hour": "checkin_hour",
    "checkin-hour": "checkin_hour",
    "digest": "digest_channel_id",
    "digest-channel": "digest_channel_id",
    "cycle-start": "cycle_anchor",
    "cycle": "cycle_anchor",
    "max-objectives": "max_objectives",
    "checkins": "checkins_paused",
    "check-ins": "checkins_paused",
    "reminder": "reminder_hours",
    "reminder-hours": "reminder_hours",
    "away-words": "away_words",
    "triage-close": "triage_hours",
    "triage-hours": "triage_hours",
    "triage-deadline": "triage_hours",
    "sprint-size": "sprint_size",
    "sprint": "sprint_size",
}
REMINDER_HOURS = (1, 72)
TRIAGE_HOURS = (1, 336)  # up to two weeks
SPRINT_SIZE = (1, 50)
_TRIAGE_OFF = ("off", "manual", "never")
# `triage-close=48h`, `48`, `2d`, `3 days`; the unit may also follow unquoted: `triage-close=3 days`
_DURATION = re.compile(r"([0-9]{1,4})\s*(h|hrs?|hours?|d|days?)?", flags=re.IGNORECASE)
_DURATION_UNITS = frozenset({"h", "hr", "hrs", "hour", "hours", "d", "day", "days"})
AWAY_WORD_LENGTH, AWAY_WORDS_COUNT, AWAY_WORDS_LENGTH = 40, 20, 500
_AWAY_EMOJI = re.compile(r"^:[a-z0-9_+\-']+:$")  # the form `status_means_away` compares with the status emoji
# double quotes a phone or a Mac may have "smartened" as someone typed them (apostrophes stay as typed)
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})


@dataclass(frozen=True)
class SettingsChange:
    """Only the fields someone set; None means "leave as it is"."""

    timezone: str | None = None
    checkin_weekday: int | None = None
    checkin_hour: int | None = None
    digest_channel_id: str | None = None
    clear_digest_channel: bool = False
    cycle_anchor: date | None = None
    max_objectives: int | None = None
    checkins_paused: bool | None = None
    reminder_hours: int | None = None
    away_words: str | None = None  # the words joined with ", "
    reset_away_words: bool = False  # back to the defaults (stored as None)
    triage_hours: int | None = None
    close_triage_by_hand: bool = False  # no deadline: a facilitator closes triage and sprint picks (stored as None)
    sprint_size: int | None = None
    facilitators: tuple[str, ...] | None = None
    leaders: tuple[str, ...] | None = None


def parse_settings_text(args: str) -> SettingsChange:
    """`timezone=Europe/Paris hour=9 …` → a change; every bad pair is reported at once."""
    try:
        pairs = shlex.split(args.translate(_SMART_QUOTES))
    except ValueError:
        raise UsageError("Unbalanced quotes in the settings.", usage=USAGE) from None
    raw: dict[str, str] = {}
    previous = ""
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep and key.lower() in KEYS:
            raise UsageError(f"Give `{key.lower()}` a value after `=`, like `{key.lower()}=…`.", usage=USAGE)
        if not sep and previous == "triage_hours" and pair.casefold() in _DURATION_UNITS and raw[previous].isdigit():
            raw[previous] += f" {pair}"  # `triage-close=3 days` typed without quotes
            continue
        if not sep and previous == "away_words":
            raise UsageError(
                f"I don't know the setting `{pair[:40]}`. Put away words that contain spaces in quotes, "
                'like `away-words="out of office, vacation, :palm_tree:"`.',
                usage=USAGE,
            )
        if not sep or key.lower() not in KEYS:
            raise UsageError(f"I don't know the setting `{pair[:40]}`.", usage=USAGE)
        raw[KEYS[key.lower()]] = value
        previous = KEYS[key.lower()]
    try:
        return validate_settings(raw)
    except InvalidFields as error:
        raise UsageError("\n".join(error.fields.values()), usage=USAGE) from None


USAGE = (
    "/okr team settings timezone=Europe/Paris day=monday hour=10 digest=#okr-ripples "
    'cycle-start=YYYY-MM-DD max-objectives=3 checkins=on|paused reminder=24h away-words="OOO, vacation, :palm_tree:" '
    "triage-close=48h|off sprint-size=5"
)


def validate_settings(raw: Mapping[str, str | None], *, people: dict[str, list[str]] | None = None) -> SettingsChange:
    """Check each field; raise InvalidFields naming every field that is wrong, keyed by field name."""
    values: dict[str, Any] = {}  # SettingsChange's fields, each of the type its parser gives it
    errors: dict[str, str] = {}
    for field, value in raw.items():
        if value is None:
            continue
        try:
            values.update(_PARSERS[field](value.strip()))
        except ValueError as error:
            errors[field] = str(error)
    for role, users in (people or {}).items():
        values[role] = tuple(dict.fromkeys(users))
    if values.get("facilitators") == ():
        errors["facilitators"] = "A team needs at least one facilitator."
    if errors:
        raise InvalidFields(errors)
    return SettingsChange(**values)


def apply_settings(session: Session, *, team: Team, change: SettingsChange, user_id: str, now: datetime) -> list[str]:
    """Save the change and return the names of the fields that actually changed."""
    if change.facilitators is not None or change.cycle_anchor is not None or change.timezone is not None:
        # roles change together with joins and leaves, and the calendar with the reset, never interleaved
        lock_team(session, team)
        session.refresh(team)
    check_leader_change(session, team=team, change=change, user_id=user_id)
    changed: list[str] = []
    if change.cycle_anchor is not None and reset.change_anchor(session, team=team, wanted=change.cycle_anchor, now=now):
        changed.append("cycle_anchor")
    for field in fields(SettingsChange):
        value = getattr(change, field.name)
        if field.name in _NOT_TEAM_COLUMNS or value is None:
            continue
        if getattr(team, field.name) != value:
            setattr(team, field.name, value)
            changed.append(field.name)
    if change.clear_digest_channel and team.digest_channel_id is not None:
        team.digest_channel_id = None
        changed.append("digest_channel_id")
    if change.reset_away_words and team.away_words is not None:
        team.away_words = None
        changed.append("away_words")
    if change.close_triage_by_hand and team.triage_hours is not None:
        team.triage_hours = None
        changed.append("triage_hours")
    if change.facilitators is not None and _apply_facilitators(session, team=team, wanted=change.facilitators, now=now):
        changed.append("facilitators")
    if change.leaders is not None and _apply_leaders(
        session, team=team, wanted=change.leaders, user_id=user_id, now=now
    ):
        changed.append("leaders")
    if changed:
        if {"timezone", "cycle_anchor"}.intersection(changed):
            reset.replan(session, team=team, now=now)  # a cycle ends at the team's midnight, on the calendar's day
        if RESCHEDULING.intersection(changed):
            schedule.refresh_team(session, team=team, now=now, reschedule=True)
        elif "cycle_anchor" in changed:  # another cycle may be current now, with other owners
            schedule.refresh_team(session, team=team, now=now)
        record_event(
            session,
            workspace_id=team.workspace_id,
            team_id=team.id,
            entity="team",
            entity_id=team.id,
            action="settings_changed",
            actor=user_id,
            now=now,
            data={"changed": changed},
        )
    return changed


_NOT_TEAM_COLUMNS = (
    "cycle_anchor",
    "facilitators",
    "leaders",
    "clear_digest_channel",
    "reset_away_words",
    "close_triage_by_hand",
)


def check_leader_change(session: Session, *, team: Team, change: SettingsChange, user_id: str) -> None:
    """A team names its leaders, but nobody names themselves: leaders may publish workspace-wide."""
    if change.leaders is None or user_id not in change.leaders:
        return
    if user_id not in leaders_of(session, team=team):
        raise NotAllowed("You can't name yourself a leader; another facilitator or a workspace admin can.")


def leaders_of(session: Session, *, team: Team) -> list[str]:
    query = select(TeamLeader.user_id).where(TeamLeader.team_id == team.id).order_by(TeamLeader.id)
    return list(session.scalars(query))


def _apply_facilitators(session: Session, *, team: Team, wanted: tuple[str, ...], now: datetime) -> bool:
    """Facilitators run the team's rituals, so they are members; anyone not listed becomes a member."""
    members = {m.user_id: m for m in session.scalars(select(Membership).where(Membership.team_id == team.id))}
    changed = False
    for user_id in wanted:
        if user_id not in members:
            members[user_id] = Membership(
                workspace_id=team.workspace_id,
                team_id=team.id,
                user_id=user_id,
                role=Role.MEMBER,
                created_at=now,
            )
            session.add(members[user_id])
    for user_id, member in members.items():
        role = Role.FACILITATOR if user_id in wanted else Role.MEMBER
        if member.role != role:
            member.role = role
            changed = True
    return changed


def _apply_leaders(session: Session, *, team: Team, wanted: tuple[str, ...], user_id: str, now: datetime) -> bool:
    current = {row.user_id: row for row in session.scalars(select(TeamLeader).where(TeamLeader.team_id == team.id))}
    for gone in set(current) - set(wanted):
        session.delete(current[gone])
    for new in [u for u in wanted if u not in current]:
        session.add(
            TeamLeader(workspace_id=team.workspace_id, team_id=team.id, user_id=new, named_by=user_id, created_at=now)
        )
    return set(current) != set(wanted)


@cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones() | {"UTC"}}


def parse_timezone(value: str) -> dict[str, object]:
    name = _zones().get(value.casefold())
    if name is None:
        raise ValueError(f"`{value[:60]}` is not a time zone I know. Use a name like Europe/Paris or America/New_York.")
    ZoneInfo(name)
    return {"timezone": name}


def parse_weekday(value: str) -> dict[str, object]:
    lowered = value.casefold()
    for index, day in enumerate(WEEKDAYS):
        if len(lowered) >= 3 and day.startswith(lowered):
            return {"checkin_weekday": index}
    if lowered.isascii() and lowered.isdigit() and 0 <= int(lowered) <= 6:  # the modal's option values
        return {"checkin_weekday": int(lowered)}
    raise ValueError(f"`{value[:20]}` is not a day of the week; use monday … sunday.")


def parse_hour(value: str) -> dict[str, object]:
    match = re.fullmatch(r"([0-9]{1,2})(?::00)?", value)
    if not match or not 0 <= int(match.group(1)) <= 23:
        raise ValueError(f"`{value[:20]}` is not an hour; use a whole hour from 0 to 23, like 9 or 14:00.")
    return {"checkin_hour": int(match.group(1))}


def parse_channel(value: str) -> dict[str, object]:
    if value.casefold() in ("", "none", "off"):
        return {"clear_digest_channel": True}
    match = _CHANNEL.match(value)
    if not match:
        raise ValueError(f"`{value[:40]}` is not a channel; mention it like #okr-ripples, or use `none`.")
    return {"digest_channel_id": match.group("id") or match.group("raw")}


def parse_cycle_anchor(value: str) -> dict[str, object]:
    try:
        anchor = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value[:20]}` is not a date; use the form YYYY-MM-DD (year, month, day).") from None
    if not 2000 <= anchor.year <= 2100:
        raise ValueError("The cycle start should be a date between the years 2000 and 2100.")
    return {"cycle_anchor": anchor}


def parse_max_objectives(value: str) -> dict[str, object]:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 5:
        raise ValueError("The objective limit is a number from 1 to 5; fewer objectives means more focus.")
    return {"max_objectives": int(value)}


def parse_checkins(value: str) -> dict[str, object]:
    lowered = value.casefold()
    if lowered not in ("on", "paused"):
        raise ValueError(
            f"`{value[:20]}` is not a check-in setting; use `checkins=on`, or `checkins=paused` "
            "to stop check-in DMs, reminders and summaries until you turn them back on."
        )
    return {"checkins_paused": lowered == "paused"}


def parse_reminder_hours(value: str) -> dict[str, object]:
    low, high = REMINDER_HOURS
    match = re.fullmatch(r"([0-9]{1,2})\s*h?", value, flags=re.IGNORECASE)
    if not match or not low <= int(match.group(1)) <= high:
        raise ValueError(
            f"`{value[:20]}` is not a reminder delay; use a whole number of hours from {low} to {high}, like 24 or 24h."
        )
    return {"reminder_hours": int(match.group(1))}


def parse_away_words(value: str) -> dict[str, object]:
    """`OOO, vacation, :palm_tree:` → the words joined with ", "; `default` (or the defaults) → follow the defaults."""
    if value.casefold() in ("default", "defaults"):
        return {"reset_away_words": True}
    try:
        check_characters(value, what="The away words")
    except UsageError as error:
        raise ValueError(error.message) from None
    words: dict[str, str] = {}  # casefolded → as typed, first spelling wins
    for raw in value.split(","):
        word = " ".join(raw.split())
        if not word:
            continue
        if word.startswith(":") and word.endswith(":") and len(word) > 1:
            word = word.lower()
            if not _AWAY_EMOJI.match(word):
                raise ValueError(f"`{word[:AWAY_WORD_LENGTH]}` is not an emoji name; write it like :palm_tree:.")
        if not any(char.isalnum() or unicodedata.category(char) == "So" for char in word):
            raise ValueError(f"`{word[:AWAY_WORD_LENGTH]}` is not a word; an away word needs a letter, digit or emoji.")
        if len(word) > AWAY_WORD_LENGTH:
            raise ValueError(
                f"The away word `{word[:AWAY_WORD_LENGTH]}…` is {len(word)} characters long; "
                f"each word may have at most {AWAY_WORD_LENGTH}."
            )
        words.setdefault(word.casefold(), word)
    if not words:
        raise ValueError('Give the away words separated by commas, like "OOO, vacation, :palm_tree:", or `default`.')
    if len(words) > AWAY_WORDS_COUNT:
        raise ValueError(f"That is {len(words)} away words; a team may have at most {AWAY_WORDS_COUNT}.")
    joined = ", ".join(words.values())
    if len(joined) > AWAY_WORDS_LENGTH:
        raise ValueError(
            f"The away words come to {len(joined)} characters; together they may have at most {AWAY_WORDS_LENGTH}."
        )
    if tuple(words.values()) == DEFAULT_AWAY_WORDS:  # the defaults, as the modal shows them: keep following them
        return {"reset_away_words": True}
    return {"away_words": joined}


def parse_triage_hours(value: str) -> dict[str, object]:
    """`48h`, `48`, `2d`, `3 days` → hours; `off`, `manual`, `never` → no deadline (a facilitator closes)."""
    if value.casefold() in _TRIAGE_OFF:
        return {"close_triage_by_hand": True}
    low, high = TRIAGE_HOURS
    match = _DURATION.fullmatch(value)
    hours = None
    if match:
        hours = int(match.group(1)) * (24 if (match.group(2) or "h")[0].casefold() == "d" else 1)
    if hours is None or not low <= hours <= high:
        raise ValueError(
            f"`{value[:20]}` is not a triage deadline; use a whole number of hours from {low} to {high} "
            f"(like 48 or 48h), of days from 1 to {high // 24} (like 2d or 3 days), "
            "or `off` to have a facilitator close triage and sprint picks."
        )
    return {"triage_hours": hours}


def parse_sprint_size(value: str) -> dict[str, object]:
    low, high = SPRINT_SIZE
    if not re.fullmatch(r"[0-9]{1,3}", value) or not low <= int(value) <= high:
        raise ValueError(
            f"`{value[:20]}` is not a sprint size; use a whole number of items from {low} to {high}, like 5."
        )
    return {"sprint_size": int(value)}


_PARSERS = {
    "timezone": parse_timezone,
    "checkin_weekday": parse_weekday,
    "checkin_hour": parse_hour,
    "digest_channel_id": parse_channel,
    "cycle_anchor": parse_cycle_anchor,
    "max_objectives": parse_max_objectives,
    "checkins_paused": parse_checkins,
    "reminder_hours": parse_reminder_hours,
    "away_words": parse_away_words,
    "triage_hours": parse_triage_hours,
    "sprint_size": parse_sprint_size,
}
