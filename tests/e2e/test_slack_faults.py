"""Slack's retries and Slack's failures, end to end.

1. Slack retries events. Every event type the app subscribes to (app.yaml's `bot_events`, checked against the
   list here and against the listeners the handlers register) is delivered, then delivered again with
   `X-Slack-Retry-Num` 1 (and 2): one after the other, or all at once so that a retry arrives while the first
   delivery is still being processed. Its durable effect happens once: one vote counted and drawn once, one
   retro answer, one uninstall, the App Home one view; the `event_id` is kept once where the effect is guarded
   by it, and no delivery leaves a row of its own. A retry that arrives after a later event about the same
   thing (the vote taken back, the app reinstalled, the reply edited or deleted) does not undo that event.
2. Slack's Web API fails. On a busy Monday every kind of scheduled work is due in one sweep: a check-in DM, a
   reminder in another DM's thread, the weekly summary and its chart, posting a triage round, closing a sprint
   pick, a reset notice, a ripple notice, the weekly digest and its picture. The sweep runs through 5xx answers
   to every call, answers held past the client's timeout (Slack did the work, the bot never heard), or a 429
   storm that outlasts the client's own retries. Then Slack recovers and the sweep runs until nothing is left:
   every message is in Slack exactly once and every claim is final. Work a person asks for waits out a 429, and
   the person is told when Slack keeps failing. A form opened with views.open is retried after a 5xx; a digest
   posted with chat.postMessage is not posted again blindly (a 5xx may come after Slack posted it): the channel
   is read back, and the part posted again only when Slack does not have it.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from slack_sdk import WebClient
from sqlalchemy import func, select, update

import handlers.reactions
from bot.app import build_app
from bot.delivery.checkins import REMINDER_KIND
from bot.delivery.digests import DIGEST_KIND, PICTURE_KIND
from bot.delivery.digests import NOTICE_KIND as RIPPLE_NOTICE_KIND
from bot.delivery.resets import NOTICE_KIND as RESET_NOTICE_KIND
from bot.delivery.rounds import HEADER_KIND, ITEM_KIND
from bot.delivery.rounds import SUMMARY_KIND as ROUND_SUMMARY_KIND
from bot.delivery.summaries import CHART_KIND, SUMMARY_KIND
from bot.rituals import schedule
from bot.rituals.checkins import CHECKIN_KIND
from bot.rituals.cycles import CYCLE_DAYS, current_cycle
from bot.rituals.people import ensure_person
from bot.sandbox import FakeSlack, SlackDriver
from bot.scheduler import client_for
from bot.slack import web_client
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import (
    CheckIn,
    ClaimState,
    CycleState,
    EventLog,
    KeyResult,
    Person,
    ProcessedEvent,
    RetroAnswer,
    Ripple,
    Round,
    RoundItem,
    RoundKind,
    Schedule,
    ScheduleKind,
    SendClaim,
    Team,
    Workspace,
)
from tests import factories
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import (
    Ballot,
    add_backlog,
    commit,
    key_results,
    latest_ephemeral,
    posted_round,
    reaction_event,
    rockets,
    stored_votes,
)
from tests.e2e.support import create_team, install, okr, row_counts, shown, stays, wait_until

ROOT = Path(__file__).parents[2]
ADA, BEN, CLEO = "U0ADA", "U0BEN", "U0CLEO"
ROCKET, GROWTH, GENERAL = "C0ROCKET", "C0GROWTH", "C0GENERAL"
PRIVATE = "G0PRIVATE"  # a private team channel the bot was invited to
MINUTE = timedelta(minutes=1)
CHECK = "white_check_mark"


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch):
    """Item messages are redrawn 0.1 s after a vote (not 2 s): done long before a test ends."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.1)


# 1. Slack's retries of every event type ==================================================================


@dataclass(frozen=True)
class EventWorld:
    """Rockets (Ada, Ben, Cleo) with an open triage of two items, Cleo's ✅ on the second; Growth (Ben, in
    #team-growth) and Private (Ada, in a private channel), each with cycle 1 closed and its retro posted."""

    added: Ballot  # the item Ben's ✅ is delivered for
    removed: Ballot  # the item Cleo takes her ✅ back from
    retros: dict[str, str]  # channel → the retro message's ts


@dataclass
class Delivered:
    """One event as Slack sends it (the same payload on every retry) and how to read its durable effect."""

    event: dict[str, Any]
    event_id: str
    effect: Callable[[], Any]  # a comparable snapshot of everything the event changes
    expected: Any  # the snapshot once the event has taken effect, exactly once
    in_slack: Callable[[], None] = lambda: None  # what Slack shows afterwards, checked last


def _count(db: Database, model, *where) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def kept(db: Database, event_id: str) -> int:
    """How many times Slack's `event_id` is on record as processed."""
    return _count(db, ProcessedEvent, ProcessedEvent.event_id == event_id)


def logged(db: Database, entity: str, action: str) -> int:
    return _count(db, EventLog, EventLog.entity == entity, EventLog.action == action)


def votes_version(db: Database, entry_id: int) -> int:
    with db.read() as session:
        return session.scalar(select(RoundItem.votes_version).where(RoundItem.id == entry_id))


def votes_on(db: Database, ballot: Ballot) -> set[tuple[str, str]]:
    return {(user, reaction) for number, user, reaction in stored_votes(db) if number == ballot.number}


def tally(slack: FakeSlack, ballot: Ballot) -> str:
    return shown(slack.message(ROCKET, ballot.ts))


def workspace_row(db: Database) -> Workspace:
    with db.read() as session:
        return session.scalars(select(Workspace)).one()


