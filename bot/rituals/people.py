"""The people the bot writes to: their time zone, their time away, their Slack status and DM channel as last read,
and whether a DM reaches them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
from storage.db import rows_matched
from storage.models import Person, Team, Workspace

# What a Slack status says when someone is away, unless the team sets its own list.
DEFAULT_AWAY_WORDS = (
    "OOO",
    "out of office",
    "vacation",
    "holiday",
    "on leave",
    "parental leave",
    "sick",
    ":palm_tree:",
    ":airplane:",
    ":face_with_thermometer:",
    ":beach_with_umbrella:",
)
_EMOJI = re.compile(r"^:[a-z0-9_+\-']+:$")


def find_person(session: Session, *, workspace_id: int, user_id: str) -> Person | None:
    return session.scalar(select(Person).where(Person.workspace_id == workspace_id, Person.user_id == user_id))


def ensure_person(session: Session, *, workspace_id: int, user_id: str, now: datetime) -> Person:
    """The person's row, created on first need; two requests creating it at once share the one row."""
    person = find_person(session, workspace_id=workspace_id, user_id=user_id)
    if person is None:
        insert_if_absent(
            session,
            Person.__table__,
            {"workspace_id": workspace_id, "user_id": user_id, "created_at": now, "updated_at": now},
        )
        person = find_person(session, workspace_id=workspace_id, user_id=user_id)
        assert person is not None
    return person


def away_words(team: Team) -> tuple[str, ...]:
    """The team's words (and :emoji:) that mean "away" in a Slack status, comma-separated in the setting."""
    if team.away_words is None:
        return DEFAULT_AWAY_WORDS
    return tuple(word.strip() for word in team.away_words.split(",") if word.strip())


def status_means_away(status_text: str | None, status_emoji: str | None, words: tuple[str, ...]) -> str | None:
    """The word or emoji that marks this status as away, or None.

    An emoji matches the status emoji exactly (skin tones aside); a word matches whole words of the
    status text, ignoring case, so "OOO" matches "OOO till Monday" but "sick" does not match "music".
    """
    text = (status_text or "").casefold()
    emoji = (status_emoji or "").split("::skin-tone-")[0].rstrip(":") + ":" if status_emoji else ""
    for word in words:
        if _EMOJI.match(word):
            if emoji and word.casefold() == emoji.casefold():
                return word
        elif text and re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text):
            return word
    return None


# what Slack says about a person, kept so that a weekly DM needs no call but the post ----------------------------


@dataclass(frozen=True)
class Profile:
    """The part of a Slack user object the bot plans by: their zone, whether they left, and their status."""

    user_id: str
    timezone: str | None
    deactivated: bool
    is_bot: bool
    status_text: str | None
    status_emoji: str | None
    status_expires_at: datetime | None
    name: str | None = None  # the name Slack shows: display name, else real name

    @classmethod
    def of(cls, user: Mapping[str, Any]) -> Profile | None:
        """From a user object (users.info, users.list, a `user_change` event); None when it is not one."""
        user_id = user.get("id")
        if not isinstance(user_id, str) or not 0 < len(user_id) <= 32:
            return None
        found = user.get("profile")
        profile = found if isinstance(found, dict) else {}
        expiration = profile.get("status_expiration")
        expires = (
            datetime.fromtimestamp(expiration, UTC)
            if isinstance(expiration, int | float) and 0 < expiration < 10**11
            else None
        )
        tz = user.get("tz")
        return cls(
            user_id=user_id,
            timezone=tz if isinstance(tz, str) and valid_zone(tz) else None,
            deactivated=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            status_text=_text(profile.get("status_text"), 150),
            status_emoji=_text(profile.get("status_emoji"), 100),
            status_expires_at=expires,
            name=_text(profile.get("display_name") or profile.get("real_name") or user.get("real_name"), 200),
        )


def status_away(person: Person | None, team: Team, now: datetime) -> str | None:
    """The word or emoji of the person's current status that means away, as last read from Slack; an expired
    status means nothing."""
    if person is None or (person.status_expires_at is not None and person.status_expires_at <= now):
        return None
    return status_means_away(person.status_text, person.status_emoji, away_words(team))


