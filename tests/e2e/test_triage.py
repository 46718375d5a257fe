"""Triage and sprint pick end to end: votes by reaction, closing, and the messages the channel sees.

Every test runs the real bot over HTTP against the fake Slack, on SQLite and on PostgreSQL. Reaction events are
processed after Slack's request is acked, so a test waits for their effect (the event's `processed_events` row,
a redrawn message) before its next step, and uses `stays` where the point is that nothing happens.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import bot.delivery.rounds
import handlers.reactions
from bot.delivery.pacing import Pacer
from bot.delivery.rounds import ITEM_KIND, RoundsInSlack
from bot.rituals import backlog
from bot.rituals import triage as triage_rules
from bot.rituals.teams import lock_team
from bot.sandbox import FakeSlack, SlackDriver
from bot.scheduler import client_for
from bot.slack import web_client
from bot.sweep import Sweeper
from bot.web import EVENTS_PATH
from storage.db import Database
from storage.models import (
    BacklogItem,
    ClaimState,
    EventLog,
    ItemState,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    SendClaim,
    Team,
)
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.okr_support import (
    PostedRound,
    add_backlog,
    commit,
    key_results,
    posted_round,
    processed_events,
    reaction_event,
    rockets,
    stored_votes,
)
from tests.e2e.support import (
    Reply,
    assert_clean_error,
    create_team,
    join_team,
    okr,
    row_counts,
    shown,
    stays,
    wait_until,
)

CHANNEL = "C0ROCKET"
HELPS, NOT_NOW, MAYBE = "white_check_mark", "x", "thinking_face"
MINUTE = timedelta(minutes=1)


# steps ---------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch):
    """Item messages are redrawn 0.1 s after a vote (not 2 s): quick to wait for, and done before the test ends."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.1)


def triage_team(driver: SlackDriver, slack: FakeSlack, db: Database, *texts: str) -> list[int]:
    """Team Rockets (Ada facilitates, Ben and Cleo are members) with one committed objective (KR 1.1 and 1.2) and
    `texts` in its inbox; the key results' ids, in ballot order."""
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    objective_id = commit(db)
    if texts:
        add_backlog(db, *texts)
    return [kr.id for kr in key_results(db, objective_id)]


def start(driver: SlackDriver, slack: FakeSlack, db: Database, text: str = "triage start") -> tuple[Reply, PostedRound]:
    reply = okr(driver, slack, text)
    kind = RoundKind.SPRINT if text.startswith("sprint") else RoundKind.TRIAGE
    return reply, posted_round(db, kind)


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:12].upper()


def vote(driver: SlackDriver, db: Database, *votes: tuple[str, str, str], remove: bool = False) -> list[str]:
    """People add (or take back) reactions on item messages; returns once the bot has recorded every one."""
    sent = []
    for user, ts, name in votes:
        event_id = new_event_id()
        act = driver.unreact if remove else driver.react
        result = act(user, CHANNEL, ts, name, event_id=event_id)
        assert result.status == 200, result.text
        sent.append(event_id)
    wait_until(lambda: set(sent) <= processed_events(db))
    return sent


def message_text(slack: FakeSlack, ts: str, channel: str = CHANNEL) -> str:
    return shown(slack.message(channel, ts))


def shows(slack: FakeSlack, ts: str, *needles: str) -> None:
    """Wait until the message (redrawn in the background) shows every needle."""
    try:
        wait_until(lambda: all(n in message_text(slack, ts) for n in needles), timeout=5)
    except AssertionError:
        raise AssertionError(f"{needles} not all in {message_text(slack, ts)!r}") from None


def thread_replies(slack: FakeSlack, posted: PostedRound, starting: str) -> list[dict]:
    """The bot's messages in the round's thread whose fallback text starts so (the summary: "Triage closed")."""
    return [
        m
        for m in slack.messages(posted.channel)
        if m.get("thread_ts") == posted.header_ts and m["ts"] != posted.header_ts and m["text"].startswith(starting)
    ]


def states(db: Database) -> dict[int, tuple[ItemState, int | None]]:
    """Every backlog item's state and key result, by number."""
    with db.read() as session:
        return {i.number: (i.state, i.key_result_id) for i in session.scalars(select(BacklogItem))}


def item_history(db: Database, item_id: int) -> list[EventLog]:
    with db.read() as session:
        query = select(EventLog).where(EventLog.entity == backlog.ENTITY, EventLog.entity_id == item_id)
        return list(session.scalars(query.order_by(EventLog.id)))


def actions(db: Database, action: str) -> list[EventLog]:
    with db.read() as session:
        return list(session.scalars(select(EventLog).where(EventLog.action == action).order_by(EventLog.id)))


def the_round(db: Database, round_id: int) -> Round:
    with db.read() as session:
        return session.get(Round, round_id)


def set_team(db: Database, **values) -> None:
    with db.transaction() as session:
        session.execute(update(Team).where(Team.name_key == "rockets").values(**values))


def item_posts(slack: FakeSlack, number: int) -> list:
    """Successful chat.postMessage calls that posted item #number's message."""
    return [
        c for c in slack.calls_to("chat.postMessage") if c.ok and str(c.args.get("text", "")).startswith(f"#{number} ")
    ]


def sweeper(slack: FakeSlack, database_url: str, db: Database, worker: str = "test") -> Sweeper:
    """The minute sweep with the clients `okr-bot serve` and `okr-bot sweep` use."""
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker=worker)


def start_with_item_2_unanswered(driver, slack, db, monkeypatch) -> None:
    """`/okr triage start` of three items whose command gives up on item 2's answer: Slack posts it, but holds
    the answer longer than the command's client waits; returns once item 3 is posted."""
    triage_team(driver, slack, db, "Item 1", "Item 2", "Item 3")
    monkeypatch.setattr(
        "handlers.triage.careful",
        lambda client: web_client(base_url=client.base_url, token=client.token, resend=False, timeout=1),
    )
    slack.hold_next("chat.postMessage", 0, times=2)  # the header and item 1
    slack.hold_next("chat.postMessage", 2.5)
    okr(driver, slack, "triage start")

    def third_posted() -> bool:
        with db.read() as session:
            return session.scalars(select(RoundItem.message_ts).where(RoundItem.position == 3)).one() is not None

    wait_until(third_posted)


def round_report(report: Counter) -> Counter:
    """The sweep's report on rounds (a committed objective also schedules check-ins, and a tally may be redrawn)."""
    return Counter({k: v for k, v in report.items() if k.startswith("round_")})


# 1. a whole triage ---------------------------------------------------------------------------------------------


