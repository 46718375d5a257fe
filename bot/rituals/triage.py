"""Triage and sprint rounds: the OKRs as a filter on the backlog, voted with emoji reactions.

A triage puts inbox items to the team: ✅ (`white_check_mark`) the item helps a key result, ❌ (`x`) not now,
🤔 (`thinking_face`) maybe, it needs finding out (discovery); `one`…`keycap_ten` say which key result it helps,
numbered as the round's header lists them. A sprint pick puts product-backlog items to the team: 🚀 (`rocket`)
votes for what moves the key results fastest.

Closing decides, by these rules (documented in the README and the round's header):
- triage: the most votes among ✅, ❌ and 🤔 wins. No votes at all: not now. **A tie at the top goes to
  discovery**: a split team needs to find out more, which neither commits the work nor dismisses it.
  An item that goes to the product backlog is linked to the key result with the most number votes; a tie
  there goes to the key result listed first; with no number votes and a single key result on the ballot,
  to that one, otherwise it is left unlinked.
- sprint: the items with the most 🚀 are taken, up to N; among equal counts the older item (lower number)
  goes first. An item without a 🚀 is never taken. The rest stay in the product backlog.

A key result's number alone (no ✅, ❌ or 🤔 from that person) still says the item helps: it counts as ✅.
A person counts once per reaction on an item, whatever skin tones they show; Slack's events are applied in
the order Slack stamped them, not the order they arrive (`vote_by_event`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.errors import Conflict, UsageError
from bot.rituals import backlog
from bot.rituals.backlog import NumberedKeyResult
from bot.rituals.events import first_delivery, log_event, record_event
from bot.rituals.teams import lock_team, require_member
from storage.models import (
    BacklogItem,
    ItemState,
    Membership,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    Team,
    Vote,
    Workspace,
)

HELPS, NOT_NOW, MAYBE, ROCKET = "white_check_mark", "x", "thinking_face", "rocket"
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten")
DEFAULT_ITEMS = 20  # a triage meeting votes on about this many; the rest wait for the next round
MAX_ITEMS = 50
FROM_STATE = {RoundKind.TRIAGE: ItemState.INBOX, RoundKind.SPRINT: ItemState.PRODUCT}
KEPT = "kept"  # the round left the item where it was


def base_reaction(name: str) -> str:
    """`thumbsup::skin-tone-3` is a `thumbsup`."""
    return name.split("::", 1)[0]


def votable(kind: RoundKind, ballot_size: int, reaction: str) -> bool:
    if kind is RoundKind.SPRINT:
        return reaction == ROCKET
    return reaction in (HELPS, NOT_NOW, MAYBE) or reaction in NUMBERS[:ballot_size]


# opening ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    round: Round
    items: list[tuple[RoundItem, BacklogItem]]
    ballot: list[NumberedKeyResult]
    waiting: int  # items of the same state left for a later round


def open_round(
    session: Session, *, team: Team, kind: RoundKind, user_id: str, now: datetime, limit: int | None = None
) -> Opened:
    """Put the oldest inbox (triage) or product-backlog (sprint) items to the team's vote."""
    require_member(session, team=team, user_id=user_id)
    lock_team(session, team)
    limit = limit or (DEFAULT_ITEMS if kind is RoundKind.TRIAGE else MAX_ITEMS)
    numbered = backlog.numbered_key_results(session, team=team, now=now)
    ballot = numbered[: len(NUMBERS)] if kind is RoundKind.TRIAGE else []
    if kind is RoundKind.TRIAGE and not numbered:
        raise UsageError(
            f"*{team.name}* has no committed key results this cycle, so there is nothing to triage against. "
            "Commit OKRs with `/okr draft` first: each item is voted on by the key result it helps."
        )
    source = FROM_STATE[kind]
    waiting_total = session.scalar(
        select(func.count()).where(BacklogItem.team_id == team.id, BacklogItem.state == source)
    )
    items = list(
        session.scalars(
            select(BacklogItem)
            .where(BacklogItem.team_id == team.id, BacklogItem.state == source)
            .order_by(BacklogItem.number)
            .limit(limit)
        )
    )
    if not items:
        raise UsageError(_nothing_to_vote_on(team, kind))
    closes_at = now + timedelta(hours=team.triage_hours) if team.triage_hours else None
    new = Round(
        workspace_id=team.workspace_id,
        team_id=team.id,
        kind=kind,
        channel_id=team.channel_id,
        ballot=[n.key_result.id for n in ballot],
        closes_at=closes_at,
        opened_by=user_id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(new)
    except IntegrityError:
        raise Conflict(
            f"A {kind.value} is already open in *{team.name}*. Vote in its thread, or close it with "
            f"`/okr {kind.value} close`."
        ) from None
    entries = []
    for position, item in enumerate(items, start=1):
        entry = RoundItem(workspace_id=team.workspace_id, round_id=new.id, item_id=item.id, position=position)
        session.add(entry)
        entries.append((entry, item))
    session.flush()
    for _entry, item in entries:
        record_event(
            session,
            workspace_id=team.workspace_id,
            team_id=team.id,
            entity=backlog.ENTITY,
            entity_id=item.id,
            action="put_to_vote",
            actor=user_id,
            now=now,
            data={"round": new.id, "kind": kind.value},
        )
    return Opened(new, entries, ballot, waiting_total - len(items))


def _nothing_to_vote_on(team: Team, kind: RoundKind) -> str:
    if kind is RoundKind.TRIAGE:
        return (
            f"*{team.name}*'s inbox is empty: nothing to triage. Add items with `/okr backlog add TEXT` "
            "(one per line), or from any message's ⋯ menu with *Add to OKR backlog*."
        )
    return (
        f"*{team.name}*'s product backlog is empty: nothing to pick a sprint from. Items get there from a "
        "triage (`/okr triage start`) or straight under a key result with `/okr idea TEXT 1.2`."
    )


def open_round_of(session: Session, *, team: Team, kind: RoundKind) -> Round | None:
    return session.scalar(
        select(Round).where(Round.team_id == team.id, Round.kind == kind, Round.state == RoundState.OPEN)
    )


# voting -------------------------------------------------------------------------------------------------------

# every emoji some round counts; any other reaction is ignored before anything is read
VOTING_EMOJI = frozenset((HELPS, NOT_NOW, MAYBE, ROCKET, *NUMBERS))

_rounds, _items, _votes = Round.__table__, RoundItem.__table__, Vote.__table__
_memberships, _workspaces = Membership.__table__, Workspace.__table__


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


def may_be_a_vote(reaction: str) -> bool:
    """Whether some round could count this emoji (a skin tone aside): the rest are not looked up at all."""
    return base_reaction(reaction) in VOTING_EMOJI


# The round item whose message a reaction event names, in a workspace the bot is installed in; whether the person is
# a member of the round's team. Locked, on PostgreSQL: the round shared (closing, which updates it, waits for the votes
# in flight, and a vote that comes after the close sees it closed), then the item (one event at a time decides what a
# person shows on it). PostgreSQL takes the locks in the order of the clauses, the order `record_reaction` and
# closing take them in. On SQLite the write lock taken at BEGIN serialises writers already.
_EVENT_TARGET = (
    select(
        _items.c.id,
        _items.c.item_id,
        _items.c.workspace_id,
        _rounds.c.id,
        _rounds.c.team_id,
        _rounds.c.kind,
        _rounds.c.state,
        _rounds.c.ballot,
        select(_memberships.c.id)
        .where(_memberships.c.team_id == _rounds.c.team_id, _memberships.c.user_id == bindparam("user_id"))
        .exists()
        .label("member"),
    )
    .select_from(
        _items.join(_rounds, _rounds.c.id == _items.c.round_id).join(
            _workspaces, _workspaces.c.id == _items.c.workspace_id
        )
    )
    .where(
        _workspaces.c.slack_team_id == bindparam("slack_team_id"),
        _workspaces.c.uninstalled_at.is_(None),
        _items.c.channel_id == bindparam("channel_id"),
        _items.c.message_ts == bindparam("ts"),
    )
    .with_for_update(read=True, of=_rounds)
    .suffix_with("FOR NO KEY UPDATE OF round_items", dialect="postgresql")
)
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


def vote_by_event(
    session: Session,
    *,
    slack_team_id: str,
    channel_id: str,
    ts: str,
    user_id: str,
    reaction: str,
    added: bool,
    event_id: str,
    event_type: str,
    event_ts: int,
    now: datetime,
) -> int | None:
    """Apply one `reaction_added`/`reaction_removed` event, in the caller's transaction, together with its
    `event_id`; the round item whose tally changed, or None.

    Nothing at all is written (not even the event's id) unless the reaction is a vote: on the message of a round
    item, in a workspace the bot is installed in, an emoji the round counts, the round open, and an add by a member
    of its team (anyone may take a reaction back, which changes nothing that is not theirs). A repeat of an
    `event_id` already stored changes nothing. A handful of statements, in one short transaction.
    """
    name = base_reaction(reaction)
    if name not in VOTING_EMOJI:
        return None
    params = {"slack_team_id": slack_team_id, "channel_id": channel_id, "ts": ts, "user_id": user_id}
    row = session.execute(_EVENT_TARGET, params).first()
    if row is None:
        return None
    entry_id, item_id, workspace_id, round_id, team_id, kind, state, ballot, member = row
    target = Target(entry_id, item_id, round_id, team_id, kind, state is RoundState.OPEN, len(ballot or []))
    if not target.open or not votable(kind, target.ballot_size, name) or (added and not member):
        return None
    if not first_delivery(session, workspace_id=workspace_id, event_id=event_id, event_type=event_type, now=now):
        return None
    changed = _store_vote(
        session,
        workspace_id=workspace_id,
        target=target,
        user_id=user_id,
        reaction=reaction,
        added=added,
        event_ts=event_ts,
        now=now,
        via=None,
    )
    return entry_id if changed else None


def record_reaction(
    session: Session,
    *,
    workspace_id: int,
    target: Target,
    user_id: str,
    reaction: str,
    added: bool,
    event_ts: int,
    now: datetime,
    via: str | None = None,
) -> bool:
    """Apply one reaction that Slack shows and the votes do not (or the reverse); True when the person's vote
    changed. `via` says where it came from (`reactions.get` at close). Events go through `vote_by_event`.

    Slack may deliver an add after the removal that followed it (a retry): each emoji as shown keeps the
    `event_ts` of the last event applied, and an older event changes nothing. A person showing ✅ in two
    skin tones votes ✅ once, and still does after taking one of them back.
    """
    name = base_reaction(reaction)
    if not target.open or not votable(target.kind, target.ballot_size, name):
        return False
    # locked in the order `vote_by_event` locks: the round shared, then the item
    state = session.scalar(select(Round.state).where(Round.id == target.round_id).with_for_update(read=True))
    if state is not RoundState.OPEN:
        return False
    if added and not _member(session, target.team_id, user_id):
        return False  # the team's members vote; anyone can take a reaction back, which changes nothing of theirs
    session.execute(select(RoundItem.id).where(RoundItem.id == target.round_item_id).with_for_update(key_share=True))
    return _store_vote(
        session,
        workspace_id=workspace_id,
        target=target,
        user_id=user_id,
        reaction=reaction,
        added=added,
        event_ts=event_ts,
        now=now,
        via=via,
    )


def _store_vote(
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


def _member(session: Session, team_id: int, user_id: str) -> bool:
    return (
        session.scalar(select(Membership.id).where(Membership.team_id == team_id, Membership.user_id == user_id))
        is not None
    )


# tallies and decisions ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)  # base reaction -> people showing it
    # people who said the item helps: with ✅, or with a key result's number and neither ❌ nor 🤔 (a number
    # alone is a ✅); None: only the ✅ count is known
    backers: int | None = None

    @property
    def helps(self) -> int:
        return self.counts[HELPS] if self.backers is None else self.backers

    @property
    def not_now(self) -> int:
        return self.counts[NOT_NOW]

    @property
    def maybe(self) -> int:
        return self.counts[MAYBE]

    @property
    def rockets(self) -> int:
        return self.counts[ROCKET]

    def number_votes(self, ballot_size: int) -> list[int]:
        """Votes for key result 1, 2, … of the ballot."""
        return [self.counts[name] for name in NUMBERS[:ballot_size]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


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


@dataclass(frozen=True)
class TriageDecision:
    state: ItemState
    key_result_position: int | None  # 1-based position on the ballot
    tied: bool


def decide_triage(tally: Tally, ballot_size: int) -> TriageDecision:
    counts = {ItemState.PRODUCT: tally.helps, ItemState.NOT_NOW: tally.not_now, ItemState.DISCOVERY: tally.maybe}
    top = max(counts.values())
    if top == 0:
        return TriageDecision(ItemState.NOT_NOW, None, tied=False)
    winners = [state for state, count in counts.items() if count == top]
    if len(winners) > 1:
        return TriageDecision(ItemState.DISCOVERY, None, tied=True)
    if winners[0] is not ItemState.PRODUCT:
        return TriageDecision(winners[0], None, tied=False)
    return TriageDecision(ItemState.PRODUCT, _chosen_key_result(tally, ballot_size), tied=False)


def _chosen_key_result(tally: Tally, ballot_size: int) -> int | None:
    votes = tally.number_votes(ballot_size)
    if votes and max(votes) > 0:
        return votes.index(max(votes)) + 1  # index() finds the first: a tie goes to the one listed first
    return 1 if ballot_size == 1 else None


def sprint_pick(entries: list[tuple[RoundItem, BacklogItem, Tally]], size: int) -> set[int]:
    """The round item ids taken into the sprint: most 🚀 first, older items first among equals, none without 🚀
    (so none that was never shown)."""
    ranked = sorted((e for e in entries if e[2].rockets > 0), key=lambda e: (-e[2].rockets, e[1].number))
    return {entry.id for entry, _item, _tally in ranked[:size]}


# closing ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    entry: RoundItem
    item: BacklogItem
    tally: Tally
    decision: str  # an ItemState value, or KEPT
    key_result_label: str | None
    tied: bool


@dataclass(frozen=True)
class Closed:
    round: Round
    team: Team
    outcomes: list[Outcome]
    ballot: list[str]  # labels of the ballot's key results, in order ("1.2"); "?" for one no longer live


def close_round(
    session: Session, *, round_id: int, user_id: str | None, now: datetime, pick: int | None = None
) -> Closed | None:
    """Decide every item of an open round and move it; None when the round was already closed.

    Exactly once: the open → closed compare-and-set lets one closer through, in the same transaction as
    the moves, so a crash leaves the round open (and nothing moved) or closed with everything moved.
    """
    closed = session.execute(
        update(Round)
        .where(Round.id == round_id, Round.state == RoundState.OPEN)
        .values(state=RoundState.CLOSED, closed_at=now, closed_by=user_id, pick=pick)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed != 1:
        return None
    current = session.get(Round, round_id)
    session.refresh(current)
    team = session.get(Team, current.team_id)
    # the items locked: a hand move (`/okr backlog done 3`) in flight finishes first and is seen here
    rows = session.execute(
        select(RoundItem, BacklogItem)
        .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
        .where(RoundItem.round_id == round_id)
        .order_by(RoundItem.position)
        .with_for_update(of=BacklogItem, key_share=True)
    ).all()
    counted = tallies(session, [entry.id for entry, _ in rows])
    labels = _ballot_labels(session, team, current, now)
    entries = [(entry, item, counted[entry.id]) for entry, item in rows]
    if current.kind is RoundKind.SPRINT:
        outcomes = _close_sprint(session, current, team, entries, pick or team.sprint_size, user_id, now)
    else:
        outcomes = _close_triage(session, current, entries, labels, user_id, now)
    return Closed(current, team, outcomes, [labels.get(kr_id, "?") for kr_id in current.ballot])


def _ballot_labels(session: Session, team: Team, current: Round, now: datetime) -> dict[int, str]:
    return {n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)}


def _close_triage(session, current, entries, labels, user_id, now) -> list[Outcome]:
    outcomes = []
    for entry, item, tally in entries:
        decision = decide_triage(tally, len(current.ballot))
        kr_id = current.ballot[decision.key_result_position - 1] if decision.key_result_position else None
        if kr_id is not None and kr_id not in labels:
            kr_id = None  # the key result was dropped while the round was open
        outcomes.append(
            _apply(session, current, entry, item, tally, decision.state, kr_id, labels, decision.tied, user_id, now)
        )
    return outcomes


def _close_sprint(session, current, team, entries, size, user_id, now) -> list[Outcome]:
    taken = sprint_pick(entries, size)
    outcomes = []
    for entry, item, tally in entries:
        to = ItemState.SPRINT if entry.id in taken else None
        outcomes.append(_apply(session, current, entry, item, tally, to, item.key_result_id, {}, False, user_id, now))
    return outcomes


def _apply(session, current, entry, item, tally, to, kr_id, labels, tied, user_id, now) -> Outcome:
    """Record the decision and move the item, unless someone moved it by hand while the round was open or
    its message never reached the channel (nobody could vote on it: it waits for the next round)."""
    moved = to is not None and item.state is FROM_STATE[current.kind] and entry.message_ts is not None
    decision = to.value if moved else KEPT
    entry.decision, entry.decided_key_result_id = decision, kr_id if moved else None
    record_event(
        session,
        workspace_id=item.workspace_id,
        team_id=item.team_id,
        entity=backlog.ENTITY,
        entity_id=item.id,
        action="decided",
        actor=user_id,
        now=now,
        data={
            "round": current.id,
            "kind": current.kind.value,
            "decision": decision,
            "tied": tied,
            "votes": dict(tally.counts),
        },
    )
    if moved:
        reason = f"{current.kind.value} vote" + (" (tied: discovery)" if tied else "")
        if current.kind is RoundKind.TRIAGE:
            backlog.move(
                session,
                item,
                to,
                actor=user_id,
                now=now,
                reason=reason,
                key_result_id=kr_id,
                keep_key_result=kr_id is None and item.key_result_id is not None,
            )
        else:
            backlog.move(session, item, to, actor=user_id, now=now, reason=reason)
    label = labels.get(item.key_result_id) if item.key_result_id else None
    return Outcome(entry, item, tally, decision, label, tied)


def due_rounds(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Open rounds whose deadline passed (indexed on state, closes_at)."""
    query = select(Round.id).where(Round.state == RoundState.OPEN, Round.closes_at <= now)
    return list(session.scalars(query.order_by(Round.closes_at).limit(limit)))
