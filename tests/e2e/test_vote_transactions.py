"""What one reaction costs the database, counted through signed HTTP requests into the real app.

A vote is one short write transaction before the ack: the round item, its round's state, the person's membership
and the workspace's installation are read by one statement, then the event's id and the vote are written; nothing
else touches the database until the tally is redrawn, once the votes settle. A reaction that cannot be a vote costs
at most that one transaction and writes nothing; an emoji no round counts costs nothing at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, select

import handlers.reactions
from bot.app import build_app
from storage.db import Database
from storage.models import ProcessedEvent, RoundItem
from tests.e2e.okr_support import add_backlog, commit, posted_round, processed_events, rockets, stored_votes
from tests.e2e.support import row_counts, stays, wait_until

CHANNEL = "C0ROCKET"
HELPS = "white_check_mark"
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Work:
    """What the bot's threads did to the database: transactions begun, committed, rolled back, and statements."""

    begun: int = 0
    committed: int = 0
    rolled_back: int = 0
    statements: list[str] = field(default_factory=list)

    @property
    def transactions(self) -> int:
        return self.begun

    @property
    def writes(self) -> list[str]:
        """The tables written, in order."""
        words = [s.split() for s in self.statements]
        return [w[1] if w[0].upper() == "UPDATE" else w[2] for w in words if w[0].upper() in WRITES]


class Counter:
    """Counts the database work of every thread but the test's own (its checks read the database too)."""

    def __init__(self, db: Database) -> None:
        self.db, self.test_thread = db, threading.get_ident()
        self.work, self.lock = Work(), threading.Lock()
        self.hooks = {
            "begin": lambda *_: self._add(begun=1),
            "commit": lambda *_: self._add(committed=1),
            "rollback": lambda *_: self._add(rolled_back=1),
            "before_cursor_execute": lambda _conn, _cursor, statement, *_: self._add(statement=statement),
        }

    def _add(self, *, begun: int = 0, committed: int = 0, rolled_back: int = 0, statement: str | None = None):
        if threading.get_ident() == self.test_thread:
            return
        with self.lock:
            self.work.begun += begun
            self.work.committed += committed
            self.work.rolled_back += rolled_back
            if statement is not None and not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
                self.work.statements.append(statement)

    def __enter__(self) -> Counter:
        for name, hook in self.hooks.items():
            event.listen(self.db.engine, name, hook)
        return self

    def __exit__(self, *exc) -> None:
        for name, hook in self.hooks.items():
            event.remove(self.db.engine, name, hook)

    def during(self, send) -> tuple[object, Work]:
        """`send()`'s answer, and the work done from just before it until the listener after its ack is done."""
        with self.lock:
            self.work = Work()
        answer = send()
        time.sleep(0.3)  # the listener after the ack, on a worker, would show up by now
        with self.lock:
            return answer, self.work


@pytest.fixture
def counted(db) -> Iterator[Counter]:
    with Counter(db) as counter:
        yield counter