def test_reactions_decide_each_item_and_every_message_shows_the_result(driver, slack, db):
    _kr1, kr2 = triage_team(
        driver, slack, db, "Shorter sign-up form", "Dark mode", "Onboarding checklist", "Export to CSV"
    )
    reply, posted = start(driver, slack, db)
    assert "Triage started in <#C0ROCKET>: 4 items" in reply.text, reply.text
    form, dark, onboarding, export = (b.ts for b in posted.items)
    header = message_text(slack, posted.header_ts)
    assert "Triage · Rockets" in header and "KR 1.1" in header and "KR 1.2" in header, header
    assert "a number alone counts as :white_check_mark:" in header, header
    assert all("no votes yet" in message_text(slack, ts) for ts in (form, dark, onboarding, export))

    vote(
        driver,
        db,
        ("U0BEN", form, HELPS),
        ("U0CLEO", form, HELPS),
        ("U0ADA", form, NOT_NOW),
        ("U0CLEO", form, MAYBE),
        ("U0BEN", form, "two"),
        ("U0CLEO", form, "two"),
        ("U0ADA", form, "one"),
        ("U0BEN", dark, MAYBE),
        ("U0CLEO", dark, MAYBE),
        ("U0ADA", dark, HELPS),
        ("U0ADA", dark, NOT_NOW),
        ("U0BEN", onboarding, NOT_NOW),
        ("U0CLEO", onboarding, NOT_NOW),
        ("U0ADA", onboarding, HELPS),
    )
    shows(slack, form, ":white_check_mark: 2 · :x: 1 · :thinking_face: 1 · key result: :one: 1 :two: 2")
    shows(slack, dark, ":white_check_mark: 1 · :x: 1 · :thinking_face: 2")
    shows(slack, onboarding, ":white_check_mark: 1 · :x: 2 · :thinking_face: 0")

    vote(driver, db, ("U0CLEO", form, MAYBE), ("U0ADA", dark, NOT_NOW), ("U0ADA", onboarding, HELPS), remove=True)
    shows(slack, form, ":white_check_mark: 2 · :x: 1 · :thinking_face: 0 · key result: :one: 1 :two: 2")
    shows(slack, dark, ":white_check_mark: 1 · :x: 0 · :thinking_face: 2")
    shows(slack, onboarding, ":white_check_mark: 0 · :x: 2 · :thinking_face: 0")
    assert "no votes yet" in message_text(slack, export)
    assert len(stored_votes(db)) == 11

    closed = okr(driver, slack, "triage close")
    assert "1 to the product backlog, 1 to discovery, 2 to not now" in closed.text, closed.text
    assert states(db) == {
        1: (ItemState.PRODUCT, kr2),  # ✅ 2 beats ❌ 1; two 2 beats one 1
        2: (ItemState.DISCOVERY, None),
        3: (ItemState.NOT_NOW, None),
        4: (ItemState.NOT_NOW, None),  # no votes at all
    }
    assert the_round(db, posted.id).state is RoundState.CLOSED

    shows(
        slack,
        form,
        "*#1* Shorter sign-up form · KR 1.2",
        "*Decided:* :white_check_mark: product backlog under KR 1.2 · votes: :white_check_mark: 2 · :x: 1",
    )
    shows(slack, dark, "*Decided:* :thinking_face: discovery · votes: :white_check_mark: 1 · :x: 0 · :thinking_face: 2")
    shows(slack, onboarding, "*Decided:* :x: not now · votes: :white_check_mark: 0 · :x: 2")
    shows(slack, export, "*Decided:* :x: not now · votes: none")
    shows(slack, posted.header_ts, "*Closed* by <@U0ADA>")
    assert slack.message(CHANNEL, posted.header_ts)["text"] == "Triage for Rockets: 4 items, closed"

    (summary,) = thread_replies(slack, posted, "Triage closed")
    text = shown(summary)
    assert "*Triage closed* by <@U0ADA>: 4 items decided." in text, text
    assert ":white_check_mark: *Product backlog* · 1\n• *#1* Shorter sign-up form · KR 1.2 — :white_check_mark: 2" in (
        text
    )
    assert ":thinking_face: *Discovery* · 1\n• *#2* Dark mode — :white_check_mark: 1 · :x: 0 · :thinking_face: 2" in (
        text
    )
    assert "*Not now*" in text and "• *#3* Onboarding checklist" in text and "• *#4* Export to CSV — no votes" in text
    assert "(tie)" not in text


# 2. Slack's retries --------------------------------------------------------------------------------------------


def test_a_retried_event_counts_once_and_a_late_retry_undoes_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts
    add = reaction_event("reaction_added", "U0BEN", CHANNEL, ts, HELPS)
    remove = reaction_event("reaction_removed", "U0BEN", CHANNEL, ts, HELPS)
    ben = {(1, "U0BEN", HELPS)}

    def story() -> list[str]:
        return [e.action for e in item_history(db, posted.items[0].item_id) if e.action in ("voted", "unvoted")]

    assert driver.react("U0BEN", CHANNEL, ts, HELPS, event_id="EvADD1").status == 200
    for retry in (1, 2):  # Slack did not hear the ack in time, and sends the same event again
        assert driver.event(add, event_id="EvADD1", retry_num=retry).status == 200
    wait_until(lambda: "EvADD1" in processed_events(db))
    stays(lambda: stored_votes(db) == ben and story() == ["voted"], duration=0.5)

    assert driver.unreact("U0BEN", CHANNEL, ts, HELPS, event_id="EvDEL1").status == 200
    assert driver.event(remove, event_id="EvDEL1", retry_num=1).status == 200
    wait_until(lambda: "EvDEL1" in processed_events(db))
    stays(lambda: stored_votes(db) == set() and story() == ["voted", "unvoted"], duration=0.5)

    # the add's last retry arrives after Ben took his vote back: it must not bring the vote back
    assert driver.event(add, event_id="EvADD1", retry_num=3).status == 200
    stays(lambda: stored_votes(db) == set() and story() == ["voted", "unvoted"], duration=0.5)

    # Ben votes again; the removal's second retry comes late: it must not take the new vote away
    vote(driver, db, ("U0BEN", ts, HELPS))
    assert driver.event(remove, event_id="EvDEL1", retry_num=2).status == 200
    stays(lambda: stored_votes(db) == ben and story() == ["voted", "unvoted", "voted"], duration=0.5)
    assert len(processed_events(db)) == 3


# 3. skin tones -------------------------------------------------------------------------------------------------