def remember_profile(
    session: Session, *, workspace_id: int, profile: Profile, now: datetime, fallback_zone: str | None = None
) -> Person:
    """Keep what Slack said about someone; their zone stays as it was when Slack gives none (or `fallback_zone`,
    the team's, when none was ever known)."""
    person = ensure_person(session, workspace_id=workspace_id, user_id=profile.user_id, now=now)
    _keep(person, profile, now, fallback_zone=fallback_zone)
    return person


def _keep(person: Person, profile: Profile, now: datetime, *, fallback_zone: str | None = None) -> None:
    zone = profile.timezone or person.timezone or fallback_zone
    values = {
        "timezone": zone,
        "deactivated": profile.deactivated,
        "is_bot": profile.is_bot,
        "status_text": profile.status_text,
        "status_emoji": profile.status_emoji,
        "status_expires_at": profile.status_expires_at,
        "name": profile.name or person.name,
    }
    for name, value in values.items():
        if getattr(person, name) != value:
            setattr(person, name, value)
    person.profile_read_at = now


def remember_profiles(session: Session, *, workspace_id: int, profiles: list[Profile], now: datetime) -> int:
    """Keep a page of users.list for the people the bot already writes to (it does not add everyone in the
    workspace); returns how many it updated."""
    by_id = {p.user_id: p for p in profiles}
    known = session.scalars(
        select(Person).where(Person.workspace_id == workspace_id, Person.user_id.in_(list(by_id)))
    ).all()
    for person in known:  # read with the page, not one query each
        _keep(person, by_id[person.user_id], now)
    return len(known)


def remember_dm_channel(session: Session, *, workspace_id: int, user_id: str, channel_id: str, now: datetime) -> None:
    person = ensure_person(session, workspace_id=workspace_id, user_id=user_id, now=now)
    if person.dm_channel_id != channel_id:
        person.dm_channel_id = channel_id


def forget_dm_channel(session: Session, *, workspace_id: int, user_id: str, channel_id: str) -> None:
    """Slack no longer knows the DM channel kept for someone: it is opened again next time."""
    session.execute(
        update(Person)
        .where(Person.workspace_id == workspace_id, Person.user_id == user_id, Person.dm_channel_id == channel_id)
        .values(dm_channel_id=None)
    )


def take_people_read(session: Session, *, workspace_id: int, now: datetime, every: timedelta, lease: timedelta) -> bool:
    """Whether this process is to read the workspace's people in bulk now: the last read is older than `every`
    and no other process took it (a compare-and-set). The read is marked a `lease` ahead, so that one that dies is
    taken again once the lease runs out."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None or workspace.uninstalled_at is not None:
        return False
    read_at = workspace.people_read_at
    if read_at is not None and read_at > now - every:
        return False
    same = Workspace.people_read_at.is_(None) if read_at is None else Workspace.people_read_at == read_at
    taken = rows_matched(
        session, update(Workspace).where(Workspace.id == workspace_id, same).values(people_read_at=now - every + lease)
    )
    return taken == 1


def people_read(session: Session, *, workspace_id: int, now: datetime) -> None:
    session.execute(update(Workspace).where(Workspace.id == workspace_id).values(people_read_at=now))


def zones_of(session: Session, *, workspace_id: int, user_ids: Iterable[str]) -> dict[str, str | None]:
    """The zone kept for each of these people the bot knows."""
    query = select(Person.user_id, Person.timezone).where(
        Person.workspace_id == workspace_id, Person.user_id.in_(list(user_ids))
    )
    return {user_id: zone for user_id, zone in session.execute(query)}


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def mark_unreachable(session: Session, *, workspace_id: int, user_id: str, reason: str, now: datetime) -> Person:
    """A DM to them was refused for good; the first refusal's moment is kept (the facilitators are told once)."""
    person = ensure_person(session, workspace_id=workspace_id, user_id=user_id, now=now)
    if person.unreachable_since is None:
        person.unreachable_since, person.unreachable_reason = now, reason[:40]
    return person


def mark_reachable(session: Session, *, workspace_id: int, user_id: str) -> None:
    session.execute(
        update(Person)
        .where(Person.workspace_id == workspace_id, Person.user_id == user_id, Person.unreachable_since.is_not(None))
        .values(unreachable_since=None, unreachable_reason=None)
    )
