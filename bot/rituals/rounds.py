"""A round's messages as the database knows them: what is posted, what shows the latest votes, what is finished.

bot/rituals/triage.py decides a round (open, vote, close); this module keeps the state of its messages in Slack
for bot/delivery/rounds.py and bot/delivery/round_results.py, which post and redraw them:

- a round's header (`rounds.header_ts`) and each item's message (`round_items.message_ts`) are written with the
  claim's outcome, in its transaction (`mark_header`, `mark_item`);
- an item counts vote changes (`votes_version`) and remembers which one its message shows (`shown_version`);
  telling the result is one more change on every item (`show_decisions`), so finishing redraws each until its
  message shows its decision;
- a round is finished (`finished_at`) once its result is told and everything is redrawn (`mark_finished`).

The sweep reads through these too (`unposted`, `unfinished`, `stale_items`): what a command or a process that
died left half-done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.rituals import backlog, triage
from bot.rituals.triage import Closed
from storage.db import rows_matched
from storage.models import BacklogItem, EventLog, Round, RoundItem, RoundState, SendClaim, Team, Vote, Workspace

# posting ------------------------------------------------------------------------------------------------------


def state_of(session: Session, round_id: int) -> RoundState | None:
    """The round's state; None when there is no such round (any more)."""
    return session.scalar(select(Round.state).where(Round.id == round_id))


def waiting_items(session: Session, round_id: int) -> list[int]:
    """The round's items whose message is not posted yet, in the order they are posted."""
    return list(
        session.scalars(
            select(RoundItem.id)
            .where(RoundItem.round_id == round_id, RoundItem.message_ts.is_(None))
            .order_by(RoundItem.position)
        )
    )


def mark_header(session: Session, round_id: int, ts: str) -> None:
    session.execute(update(Round).where(Round.id == round_id).values(header_ts=ts))


def mark_item(session: Session, entry_id: int, *, channel_id: str, ts: str) -> None:
    """The item's message, by which its reactions find it (`triage.target_of`)."""
    session.execute(update(RoundItem).where(RoundItem.id == entry_id).values(channel_id=channel_id, message_ts=ts))


def withdraw(session: Session, round_id: int, *, claim_kinds: Iterable[str]) -> bool:
    """Undo an open round whose header never went out, as if never started: the round, its items (with it), the
    "put to vote" events it wrote, and the claims of `claim_kinds` keyed by its id (a later round may get the same
    id). False when there is nothing to undo: the round is gone, closed or posted."""
    current = session.get(Round, round_id)
    if current is None or current.header_ts or current.state is not RoundState.OPEN:
        return False
    items = select(RoundItem.item_id).where(RoundItem.round_id == round_id)
    session.execute(
        delete(EventLog).where(
            EventLog.entity == backlog.ENTITY,
            EventLog.action == "put_to_vote",
            EventLog.entity_id.in_(items),
            EventLog.created_at == current.created_at,
        )
    )
    session.delete(current)
    session.execute(
        delete(SendClaim).where(
            SendClaim.workspace_id == current.workspace_id,
            SendClaim.kind.in_(list(claim_kinds)),
            SendClaim.claim_key == str(round_id),
        )
    )
    return True


def header_counts(session: Session, current: Round, team: Team) -> tuple[int, int]:
    """(items in the round, items of the same state waiting for a later round) for the header."""
    count = session.scalar(select(func.count()).where(RoundItem.round_id == current.id))
    waiting = session.scalar(
        select(func.count()).where(BacklogItem.team_id == team.id, BacklogItem.state == triage.FROM_STATE[current.kind])
    )
    return count or 0, max((waiting or 0) - (count or 0), 0)


# votes and redraws --------------------------------------------------------------------------------------------


def posted_items(session: Session, round_id: int) -> list[RoundItem]:
    """The round's items whose message is in Slack, in order."""
    return list(
        session.scalars(
            select(RoundItem)
            .where(RoundItem.round_id == round_id, RoundItem.message_ts.is_not(None))
            .order_by(RoundItem.position)
        )
    )