def test_a_skin_tone_is_the_same_vote(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts

    vote(driver, db, ("U0BEN", ts, "white_check_mark::skin-tone-4"))
    assert stored_votes(db) == {(1, "U0BEN", HELPS)}
    vote(driver, db, ("U0BEN", ts, HELPS), ("U0CLEO", ts, "white_check_mark::skin-tone-2"))
    assert stored_votes(db) == {(1, "U0BEN", HELPS), (1, "U0CLEO", HELPS)}
    assert len(actions(db, "voted")) == 2  # Ben's plain ✅ after his toned one changed nothing
    shows(slack, ts, ":white_check_mark: 2 · :x: 0 · :thinking_face: 0")

    okr(driver, slack, "triage close")
    assert states(db)[1][0] is ItemState.PRODUCT
    shows(slack, ts, "*Decided:* :white_check_mark: product backlog · votes: :white_check_mark: 2")


def test_taking_back_one_tone_keeps_the_vote_of_a_person_who_still_shows_the_other(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts
    vote(driver, db, ("U0BEN", ts, HELPS), ("U0BEN", ts, "white_check_mark::skin-tone-4"))
    vote(driver, db, ("U0BEN", ts, "white_check_mark::skin-tone-4"), remove=True)
    assert [r["users"] for r in slack.message(CHANNEL, ts)["reactions"] if r["name"] == HELPS] == [["U0BEN"]]
    assert stored_votes(db) == {(1, "U0BEN", HELPS)}  # Slack still shows Ben's ✅


def test_an_add_retried_after_the_person_took_it_back_is_not_a_vote(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts
    # Ben adds ✅, but that delivery fails (the bot answered 503 while its database was down); Slack will retry it
    slack.add_reaction(CHANNEL, ts, "U0BEN", HELPS)
    added = reaction_event("reaction_added", "U0BEN", CHANNEL, ts, HELPS) | {"event_ts": slack.next_ts()}
    # meanwhile Ben takes it back, and that event is delivered at once
    vote(driver, db, ("U0BEN", ts, HELPS), remove=True)
    assert slack.message(CHANNEL, ts)["reactions"] == []
    # Slack's retry of the add arrives last
    assert driver.event(added, event_id="EvLATEADD", retry_num=1, retry_reason="http_error").status == 200
    stays(lambda: stored_votes(db) == set(), duration=0.6)  # Ben shows no reaction in Slack


# 4. reactions that are not votes -------------------------------------------------------------------------------


def test_reactions_that_are_not_votes_write_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    slack.add_user("U0ROBOT", "robot", real_name="Deploy Robot", is_bot=True)
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", "U0ROBOT"))
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts
    lunch = slack.add_message(CHANNEL, "U0BEN", "Lunch at noon?")["ts"]
    elsewhere = slack.add_message("C0GENERAL", "U0CLEO", "Release notes are out")["ts"]
    before = row_counts(db)

    ignored = [
        ("U0ADA", CHANNEL, lunch, HELPS),  # a person's message in the team channel
        ("U0ADA", CHANNEL, posted.header_ts, HELPS),  # the round's header
        ("U0BEN", "C0GENERAL", elsewhere, HELPS),  # a message in another channel
        ("U0BEN", CHANNEL, ts, "tada"),  # not a vote
        ("U0BEN", CHANNEL, ts, "thumbsup::skin-tone-3"),
        ("U0CLEO", CHANNEL, ts, "three"),  # only two key results are on the ballot
        ("U0CLEO", CHANNEL, ts, "six"),
        ("U0CLEO", CHANNEL, ts, "rocket"),  # a sprint vote, not a triage one
        ("U0BOT", CHANNEL, ts, HELPS),  # the bot itself
    ]
    for user, channel, message_ts, name in ignored:
        assert driver.react(user, channel, message_ts, name).status == 200, (user, name)
    assert driver.unreact("U0CLEO", CHANNEL, ts, "six").status == 200
    stays(lambda: row_counts(db) == before, duration=0.6)

    # another app's bot's ✅ on an item is not a vote either: it is not a member of the team, so the bot writes
    # nothing and does not even ask Slack who it is (that would hold up the event's answer)
    for name in (HELPS, NOT_NOW):
        assert driver.react("U0ROBOT", CHANNEL, ts, name).status == 200
    stays(lambda: row_counts(db) == before, duration=0.4)
    assert not [c for c in slack.calls_to("users.info") if c.args.get("user") == "U0ROBOT"]
    assert "no votes yet" in message_text(slack, ts)

    # …while a person's ✅ on the same message is one
    vote(driver, db, ("U0BEN", ts, HELPS))
    assert stored_votes(db) == {(1, "U0BEN", HELPS)}


# 5. ties and links ---------------------------------------------------------------------------------------------


def test_ties_go_to_discovery_and_number_ties_to_the_key_result_listed_first(driver, slack, db):
    kr1, _kr2 = triage_team(
        driver,
        slack,
        db,
        "Helps vs not now",
        "Maybe vs not now",
        "Three-way tie",
        "Numbers tie",
        "No numbers",
        "Nobody cares",
        "Maybe wins",
    )
    _, posted = start(driver, slack, db)
    a, b, c, d, e, _f, g = (i.ts for i in posted.items)
    vote(
        driver,
        db,
        ("U0BEN", a, HELPS),
        ("U0CLEO", a, NOT_NOW),
        ("U0BEN", b, MAYBE),
        ("U0CLEO", b, NOT_NOW),
        ("U0ADA", c, HELPS),
        ("U0BEN", c, NOT_NOW),
        ("U0CLEO", c, MAYBE),
        ("U0BEN", d, HELPS),
        ("U0CLEO", d, HELPS),
        ("U0BEN", d, "two"),
        ("U0CLEO", d, "one"),
        ("U0BEN", e, HELPS),
        ("U0ADA", g, MAYBE),
        ("U0BEN", g, MAYBE),
        ("U0CLEO", g, HELPS),
        ("U0CLEO", g, "one"),
    )

    okr(driver, slack, "triage close")
    assert states(db) == {
        1: (ItemState.DISCOVERY, None),  # ✅ 1 = ❌ 1
        2: (ItemState.DISCOVERY, None),  # 🤔 1 = ❌ 1
        3: (ItemState.DISCOVERY, None),  # all three equal
        4: (ItemState.PRODUCT, kr1),  # one 1 = two 1: the key result listed first
        5: (ItemState.PRODUCT, None),  # no number votes, two key results: unlinked
        6: (ItemState.NOT_NOW, None),  # no votes
        7: (ItemState.DISCOVERY, None),  # 🤔 2 beats ✅ 1: not a tie
    }
    tied = {e.entity_id: e.data["tied"] for e in actions(db, "decided")}
    assert [tied[i.item_id] for i in posted.items] == [True, True, True, False, False, False, False]
    (summary,) = thread_replies(slack, posted, "Triage closed")
    text = shown(summary)
    for ballot in posted.items[:3]:
        assert f"• *#{ballot.number}* {ballot.text} _(tie)_ — " in text, text
    assert text.count("_(tie)_") == 3, text


def test_a_number_alone_says_the_item_helps_unless_the_person_also_said_otherwise(driver, slack, db):
    _kr1, kr2 = triage_team(driver, slack, db, "Only a number", "Not now, with a number")
    _, posted = start(driver, slack, db)
    a, b = (i.ts for i in posted.items)
    vote(driver, db, ("U0BEN", a, "two"), ("U0CLEO", b, NOT_NOW), ("U0CLEO", b, "one"))
    shows(slack, a, ":white_check_mark: 1 · :x: 0 · :thinking_face: 0 · key result: :two: 1")
    shows(slack, b, ":white_check_mark: 0 · :x: 1 · :thinking_face: 0 · key result: :one: 1")

    okr(driver, slack, "triage close")
    assert states(db) == {1: (ItemState.PRODUCT, kr2), 2: (ItemState.NOT_NOW, None)}


def test_reactions_whose_events_never_arrived_count_at_close(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode", "Export to CSV")
    slack.add_user("U0ROBOT", "robot", real_name="Deploy Robot", is_bot=True)
    _, posted = start(driver, slack, db)
    a, b = (i.ts for i in posted.items)
    vote(driver, db, ("U0BEN", a, NOT_NOW), ("U0CLEO", b, HELPS))
    # the bot was down for an hour: Slack shows these reactions, their events never reached the bot
    slack.add_reaction(CHANNEL, a, "U0CLEO", HELPS)
    slack.add_reaction(CHANNEL, a, "U0ADA", "white_check_mark::skin-tone-3")
    slack.remove_reaction(CHANNEL, a, "U0BEN", NOT_NOW)
    slack.add_reaction(CHANNEL, b, "U0ROBOT", NOT_NOW)  # a bot's: not a vote
    slack.add_reaction(CHANNEL, b, "U0BEN", "tada")  # not a ballot emoji
    assert stored_votes(db) == {(1, "U0BEN", NOT_NOW), (2, "U0CLEO", HELPS)}

    closed = okr(driver, slack, "triage close")
    assert "2 to the product backlog" in closed.text, closed.text
    assert stored_votes(db) == {(1, "U0CLEO", HELPS), (1, "U0ADA", HELPS), (2, "U0CLEO", HELPS)}
    assert {n: s for n, (s, _kr) in states(db).items()} == {1: ItemState.PRODUCT, 2: ItemState.PRODUCT}
    from_slack = [
        (e.action, e.actor_user_id)
        for e in item_history(db, posted.items[0].item_id)
        if e.action in ("voted", "unvoted") and e.data.get("via") == "reactions.get"
    ]
    assert sorted(from_slack) == [("unvoted", "U0BEN"), ("voted", "U0ADA"), ("voted", "U0CLEO")]
    shows(slack, a, "*Decided:* :white_check_mark: product backlog · votes: :white_check_mark: 2")


def test_reactions_from_people_outside_the_team_are_not_votes_by_event_or_at_close(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    slack.add_user("U0EVE", "eve", real_name="Eve Outsider")
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", "U0EVE"))
    _, posted = start(driver, slack, db)
    ts = posted.items[0].ts
    for name in (HELPS, "one"):  # answered, and nothing written: not even the event's id
        assert driver.react("U0EVE", CHANNEL, ts, name).status == 200
    vote(driver, db, ("U0BEN", ts, NOT_NOW))
    assert stored_votes(db) == {(1, "U0BEN", NOT_NOW)}
    slack.add_reaction(CHANNEL, ts, "U0EVE", MAYBE)  # made while the bot was down: read back at the close
    vote(driver, db, ("U0EVE", ts, HELPS), remove=True)  # taking back what never counted changes nothing

    closed = okr(driver, slack, "triage close")
    assert "1 to not now" in closed.text, closed.text
    assert stored_votes(db) == {(1, "U0BEN", NOT_NOW)}
    assert states(db)[1] == (ItemState.NOT_NOW, None)  # Eve's ✅ or 🤔 would have made it a tie: discovery


def test_an_item_moved_by_hand_while_the_round_closes_keeps_the_hand_move(driver, slack, db):
    triage_team(driver, slack, db, "Shorter sign-up form")
    _, posted = start(driver, slack, db)
    vote(driver, db, ("U0BEN", posted.items[0].ts, HELPS))
    moving, moved = threading.Event(), threading.Event()

    def mark_done() -> None:  # `/okr backlog done 1`, caught between its change and its commit
        with db.transaction() as session:
            team = session.scalars(select(Team)).one()
            backlog.mark_done(session, team=team, number=1, user_id="U0BEN", now=datetime.now(UTC))
            moving.set()
            time.sleep(0.5)
        moved.set()

    hand = threading.Thread(target=mark_done)
    hand.start()
    assert moving.wait(5)
    closed = okr(driver, slack, "triage close")
    hand.join(10)
    assert moved.is_set()
    assert states(db)[1][0] is ItemState.DONE, closed.text  # the close saw the move, not the inbox it started from
    (decided,) = actions(db, "decided")
    assert decided.data["decision"] == "kept"
    history = [(e.action, (e.data or {}).get("to")) for e in item_history(db, posted.items[0].item_id)]
    assert ("moved", "product") not in history, history


def _at_once(first, second) -> list[str]:
    """Run two transactions side by side, `second` starting once `first` holds its locks; their errors."""
    holding, errors = threading.Event(), []

    def run(work, *args) -> None:
        try:
            work(*args)
        except Exception as error:  # the test reports whatever went wrong
            errors.append(repr(error)[:300])
        finally:
            holding.set()

    threads = [threading.Thread(target=run, args=(first, holding)), threading.Thread(target=run, args=(second,))]
    threads[0].start()
    assert holding.wait(5)
    threads[1].start()
    for thread in threads:
        thread.join(20)
    return errors


def test_a_hand_move_while_a_triage_starts_does_not_deadlock(driver, slack, db):
    triage_team(driver, slack, db, "Shorter sign-up form", "Dark mode")

    def mark_done(holding: threading.Event) -> None:  # `/okr backlog done 1`, slow to commit
        with db.transaction() as session:
            team = session.scalars(select(Team)).one()
            backlog.mark_done(session, team=team, number=1, user_id="U0BEN", now=datetime.now(UTC))
            holding.set()
            time.sleep(0.5)

    def start_triage() -> None:  # `/okr triage start`: the team locked, then the round items written
        with db.transaction() as session:
            team = session.scalars(select(Team)).one()
            triage_rules.open_round(session, team=team, kind=RoundKind.TRIAGE, user_id="U0ADA", now=datetime.now(UTC))

    assert _at_once(mark_done, start_triage) == []
    assert states(db)[1][0] is ItemState.DONE


def test_a_close_while_the_next_round_starts_does_not_deadlock(driver, slack, db):
    triage_team(driver, slack, db, "Shorter sign-up form")
    _, posted = start(driver, slack, db)

    def start_next(holding: threading.Event) -> None:  # the team locked, slow to go on
        with db.transaction() as session:
            team = session.scalars(select(Team)).one()
            lock_team(session, team)
            holding.set()
            time.sleep(0.5)
            triage_rules.open_round(session, team=team, kind=RoundKind.TRIAGE, user_id="U0ADA", now=datetime.now(UTC))

    def close() -> None:
        with db.transaction() as session:
            triage_rules.close_round(session, round_id=posted.id, user_id="U0ADA", now=datetime.now(UTC))

    errors = _at_once(start_next, close)
    assert not [e for e in errors if "Conflict" not in e and "nothing to triage" not in e], errors
    assert the_round(db, posted.id).state is RoundState.CLOSED


def test_a_slow_tally_redraw_never_covers_the_decision(driver, slack, db, monkeypatch):
    triage_team(driver, slack, db, "Shorter sign-up form")
    _, posted = start(driver, slack, db)
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 60)  # this test redraws the tally itself
    vote(driver, db, ("U0BEN", posted.items[0].ts, HELPS))
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token)

    class SlowNetwork(type(client)):
        def chat_update(self, **kwargs):
            time.sleep(1.0)  # the tally's update takes a second to reach Slack
            return super().chat_update(**kwargs)

    slow = SlowNetwork(token=client.token, base_url=client.base_url)
    tally = threading.Thread(target=lambda: RoundsInSlack(db, slow).redraw(posted.items[0].entry_id, datetime.now(UTC)))
    tally.start()
    time.sleep(0.3)  # the tally was read (open, no decision) and is on its way
    RoundsInSlack(db, client).close(posted.id, user_id="U0ADA", now=datetime.now(UTC))
    tally.join(10)
    shows(slack, posted.items[0].ts, "*Decided:* :white_check_mark: product backlog")


def test_an_item_whose_message_never_reached_the_channel_stays_in_the_inbox(driver, slack, db, monkeypatch):
    start_with_item_2_unanswered(driver, slack, db, monkeypatch)
    with db.read() as session:
        ts = {
            position: message_ts
            for position, message_ts in session.execute(select(RoundItem.position, RoundItem.message_ts))
        }
    assert ts[2] is None
    vote(driver, db, ("U0BEN", ts[1], NOT_NOW), ("U0BEN", ts[3], NOT_NOW))

    closed = okr(driver, slack, "triage close")
    assert "2 to not now" in closed.text, closed.text
    assert {n: s for n, (s, _kr) in states(db).items()} == {
        1: ItemState.NOT_NOW,
        2: ItemState.INBOX,
        3: ItemState.NOT_NOW,  # nobody saw #2: it waits for the next round
    }
    assert {e.data["decision"] for e in actions(db, "decided") if e.entity_id == 2} == {"kept"}


# 6. not now, and back -----------------------------------------------------------------------------------------


def test_an_item_set_aside_is_listed_restored_and_triaged_again(driver, slack, db):
    triage_team(driver, slack, db, "Shorter sign-up form", "Dark mode")
    _, first = start(driver, slack, db)
    vote(driver, db, ("U0BEN", first.items[0].ts, HELPS), ("U0CLEO", first.items[1].ts, NOT_NOW))
    okr(driver, slack, "triage close")
    assert states(db)[2][0] is ItemState.NOT_NOW

    listed = okr(driver, slack, "backlog notnow")
    assert "Dark mode" in listed.text and "#2" in listed.text, listed.text
    assert "Shorter sign-up form" not in listed.text

    restored = okr(driver, slack, "backlog restore 2")
    assert "#2" in restored.text, restored.text
    assert states(db)[2][0] is ItemState.INBOX

    reply, second = start(driver, slack, db)
    assert "1 item" in reply.text, reply.text
    assert second.id != first.id
    assert [(b.number, b.text) for b in second.items] == [(2, "Dark mode")]
    assert message_text(slack, second.items[0].ts).startswith("*#2* Dark mode")


# 7. sprint pick -------------------------------------------------------------------------------------------------


def sprint_team(driver, slack, db, count: int) -> PostedRound:
    triage_team(driver, slack, db)
    add_backlog(db, *[f"Product item {n}" for n in range(1, count + 1)], key_result="1.1")
    reply, posted = start(driver, slack, db, "sprint start")
    assert f"Sprint pick started in <#C0ROCKET>: {count} items" in reply.text, reply.text
    return posted


def test_sprint_close_n_takes_the_most_rockets_older_first(driver, slack, db):
    posted = sprint_team(driver, slack, db, 6)
    one, two, three, four, five, _six = (b.ts for b in posted.items)
    vote(
        driver,
        db,
        ("U0ADA", one, "rocket"),
        ("U0BEN", two, "rocket"),
        ("U0CLEO", two, "rocket::skin-tone-3"),
        ("U0ADA", three, "rocket"),
        ("U0CLEO", five, "rocket"),
    )
    for name in (HELPS, "one"):  # triage reactions are not sprint votes
        assert driver.react("U0BEN", CHANNEL, four, name).status == 200
    shows(slack, two, ":rocket: 2")
    rockets_cast = {
        (1, "U0ADA", "rocket"),
        (2, "U0BEN", "rocket"),
        (2, "U0CLEO", "rocket"),
        (3, "U0ADA", "rocket"),
        (5, "U0CLEO", "rocket"),
    }
    stays(lambda: stored_votes(db) == rockets_cast, duration=0.3)

    closed = okr(driver, slack, "sprint close 2")
    assert "2 into the sprint, 4 stay in the product backlog" in closed.text, closed.text
    assert {n: s for n, (s, _kr) in states(db).items()} == {
        1: ItemState.SPRINT,  # 1 🚀, older than #3 and #5
        2: ItemState.SPRINT,  # 2 🚀
        3: ItemState.PRODUCT,
        4: ItemState.PRODUCT,
        5: ItemState.PRODUCT,
        6: ItemState.PRODUCT,
    }
    assert the_round(db, posted.id).pick == 2
    shows(slack, two, "*Decided:* :rocket: in the sprint under KR 1.1 · votes: :rocket: 2")
    shows(slack, three, "*Decided:* left where it was · votes: :rocket: 1")
    (summary,) = thread_replies(slack, posted, "Sprint pick closed")
    text = shown(summary)
    assert ":rocket: *Into the sprint* · 2" in text and "*Staying in the product backlog* · 4" in text, text


def test_sprint_close_takes_the_team_sprint_size_and_never_an_item_without_a_rocket(driver, slack, db):
    posted = sprint_team(driver, slack, db, 5)
    assert "a sprint pick takes 2 items" in okr(driver, slack, "team settings sprint-size=2").text
    one, two, three, four, _five = (b.ts for b in posted.items)
    vote(
        driver,
        db,
        ("U0BEN", two, "rocket"),
        ("U0ADA", three, "rocket"),
        ("U0BEN", three, "rocket"),
        ("U0CLEO", four, "rocket"),
    )
    assert driver.react("U0ADA", CHANNEL, one, HELPS).status == 200  # not a sprint vote

    closed = okr(driver, slack, "sprint close")
    assert "2 into the sprint, 3 stay in the product backlog" in closed.text, closed.text
    taken = {n for n, (s, _kr) in states(db).items() if s is ItemState.SPRINT}
    assert taken == {3, 2}  # #3 has 2 🚀; #2 and #4 have 1 each: the older one
    assert the_round(db, posted.id).pick is None  # the team's size applied

    # a bigger N still never takes an item nobody rocketed
    _, again = start(driver, slack, db, "sprint start")
    assert [b.number for b in again.items] == [1, 4, 5]
    vote(driver, db, ("U0BEN", again.items[1].ts, "rocket"))
    closed = okr(driver, slack, "sprint close 10")
    assert "1 into the sprint, 2 stay in the product backlog" in closed.text, closed.text
    assert {n for n, (s, _kr) in states(db).items() if s is ItemState.SPRINT} == {2, 3, 4}


# 8. the deadline ----------------------------------------------------------------------------------------------


def test_the_sweep_closes_a_round_past_its_deadline_once(driver, slack, db, database_url):
    triage_team(driver, slack, db, "Shorter sign-up form", "Dark mode")
    set_team(db, triage_hours=1)
    started = datetime.now(UTC)
    reply, posted = start(driver, slack, db)
    assert "It closes itself" in reply.text, reply.text
    vote(driver, db, ("U0BEN", posted.items[0].ts, HELPS))

    assert round_report(sweeper(slack, database_url, db).run(started + 30 * MINUTE)) == {}
    assert the_round(db, posted.id).state is RoundState.OPEN

    # two replicas sweep at once past the deadline, then one sweeps again
    engines = [Database(database_url) for _ in range(2)]
    reports: list[Counter] = [Counter(), Counter()]
    barrier = threading.Barrier(2)

    def run(n: int) -> None:
        barrier.wait()
        reports[n] = sweeper(slack, database_url, engines[n], worker=f"replica-{n}").run(started + 61 * MINUTE)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for engine in engines:
            engine.dispose()
    total = round_report(sum(reports, Counter()))
    # one replica closes it and tells the result; the other finds it closed ("taken", not a round outcome)
    assert total == {"round_closed": 1, "round_finished:finished": 1}, reports
    assert round_report(sweeper(slack, database_url, db).run(started + 62 * MINUTE)) == {}

    closed = the_round(db, posted.id)
    assert closed.state is RoundState.CLOSED and closed.closed_by is None and closed.finished_at is not None
    assert {n: s for n, (s, _kr) in states(db).items()} == {1: ItemState.PRODUCT, 2: ItemState.NOT_NOW}
    assert len(actions(db, "decided")) == 2
    (summary,) = thread_replies(slack, posted, "Triage closed")
    assert "*Triage closed* at its deadline: 2 items decided." in shown(summary)
    shows(slack, posted.header_ts, "*Closed* at its deadline.")

    # a vote after the close counts for nothing
    before = row_counts(db)
    assert driver.react("U0CLEO", CHANNEL, posted.items[1].ts, HELPS).status == 200
    assert driver.unreact("U0BEN", CHANNEL, posted.items[0].ts, HELPS).status == 200
    stays(lambda: row_counts(db) == before, duration=0.5)
    assert_clean_error(okr(driver, slack, "triage close"), "No triage is open")


def test_a_close_interrupted_half_way_is_finished_by_the_sweep_without_a_second_summary(
    driver, slack, db, database_url
):
    triage_team(driver, slack, db, "Shorter sign-up form", "Dark mode")
    _, posted = start(driver, slack, db)
    vote(driver, db, ("U0BEN", posted.items[0].ts, HELPS))
    wait_until(lambda: any(c.args.get("ts") == posted.items[0].ts for c in slack.calls_to("chat.update")))
    slack.fail_next("chat.update", "internal_error", status=500)  # Slack fails the close's first redraw

    closed = okr(driver, slack, "triage close")
    assert "1 to the product backlog, 1 to not now" in closed.text, closed.text
    assert len(thread_replies(slack, posted, "Triage closed")) == 1
    assert the_round(db, posted.id).finished_at is None  # the decision is made; telling it is not finished
    assert "Decided" not in message_text(slack, posted.items[0].ts)

    report = round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + MINUTE))
    assert report == {"round_finished:finished": 1}, report
    assert len(thread_replies(slack, posted, "Triage closed")) == 1
    shows(slack, posted.items[0].ts, "*Decided:* :white_check_mark: product backlog")
    shows(slack, posted.items[1].ts, "*Decided:* :x: not now")
    shows(slack, posted.header_ts, "*Closed* by <@U0ADA>")
    assert the_round(db, posted.id).finished_at is not None
    assert len(actions(db, "decided")) == 2
    assert round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + 2 * MINUTE)) == {}


