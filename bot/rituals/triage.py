"""Triage and sprint rounds: the OKRs as a filter on the backlog, voted with emoji reactions.

A round is opened on the oldest inbox (triage) or product-backlog (sprint) items, voted on with reactions on each
item's message, and closed, by a person or at its deadline, once: closing decides every item and moves it. What
the emoji mean and how a round decides are in bot/rituals/ballots.py; how a person's votes are stored and counted,
in bot/rituals/votes.py.

Slack's events are applied in the order Slack stamped them, not the order they arrive (`vote_by_event`); a vote
and a close take their locks in one order, so a vote in flight is counted by the close or finds the round closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import Conflict, UsageError
from bot.rituals import backlog
from bot.rituals.backlog import NumberedKeyResult
from bot.rituals.ballots import (
    HELPS,
    MAYBE,
    NOT_NOW,
    NUMBERS,
    ROCKET,
    Tally,
    base_reaction,
    decide_triage,
    sprint_pick,
    votable,
)
from bot.rituals.events import first_delivery, record_event
from bot.rituals.teams import lock_team, require_member
from bot.rituals.votes import Target, is_member, store_vote, tallies
from storage.db import rows_matched
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

DEFAULT_ITEMS = 20  # a triage meeting votes on about this many; the rest wait for the next round
MAX_ITEMS = 50
FROM_STATE = {RoundKind.TRIAGE: ItemState.INBOX, RoundKind.SPRINT: ItemState.PRODUCT}
KEPT = "kept"  # the round left the item where it was


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
    ballot = _ballot(session, team=team, kind=kind, now=now)
    items, waiting_total = _oldest_items(session, team=team, kind=kind, limit=limit)
    new = _add_round(session, team=team, kind=kind, ballot=ballot, user_id=user_id, now=now)
    entries = _put_to_vote(session, team=team, new=new, items=items, user_id=user_id, now=now)
    return Opened(new, entries, ballot, waiting_total - len(items))


def _ballot(session: Session, *, team: Team, kind: RoundKind, now: datetime) -> list[NumberedKeyResult]:
    """The key results a triage votes by, numbered as the header lists them (a sprint has none)."""
    numbered = backlog.numbered_key_results(session, team=team, now=now)
    if kind is RoundKind.TRIAGE and not numbered:
        raise UsageError(
            f"*{team.name}* has no committed key results this cycle, so there is nothing to triage against. "
            "Commit OKRs with `/okr draft` first: each item is voted on by the key result it helps."
        )
    return numbered[: len(NUMBERS)] if kind is RoundKind.TRIAGE else []


def _oldest_items(session: Session, *, team: Team, kind: RoundKind, limit: int) -> tuple[list[BacklogItem], int]:
    """Up to `limit` of the oldest items in the state the round votes on, and how many are in that state."""
    source = FROM_STATE[kind]
    waiting_total = session.execute(
        select(func.count()).where(BacklogItem.team_id == team.id, BacklogItem.state == source)
    ).scalar_one()
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
    return items, waiting_total


def _add_round(
    session: Session, *, team: Team, kind: RoundKind, ballot: list[NumberedKeyResult], user_id: str, now: datetime
) -> Round:
    """The round's row; a Conflict when one of its kind is open in the team already (a unique index says so)."""
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
    return new