def present_votes(session: Session, entry_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    """(user, emoji) of every vote shown on each of these items, as the database has them."""
    stored: dict[int, set[tuple[str, str]]] = {entry_id: set() for entry_id in entry_ids}
    for entry_id, user_id, emoji in session.execute(
        select(Vote.round_item_id, Vote.user_id, Vote.emoji).where(Vote.round_item_id.in_(entry_ids), Vote.present)
    ):
        stored[entry_id].add((user_id, emoji))
    return stored


def mark_shown(session: Session, entry_id: int, version: int) -> bool:
    """The item's message shows its votes as of `version`; False when it showed that one or a newer one already
    (another process drew it meanwhile)."""
    shown = rows_matched(
        session,
        update(RoundItem)
        .where(RoundItem.id == entry_id, RoundItem.shown_version < version)
        .values(shown_version=version),
    )
    return shown == 1


def show_decisions(session: Session, round_id: int) -> None:
    """The result is told: every item has one more change to show, its decision."""
    session.execute(
        update(RoundItem)
        .where(RoundItem.round_id == round_id)
        .values(votes_version=RoundItem.votes_version + 1)
        .execution_options(synchronize_session=False)
    )


def undrawn_items(session: Session, round_id: int) -> list[int]:
    """The round's posted items whose message does not show their latest change yet, in order."""
    return list(
        session.scalars(
            select(RoundItem.id)
            .where(
                RoundItem.round_id == round_id,
                RoundItem.message_ts.is_not(None),
                RoundItem.shown_version < RoundItem.votes_version,
            )
            .order_by(RoundItem.position)
        )
    )


def mark_finished(session: Session, round_id: int, now: datetime) -> bool:
    """True for the one process that marks the round finished."""
    finished = rows_matched(
        session, update(Round).where(Round.id == round_id, Round.finished_at.is_(None)).values(finished_at=now)
    )
    return finished == 1


def closed_view(session: Session, round_id: int, now: datetime) -> Closed:
    """The result of a closed round as `triage.close_round` returned it, read back (for a summary sent later)."""
    current = session.get_one(Round, round_id)
    team = session.get_one(Team, current.team_id)
    labels = {n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)}
    rows = session.execute(
        select(RoundItem, BacklogItem)
        .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
        .where(RoundItem.round_id == round_id)
        .order_by(RoundItem.position)
    ).all()
    counted = triage.tallies(session, [entry.id for entry, _ in rows])
    tied = _tied_items(session, round_id)
    outcomes = [
        triage.Outcome(
            entry,
            item,
            counted[entry.id],
            entry.decision or triage.KEPT,
            labels.get(entry.decided_key_result_id or item.key_result_id or 0),
            entry.id in tied,
        )
        for entry, item in rows
    ]
    return Closed(current, team, outcomes, [labels.get(kr_id, "?") for kr_id in current.ballot])


def _tied_items(session: Session, round_id: int) -> set[int]:
    """Round items whose decision was a tie, from the "decided" events of that round."""
    rows = session.execute(
        select(RoundItem.id, EventLog.data)
        .join(EventLog, (EventLog.entity == backlog.ENTITY) & (EventLog.entity_id == RoundItem.item_id))
        .where(RoundItem.round_id == round_id, EventLog.action == "decided")
    ).all()
    return {entry_id for entry_id, data in rows if data.get("round") == round_id and data.get("tied")}


# the sweep ----------------------------------------------------------------------------------------------------


def unposted(session: Session) -> list[int]:
    """Open rounds with a header or an item still to post."""
    return list(
        session.scalars(
            select(Round.id).where(
                Round.state == RoundState.OPEN,
                (Round.header_ts.is_(None))
                | Round.id.in_(select(RoundItem.round_id).where(RoundItem.message_ts.is_(None))),
            )
        )
    )


def unfinished(session: Session) -> list[int]:
    """Closed rounds whose result is not told, or not redrawn everywhere, yet."""
    return list(session.scalars(select(Round.id).where(Round.state == RoundState.CLOSED, Round.finished_at.is_(None))))


def stale_items(session: Session) -> list[tuple[int, int]]:
    """(item, round) of the open rounds' items whose message does not show their latest votes."""
    return [
        (entry_id, round_id)
        for entry_id, round_id in session.execute(
            select(RoundItem.id, RoundItem.round_id)
            .join(Round, Round.id == RoundItem.round_id)
            .where(Round.state == RoundState.OPEN, RoundItem.shown_version < RoundItem.votes_version)
        )
    ]


def workspaces_of(session: Session, round_ids: Iterable[int]) -> dict[int, Workspace]:
    """Each round's workspace, by round id."""
    found = session.scalars(select(Round).where(Round.id.in_(set(round_ids))))
    return {r.id: session.get_one(Workspace, r.workspace_id) for r in found}
