"""Many people voting on one item at the same moment, with Slack delivering some events twice.

Forty members of the team each add ✅ and a key-result number to the same item's message; some take one of them
back, and Slack retries some deliveries. The events are sent from a thread pool at the bot's HTTP endpoint, so they
are handled in parallel on both backends. A person's own reactions keep their order (a removal is sent once the bot
has recorded the reaction it removes, as Slack only sends it after the person added it); a retry goes out after the
delivery it repeats, at any moment after. No vote may be lost or doubled, and the tally the channel sees must be the
stored one.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

from sqlalchemy import select

import handlers.reactions
from bot.rituals import triage
from storage.models import EventLog, Team
from tests import factories
from tests.e2e.okr_support import (
    add_backlog,
    commit,
    posted_round,
    processed_events,
    reaction_event,
    rockets,
    stored_votes,
)
from tests.e2e.support import okr, shown, stays, wait_until

CHANNEL = "C0ROCKET"
HELPS = "white_check_mark"
PEOPLE = [f"U3V{n:03d}" for n in range(40)]


def number_of(n: int) -> str:
    return "two" if n % 3 == 0 else "one"


def takes_back_helps(n: int) -> bool:
    return n % 4 == 0


def takes_back_number(n: int) -> bool:
    return n % 7 == 0


def retried(n: int) -> bool:
    return n % 5 == 0


def test_forty_people_voting_at_once_lose_and_double_nothing(driver, slack, db, monkeypatch):
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.3)
    for user in PEOPLE:
        slack.add_user(user, user.lower(), tz="UTC")
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", *PEOPLE))
    rockets(driver, slack, members=("U0BEN",))
    with db.transaction() as session:  # the forty joined the team (only members vote)
        team = session.scalars(select(Team).where(Team.name_key == "rockets")).one()
        for user in PEOPLE:
            factories.member(session, team, user)
    commit(db)
    add_backlog(db, "Shorter sign-up form", "Dark mode")
    okr(driver, slack, "triage start")
    posted = posted_round(db)
    ts, other = posted.items[0].ts, posted.items[1].ts

    sent: set[str] = set()
    lock = threading.Lock()
    retries = ThreadPoolExecutor(max_workers=8)
    retry_futures = []

    def deliver(kind: str, user: str, name: str, event_id: str, *, item_ts: str = ts) -> None:
        """The person reacts in Slack, and Slack tells the bot; an event the bot could not take in time (503: every
        slot busy with the burst) is sent again, as Slack does, until it is taken."""
        if kind == "reaction_added":
            slack.add_reaction(CHANNEL, item_ts, user, name)
        else:
            slack.remove_reaction(CHANNEL, item_ts, user, name)
        event = reaction_event(kind, user, CHANNEL, item_ts, name) | {"event_ts": slack.next_ts()}
        for attempt in range(4):  # the first delivery and Slack's three retries
            result = driver.event(event, event_id=event_id, retry_num=attempt or None)
            if result.status != 503:
                break
        assert result.status == 200, result.text
        with lock:
            sent.add(event_id)

    def retry(kind: str, user: str, name: str, event_id: str) -> None:
        """Slack sends the same event again (it did not hear the first ack in time)."""
        event = reaction_event(kind, user, CHANNEL, ts, name)
        with lock:
            retry_futures.append(
                retries.submit(lambda: driver.event(event, event_id=event_id, retry_num=1, retry_reason="http_timeout"))
            )

    def person(n: int) -> None:
        user = PEOPLE[n]
        votes = [(HELPS, f"EvA{n:03d}", takes_back_helps(n)), (number_of(n), f"EvN{n:03d}", takes_back_number(n))]
        for name, event_id, taken_back in votes:
            deliver("reaction_added", user, name, event_id)
            if retried(n) and not taken_back:
                retry("reaction_added", user, name, event_id)  # at once: both copies are handled side by side
        for name, added, taken_back in votes:
            if not taken_back:
                continue
            removal = "EvR" + added[2:]
            wait_until(lambda added=added: added in processed_events(db), timeout=15)
            deliver("reaction_removed", user, name, removal)
            if retried(n):
                retry("reaction_removed", user, name, removal)
                wait_until(lambda removal=removal: removal in processed_events(db), timeout=15)
                retry("reaction_added", user, name, added)  # late: after the person took the reaction back
        if n % 10 == 0:  # a few votes on the other item meanwhile
            deliver("reaction_added", user, "x", f"EvO{n:03d}", item_ts=other)

    with ThreadPoolExecutor(max_workers=16) as pool:
        people = [pool.submit(person, n) for n in range(len(PEOPLE))]
        wait(people, timeout=60)
        for future in people:
            future.result(timeout=0)  # re-raise a failed step
    with lock:
        pending = list(retry_futures)
    wait(pending, timeout=30)
    retries.shutdown()
    assert all(f.result().status == 200 for f in pending)
    assert len(pending) == 2 * 8 + 2 + 2  # people 0, 5, …, 35 twice; removals by 0 and 20 (✅), 0 and 35 (numbers)

    wait_until(lambda: processed_events(db) >= sent, timeout=20)
    expected = {(1, u, HELPS) for n, u in enumerate(PEOPLE) if not takes_back_helps(n)}
    expected |= {(1, u, number_of(n)) for n, u in enumerate(PEOPLE) if not takes_back_number(n)}
    expected |= {(2, u, "x") for n, u in enumerate(PEOPLE) if n % 10 == 0}
    stays(lambda: stored_votes(db) == expected, duration=0.5)
    assert processed_events(db) == sent  # a retry is never a new event

    with db.read() as session:
        logged = list(session.scalars(select(EventLog.action).where(EventLog.action.in_(("voted", "unvoted")))))
    removals = sum(takes_back_helps(n) + takes_back_number(n) for n in range(len(PEOPLE)))
    assert logged.count("voted") == 2 * len(PEOPLE) + 4
    assert logged.count("unvoted") == removals

    # a key result's number alone says the item helps: ✅ counts the people showing either
    helps = sum(1 for n in range(len(PEOPLE)) if not takes_back_helps(n) or not takes_back_number(n))
    assert helps > sum(1 for n in range(len(PEOPLE)) if not takes_back_helps(n))  # some show only a number
    ones = sum(1 for n in range(len(PEOPLE)) if not takes_back_number(n) and number_of(n) == "one")
    twos = sum(1 for n in range(len(PEOPLE)) if not takes_back_number(n) and number_of(n) == "two")
    tally = f":white_check_mark: {helps} · :x: 0 · :thinking_face: 0 · key result: :one: {ones} :two: {twos}"
    wait_until(lambda: tally in shown(slack.message(CHANNEL, ts)))  # the debounced redraw caught up

    closed = okr(driver, slack, "triage close")
    assert "1 to the product backlog, 1 to not now" in closed.text, closed.text
    [summary] = [
        m
        for m in slack.messages(CHANNEL)
        if m.get("thread_ts") == posted.header_ts and m["text"].startswith("Triage closed")
    ]
    assert f"• *#1* Shorter sign-up form · KR 1.1 — {tally}" in shown(summary), shown(summary)
    assert "• *#2* Dark mode — :white_check_mark: 0 · :x: 4 · :thinking_face: 0" in shown(summary)
    assert f"*Decided:* :white_check_mark: product backlog under KR 1.1 · votes: {tally}" in shown(
        slack.message(CHANNEL, ts)
    )


# a vote and a close at the same moment ---------------------------------------------------------------------------


def one_item_triage(driver, slack, db) -> tuple[int, str]:
    """Rockets (Ada facilitates, Ben votes) with one item put to the vote: the round's id and the item's ts."""
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    add_backlog(db, "Shorter sign-up form")
    okr(driver, slack, "triage start")
    posted = posted_round(db)
    return posted.id, posted.items[0].ts


def close_now(db, round_id: int) -> triage.Closed | None:
    with db.transaction() as session:
        return triage.close_round(session, round_id=round_id, user_id="U0ADA", now=datetime.now(UTC))


def test_a_vote_arriving_while_the_round_closes_waits_for_the_close_and_is_not_taken(driver, slack, db, monkeypatch):
    """The close has marked the round closed and is counting when the vote comes: the vote waits for it (without
    holding the item, which the close goes on to write: no deadlock), then finds the round closed and writes
    nothing, not even its event's id."""
    round_id, ts = one_item_triage(driver, slack, db)
    counting, real_tallies = threading.Event(), triage.tallies

    def slow_tallies(session, round_item_ids):
        counting.set()
        time.sleep(0.8)  # the vote arrives meanwhile
        return real_tallies(session, round_item_ids)

    monkeypatch.setattr(triage, "tallies", slow_tallies)
    with ThreadPoolExecutor(max_workers=1) as pool:
        closing = pool.submit(close_now, db, round_id)
        assert counting.wait(timeout=10)
        voted = driver.react("U0BEN", CHANNEL, ts, HELPS, event_id="EvDURINGCLOSE")
        closed = closing.result(timeout=10)

    assert voted.status == 200, voted.text
    assert closed is not None and [o.tally.total for o in closed.outcomes] == [0]
    assert "EvDURINGCLOSE" not in processed_events(db) and stored_votes(db) == set()


def test_a_close_waits_for_a_vote_in_flight_and_counts_it(driver, slack, db, monkeypatch):
    round_id, ts = one_item_triage(driver, slack, db)
    storing, real_first_delivery = threading.Event(), triage.first_delivery

    def slow_first_delivery(session, **kwargs):
        marked = real_first_delivery(session, **kwargs)
        storing.set()
        time.sleep(0.8)  # the close starts meanwhile
        return marked

    monkeypatch.setattr(triage, "first_delivery", slow_first_delivery)
    with ThreadPoolExecutor(max_workers=1) as pool:
        voting = pool.submit(driver.react, "U0BEN", CHANNEL, ts, HELPS, event_id="EvBEFORECLOSE")
        assert storing.wait(timeout=10)
        closed = close_now(db, round_id)
        assert voting.result(timeout=10).status == 200

    assert closed is not None and [o.tally.helps for o in closed.outcomes] == [1]
    assert "EvBEFORECLOSE" in processed_events(db) and stored_votes(db) == {(1, "U0BEN", HELPS)}