# 9. what can go wrong -------------------------------------------------------------------------------------------


def test_a_second_start_is_a_conflict_and_changes_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    start(driver, slack, db)
    posts = len(slack.calls_to("chat.postMessage"))
    before = row_counts(db)
    assert_clean_error(okr(driver, slack, "triage start"), "A triage is already open in *Rockets*", "triage close")
    assert_clean_error(okr(driver, slack, "triage start", user="U0BEN"), "already open")
    assert row_counts(db) == before
    assert len(slack.calls_to("chat.postMessage")) == posts


def test_only_a_facilitator_closes_and_refusals_change_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    assert_clean_error(okr(driver, slack, "triage close"), "No triage is open in *Rockets*", "/okr triage start")
    assert_clean_error(okr(driver, slack, "sprint close 2"), "No sprint is open in *Rockets*")
    _, posted = start(driver, slack, db)
    vote(driver, db, ("U0BEN", posted.items[0].ts, HELPS))
    before, posts = row_counts(db), len(slack.calls_to("chat.postMessage"))

    refused = okr(driver, slack, "triage close", user="U0BEN")
    assert_clean_error(refused, "facilitator")
    assert_clean_error(okr(driver, slack, "triage close", user="U0CLEO"), "facilitator")
    assert row_counts(db) == before
    assert len(slack.calls_to("chat.postMessage")) == posts
    assert the_round(db, posted.id).state is RoundState.OPEN
    assert states(db)[1][0] is ItemState.INBOX