def retro_answers(db: Database, message_ts: str) -> list[tuple[str, int | None, str]]:
    """The retro answers kept for the reply posted at `message_ts`."""
    with db.read() as session:
        query = select(RetroAnswer).where(RetroAnswer.message_ts == message_ts).order_by(RetroAnswer.id)
        return [(a.user_id, a.prompt, a.text) for a in session.scalars(query)]


def close_with_retro(slack: FakeSlack, db: Database, team_name: str, channel: str) -> str:
    """The team's cycle 1 closed, its retro posted in `channel` by the bot; the retro message's ts."""
    bot = WebClient(base_url=slack.api_url, token=slack.workspace().bot_token)
    retro_ts = bot.chat_postMessage(channel=channel, text=f"Retro of cycle 1 of {team_name}")["ts"]
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name == team_name)).one()
        cycle = current_cycle(session, team=team, now=datetime.now(UTC))
        cycle.state, cycle.closed_at = CycleState.CLOSED, datetime.now(UTC)
        cycle.retro_channel_id, cycle.retro_ts = channel, retro_ts
    return retro_ts


def open_triage(driver: SlackDriver, slack: FakeSlack, db: Database, *texts: str) -> list[Ballot]:
    """Rockets (Ada, Ben, Cleo) with OKRs and `texts` put to a triage: the posted items."""
    rockets(driver, slack, members=(BEN, CLEO))
    commit(db)
    add_backlog(db, *texts)
    okr(driver, slack, "triage start")
    return posted_round(db).items


def event_world(driver: SlackDriver, slack: FakeSlack, db: Database) -> EventWorld:
    added, removed = open_triage(driver, slack, db, "Dark mode", "Faster exports")
    assert driver.react(CLEO, ROCKET, removed.ts, CHECK, event_id="EvVOTE0EARLIER").status == 200
    wait_until(lambda: f":{CHECK}: 1" in tally(slack, removed))
    create_team(driver, slack, "Growth", user=BEN, channel=GROWTH)
    slack.add_channel(PRIVATE, "team-private", is_private=True, members=(ADA, BEN, CLEO))
    create_team(driver, slack, "Private", user=ADA, channel=PRIVATE)
    retros = {
        GROWTH: close_with_retro(slack, db, "Growth", GROWTH),
        PRIVATE: close_with_retro(slack, db, "Private", PRIVATE),
    }
    return EventWorld(added, removed, retros)


def reaction(kind: str, user: str, ballot: Ballot, slack: FakeSlack) -> dict[str, Any]:
    """The reaction event, stamped once: a retry carries the same `event_ts`."""
    return {**reaction_event(kind, user, ROCKET, ballot.ts, CHECK), "event_ts": slack.next_ts()}


def reply_event(message: dict, channel_type: str) -> dict[str, Any]:
    """The `message` event Slack sends for a reply a person posted in a thread."""
    return {
        "type": "message",
        "channel": message["channel"],
        "user": message["user"],
        "text": message["text"],
        "ts": message["ts"],
        "thread_ts": message["thread_ts"],
        "channel_type": channel_type,
        "event_ts": message["ts"],
    }


