"""Team settings, validated the same way whether typed as `key=value` or entered in the modal."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidFields, NotAllowed, UsageError
from bot.rituals.events import record_event
from bot.rituals.teams import lock_team
from storage.models import Membership, Role, Team, TeamLeader

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CHANNEL = re.compile(r"^<#(?P<id>[CG][A-Z0-9]{2,30})(\|[^>]*)?>$|^(?P<raw>[CG][A-Z0-9]{2,30})$")
# the keys people type, mapped to the field (and modal block) they set
KEYS = {
    "timezone": "timezone", "tz": "timezone",
    "day": "checkin_weekday", "checkin-day": "checkin_weekday",
    "hour": "checkin_hour", "checkin-hour": "checkin_hour",
    "digest": "digest_channel_id", "digest-channel": "digest_channel_id",
    "cycle-start": "cycle_anchor", "cycle": "cycle_anchor",
    "max-objectives": "max_objectives",
}  # fmt: skip


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
    facilitators: tuple[str, ...] | None = None
    leaders: tuple[str, ...] | None = None


def parse_settings_text(args: str) -> SettingsChange:
    """`timezone=Europe/Paris hour=9 …` → a change; every bad pair is reported at once."""
    try:
        pairs = shlex.split(args)
    except ValueError:
        raise UsageError("Unbalanced quotes in the settings.", usage=USAGE) from None
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep and key.lower() in KEYS:
            raise UsageError(f"Give `{key.lower()}` a value after `=`, like `{key.lower()}=…`.", usage=USAGE)
        if not sep or key.lower() not in KEYS:
            raise UsageError(f"I don't know the setting `{pair[:40]}`.", usage=USAGE)
        raw[KEYS[key.lower()]] = value
    try:
        return validate_settings(raw)
    except InvalidFields as error:
        raise UsageError("\n".join(error.fields.values()), usage=USAGE) from None


USAGE = (
    "/okr team settings timezone=Europe/Paris day=monday hour=10 digest=#okr-ripples "
    "cycle-start=2027-01-04 max-objectives=3"
)


def validate_settings(raw: dict[str, str | None], *, people: dict[str, list[str]] | None = None) -> SettingsChange:
    """Check each field; raise InvalidFields naming every field that is wrong, keyed by field name."""
    values: dict[str, object] = {}
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
    if change.facilitators is not None:
        lock_team(session, team)  # roles change together with joins and leaves, never interleaved
    check_leader_change(session, team=team, change=change, user_id=user_id)
    changed: list[str] = []
    for field in fields(SettingsChange):
        value = getattr(change, field.name)
        if field.name in ("facilitators", "leaders", "clear_digest_channel") or value is None:
            continue
        if getattr(team, field.name) != value:
            setattr(team, field.name, value)
            changed.append(field.name)
    if change.clear_digest_channel and team.digest_channel_id is not None:
        team.digest_channel_id = None
        changed.append("digest_channel_id")
    if change.facilitators is not None and _apply_facilitators(session, team=team, wanted=change.facilitators, now=now):
        changed.append("facilitators")
    if change.leaders is not None and _apply_leaders(
        session, team=team, wanted=change.leaders, user_id=user_id, now=now
    ):
        changed.append("leaders")
    if changed:
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
        raise ValueError(f"`{value[:20]}` is not a date; use the form 2027-01-04.") from None
    if not 2000 <= anchor.year <= 2100:
        raise ValueError("The cycle start should be a date between the years 2000 and 2100.")
    return {"cycle_anchor": anchor}


def parse_max_objectives(value: str) -> dict[str, object]:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 5:
        raise ValueError("The objective limit is a number from 1 to 5; fewer objectives means more focus.")
    return {"max_objectives": int(value)}


_PARSERS = {
    "timezone": parse_timezone,
    "checkin_weekday": parse_weekday,
    "checkin_hour": parse_hour,
    "digest_channel_id": parse_channel,
    "cycle_anchor": parse_cycle_anchor,
    "max_objectives": parse_max_objectives,
}