BAD_ARGUMENTS = {
    "triage start 0": ("`0` is not a number of items to triage from 1 to 50", "/okr triage start [N]"),
    "triage start abc": ("`abc` is not a number",),
    "triage start 51": ("`51` is not a number",),
    "triage start -3": ("`-3` is not a number",),
    "sprint start 3": ("the number goes to `/okr sprint close N`",),
    "triage close 5": ("`/okr triage close` takes nothing after it",),
    "sprint close 0": ("`0` is not a number of items to take into the sprint",),
    "sprint close lots": ("`lots` is not a number",),
    "triage frobnicate": ("`frobnicate` is not something a triage does", "/okr triage start [N] | close"),
    "sprint": ("Start or close?", "/okr sprint start | close [N]"),
}


def test_bad_arguments_get_a_clear_answer_and_write_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    add_backlog(db, "Product item", key_result="1.1")
    before, posts = row_counts(db), len(slack.calls_to("chat.postMessage"))
    for text, needles in BAD_ARGUMENTS.items():
        assert_clean_error(okr(driver, slack, text), *needles, case=text)
    assert row_counts(db) == before
    assert len(slack.calls_to("chat.postMessage")) == posts


def test_nothing_to_vote_on_or_against(driver, slack, db):
    rockets(driver, slack, members=("U0BEN",))
    add_backlog(db, "Dark mode")
    before = row_counts(db)
    assert_clean_error(okr(driver, slack, "triage start"), "*Rockets* has no committed key results", "/okr draft")
    assert row_counts(db) == before

    with db.transaction() as session:  # the only item is done: an empty inbox and product backlog
        session.execute(update(BacklogItem).values(state=ItemState.DONE))
    commit(db)
    before = row_counts(db)
    assert_clean_error(okr(driver, slack, "triage start"), "*Rockets*'s inbox is empty", "/okr backlog add")
    assert_clean_error(okr(driver, slack, "sprint start"), "product backlog is empty", "/okr triage start")
    assert row_counts(db) == before
    assert slack.calls_to("chat.postMessage") == []