def _reaction_added(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
    ballot, event_id = world.added, "EvVOTE0ADDED"
    slack.add_reaction(ROCKET, ballot.ts, BEN, CHECK)

    def effect():
        return (
            votes_on(db, ballot),
            votes_version(db, ballot.entry_id),
            logged(db, "backlog_item", "voted"),
            kept(db, event_id),
        )

    def in_slack() -> None:  # the item's message counts the vote once
        wait_until(lambda: f":{CHECK}: 1" in tally(slack, ballot))
        assert f":{CHECK}: 2" not in tally(slack, ballot) and f":{CHECK}: 3" not in tally(slack, ballot)

    # two "voted" entries: Cleo's earlier vote on the other item, and this one
    expected = ({(BEN, CHECK)}, 1, 2, 1)
    return Delivered(reaction("reaction_added", BEN, ballot, slack), event_id, effect, expected, in_slack)


def _reaction_removed(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
    ballot, event_id = world.removed, "EvVOTE0REMOVED"
    slack.remove_reaction(ROCKET, ballot.ts, CLEO, CHECK)

    def effect():
        return (
            votes_on(db, ballot),
            votes_version(db, ballot.entry_id),
            logged(db, "backlog_item", "unvoted"),
            kept(db, event_id),
        )

    def in_slack() -> None:
        wait_until(lambda: "no votes yet" in tally(slack, ballot))

    expected = (set(), 2, 1, 1)
    return Delivered(reaction("reaction_removed", CLEO, ballot, slack), event_id, effect, expected, in_slack)


def _home_opened(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
    event = {
        "type": "app_home_opened",
        "user": ADA,
        "channel": slack.dm_channel_id(ADA),
        "tab": "home",
        "event_ts": slack.next_ts(),
    }

    def effect():
        home = slack.home(ADA)
        return home is not None and "*Rockets* in <#C0ROCKET> · you are a facilitator" in shown(home)

    def in_slack() -> None:
        published = [c for c in slack.calls_to("views.publish") if c.args.get("user_id") == ADA]
        assert published and all(c.ok for c in published), [c.describe() for c in published]
        # the tab is one view, replaced in place: a retry may draw it again, never add another
        assert len({c.response["view"]["id"] for c in published}) == 1

    return Delivered(event, "EvHOME0OPENED", effect, True, in_slack)


def _retro_reply(channel: str, channel_type: str, user: str):
    def prepare(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
        reply = slack.add_message(
            channel, user, f"2. Stop the Friday demo in {channel}", thread_ts=world.retros[channel]
        )
        text = f"Stop the Friday demo in {channel}"
        return Delivered(
            reply_event(reply, channel_type),
            f"EvRETRO0{channel}",
            lambda: retro_answers(db, reply["ts"]),
            [(user, 2, text)],
        )

    return prepare


def reinstall(slack: FakeSlack, db: Database) -> None:
    """What installs a single-token bot again: a start with a token Slack accepts (a request never does)."""
    build_app(sandbox_settings(slack, db.engine.url.render_as_string(hide_password=False)), db).close()


def _user_changed(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
    with db.transaction() as session:  # someone the bot writes to: it keeps what Slack says of them
        ensure_person(session, workspace_id=workspace_row(db).id, user_id=BEN, now=datetime.now(UTC))
    slack.set_user_status(BEN, "Vacation", ":palm_tree:", expiration=2_000_000_000)

    def effect():
        with db.read() as session:
            ben = session.scalars(select(Person).where(Person.user_id == BEN)).one()
            return ben.status_text, ben.status_emoji, ben.status_expires_at, ben.profile_read_at is not None

    expected = ("Vacation", ":palm_tree:", datetime.fromtimestamp(2_000_000_000, UTC), True)
    return Delivered({"type": "user_change", "user": slack.user(BEN)}, "EvUSER0CHANGED", effect, expected)


def _lifecycle(event: dict[str, Any], event_id: str):
    def prepare(world: EventWorld, driver: SlackDriver, slack: FakeSlack, db: Database) -> Delivered:
        if workspace_row(db).uninstalled_at is not None:  # uninstalled by the event before: installed again
            reinstall(slack, db)
            assert workspace_row(db).uninstalled_at is None
        before = logged(db, "workspace", "uninstalled")

        def effect():
            return (
                workspace_row(db).uninstalled_at is not None,
                logged(db, "workspace", "uninstalled"),
                kept(db, event_id),
            )

        def in_slack() -> None:
            with db.read() as session:  # the teams' OKRs are kept for a reinstall
                assert session.scalars(select(Team.name).order_by(Team.name)).all() == ["Growth", "Private", "Rockets"]

        return Delivered(dict(event), event_id, effect, (True, before + 1, 1), in_slack)

    return prepare


# every event app.yaml subscribes the bot to, in the order a test delivers them: the lifecycle events last, each
# on its own (the uninstall is undone by a reinstall before the next one)
EVENTS: dict[str, Callable[[EventWorld, SlackDriver, FakeSlack, Database], Delivered]] = {
    "reaction_added": _reaction_added,
    "reaction_removed": _reaction_removed,
    "app_home_opened": _home_opened,
    "message.channels": _retro_reply(GROWTH, "channel", BEN),
    "message.groups": _retro_reply(PRIVATE, "group", CLEO),
    "user_change": _user_changed,
    "tokens_revoked": _lifecycle({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}, "EvTOKENS0REVOKED"),
    "app_uninstalled": _lifecycle({"type": "app_uninstalled"}, "EvAPP0UNINSTALLED"),
}
PHASES = (
    ("reaction_added", "reaction_removed", "app_home_opened", "message.channels", "message.groups", "user_change"),
    ("tokens_revoked",),
    ("app_uninstalled",),
)


def test_every_event_the_app_subscribes_to_is_delivered_again_here():
    manifest = yaml.safe_load((ROOT / "app.yaml").read_text())
    subscribed = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(subscribed) == sorted(EVENTS)
    assert sorted(name for phase in PHASES for name in phase) == sorted(EVENTS)
    # every event a listener is registered for is subscribed to (`message.channels` is Bolt's "message")
    listened = {
        name
        for source in (ROOT / "handlers").glob("*.py")
        for name in re.findall(r"""app\.event\(\s*["']([\w.]+)["']""", source.read_text())
    }
    assert listened == {name.split(".")[0] for name in EVENTS}


def deliver_at_once(driver: SlackDriver, event: dict, event_id: str, deliveries: int) -> list[int]:
    """The first delivery and Slack's retries of it, sent at the same moment from as many threads."""
    barrier = threading.Barrier(deliveries)
    statuses: list[int] = [0] * deliveries

    def send(n: int) -> None:
        barrier.wait()
        statuses[n] = driver.event(event, event_id=event_id, retry_num=n or None).status

    threads = [threading.Thread(target=send, args=(n,)) for n in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def settled(name: str, delivered: Delivered) -> None:
    try:
        wait_until(lambda: delivered.effect() == delivered.expected)
    except AssertionError:
        raise AssertionError(f"{name}: {delivered.effect()!r}, expected {delivered.expected!r}") from None


@pytest.mark.parametrize(
    ("deliveries", "arrival"),
    [(2, "in_turn"), (3, "in_turn"), (3, "at_once")],
    ids=["retried-once", "retried-twice", "retried-twice-while-the-first-runs"],
)
def test_every_event_type_slack_delivers_again_takes_effect_once(deliveries, arrival, driver, slack, db):
    world = event_world(driver, slack, db)
    for phase in PHASES:
        delivered = {name: EVENTS[name](world, driver, slack, db) for name in phase}
        for name, one in delivered.items():
            assert one.effect() != one.expected, f"{name} took effect before it was delivered"
            if arrival == "at_once":
                statuses = deliver_at_once(driver, one.event, one.event_id, deliveries)
                assert statuses == [200] * deliveries, (name, statuses)
                continue
            assert driver.event(one.event, event_id=one.event_id).status == 200, name
            settled(name, one)
            for retry in range(1, deliveries):
                again = driver.event(one.event, event_id=one.event_id, retry_num=retry)
                assert again.status == 200, (name, again.text)
        for name, one in delivered.items():
            settled(name, one)
        rows = row_counts(db)

        quiet = 0.5 if len(phase) > 1 else 0.3
        stays(
            lambda phase=delivered: all(one.effect() == one.expected for one in phase.values()),
            duration=quiet,
            interval=0.05,
        )
        assert row_counts(db) == rows  # no delivery left a row of its own behind
        for one in delivered.values():
            one.in_slack()


def assert_stays(read: Callable[[], Any], expected: Any, *, duration: float = 0.5) -> None:
    """`read()` equals `expected` now and for `duration` (a retried event is processed after its ack)."""
    deadline = time.monotonic() + duration
    while True:
        got = read()
        assert got == expected, f"{got!r}, expected {expected!r}"
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


# a retry Slack sends late, after a later event about the same thing was processed ---------------------------


def test_a_vote_whose_first_delivery_was_lost_does_not_come_back_after_it_was_taken_back(driver, slack, db):
    (ballot,) = open_triage(driver, slack, db, "Dark mode")
    added = reaction("reaction_added", BEN, ballot, slack)  # its first delivery never reaches the bot
    removed = reaction("reaction_removed", BEN, ballot, slack)
    assert driver.event(removed, event_id="EvVOTE0TAKENBACK").status == 200
    wait_until(lambda: kept(db, "EvVOTE0TAKENBACK") == 1)

    late = driver.event(added, event_id="EvVOTE0LATE", retry_num=1, retry_reason="http_error")

    assert late.status == 200
    wait_until(lambda: kept(db, "EvVOTE0LATE") == 1)
    assert_stays(lambda: (votes_on(db, ballot), votes_version(db, ballot.entry_id)), (set(), 0))
    assert "no votes yet" in tally(slack, ballot)


def test_a_revoked_token_retried_after_a_reinstall_does_not_uninstall_again(driver, slack, db):
    install(driver, slack)
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}, "event_ts": slack.next_ts()}
    assert driver.event(revoked, event_id="EvTOKENS0LATE").status == 200
    assert workspace_row(db).uninstalled_at is not None  # stored before the answer
    reinstall(slack, db)
    assert workspace_row(db).uninstalled_at is None

    assert driver.event(revoked, event_id="EvTOKENS0LATE", retry_num=2, retry_reason="http_timeout").status == 200

    def state():
        return workspace_row(db).uninstalled_at, logged(db, "workspace", "uninstalled"), kept(db, "EvTOKENS0LATE")

    assert_stays(state, (None, 1, 1))


def edit_event(reply: dict, text: str, *, at: str) -> dict[str, Any]:
    """The `message_changed` event Slack sends when the reply's author edits it (at `at`)."""
    edited = {**reply_event(reply, "channel"), "text": text, "edited": {"user": reply["user"], "ts": at}}
    for key in ("channel_type", "event_ts", "channel"):
        edited.pop(key)
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": reply["channel"],
        "ts": at,
        "event_ts": at,
        "message": edited,
        "previous_message": reply_event(reply, "channel"),
        "channel_type": "channel",
    }


def deletion_event(reply: dict, *, at: str) -> dict[str, Any]:
    """The `message_deleted` event Slack sends when the reply is deleted (at `at`)."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": reply["channel"],
        "ts": at,
        "event_ts": at,
        "deleted_ts": reply["ts"],
        "previous_message": reply_event(reply, "channel"),
        "channel_type": "channel",
    }


@pytest.mark.parametrize("later", ["edited", "deleted"])
def test_a_retro_reply_retried_after_it_was_edited_or_deleted_stays_as_it_was_left(later, driver, slack, db):
    rockets(driver, slack, members=(BEN,))
    retro_ts = close_with_retro(slack, db, "Rockets", ROCKET)
    reply = slack.add_message(ROCKET, BEN, "1) We learned to ship on Fridays", thread_ts=retro_ts)
    posted = reply_event(reply, "channel")
    assert driver.event(posted, event_id="EvRETRO0POSTED").status == 200
    wait_until(lambda: retro_answers(db, reply["ts"]) == [(BEN, 1, "We learned to ship on Fridays")])
    if later == "edited":
        change = edit_event(reply, "2. Stop the Friday demo", at=slack.next_ts())
        left = [(BEN, 2, "Stop the Friday demo")]
    else:
        change, left = deletion_event(reply, at=slack.next_ts()), []
    assert driver.event(change, event_id="EvRETRO0LATER").status == 200
    wait_until(lambda: retro_answers(db, reply["ts"]) == left)

    # Slack heard no ack for the reply in time: its second retry comes a minute later, after the change
    late = driver.event(posted, event_id="EvRETRO0POSTED", retry_num=2, retry_reason="http_timeout")

    assert late.status == 200
    assert_stays(lambda: retro_answers(db, reply["ts"]), left, duration=0.6)


# 2. Slack's Web API failing under every kind of work =====================================================

UTC_ZONE = ZoneInfo("UTC")
GROWTH_MENTION = "<#C0GROWTH|team-growth>"
# every Web API method a sweep calls
SWEEP_METHODS = (
    "auth.test",
    "users.info",
    "conversations.open",
    "conversations.join",
    "conversations.history",
    "conversations.replies",
    "chat.postMessage",
    "chat.update",
    "reactions.get",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
)
# the calls that change something in Slack: a timeout on one of them leaves the bot unsure whether it worked
EFFECTFUL = ("chat.postMessage", "chat.update", "files.completeUploadExternal")
# the claims a busy Monday ends with, by kind: every scheduled message once
BUSY_MONDAY_CLAIMS = {
    CHECKIN_KIND: 2,  # Ben's (sent before) and Cleo's
    REMINDER_KIND: 1,  # in Ben's DM's thread
    SUMMARY_KIND: 1,
    CHART_KIND: 1,
    HEADER_KIND: 2,  # the sprint's (posted before) and the triage's
    ITEM_KIND: 2,
    ROUND_SUMMARY_KIND: 1,  # the sprint's result, in its thread
    RESET_NOTICE_KIND: 1,
    RIPPLE_NOTICE_KIND: 1,
    DIGEST_KIND: 1,
    PICTURE_KIND: 1,
}


@dataclass(frozen=True)
class BusyMonday:
    """Everything the sweep does is due at `now`, in this order: Rockets' weekly summary and its chart, Cleo's
    weekly check-in DM, the reminder in the thread of Ben's DM (sent earlier); closing the sprint pick (its
    deadline passed) and posting a triage round (Slack failed while `/okr triage start` posted it); Growth's
    reset notice (its cycle ends in three days); the notice of a ripple Rockets declared on Growth while Slack
    failed; and the workspace's weekly digest in #general, with its picture of the ripples."""

    now: datetime
    week: date  # the check-in week that is due
    rockets: int
    growth: int
    sprint: int  # round ids
    triage: int


def team_id(db: Database, name: str) -> int:
    with db.read() as session:
        return session.scalars(select(Team.id).where(Team.name == name)).one()


def schedule_row(db: Database, team: int, kind: ScheduleKind, user: str = "") -> Schedule:
    with db.read() as session:
        query = select(Schedule).where(Schedule.team_id == team, Schedule.kind == kind, Schedule.user_id == user)
        return session.scalars(query).one()


def round_row(db: Database, round_id: int) -> Round:
    with db.read() as session:
        return session.get(Round, round_id)


def failed_posts(slack: FakeSlack) -> int:
    return len([c for c in slack.calls_to("chat.postMessage") if not c.ok])


def sweeper(slack: FakeSlack, database_url: str, db: Database, *, timeout: int | None = None) -> Sweeper:
    """The sweep as `okr-bot serve` runs it (429s waited out, nothing resent blindly); with `timeout`, its client
    gives up on an answer after that many seconds."""
    if timeout is None:
        return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker="test")
    impatient = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, timeout=timeout, resend=False)
    return Sweeper(db, lambda _workspace: impatient, worker="impatient")


