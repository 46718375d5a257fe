"""A reaction event applied by `triage.vote_by_event`, in one transaction with its `event_id`: the rules of a vote as
the database sees them, on both backends (end to end in tests/e2e/test_triage.py and test_vote_transactions.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from bot.rituals import triage
from storage.db import Database
from storage.models import EventLog, ProcessedEvent, Role, Round, RoundItem, RoundKind, RoundState, Vote, Workspace
from tests import factories
from tests.factories import NOW

HELPS = triage.HELPS
_event_ids = itertools.count()


@dataclass(frozen=True)
class Item:
    round_item_id: int
    round_id: int
    ts: str = "1796000000.000100"


@pytest.fixture
def item(db: Database) -> Item:
    """An open triage of one item, posted as message `ts` in #team-rocket; Ada facilitates, Ben is a member."""
    with db.transaction() as s:
        team = factories.team(s, factories.workspace(s, slack_team_id="T0VOTES"), name="Rockets", channel_id="C0ROCKET")
        factories.member(s, team, "U0ADA", role=Role.FACILITATOR)
        factories.member(s, team, "U0BEN")
        factories.committed_objective(s, team, now=NOW)
        factories.backlog_item(s, team)
        opened = triage.open_round(s, team=team, kind=RoundKind.TRIAGE, user_id="U0ADA", now=NOW)
        [(entry, _backlog_item)] = opened.items
        entry.channel_id, entry.message_ts = "C0ROCKET", Item.ts
        s.flush()
        return Item(entry.id, opened.round.id)


def react(
    db: Database,
    item: Item,
    user: str,
    reaction: str,
    *,
    added: bool = True,
    at: int,
    event_id: str | None = None,
    team: str = "T0VOTES",
    ts: str | None = None,
) -> int | None:
    """One event, as handlers/reactions.py applies it; `at` is its `event_ts` (µs)."""
    with db.transaction() as s:
        return triage.vote_by_event(
            s,
            slack_team_id=team,
            channel_id="C0ROCKET",
            ts=ts or item.ts,
            user_id=user,
            reaction=reaction,
            added=added,
            event_id=event_id or f"EvT{next(_event_ids):06d}",
            event_type="reaction_added" if added else "reaction_removed",
            event_ts=at,
            now=NOW,
        )


def shown(db: Database) -> set[tuple[str, str]]:
    with db.read() as s:
        return {(u, e) for u, e in s.execute(select(Vote.user_id, Vote.emoji).where(Vote.present))}


def counts(db: Database) -> tuple[int, int, int, int]:
    """Rows of processed events, votes and the event log; the item's votes_version."""
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(ProcessedEvent)),
            s.scalar(select(func.count()).select_from(Vote)),
            s.scalar(select(func.count()).select_from(EventLog).where(EventLog.action.in_(("voted", "unvoted")))),
            s.scalar(select(RoundItem.votes_version)),
        )


def test_a_vote_is_stored_with_its_event_id_and_a_retry_changes_nothing(db, item):
    assert react(db, item, "U0BEN", HELPS, at=10, event_id="EvSAME") == item.round_item_id
    assert shown(db) == {("U0BEN", HELPS)} and counts(db) == (1, 1, 1, 1)

    assert react(db, item, "U0BEN", HELPS, at=10, event_id="EvSAME") is None
    assert counts(db) == (1, 1, 1, 1)


def test_events_apply_in_the_order_slack_stamped_them_not_the_order_they_arrive(db, item):
    assert react(db, item, "U0BEN", HELPS, added=False, at=20) is None  # the removal overtook its add
    assert react(db, item, "U0BEN", HELPS, added=True, at=10) is None  # the add, late: changes nothing
    assert shown(db) == set()
    assert react(db, item, "U0BEN", HELPS, added=True, at=30) == item.round_item_id  # added again later
    assert shown(db) == {("U0BEN", HELPS)}
    processed, votes, logged, version = counts(db)
    assert (processed, votes, logged, version) == (3, 1, 1, 1)  # every event kept; one row per emoji shown


def test_skin_tones_are_one_vote(db, item):
    two, three = f"{HELPS}::skin-tone-2", f"{HELPS}::skin-tone-3"
    assert react(db, item, "U0BEN", two, at=10) == item.round_item_id
    assert react(db, item, "U0BEN", three, at=11) is None  # already shows ✅
    assert react(db, item, "U0BEN", two, added=False, at=12) is None  # still shows ✅ in another tone
    assert react(db, item, "U0BEN", three, added=False, at=13) == item.round_item_id
    assert shown(db) == set()
    assert counts(db)[2:] == (2, 2)  # voted, unvoted


def test_what_is_not_a_vote_writes_nothing_not_even_the_event_id(db, item):
    for user, reaction, kwargs in [
        ("U0CLEO", HELPS, {}),  # not a member of the team
        ("U0BEN", "tada", {}),  # not an emoji a round counts
        ("U0BEN", "rocket", {}),  # a sprint's, not a triage's
        ("U0BEN", "three", {}),  # the ballot has two key results
        ("U0BEN", HELPS, {"ts": "1796000000.999999"}),  # another message
        ("U0BEN", HELPS, {"team": "T0ELSEWHERE"}),  # another workspace
    ]:
        assert react(db, item, user, reaction, at=10, **kwargs) is None, (user, reaction, kwargs)
    assert counts(db) == (0, 0, 0, 0)


def test_anyone_may_take_a_reaction_back_which_changes_nothing_of_theirs(db, item):
    assert react(db, item, "U0CLEO", HELPS, added=False, at=10) is None
    assert shown(db) == set() and counts(db)[2:] == (0, 0)


def test_a_closed_round_or_an_uninstalled_workspace_takes_no_vote(db, item):
    with db.transaction() as s:
        s.execute(update(Workspace).values(uninstalled_at=NOW))
    assert react(db, item, "U0BEN", HELPS, at=10) is None
    assert counts(db) == (0, 0, 0, 0)

    with db.transaction() as s:
        s.execute(update(Workspace).values(uninstalled_at=None))
        s.execute(update(Round).where(Round.id == item.round_id).values(state=RoundState.CLOSED, closed_at=NOW))
    assert react(db, item, "U0BEN", HELPS, at=11) is None
    assert react(db, item, "U0BEN", HELPS, added=False, at=12) is None
    assert counts(db) == (0, 0, 0, 0)