def test_when_the_bot_cannot_post_nothing_is_started_and_the_person_is_told_to_invite_it(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    before = row_counts(db)
    slack.fail_next("chat.postMessage", "not_in_channel")
    refused = okr(driver, slack, "triage start")
    assert_clean_error(refused, "could not post in <#C0ROCKET>", "not_in_channel", "/invite", "/okr triage start")
    assert row_counts(db) == before  # no round, no items put to the vote, no claim left behind
    assert not actions(db, "put_to_vote")

    # once the bot can post, the same command works
    reply, posted = start(driver, slack, db)
    assert "Triage started" in reply.text and len(posted.items) == 1


def test_a_team_in_a_private_channel_the_bot_is_not_in(driver, slack, db):
    create_team(driver, slack, "Secrets", channel="G0SECRET")
    commit(db, "Secrets")
    add_backlog(db, "Dark mode", team_name="Secrets", user="U0ADA")
    before = row_counts(db)
    refused = okr(driver, slack, "triage start", channel="G0SECRET")
    assert_clean_error(refused, "could not post in <#G0SECRET>", "/invite")
    assert row_counts(db) == before
    assert all(not m["text"].startswith("Triage for") for m in slack.messages("G0SECRET"))


# 10. posting through rate limits and interruptions -----------------------------------------------------------


class ShiftableClock:
    """The fake Slack's monotonic clock, which a test can move on (its rate windows are 60 seconds long)."""

    def __init__(self) -> None:
        self.shift = 0.0
        self.frozen = False
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.monotonic() + self.shift

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.shift += seconds


class VirtualSleep:
    """Stands in for `time` in slack_sdk's rate-limit retry handler, in bot/delivery/rounds.py and in the bot's pacer
    (bot/delivery/pacing.py): a Retry-After wait
    moves the fake Slack's clock on instead of the test's (unless the clock is frozen: Slack's limit lasts)."""

    def __init__(self, clock: ShiftableClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if not self.clock.frozen:
            self.clock.advance(seconds)
        time.sleep(0.005)

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def timed(db, database_url, monkeypatch):
    """A fake Slack on a clock the test moves, the bot and a driver for it, and Retry-After waits in virtual time."""
    clock = ShiftableClock()
    fake = FakeSlack(clock=clock).start()
    fake.add_user("U0ADA", "ada", real_name="Ada Admin", is_admin=True, tz="Europe/Paris")
    fake.add_user("U0BEN", "ben", real_name="Ben Member", tz="America/New_York")
    fake.add_user("U0CLEO", "cleo", real_name="Cleo Member", tz="Asia/Tokyo")
    fake.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"))
    running, stop = serve_bot(sandbox_settings(fake, database_url), db)
    sleeper = VirtualSleep(clock)
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.time", sleeper)
    monkeypatch.setattr("bot.delivery.rounds.time", sleeper)
    # the bot's pacer waits out Retry-After on the same clock
    monkeypatch.setattr("bot.delivery.pacing.PACER", Pacer(clock=clock, sleep=sleeper.sleep))
    yield fake, SlackDriver(fake, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET), clock, sleeper
    stop()
    fake.stop()


def assert_each_item_posted_once(slack: FakeSlack, posted: PostedRound) -> None:
    for ballot in posted.items:
        assert len(item_posts(slack, ballot.number)) == 1, (ballot.number, len(item_posts(slack, ballot.number)))
        assert slack.message(CHANNEL, ballot.ts)["thread_ts"] == posted.header_ts
    headers = [c for c in slack.calls_to("chat.postMessage") if c.ok and c.args["text"].startswith("Triage for")]
    assert len(headers) == 1


def test_posting_waits_out_slacks_rate_limit_and_posts_every_item_once(timed, db):
    slack, driver, _clock, sleeper = timed
    triage_team(driver, slack, db, *[f"Item {n}" for n in range(1, 8)])
    slack.set_rate_limit("chat.postMessage", per_minute=3)  # the header and 7 items: over the limit twice

    reply, posted = start(driver, slack, db)
    assert "7 items" in reply.text
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) >= 2 and sleeper.waits, limited
    assert_each_item_posted_once(slack, posted)
    assert [b.number for b in posted.items] == list(range(1, 8))
    assert [
        m["text"][:7]
        for m in slack.messages(CHANNEL)
        if m.get("thread_ts") == posted.header_ts and m["ts"] != posted.header_ts
    ] == [f"#{n} Item" for n in range(1, 8)]


def test_posting_stopped_by_a_lasting_rate_limit_is_finished_by_the_sweep(timed, db, database_url):
    slack, driver, clock, _sleeper = timed
    triage_team(driver, slack, db, *[f"Item {n}" for n in range(1, 7)])
    slack.set_rate_limit("chat.postMessage", per_minute=4)
    clock.frozen = True  # Slack stays over the limit however long the bot waits

    reply = okr(driver, slack, "triage start")
    assert "6 items" in reply.text
    # the client's own retries, then the bot's pauses, then it leaves the rest to the sweep
    attempts = (bot.delivery.rounds.MAX_PAUSES + 1) * 4
    wait_until(lambda: len([c for c in slack.calls_to("chat.postMessage") if c.status == 429]) == attempts)
    stays(lambda: len(slack.calls_to("chat.postMessage")) == 4 + attempts, duration=0.3)
    with db.read() as session:
        waiting = session.scalars(select(RoundItem.position).where(RoundItem.message_ts.is_(None))).all()
    assert sorted(waiting) == [4, 5, 6]  # the header and three items went out; the bot gave up on the rest
    with db.read() as session:  # nothing left claimed: the sweep may post them
        assert not session.scalars(select(SendClaim).where(SendClaim.state == ClaimState.CLAIMED)).all()

    clock.frozen = False
    clock.advance(61)
    report = round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + MINUTE))
    assert report == {"round_posted:sent": 1}, report
    posted = posted_round(db)
    assert_each_item_posted_once(slack, posted)
    assert round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + 2 * MINUTE)) == {}