def busy_monday(driver: SlackDriver, slack: FakeSlack, db: Database, database_url: str) -> BusyMonday:
    for user, name in ((BEN, "ben"), (CLEO, "cleo")):  # the owners live in UTC: their check-in hour has come
        slack.add_user(user, name, real_name=f"{name.title()} Member", tz="UTC")
    now = datetime.now(UTC)
    checkin = now - timedelta(hours=2)  # the teams' weekly check-in time
    week = schedule.week_of(now, weekday=checkin.weekday(), hour=checkin.hour, zone=UTC_ZONE)
    rockets(driver, slack, members=(BEN, CLEO))
    create_team(driver, slack, "Growth", user=BEN, channel=GROWTH)
    ids = team_id(db, "Rockets"), team_id(db, "Growth")
    with db.transaction() as session:
        team = session.get(Team, ids[0])
        team.timezone, team.checkin_weekday, team.checkin_hour = "UTC", checkin.weekday(), checkin.hour
        team.cycle_anchor = (now - timedelta(days=7)).date()
        # the bot has met them before: it knows their zone, as in any week after their first
        session.add_all(Person(workspace_id=team.workspace_id, user_id=user, timezone="UTC") for user in (BEN, CLEO))
    commit(db)  # key result 1.1 is Ben's, 1.2 Cleo's
    add_backlog(db, "Export to CSV", key_result="1.1")
    okr(driver, slack, "sprint start")
    sprint = posted_round(db, RoundKind.SPRINT).id

    # Ben's DM of this week goes out first, in a sweep of its own
    with db.transaction() as session:
        session.execute(
            update(Schedule)
            .where(Schedule.team_id == ids[0], Schedule.user_id == BEN)
            .values(week_start=week, due_at=now - MINUTE)
        )
    assert sweeper(slack, database_url, db).run(now)["sent"] == 1

    # Slack fails while a triage round is posted, and while a ripple's notice is: both are left to the sweep
    add_backlog(db, "Dark mode")
    slack.fail_next("chat.postMessage", "internal_error", status=500)  # the header: Slack may or may not have it
    failed = failed_posts(slack)
    assert "Triage started" in okr(driver, slack, "triage start").text
    assert failed_posts(slack) == failed + 1
    slack.fail_next("chat.postMessage", "internal_error")  # Slack answers {"ok": false, "error": "internal_error"}
    declared = okr(driver, slack, f"ripple {GROWTH_MENTION} 1.2 Our onboarding change doubles their sign-ups")
    assert "tries again within a few minutes" in declared.text, declared.text
    with db.read() as session:
        triage = session.scalars(select(Round.id).where(Round.kind == RoundKind.TRIAGE)).one()
        assert session.scalars(select(Ripple.notice_done_at)).one() is None

    digest_at = now - timedelta(days=3)  # the digest's weekly moment: the latest was three days ago
    with db.transaction() as session:
        # last week's summary, late: Ben checked in that week (this week's waits for this week's reminders)
        session.execute(
            update(Schedule)
            .where(Schedule.team_id == ids[0], Schedule.kind == ScheduleKind.SUMMARY)
            .values(week_start=week - timedelta(days=7), due_at=now - 2 * MINUTE)
        )
        bens = session.scalars(select(KeyResult).where(KeyResult.owner_user_id == BEN)).one()
        last_week = week - timedelta(days=7)
        session.add(
            CheckIn(
                workspace_id=bens.workspace_id,
                key_result_id=bens.id,
                value=30,
                confidence=8,
                week_start=last_week,
                author_user_id=BEN,
                created_at=now - timedelta(days=6),
            )
        )
        session.execute(
            update(Schedule)
            .where(Schedule.team_id == ids[0], Schedule.user_id == CLEO)
            .values(week_start=week, due_at=now - MINUTE)
        )
        session.execute(update(Schedule).where(Schedule.user_id == BEN).values(remind_at=now - MINUTE))
        session.execute(update(Round).where(Round.id == sprint).values(closes_at=now - MINUTE))
        growth = session.get(Team, ids[1])
        growth.cycle_anchor = now.date() - timedelta(days=CYCLE_DAYS - 3)
        growth.reset_at = growth.reset_notice_at = None  # planned again by the sweep, from the new dates
        workspace = session.scalars(select(Workspace)).one()
        workspace.digest_channel_id, workspace.digest_due_at = GENERAL, now - MINUTE
        workspace.digest_weekday, workspace.digest_hour = digest_at.weekday(), digest_at.hour
    # Growth has committed an objective in the cycle that ends (a cycle with nothing committed gets no notice);
    # nobody owns its key results yet, so nobody is asked to check in
    commit(
        db,
        "Growth",
        title="More teams find and try us",
        key_results=[{**kr, "owner": None} for kr in factories.KEY_RESULTS],
    )
    return BusyMonday(datetime.now(UTC), week, *ids, sprint, triage)


