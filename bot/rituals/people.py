"""The people the bot writes to: their time zone, their time away, and whether a DM reaches them."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.claims import insert_if_absent
from storage.models import Person, Team

# What a Slack status says when someone is away, unless the team sets its own list.
DEFAULT_AWAY_WORDS = (
    "OOO", "out of office", "vacation", "holiday", "on leave", "parental leave", "sick",
    ":palm_tree:", ":airplane:", ":face_with_thermometer:", ":beach_with_umbrella:",
)  # fmt: skip
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