def seed_failing_some(share: float, calls: int, *, passing_first: int) -> int:
    """A seed for `fail_share` whose first `passing_first` calls pass and some of the rest fail (and some pass)."""
    for seed in range(1000):
        draws = random.Random(seed)
        hits = [draws.random() < share for _ in range(calls)]
        rest = hits[passing_first:]
        if not any(hits[:passing_first]) and 2 <= sum(rest) <= len(rest) - 2:
            return seed
    raise AssertionError("no seed")


def test_items_slack_failed_to_post_are_posted_by_the_sweep_never_twice(driver, slack, db, database_url):
    triage_team(driver, slack, db, *[f"Item {n}" for n in range(1, 7)])
    seed = seed_failing_some(0.4, 7, passing_first=1)
    slack.fail_share("chat.postMessage", 0.4, error="internal_error", status=500, seed=seed)

    reply = okr(driver, slack, "triage start")
    assert "6 items" in reply.text
    wait_until(lambda: len(slack.calls_to("chat.postMessage")) == 7)  # the header and each item, tried once
    failed = [c for c in slack.calls_to("chat.postMessage") if c.status == 500]
    assert 2 <= len(failed) <= 4

    def unposted() -> int:
        with db.read() as session:
            return len(session.scalars(select(RoundItem.id).where(RoundItem.message_ts.is_(None))).all())

    wait_until(lambda: unposted() == len(failed))
    stays(lambda: unposted() == len(failed) and len(slack.calls_to("chat.postMessage")) == 7, duration=0.3)
    slack.fail_share("chat.postMessage", 0)

    report = round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + MINUTE))
    assert report == {"round_posted:sent": 1}, report
    posted = posted_round(db)
    assert_each_item_posted_once(slack, posted)
    assert round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + 2 * MINUTE)) == {}