def claims(db: Database) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).order_by(SendClaim.id)))


def claim_states(db: Database) -> dict[str, Counter]:
    """How many claims of each kind are in each state."""
    found: dict[str, Counter] = {}
    for claim in claims(db):
        found.setdefault(claim.kind, Counter())[claim.state.value] += 1
    return found


def bot_messages(slack: FakeSlack) -> list[dict]:
    """Every message the bot has in Slack: the team channels, #general, and each DM, replies in threads too."""
    channels = (ROCKET, GROWTH, GENERAL, *(slack.dm_channel_id(user) for user in (ADA, BEN, CLEO)))
    return [m for channel in channels for m in slack.messages(channel) if m.get("user") == "U0BOT"]


def claimed_in_slack(slack: FakeSlack) -> Counter:
    """How many messages in Slack carry each claim (the metadata every scheduled message is posted with)."""
    return Counter(
        ((m.get("metadata") or {}).get("event_payload") or {}).get("claim")
        for m in bot_messages(slack)
        if (m.get("metadata") or {}).get("event_type") == "okr_bot_send"
    )


def sweep_until_quiet(sweep: Sweeper, start: datetime, *, rounds: int = 8) -> list[Counter]:
    """Sweep a minute apart until nothing is left to do."""
    reports, now = [], start
    for _ in range(rounds):
        report = sweep.run(now)
        reports.append(report)
        if not report:
            return reports
        now += MINUTE
    raise AssertionError(f"still something to do after {rounds} sweeps: {reports}")