def _put_to_vote(
    session: Session, *, team: Team, new: Round, items: list[BacklogItem], user_id: str, now: datetime
) -> list[tuple[RoundItem, BacklogItem]]:
    """The round's items, in the order they are posted, each one's put to the vote in the event log."""
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
            data={"round": new.id, "kind": new.kind.value},
        )
    return entries


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
    changed = store_vote(
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
    if added and not is_member(session, target.team_id, user_id):
        return False  # the team's members vote; anyone can take a reaction back, which changes nothing of theirs
    session.execute(select(RoundItem.id).where(RoundItem.id == target.round_item_id).with_for_update(key_share=True))
    return store_vote(
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


@dataclass(frozen=True)
class Verdict:
    """What a closing round decides about one of its items, before it is applied."""

    entry: RoundItem
    item: BacklogItem
    tally: Tally
    to: ItemState | None  # where the votes send the item; None: it stays where it is
    key_result_id: int | None  # the key result it goes under (triage), or the one it has (sprint)
    tied: bool = False  # a tie at the top sent it to discovery


def close_round(
    session: Session, *, round_id: int, user_id: str | None, now: datetime, pick: int | None = None
) -> Closed | None:
    """Decide every item of an open round and move it; None when the round was already closed.

    Exactly once: the open → closed compare-and-set lets one closer through, in the same transaction as
    the moves, so a crash leaves the round open (and nothing moved) or closed with everything moved.
    """
    closed = rows_matched(
        session,
        update(Round)
        .where(Round.id == round_id, Round.state == RoundState.OPEN)
        .values(state=RoundState.CLOSED, closed_at=now, closed_by=user_id, pick=pick)
        .execution_options(synchronize_session=False),
    )
    if closed != 1:
        return None
    current = session.get_one(Round, round_id)
    session.refresh(current)
    team = session.get_one(Team, current.team_id)
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
        verdicts = _sprint_verdicts(entries, size=pick or team.sprint_size)
        labels_shown: dict[int, str] = {}  # a sprint's outcomes name no key result
    else:
        verdicts, labels_shown = _triage_verdicts(current, entries, labels), labels
    outcomes = [
        _apply(session, current=current, verdict=verdict, labels=labels_shown, user_id=user_id, now=now)
        for verdict in verdicts
    ]
    return Closed(current, team, outcomes, [labels.get(kr_id, "?") for kr_id in current.ballot])


def _ballot_labels(session: Session, team: Team, current: Round, now: datetime) -> dict[int, str]:
    return {n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)}


def _triage_verdicts(
    current: Round, entries: list[tuple[RoundItem, BacklogItem, Tally]], labels: dict[int, str]
) -> list[Verdict]:
    verdicts = []
    for entry, item, tally in entries:
        decision = decide_triage(tally, len(current.ballot))
        kr_id = current.ballot[decision.key_result_position - 1] if decision.key_result_position else None
        if kr_id is not None and kr_id not in labels:
            kr_id = None  # the key result was dropped while the round was open
        verdicts.append(Verdict(entry, item, tally, decision.state, kr_id, decision.tied))
    return verdicts


def _sprint_verdicts(entries: list[tuple[RoundItem, BacklogItem, Tally]], *, size: int) -> list[Verdict]:
    taken = sprint_pick(entries, size)
    return [
        Verdict(entry, item, tally, ItemState.SPRINT if entry.id in taken else None, item.key_result_id)
        for entry, item, tally in entries
    ]


def _apply(
    session: Session, *, current: Round, verdict: Verdict, labels: dict[int, str], user_id: str | None, now: datetime
) -> Outcome:
    """Record the decision and move the item, unless someone moved it by hand while the round was open or
    its message never reached the channel (nobody could vote on it: it waits for the next round)."""
    entry, item, kr_id, tied = verdict.entry, verdict.item, verdict.key_result_id, verdict.tied
    movable = item.state is FROM_STATE[current.kind] and entry.message_ts is not None
    to = verdict.to if movable else None  # where the item goes; None: it stays
    decision = to.value if to is not None else KEPT
    entry.decision, entry.decided_key_result_id = decision, kr_id if to is not None else None
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
            "votes": dict(verdict.tally.counts),
        },
    )
    if to is not None:
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
    return Outcome(entry, item, verdict.tally, decision, label, tied)


def due_rounds(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Open rounds whose deadline passed (indexed on state, closes_at)."""
    query = select(Round.id).where(Round.state == RoundState.OPEN, Round.closes_at <= now)
    return list(session.scalars(query.order_by(Round.closes_at).limit(limit)))