def test_an_item_whose_answer_was_lost_is_found_in_the_thread_not_posted_again(
    driver, slack, db, database_url, monkeypatch
):
    start_with_item_2_unanswered(driver, slack, db, monkeypatch)
    with db.read() as session:
        entry = session.scalars(select(RoundItem).where(RoundItem.position == 2)).one()
        claim = session.scalars(
            select(SendClaim).where(SendClaim.kind == ITEM_KIND, SendClaim.claim_key == str(entry.id))
        ).one()
    assert entry.message_ts is None and claim.state is ClaimState.CLAIMED  # it went out, the bot does not know
    assert len(item_posts(slack, 2)) == 1

    # the next sweep takes the abandoned claim over and finds the message in the thread
    report = round_report(sweeper(slack, database_url, db).run(datetime.now(UTC) + MINUTE))
    assert report == {"round_posted:sent": 1}, report
    posted = posted_round(db)
    assert_each_item_posted_once(slack, posted)
    assert posted.items[1].ts == item_posts(slack, 2)[0].response["ts"]
    with db.read() as session:
        assert session.get(SendClaim, claim.id).state is ClaimState.SENT
    assert len(slack.calls_to("chat.postMessage")) == 4  # the sweep looked in the thread instead of posting
    assert slack.calls_to("conversations.replies")


# 11. debounced tallies ---------------------------------------------------------------------------------------


def test_a_burst_of_reactions_redraws_the_tally_once_or_twice(driver, slack, db, monkeypatch):
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 1.5)
    triage_team(driver, slack, db, "Dark mode", "Export to CSV")
    people = [f"U0P{n}" for n in range(5)]
    for user in people:
        slack.add_user(user, user.lower())
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", *people))
    for user in people:
        join_team(driver, slack, user=user, channel=CHANNEL)
    _, posted = start(driver, slack, db)
    ts, other = posted.items[0].ts, posted.items[1].ts
    burst = [(u, HELPS) for u in ("U0ADA", "U0BEN", "U0CLEO", *people)] + [("U0P0", "one"), ("U0P1", "two")]
    assert len(burst) == 10

    def updates_of(message_ts: str) -> list:
        return [c for c in slack.calls_to("chat.update") if c.args.get("ts") == message_ts]

    barrier = threading.Barrier(len(burst))
    ids = [new_event_id() for _ in burst]

    def send(n: int) -> None:
        user, name = burst[n]
        barrier.wait()
        assert driver.react(user, CHANNEL, ts, name, event_id=ids[n]).status == 200

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(burst))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    wait_until(lambda: set(ids) <= processed_events(db))
    shows(slack, ts, ":white_check_mark: 8 · :x: 0 · :thinking_face: 0 · key result: :one: 1 :two: 1")

    def settled() -> bool:
        with db.read() as session:
            entry = session.get(RoundItem, posted.items[0].entry_id)
            return entry.shown_version == entry.votes_version == 10

    wait_until(settled)
    assert 1 <= len(updates_of(ts)) <= 2, [c.describe() for c in updates_of(ts)]
    assert updates_of(other) == []


# 12. an item's story ---------------------------------------------------------------------------------------------


def test_an_items_whole_history_is_in_the_event_log(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    _, posted = start(driver, slack, db)
    ts, item_id = posted.items[0].ts, posted.items[0].item_id
    vote(driver, db, ("U0BEN", ts, HELPS))
    vote(driver, db, ("U0BEN", ts, HELPS), remove=True)
    okr(driver, slack, "triage close")
    okr(driver, slack, "backlog restore 1")

    story = item_history(db, item_id)
    assert [(e.action, e.actor_user_id) for e in story] == [
        ("captured", "U0BEN"),
        ("put_to_vote", "U0ADA"),
        ("voted", "U0BEN"),
        ("unvoted", "U0BEN"),
        ("decided", "U0ADA"),
        ("moved", "U0ADA"),
        ("moved", "U0ADA"),
    ]
    captured, put, voted, unvoted, decided, moved, restored = story
    assert captured.data["state"] == "inbox" and put.data["round"] == posted.id
    assert voted.data == unvoted.data == {"reaction": HELPS, "round": posted.id}
    assert decided.data["decision"] == "not_now" and decided.data["votes"] == {} and decided.data["tied"] is False
    assert (moved.data["from"], moved.data["to"], moved.reason) == ("inbox", "not_now", "triage vote")
    assert (restored.data["from"], restored.data["to"], restored.reason) == ("not_now", "inbox", "restored")
    assert [e.created_at for e in story] == sorted(e.created_at for e in story)