def assert_every_message_once(slack: FakeSlack, db: Database, world: BusyMonday, reports: list[Counter]) -> None:
    """Each scheduled message is in Slack once, its claim final; each piece of work has moved on."""
    assert not any(r["error"] or r["round_error"] for r in reports), reports
    assert claim_states(db) == {kind: Counter(sent=n) for kind, n in BUSY_MONDAY_CLAIMS.items()}
    in_slack = claimed_in_slack(slack)
    duplicates = {claim: n for claim, n in in_slack.items() if n > 1}
    assert not duplicates, f"posted more than once: {duplicates}"
    for claim in claims(db):  # every claim's message is the one Slack has
        if claim.message_ts:
            assert slack.message(claim.channel_id, claim.message_ts), claim.kind
    posted = {name for name in in_slack if name}
    assert {f"{c.kind}:{c.claim_key}" for c in claims(db) if c.kind not in (CHART_KIND, PICTURE_KIND)} == posted
    files = Counter(f["name"] for m in bot_messages(slack) for f in m.get("files") or [])
    assert sorted(files.values()) == [1, 1] and len(slack.uploads) == 2, files  # the chart and the picture

    # what a person sees: one DM for Cleo, one reminder under Ben's, one notice of each kind in #team-growth
    cleo = [m for m in slack.messages(slack.dm_channel_id(CLEO)) if not m.get("thread_ts")]
    ben = slack.messages(slack.dm_channel_id(BEN))
    assert len(cleo) == 1 and "Rockets" in shown(cleo[0]), [shown(m) for m in cleo]
    assert [m.get("thread_ts") in (None, m["ts"]) for m in ben] == [True, False], [shown(m) for m in ben]
    growth = [m.get("text") or "" for m in slack.messages(GROWTH) if m.get("user") == "U0BOT"]
    assert len([t for t in growth if t.startswith("R1: ")]) == 1, growth  # the ripple's notice
    assert len([t for t in growth if "Cycle 1 of Growth ends on" in t]) == 1, growth  # the reset's

    # and the work moved on
    assert schedule_row(db, world.rockets, ScheduleKind.CHECKIN, CLEO).week_start == world.week + schedule.WEEK
    assert schedule_row(db, world.rockets, ScheduleKind.CHECKIN, BEN).remind_at is None
    assert schedule_row(db, world.rockets, ScheduleKind.SUMMARY).week_start == world.week  # last week's was posted
    assert round_row(db, world.sprint).finished_at is not None
    assert round_row(db, world.triage).header_ts is not None
    with db.read() as session:
        assert session.scalar(select(func.count()).where(RoundItem.message_ts.is_(None))) == 0
        ripple = session.scalars(select(Ripple)).one()
        assert ripple.notice_done_at is not None and ripple.notice_ts is not None
        assert session.get(Team, world.growth).reset_notice_at > world.now  # next cycle's
        assert session.scalars(select(Workspace)).one().digest_due_at > world.now