@pytest.fixture
def ballot(driver, slack, db, monkeypatch) -> str:
    """An open triage of one item (Ada facilitates, Ben is a member); its message's ts. Tallies are redrawn long
    after each test's window, so that what is counted is the vote alone."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 60)
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    add_backlog(db, "Dark mode")
    assert driver.command("triage start", user="U0ADA", channel=CHANNEL).status == 200
    return posted_round(db).items[0].ts


def test_a_vote_is_one_write_transaction_before_its_ack(driver, db, ballot, counted):
    answer, work = counted.during(lambda: driver.react("U0BEN", CHANNEL, ballot, HELPS, event_id="EvONE"))

    assert answer.status == 200
    assert (work.transactions, work.committed, work.rolled_back) == (1, 1, 0), work
    # the round item, its round, the person's membership and the workspace in one statement; then the event's id,
    # what the person shows of ✅, the vote, the item's version (for its redraw) and the event log
    assert len(work.statements) <= 6, work.statements
    assert work.writes == ["processed_events", "votes", "round_items", "event_log"]
    assert stored_votes(db) == {(1, "U0BEN", HELPS)}
    assert "EvONE" in processed_events(db)

    # taking it back: one transaction too
    answer, work = counted.during(lambda: driver.unreact("U0BEN", CHANNEL, ballot, HELPS, event_id="EvTWO"))
    assert answer.status == 200
    assert (work.transactions, work.committed) == (1, 1) and len(work.statements) <= 6, work
    assert stored_votes(db) == set()


def test_a_retried_vote_is_one_transaction_that_changes_nothing(driver, db, ballot, counted):
    assert driver.react("U0BEN", CHANNEL, ballot, HELPS, event_id="EvFIRST").status == 200
    before = row_counts(db)
    with db.read() as session:
        version = session.scalars(select(RoundItem.votes_version)).one()

    event = {
        "type": "reaction_added",
        "user": "U0BEN",
        "reaction": HELPS,
        "item": {"type": "message", "channel": CHANNEL, "ts": ballot},
    }
    answer, work = counted.during(lambda: driver.event(event, event_id="EvFIRST", retry_num=1))

    assert answer.status == 200
    assert work.transactions == 1 and len(work.statements) <= 2, work  # the item looked up, the event's id found
    assert row_counts(db) == before
    with db.read() as session:
        assert session.scalars(select(RoundItem.votes_version)).one() == version


def test_reactions_that_are_not_votes_write_nothing_and_most_read_nothing(driver, slack, db, ballot, counted):
    lunch = slack.add_message(CHANNEL, "U0BEN", "Lunch at noon?")["ts"]
    before = row_counts(db)

    # an emoji no round counts: not even looked up
    for name in ("tada", "thumbsup::skin-tone-2"):
        answer, work = counted.during(lambda name=name: driver.react("U0BEN", CHANNEL, ballot, name))
        assert answer.status == 200 and work == Work(), (name, work)
    # a ballot emoji on another message, or by someone outside the team: one transaction that writes nothing
    for user, ts in (("U0BEN", lunch), ("U0CLEO", ballot)):
        answer, work = counted.during(lambda user=user, ts=ts: driver.react(user, CHANNEL, ts, HELPS))
        assert answer.status == 200, answer.text
        assert work.transactions == 1 and len(work.statements) == 1 and not work.writes, (user, work)
    assert row_counts(db) == before


def test_a_vote_from_an_uninstalled_workspace_writes_nothing_until_it_is_installed_again(
    driver, slack, db, bot, ballot
):
    assert driver.event({"type": "app_uninstalled"}, event_id="EvUNINSTALL").status == 200
    before = row_counts(db)

    # no read of the workspace first: the vote's own statement finds the workspace uninstalled
    assert driver.react("U0BEN", CHANNEL, ballot, HELPS, event_id="EvAFTER").status == 200
    assert driver.unreact("U0BEN", CHANNEL, ballot, HELPS, event_id="EvAFTERTOO").status == 200
    stays(lambda: row_counts(db) == before, duration=0.3)
    with db.read() as session:
        assert set(session.scalars(select(ProcessedEvent.event_id))) == {"EvUNINSTALL"}

    build_app(bot.settings, bot.db).close()  # installed again: a start with a token Slack accepts
    assert driver.react("U0BEN", CHANNEL, ballot, HELPS, event_id="EvREINSTALLED").status == 200
    assert stored_votes(db) == {(1, "U0BEN", HELPS)}


def test_a_reaction_from_another_workspace_is_refused_before_the_database(driver, slack, db, ballot, counted):
    slack.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    event = {
        "type": "reaction_added",
        "user": "U0BEN",
        "reaction": HELPS,
        "item": {"type": "message", "channel": CHANNEL, "ts": ballot},
    }

    answer, work = counted.during(lambda: driver.event(event, team_id="T2", event_id="EvOTHER"))

    assert answer.status == 200 and work == Work(), work
    assert stored_votes(db) == set()


def test_a_vote_the_database_cannot_take_is_answered_503_for_slack_to_send_again(driver, db, ballot, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import bot.rituals.triage

    real = bot.rituals.triage.vote_by_event

    def refused(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setattr(bot.rituals.triage, "vote_by_event", refused)
    assert driver.react("U0BEN", CHANNEL, ballot, HELPS, event_id="EvLATER").status == 503
    assert stored_votes(db) == set() and "EvLATER" not in processed_events(db)

    monkeypatch.setattr(bot.rituals.triage, "vote_by_event", real)  # Slack's retry, once the database is back
    event = {
        "type": "reaction_added",
        "user": "U0BEN",
        "reaction": HELPS,
        "item": {"type": "message", "channel": CHANNEL, "ts": ballot},
    }
    assert driver.event(event, event_id="EvLATER", retry_num=1).status == 200
    wait_until(lambda: stored_votes(db) == {(1, "U0BEN", HELPS)})
