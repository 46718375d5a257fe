"""A person's votes as rows: what they show of each emoji on a round item (one row per emoji as shown, moved on
only by a newer event), the item's `votes_version` that moves with every change of vote, and the tallies read back.

`store_vote` runs with the round item locked (bot/rituals/triage.py takes the locks), so one event at a time
decides what a person shows on an item.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.rituals import backlog
from bot.rituals.ballots import HELPS, MAYBE, NOT_NOW, NUMBERS, Tally, base_reaction
from bot.rituals.events import log_event
from storage.models import Membership, RoundItem, RoundKind, Vote

_items, _votes = RoundItem.__table__, Vote.__table__


@dataclass(frozen=True)
class Target:
    """The round item a reaction was added to, and what the round accepts."""

    round_item_id: int
    item_id: int
    round_id: int
    team_id: int
    kind: RoundKind
    open: bool
    ballot_size: int


# what a person shows on an item of one base emoji, in every skin tone
_SHOWN = select(_votes.c.emoji, _votes.c.present, _votes.c.event_ts).where(
    _votes.c.round_item_id == bindparam("round_item_id"),
    _votes.c.user_id == bindparam("user_id"),
    _votes.c.reaction == bindparam("reaction"),
)
_BUMP = (
    update(_items)
    .where(_items.c.id == bindparam("round_item_id"))
    .values(votes_version=_items.c.votes_version + 1, votes_changed_at=bindparam("now"))
)
_UPSERTS: dict[str, Any] = {}


def store_vote(
    session: Session,
    *,
    workspace_id: int,
    target: Target,
    user_id: str,
    reaction: str,
    added: bool,
    event_ts: int,
    now: datetime,
    via: str | None,
) -> bool:
    """Store what the person now shows of this emoji, the item locked; True when their vote changed (and then the
    item's `votes_version` moves on, for its message to be redrawn, and the event log says so)."""
    name, emoji = base_reaction(reaction), reaction[:100]
    mine = {"round_item_id": target.round_item_id, "user_id": user_id, "reaction": name}
    shown = {row.emoji: (row.present, row.event_ts) for row in session.execute(_SHOWN, mine)}
    last = shown.get(emoji)
    if last is not None and last[1] >= event_ts:
        return False  # overtaken by a newer event about the same emoji
    before = any(present for present, _ts in shown.values())
    after = added or any(present for other, (present, _ts) in shown.items() if other != emoji)
    session.execute(
        _upsert(session),
        {
            "workspace_id": workspace_id,
            "round_item_id": target.round_item_id,
            "user_id": user_id,
            "reaction": name,
            "emoji": emoji,
            "present": added,
            "event_ts": event_ts,
            "created_at": now,
        },
    )
    if after == before:
        return False
    session.execute(_BUMP, {"round_item_id": target.round_item_id, "now": now})
    log_event(
        session,
        workspace_id=workspace_id,
        team_id=target.team_id,
        entity=backlog.ENTITY,
        entity_id=target.item_id,
        action="voted" if added else "unvoted",
        actor=user_id,
        now=now,
        data={"reaction": name, "round": target.round_id} | ({"via": via} if via else {}),
    )
    return True


def _upsert(session: Session) -> Any:
    """The vote's row inserted, or moved on to this event: only ever to a newer one (the database checks it too)."""
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(_votes)
        statement = statement.on_conflict_do_update(
            index_elements=[_votes.c.round_item_id, _votes.c.user_id, _votes.c.emoji],
            set_={"present": statement.excluded.present, "event_ts": statement.excluded.event_ts},
            where=_votes.c.event_ts < statement.excluded.event_ts,
        )
        _UPSERTS[dialect] = statement
    return statement


def is_member(session: Session, team_id: int, user_id: str) -> bool:
    return (
        session.scalar(select(Membership.id).where(Membership.team_id == team_id, Membership.user_id == user_id))
        is not None
    )


def tallies(session: Session, round_item_ids: list[int]) -> dict[int, Tally]:
    """Every round item's tally in two queries: people per base reaction, and the item's backers."""
    found: dict[int, Tally] = defaultdict(Tally)
    if round_item_ids:
        shown = (Vote.round_item_id.in_(round_item_ids), Vote.present)
        people = func.count(Vote.user_id.distinct())
        for entry_id, reaction, count in session.execute(
            select(Vote.round_item_id, Vote.reaction, people).where(*shown).group_by(Vote.round_item_id, Vote.reaction)
        ):
            found[entry_id].counts[reaction] = count
        other = aliased(Vote)
        same_person = (other.round_item_id == Vote.round_item_id, other.user_id == Vote.user_id, other.present)
        said_otherwise = select(other.id).where(*same_person, other.reaction.in_((NOT_NOW, MAYBE))).exists()
        backing = (Vote.reaction == HELPS) | (Vote.reaction.in_(NUMBERS) & ~said_otherwise)
        for entry_id, count in session.execute(
            select(Vote.round_item_id, people).where(*shown, backing).group_by(Vote.round_item_id)
        ):
            found[entry_id].backers = count
    return {entry_id: found[entry_id] for entry_id in round_item_ids}