def test_a_busy_monday_through_5xx_on_every_call_is_delivered_once_when_slack_recovers(driver, slack, db, database_url):
    world = busy_monday(driver, slack, db, database_url)
    for method in SWEEP_METHODS:
        slack.fail_share(method, 1.0, error="internal_error", status=500)
    posted = len([c for c in slack.calls_to("chat.postMessage") if c.ok])

    failing = sweeper(slack, database_url, db).run(world.now)

    slack.clear_faults()
    # Cleo's DM, the summary, Ben's reminder, the reset notice, the ripple notice and the digest wait for the next
    # sweep; the sprint's votes are counted and its items moved (its result is told later); the triage waits
    assert failing == {"retry": 6, "round_closed": 1, "round_finished:retry": 1, "round_posted:retry": 1}, failing
    assert len([c for c in slack.calls_to("chat.postMessage") if c.ok]) == posted and not slack.uploads
    # each send tried is left claimed for a later look (a 5xx may hide a post Slack made); Cleo's DM was not
    # claimed yet (Slack failed to say who she is)
    unknown = {c.kind for c in claims(db) if c.state is ClaimState.CLAIMED}
    assert unknown == set(BUSY_MONDAY_CLAIMS) - {CHECKIN_KIND, ITEM_KIND, PICTURE_KIND}, claim_states(db)
    reports = sweep_until_quiet(sweeper(slack, database_url, db), world.now + MINUTE)
    assert_every_message_once(slack, db, world, [failing, *reports])


def test_a_busy_monday_whose_answers_never_come_is_not_posted_twice(driver, slack, db, database_url):
    world = busy_monday(driver, slack, db, database_url)
    posted = len([c for c in slack.calls_to("chat.postMessage") if c.ok])
    for method in EFFECTFUL:  # Slack does each at once; the client stops waiting for the answer after 1 s
        slack.hold_next(method, 1.5, times=20)

    unsure = sweeper(slack, database_url, db, timeout=1).run(world.now)

    slack.clear_faults()
    assert unsure["error"] == 0 and unsure["round_error"] == 0, unsure
    # Slack has the first message of each piece of work; the bot does not know, so each claim stays open for a
    # later look (what comes after it in a thread or a digest waits)
    unknown = {c.kind for c in claims(db) if c.state is ClaimState.CLAIMED}
    assert unknown == set(BUSY_MONDAY_CLAIMS) - {ITEM_KIND, PICTURE_KIND}, (unsure, claim_states(db))
    assert len([c for c in slack.calls_to("chat.postMessage") if c.ok]) == posted + 8
    reports = sweep_until_quiet(sweeper(slack, database_url, db), world.now + MINUTE)
    assert slack.calls_to("conversations.history") and slack.calls_to("conversations.replies")
    assert_every_message_once(slack, db, world, [unsure, *reports])


STORM_ANSWERS = 4  # the storm lasts until Slack has answered this many calls with 429: one call given up on


def test_a_busy_monday_through_a_429_storm_is_delivered_once(driver, slack, db, database_url):
    world = busy_monday(driver, slack, db, database_url)
    for method in SWEEP_METHODS:
        slack.fail_share(method, 1.0, error="ratelimited", status=429, retry_after=1)
    lifted = threading.Event()

    def lift() -> None:  # Slack rate-limits every call until it has said so STORM_ANSWERS times
        wait_until(lambda: len([c for c in slack.calls if c.status == 429]) >= STORM_ANSWERS, timeout=60)
        slack.clear_faults()
        lifted.set()

    posts = len(slack.calls_to("chat.postMessage"))
    storm = threading.Thread(target=lift)
    storm.start()
    try:
        first = sweeper(slack, database_url, db).run(world.now)
    finally:
        storm.join(timeout=60)
    assert lifted.is_set()

    assert first["error"] == 0 and first["round_error"] == 0, first
    # the summary's post, the sweep's first call, got 429 four times running (the client's try and its three
    # waits): Slack did nothing, so its claim was given back for the next sweep
    assert first["retry"] >= 1, first
    assert SUMMARY_KIND not in claim_states(db), claim_states(db)
    assert [c.status for c in slack.calls_to("chat.postMessage")[posts : posts + 4]] == [429] * 4
    reports = sweep_until_quiet(sweeper(slack, database_url, db), world.now + MINUTE)
    assert_every_message_once(slack, db, world, [first, *reports])


# what a command or a click asks of Slack -------------------------------------------------------------------


def views_open(slack: FakeSlack) -> list[int]:
    return [c.status for c in slack.calls_to("views.open")]


def settings_form(driver: SlackDriver, slack: FakeSlack, *, calls: int) -> dict:
    """`/okr team settings`: the form Slack opened once the bot's `calls`-th views.open got through."""
    result = driver.command("team settings", user=ADA, channel=ROCKET)
    assert result.status == 200 and not result.body, result.text
    call = slack.wait_for("views.open", count=calls, timeout=10)
    assert call.ok, views_open(slack)
    return call.response["view"]


def test_a_form_opens_once_through_a_429_and_a_5xx_and_slack_failing_for_good_is_explained(driver, slack, db):
    create_team(driver, slack, "Rockets")
    answered = len(slack.responses)

    # the client waits Retry-After (1 to 2 s) and tries again; a form's trigger lives 3 s, so on a slow machine the
    # wait can outlast it: then Slack refuses the trigger and the person hears so, instead of a form
    slack.rate_limit_next("views.open", retry_after=1)
    result = driver.command("team settings", user=ADA, channel=ROCKET)
    assert result.status == 200 and not result.body, result.text
    retried = slack.wait_for("views.open", count=2, timeout=10)
    assert views_open(slack) == [429, 200]
    if retried.ok:
        assert [v["id"] for v in slack.open_views(ADA)] == [retried.response["view"]["id"]]
        driver.close_view(retried.response["view"]["id"], user=ADA)
    else:
        assert retried.response["error"] == "expired_trigger_id", retried.response
        told = shown(slack.wait_for_response(count=answered + 1)["body"])
        assert "Slack would not open the settings form (expired_trigger_id)" in told, told
        assert slack.open_views(ADA) == []
        answered += 1

    slack.fail_next("views.open", "service_unavailable", status=503)  # retried after a short backoff
    view = settings_form(driver, slack, calls=4)
    assert views_open(slack)[2:] == [503, 200]
    assert [v["id"] for v in slack.open_views(ADA)] == [view["id"]]
    driver.close_view(view["id"], user=ADA)
    assert len(slack.responses) == answered  # nothing to say: the form opened

    slack.fail_next("views.open", "internal_error", status=500, times=3)  # more than the client retries
    reply = okr(driver, slack, "team settings")
    assert "Slack would not open the settings form (internal_error)" in reply.text, reply.text
    assert views_open(slack)[4:] == [500, 500, 500]
    assert slack.open_views(ADA) == []


def _check_in_button(driver: SlackDriver, slack: FakeSlack, db: Database) -> tuple[str, str, str, str]:
    """Ben's `/okr checkin` answer with a **Check in** button per key result: (action, value, channel, ts)."""
    rockets(driver, slack, members=(BEN,))
    objective_id = commit(db)
    okr(driver, slack, "checkin", user=BEN)
    message = latest_ephemeral(slack, BEN)
    kr_id = key_results(db, objective_id)[0].id
    return "checkin_open", str(kr_id), message["channel"], message["ts"]


def _reply_button(driver: SlackDriver, slack: FakeSlack, db: Database) -> tuple[str, str, str, str]:
    """The **Reply in thread** button of a ripple's notice in Growth's channel, where Ben is."""
    rockets(driver, slack, members=())
    create_team(driver, slack, "Growth", user=BEN, channel=GROWTH)
    commit(db)
    okr(driver, slack, f"ripple {GROWTH_MENTION} 1.2 Our onboarding change doubles their sign-ups")
    (notice,) = [m for m in slack.messages(GROWTH) if (m.get("text") or "").startswith("R1: ")]
    return "ripple_reply_open", "1", GROWTH, notice["ts"]


BUTTONS = {"check in": _check_in_button, "reply to a ripple": _reply_button}


@pytest.mark.parametrize(
    "button",
    [
        "check in",
        "reply to a ripple",
    ],
)
def test_a_button_whose_form_slack_keeps_failing_to_open_tells_the_person(button, driver, slack, db):
    action_id, value, channel, ts = BUTTONS[button](driver, slack, db)
    answered, whispered = len(slack.responses), len(slack.ephemerals)
    slack.fail_next("views.open", "internal_error", status=500, times=3)

    assert driver.click(user=BEN, action_id=action_id, value=value, channel=channel, ts=ts).status == 200

    slack.wait_for("views.open", count=3, timeout=10)  # the client's try and its two retries, all refused
    assert slack.open_views(BEN) == []

    def told() -> list[str]:
        return [shown(r["body"]) for r in slack.responses[answered:]] + [
            shown(e) for e in slack.ephemerals[whispered:] if e.get("user") == BEN
        ]

    try:
        wait_until(lambda: any("would not open the form (internal_error)" in text for text in told()), timeout=1)
    except AssertionError:
        raise AssertionError(f"{BEN} clicked {button!r} and was told {told()!r}") from None


def digest_parts(slack: FakeSlack) -> list[str]:
    return [m["text"] for m in slack.messages(GENERAL) if m.get("user") == "U0BOT"]


def digest_posts(slack: FakeSlack) -> list[int]:
    """The statuses Slack answered the bot's chat.postMessage calls to #general with."""
    return [c.status for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == GENERAL]


def test_a_digest_posted_by_command_goes_out_once_through_a_429_and_a_5xx_and_a_refusal_is_explained(driver, slack, db):
    create_team(driver, slack, "Rockets")

    slack.rate_limit_next("chat.postMessage", retry_after=1)  # Slack did nothing: waited out and sent again
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Posted this week's digest in <#C0GENERAL>" in reply.text, reply.text
    first = digest_parts(slack)
    assert first and digest_posts(slack)[:2] == [429, 200]
    assert not slack.calls_to("conversations.history")  # a 429 leaves nothing to look for
    parts = len(first)

    # a 503 may hide a post Slack made: the channel is read back first, and the part posted again as it is not there
    slack.fail_next("chat.postMessage", "internal_error", status=503)
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Posted this week's digest in <#C0GENERAL>" in reply.text, reply.text
    assert digest_parts(slack) == first * 2  # each command's digest once
    assert digest_posts(slack)[parts + 1 :] == [503] + [200] * parts
    assert len(slack.calls_to("conversations.history")) == 1

    # so is Slack's fatal_error ("some of the operation may have succeeded")
    slack.fail_next("chat.postMessage", "fatal_error")
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Posted this week's digest in <#C0GENERAL>" in reply.text, reply.text
    assert digest_parts(slack) == first * 3
    assert len(slack.calls_to("conversations.history")) == 2

    # Slack failing every time: three posts, each after the channel was read back without it; the person is told
    history = len(slack.calls_to("conversations.history"))
    slack.fail_next("chat.postMessage", "internal_error", status=500, times=3)
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Slack would not post the digest in <#C0GENERAL> (internal_error)" in reply.text, reply.text
    assert digest_parts(slack) == first * 3 and digest_posts(slack)[-3:] == [500, 500, 500]
    assert len(slack.calls_to("conversations.history")) == history + 2

    # a refusal is the same the next time: neither read back nor tried again
    posted, history = len(digest_posts(slack)), len(slack.calls_to("conversations.history"))
    slack.fail_next("chat.postMessage", "is_archived")
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Slack would not post the digest in <#C0GENERAL> (is_archived)" in reply.text, reply.text
    assert len(digest_posts(slack)) == posted + 1 and len(slack.calls_to("conversations.history")) == history
    assert digest_parts(slack) == first * 3
