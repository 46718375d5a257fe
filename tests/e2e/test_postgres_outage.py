"""PostgreSQL stopped during traffic and started again: requests during the outage get a polite answer, the bot
recovers on its own, and nothing accepted before the outage is lost.

On a PostgreSQL server this module starts for itself (the suite's shared server must stay up for the other tests
of the worker), stopped by a fast shutdown or killed outright, then started again on the same data directory and
port:
- while it is down, a slash command gets HTTP 200 with a polite ephemeral "can't reach its database", an event or
  an interaction gets a 503 (Slack retries the event, and keeps the form open), nothing gets a 500, and /healthz
  says 503;
- a command, a vote and a check-in form caught in flight by the stop end the same polite way;
- once the server is back, the same bot process serves again without being restarted (its connection pool
  reconnects by itself): /healthz says 200 at once, and commands, votes and check-ins are taken;
- everything the bot confirmed before the outage is in the database; events Slack redelivers after being refused
  (same event_id, with retry_num) are applied exactly once; a vote whose event was acknowledged but could not be
  stored is taken from Slack's reactions when the triage closes, once.

The bot is the production WSGI app under waitress, served in this process by `serve_bot` with the engine and pool
`okr-bot serve` builds, rather than as an `okr-bot serve` subprocess: what an outage exercises is that engine, its
pool and the bot's error handling, which are the same objects either way, while a subprocess would add seconds of
start-up per test and hide which request was in flight when the server went away. The scheduler plays no part.
"""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.rituals.triage import HELPS
from bot.sandbox import FakeSlack, SlackDriver
from bot.web import EVENTS_PATH
from storage.db import Database
from storage.migrate import upgrade
from storage.models import BacklogItem, EventLog, Membership, ProcessedEvent, Team
from tests import factories
from tests.conftest import PG_MISSING, SIGNING_SECRET, RunningBot, sandbox_settings, serve_bot
from tests.e2e.okr_support import (
    PostedRound,
    add_backlog,
    checkin_values,
    choose_in_home,
    commit,
    key_results,
    latest_ephemeral,
    posted_round,
    reaction_event,
    rockets,
    stored_votes,
)
from tests.e2e.support import STACK_TRACE_MARKERS, command_form, encode_form, okr, shown, wait_until
from tests.support.postgres import PostgresServer, find_pg_bindir

pytestmark = pytest.mark.postgres

TEMPLATE = "okr_outage_template"
CHANNEL = "C0ROCKET"
CHECKIN_CHANNEL = "C0GENERAL"  # where Ben types `/okr checkin`: the bot answers him nothing else there
POLITE = "can't reach its database"
HOW = ("fast shutdown", "crash")
VOTERS = 100  # members who vote, each ✅ on one item at a time: VOTERS × 3 different votes at most
_names = itertools.count()


# the server this module stops ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outage_server(backend: str) -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module's own, with a migrated template database."""
    assert backend == "postgresql"
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(PG_MISSING)
    server = PostgresServer(bindir).start()
    try:
        upgrade(server.create_database(TEMPLATE))
        yield server
    finally:
        server.stop()


@dataclass
class World:
    server: PostgresServer
    name: str  # the database's name on the server
    db: Database  # the test's own engine, for reading what the bot stored
    bot: RunningBot
    driver: SlackDriver
    slack: FakeSlack


@pytest.fixture
def world(outage_server: PostgresServer, slack: FakeSlack) -> Iterator[World]:
    """A fresh database on the module's server and the bot served against it, its engine its own."""
    name = f"okr_outage_{next(_names)}"
    url = outage_server.create_database(name, template=TEMPLATE)
    bot_db, test_db = Database(url), Database(url)
    running, stop = serve_bot(sandbox_settings(slack, url), bot_db)
    driver = SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    try:
        yield World(outage_server, name, test_db, running, driver, slack)
    finally:
        stop()
        bot_db.dispose()
        test_db.dispose()
        if not outage_server.running:  # a test failed during its outage: the next one needs the server up
            outage_server.restart()


def go_down(server: PostgresServer, how: str) -> None:
    """Fast shutdown (SIGINT: sessions are ended, the data directory stays), or a crash (SIGKILL)."""
    if how == "fast shutdown":
        assert server.process is not None
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=30)
    else:
        server.kill()
    assert not server.running


def health(bot: RunningBot) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(bot.url + "/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


# what a person or Slack sends ---------------------------------------------------------------------------------


def command(world: World, text: str, *, user: str, channel: str = CHANNEL) -> tuple[int, str]:
    """`/okr text` as Slack sends it: (HTTP status, what the person reads: the ack, or the reply to this very
    command's response_url). Safe to call from several threads at once."""
    fields = command_form(world.slack, text, user=user, channel=channel)
    url_id = fields["response_url"].rsplit("/", 1)[1]
    body = encode_form(fields)
    result = world.driver.send_raw(
        body, {"Content-Type": "application/x-www-form-urlencoded", **world.driver.sign(body)}
    )
    ack = result.json if isinstance(result.json, dict) else None
    if result.status != 200:
        return result.status, result.text
    if ack and (ack.get("text") or ack.get("blocks")):
        return 200, shown(ack)
    reply = world.slack.wait_for_response(lambda r: r["url_id"] == url_id, timeout=15)
    return 200, shown(reply["body"])


def vote_event(slack: FakeSlack, voter: str, ts: str) -> dict:
    """A ✅ added in Slack, and the event telling the bot (its `event_ts` fixed, as on every retry of it)."""
    slack.add_reaction(CHANNEL, ts, voter, HELPS)
    return reaction_event("reaction_added", voter, CHANNEL, ts, HELPS) | {"event_ts": slack.next_ts()}


def open_checkin(world: World, user: str, kr_id: int, source: dict) -> tuple[int, str | None]:
    """Click **Check in** on the `/okr checkin` reply: (HTTP status, the id of the form Slack opened)."""

    def told() -> int:  # a refusal (the reply to the click) instead of a form
        return len([e for e in world.slack.ephemerals if e["channel"] == source["channel"] and e["user"] == user])

    opened, refused = len(world.slack.calls_to("views.open")), told()
    clicked = world.driver.click(
        user=user, action_id="checkin_open", value=str(kr_id), channel=source["channel"], ts=source["ts"]
    )
    if clicked.status != 200:
        return clicked.status, None
    wait_until(lambda: len(world.slack.calls_to("views.open")) > opened or told() > refused, timeout=15)
    calls = world.slack.calls_to("views.open")[opened:]
    return 200, calls[0].response["view"]["id"] if calls and calls[0].ok else None


# what the database holds ---------------------------------------------------------------------------------------


def backlog_texts(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.scalars(select(BacklogItem.text)))


def team_names(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Team.name)))


def teams_of(db: Database, user: str) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Team.name).join(Membership).where(Membership.user_id == user)))


def checked_in_values(db: Database) -> Counter[float]:
    with db.read() as session:
        rows = session.scalars(select(EventLog.data).where(EventLog.action == "checked_in"))
        return Counter(float(data["value"]) for data in rows)


def votes_logged(db: Database) -> Counter[tuple[str, int]]:
    """Each (voter, backlog item) whose ✅ was recorded as a change, by an event or at the close."""
    with db.read() as session:
        rows = session.execute(
            select(EventLog.actor_user_id, EventLog.entity_id).where(EventLog.action == "voted")
        ).all()
    return Counter((actor, item_id) for actor, item_id in rows)


def processed(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.scalars(select(ProcessedEvent.event_id)))


def voter(n: int) -> str:
    return f"U1V{n:03d}"


def triage_world(world: World) -> tuple[PostedRound, int, dict]:
    """Rockets (Ada, Ben, Cleo, and VOTERS more members, who joined as tests/e2e/test_teams.py types it) with
    committed OKRs, three inbox items put to a triage, and Ben's `/okr checkin` reply (its **Check in** buttons):
    the round, Ben's key result, and where the reply is."""
    rockets(world.driver, world.slack, members=("U0BEN", "U0CLEO"))
    with world.db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name == "Rockets")).one()
        for n in range(VOTERS):
            world.slack.add_user(voter(n), f"voter{n}", tz="UTC")
            factories.member(session, team, voter(n))
    ben_kr = key_results(world.db, commit(world.db))[0]
    assert ben_kr.owner_user_id == "U0BEN"
    add_backlog(world.db, "Shorter sign-up form", "Dark mode", "Onboarding checklist")
    okr(world.driver, world.slack, "triage start")
    posted = posted_round(world.db)
    reply = okr(world.driver, world.slack, "checkin", user="U0BEN", channel=CHECKIN_CHANNEL)
    assert "Check in" in reply.text, reply.text
    return posted, ben_kr.id, latest_ephemeral(world.slack, "U0BEN")


# traffic -------------------------------------------------------------------------------------------------------


@dataclass
class Request:
    kind: str
    key: str  # what it would write: a backlog text, an event id, a check-in value, a team
    started: str  # the phase when it was sent…
    status: int
    reply: str = ""  # what the person read (commands)
    accepted: bool = False
    ended: str = ""  # …and when its answer came
    confirmed: bool = False  # a vote the test saw stored before the outage


@dataclass
class Traffic:
    """Requests of several kinds, each from its own thread, through four phases: "before" the outage, "down" (the
    server is stopped), "restarting" (being started again) and "after"."""

    phase: str = "before"
    requests: list[Request] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    steady: threading.Lock = field(default_factory=threading.Lock)  # held by steps that must not straddle a change
    form: dict = field(default_factory=lambda: {"view": None, "value": None})  # the check-in form open, if any
    events: dict[str, dict] = field(default_factory=dict)  # each vote's event, by event_id, as Slack retries it
    finished: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def during_outage(self, kind: str) -> list[Request]:
        """Sent after the server was down, answered before it was being started again."""
        with self.lock:
            return [r for r in self.requests if r.kind == kind and r.started == r.ended == "down"]

    def accepted(self, kind: str, phase: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.kind == kind and r.accepted and r.started == phase]

    def enough(self, kind: str, phase: str) -> bool:
        if phase == "down":
            return len(self.during_outage(kind)) >= 2
        if phase == "after":
            return len(self.accepted(kind, "after")) >= 3
        return phase == "restarting"

    def start(self, kind: str, step: Callable[[int, str], Request | None]) -> None:
        def loop() -> None:
            n = 0
            while not self.finished.is_set():
                phase = self.phase
                if self.enough(kind, phase):
                    self.finished.wait(0.02)
                    continue
                try:
                    request = step(n, phase)
                except BaseException as error:  # reported by the test, in its own thread
                    self.failures.append(error)
                    return
                if request is None:  # nothing left to send
                    self.finished.wait(0.02)
                    continue
                request.ended = self.phase
                with self.lock:
                    self.requests.append(request)
                n += 1
                self.finished.wait(0.02)  # a person's pace, not a flood

        thread = threading.Thread(target=loop, name=f"traffic-{kind}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self.finished.set()
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in self.threads)
        assert not self.failures, self.failures

    def of(self, kind: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.kind == kind]


KINDS = ("backlog", "team", "vote", "checkin")


def start_traffic(world: World, traffic: Traffic, posted: PostedRound, kr_id: int, source: dict) -> None:
    def backlog(n: int, phase: str) -> Request:
        text = f"Outage idea {n}"
        status, reply = command(world, f"backlog add {text}", user="U0BEN")
        return Request("backlog", text, phase, status, reply, accepted="Added to the inbox of *Rockets*" in reply)

    # a team is created, then Cleo joins it; each attempt is made once (a refused one is not typed again, so no
    # answer can be "already exists" about an attempt that was saved just as the server went away)
    squad = {"number": 0, "created": False}

    def team(n: int, phase: str) -> Request:
        number = squad["number"]
        channel, name = f"C1SQ{number:03d}", f"Squad {number}"
        if not squad["created"]:
            world.slack.add_channel(channel, f"squad-{number}", members=("U0ADA", "U0CLEO"))
            status, reply = command(world, f"team create {name}", user="U0ADA", channel=channel)
            accepted = f"created the team *{name}*" in reply
            squad.update(number=number + (0 if accepted else 1), created=accepted)
            return Request("team", f"create {name}", phase, status, reply, accepted)
        status, reply = command(world, "team join", user="U0CLEO", channel=channel)
        squad.update(number=number + 1, created=False)
        return Request("team", f"join {name}", phase, status, reply, accepted=f"joined the team *{name}*" in reply)

    def vote(n: int, phase: str) -> Request | None:
        if n >= VOTERS * len(posted.items):
            return None  # every member has voted on every item
        ballot = posted.items[(n // VOTERS) % len(posted.items)]
        event_id = f"EvOUTAGE{n:04d}"
        traffic.events[event_id] = vote_event(world.slack, voter(n % VOTERS), ballot.ts)
        result = world.driver.event(traffic.events[event_id], event_id=event_id)
        request = Request("vote", event_id, phase, result.status, accepted=result.status == 200)
        wanted = (ballot.number, voter(n % VOTERS), HELPS)
        while request.accepted and world.server.running and traffic.phase == "before":
            try:
                if wanted in stored_votes(world.db):
                    request.confirmed = True
                    break
            except SQLAlchemyError:  # the server went away meanwhile: not known to be stored
                break
            traffic.finished.wait(0.01)
        return request

    # a form is opened in one step and sent in the next (the server stops while one is open), and sent again
    # until it is taken. Each step holds `steady`: the stop and the restart come between two steps, never in one
    form = traffic.form

    def checkin(n: int, phase: str) -> Request:
        with traffic.steady:
            if form["view"] is None:
                status, view = open_checkin(world, "U0BEN", kr_id, source)
                form.update(view=view, value=str(100 + n))
                return Request("checkin", "open", phase, status, accepted=view is not None)
            result = world.driver.submit_view(form["view"], user="U0BEN", values=checkin_values(form["value"]))
            request = Request(
                "checkin",
                form["value"],
                phase,
                result.status,
                result.text,
                accepted=result.status == 200 and not result.body,
            )
            if request.accepted:
                form.update(view=None, value=None)
            return request

    for kind, step in zip(KINDS, (backlog, team, vote, checkin), strict=True):
        traffic.start(kind, step)


@pytest.mark.parametrize("how", HOW)
def test_traffic_through_an_outage_is_answered_politely_and_nothing_confirmed_is_lost(world, how):
    posted, kr_id, source = triage_world(world)
    traffic = Traffic()
    start_traffic(world, traffic, posted, kr_id, source)
    try:
        wait_until(lambda: all(len(traffic.accepted(k, "before")) >= 3 for k in KINDS), timeout=30)

        def stopped_with_a_form_open() -> bool:
            with traffic.steady:
                if traffic.form["view"] is None:
                    return False
                go_down(world.server, how)
                traffic.phase = "down"
                return True

        wait_until(stopped_with_a_form_open, timeout=30)
        assert health(world.bot) == (503, {"ok": False, "database": "unreachable"})
        wait_until(lambda: all(len(traffic.during_outage(k)) >= 2 for k in KINDS), timeout=30)
        with traffic.steady:
            traffic.phase = "restarting"
            world.server.restart()
            traffic.phase = "after"
        # the bot was not restarted: its pool reconnects on its own, at the first request
        assert health(world.bot) == (200, {"ok": True, "database": "ok", "migrations": "ok"})
        wait_until(lambda: all(len(traffic.accepted(k, "after")) >= 3 for k in KINDS), timeout=30)
    finally:
        traffic.stop()

    # nothing got a 500: commands got 200 and a reply, forms 200 (saved, or kept open with the reason next to a
    # field), events 200 (stored) or 503 (not stored: Slack sends them again)
    for request in traffic.of("backlog") + traffic.of("team"):
        assert request.status == 200, request
        assert request.accepted or POLITE in request.reply, request
        assert not any(marker in request.reply for marker in STACK_TRACE_MARKERS), request
    assert {r.status for r in traffic.of("vote")} <= {200, 503}, traffic.requests
    assert {r.status for r in traffic.of("checkin")} == {200}, traffic.requests
    for kind in ("backlog", "team"):
        assert all(not r.accepted and POLITE in r.reply for r in traffic.during_outage(kind)), kind
    assert {r.status for r in traffic.during_outage("vote")} == {503}
    refused_forms = [r for r in traffic.during_outage("checkin") if r.key != "open"]
    assert refused_forms and all(not r.accepted and POLITE in r.reply for r in refused_forms), refused_forms

    # what was confirmed is stored, once; what was refused while the server was down is not
    texts = backlog_texts(world.db)
    assert all(texts[r.key] == 1 for r in traffic.accepted("backlog", "before") + traffic.accepted("backlog", "after"))
    assert not any(texts[r.key] for r in traffic.during_outage("backlog"))
    assert max(texts.values()) == 1
    confirmed_teams = [r.key.removeprefix("create ") for r in traffic.of("team") if r.accepted and "create" in r.key]
    assert set(confirmed_teams) <= team_names(world.db)
    joined = {r.key.removeprefix("join ") for r in traffic.of("team") if r.accepted and "join" in r.key}
    assert joined and joined <= teams_of(world.db, "U0CLEO")
    values = checked_in_values(world.db)
    sent = [r for r in traffic.of("checkin") if r.key != "open"]
    taken = [float(r.key) for r in sent if r.accepted]
    assert taken and all(values[v] == 1 for v in taken), (taken, values)
    assert set(values) == set(taken)  # a form refused during the outage was taken later, once
    assert all(float(r.key) in taken for r in sent if not r.accepted)
    votes = stored_votes(world.db)
    numbers = {int(r.key.removeprefix("EvOUTAGE")): r for r in traffic.of("vote")}
    expected = {n: (posted.items[(n // VOTERS) % len(posted.items)].number, voter(n % VOTERS), HELPS) for n in numbers}
    confirmed = [r for n, r in numbers.items() if r.confirmed]
    assert confirmed and all(expected[n] in votes for n, r in numbers.items() if r.confirmed)

    # Slack retries the events it was refused, with their event_id; each is applied once, however often it comes,
    # as are events it delivers again although they were taken
    refused = [r for r in traffic.of("vote") if r.status == 503]
    assert refused
    for retry in (1, 2):
        for request in refused + confirmed[:2]:
            assert world.driver.event(traffic.events[request.key], event_id=request.key, retry_num=retry).status == 200
        wait_until(
            lambda: all(expected[int(r.key.removeprefix("EvOUTAGE"))] in stored_votes(world.db) for r in refused),
            timeout=15,
        )
    counted = processed(world.db)
    assert all(counted[r.key] == 1 for r in refused + confirmed)

    # the close takes every ✅ Slack shows, those whose event was acknowledged as the server went away included
    status, closed = command(world, "triage close", user="U0ADA")
    assert status == 200 and "Triage of *Rockets* closed" in closed, closed
    assert stored_votes(world.db) == set(expected.values())
    items = {ballot.number: ballot.item_id for ballot in posted.items}
    logged = votes_logged(world.db)
    assert {(user, items[number]): 1 for number, user, _ in expected.values()} == dict(logged)


# caught in flight -----------------------------------------------------------------------------------------------


@contextmanager
def tables_locked(world: World, *tables: str) -> Iterator[None]:
    """Another session holds these tables, so a request that reads them waits, mid-way, for the server."""
    connection = psycopg.connect(host="127.0.0.1", port=world.server.port, user="postgres", dbname=world.name)
    try:
        connection.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        with suppress(psycopg.Error):
            connection.close()


def waiting(world: World) -> int:
    """Sessions of the bot's database waiting for a lock."""
    with psycopg.connect(host="127.0.0.1", port=world.server.port, user="postgres", dbname="postgres") as admin:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        return admin.execute(query, (world.name,)).fetchone()[0]


@pytest.mark.parametrize("how", HOW)
def test_requests_caught_in_flight_by_the_outage_end_politely_and_are_taken_afterwards(world, how):
    posted, kr_id, source = triage_world(world)
    status, view = open_checkin(world, "U0BEN", kr_id, source)
    assert status == 200 and view is not None
    ballot = posted.items[0]
    event = vote_event(world.slack, voter(0), ballot.ts)
    texts_before = backlog_texts(world.db)

    with ThreadPoolExecutor(3) as pool, tables_locked(world, "teams", "round_items", "key_results"):
        backlog = pool.submit(command, world, "backlog add Caught in flight", user="U0BEN")
        voted = world.driver.event(event, event_id="EvINFLIGHT")
        # not stored in time: Slack is not told it arrived (it sends it again), and is answered within its 3 s
        assert voted.status == 503 and voted.elapsed < 3.0, voted
        form = pool.submit(world.driver.submit_view, view, user="U0BEN", values=checkin_values("42"))
        wait_until(lambda: waiting(world) >= 3, timeout=15)  # each of the three is mid-way, waiting
        go_down(world.server, how)
        status, reply = backlog.result(timeout=30)
        submitted = form.result(timeout=30)

    assert status == 200 and POLITE in reply, reply
    # what the person sees after the bot's answer: the form, still open with what was typed, and the reason
    assert view in [v["id"] for v in world.slack.open_views("U0BEN")], "the form and what was typed in it are there"
    assert submitted.status == 200 and submitted.elapsed < 3.0, f"HTTP {submitted.status}: {submitted.text[:200]}"
    assert submitted.json["response_action"] == "errors", submitted.text
    assert "nothing was saved" in json.dumps(submitted.json["errors"]), submitted.text

    world.server.restart()
    assert health(world.bot) == (200, {"ok": True, "database": "ok", "migrations": "ok"})
    assert backlog_texts(world.db) == texts_before  # nothing was saved, as the person was told
    assert 42.0 not in checked_in_values(world.db)
    assert (ballot.number, voter(0), HELPS) not in stored_votes(world.db)  # not stored, and not acknowledged

    # the person types it again, and it is taken; the form, still open, is sent again and saved once
    status, reply = command(world, "backlog add Caught in flight", user="U0BEN")
    assert "Added to the inbox of *Rockets*" in reply, reply
    stack = world.slack.open_views("U0BEN")
    if len(stack) > 1:  # the person closes the reason shown on top, back to the form as they left it
        world.driver.close_view(stack[-1]["id"], user="U0BEN")
    if not world.slack.open_views("U0BEN"):  # the form told the person and closed: they open it again
        status, view = open_checkin(world, "U0BEN", kr_id, source)
    again = world.driver.submit_view(view, user="U0BEN", values=checkin_values("42"))
    assert again.status == 200 and not again.body, again.text
    assert checked_in_values(world.db)[42.0] == 1
    assert backlog_texts(world.db)["Caught in flight"] == 1

    # Slack sends the vote again, and it is taken, once
    assert world.driver.event(event, event_id="EvINFLIGHT", retry_num=1).status == 200
    assert (ballot.number, voter(0), HELPS) in stored_votes(world.db)
    status, closed = command(world, "triage close", user="U0ADA")
    assert status == 200 and "Triage of *Rockets* closed" in closed, closed
    assert votes_logged(world.db)[(voter(0), ballot.item_id)] == 1


# clicks and forms while the server is down -----------------------------------------------------------------------


def test_clicks_and_forms_during_the_outage_get_an_answer_the_person_can_read(world):
    _posted, kr_id, source = triage_world(world)
    status, view = open_checkin(world, "U0BEN", kr_id, source)
    assert status == 200 and view is not None
    values_before = checked_in_values(world.db)
    go_down(world.server, "fast shutdown")
    try:
        # a button in a message: answered at once, and told in the conversation through the click's response_url
        told_before = len(world.slack.ephemerals)
        clicked = world.driver.click(
            user="U0BEN", action_id="checkin_open", value=str(kr_id), channel=source["channel"], ts=source["ts"]
        )
        assert clicked.status == 200 and clicked.elapsed < 3.0, clicked
        wait_until(lambda: len(world.slack.ephemerals) > told_before, timeout=10)
        told = world.slack.ephemerals[-1]
        assert told["user"] == "U0BEN" and POLITE in shown(told), told

        # a form: it stays open with everything typed in it, and the reason next to its first field
        submitted = world.driver.submit_view(view, user="U0BEN", values=checkin_values("77"))
        assert submitted.status == 200 and submitted.elapsed < 3.0, submitted
        assert submitted.json["response_action"] == "errors", submitted.text
        assert POLITE in json.dumps(submitted.json["errors"])
        assert view in [v["id"] for v in world.slack.open_views("U0BEN")]
    finally:
        world.server.restart()
    assert checked_in_values(world.db) == values_before

    # the same form, sent again once the server is back, is saved once
    again = world.driver.submit_view(view, user="U0BEN", values=checkin_values("77"))
    assert again.status == 200 and not again.body, again.text
    assert checked_in_values(world.db)[77.0] == 1


def test_a_home_menu_during_the_outage_says_why_in_a_small_form(world):
    _posted, kr_id, _source = triage_world(world)
    assert world.driver.open_home("U0BEN").status == 200
    wait_until(lambda: world.slack.home("U0BEN"), timeout=10)
    go_down(world.server, "fast shutdown")
    try:
        # the App Home has no conversation to answer in: the reason comes in a small form
        opened = len(world.slack.calls_to("views.open"))
        menu = choose_in_home(world.driver, world.slack, user="U0BEN", value=f"revise_kr:{kr_id}")
        assert menu.status == 200 and menu.elapsed < 3.0, menu
        call = world.slack.wait_for("views.open", count=opened + 1, timeout=10)
        assert call.ok and POLITE in shown(call.args["view"]), call
    finally:
        world.server.restart()


def test_a_paused_server_gets_every_request_answered_in_time_and_nothing_refused_is_saved(world):
    """The server hangs rather than refuses (every process stopped: connections are accepted, nothing answers)."""
    posted, kr_id, source = triage_world(world)
    status, view = open_checkin(world, "U0BEN", kr_id, source)
    assert status == 200 and view is not None
    ballot = posted.items[0]
    event = vote_event(world.slack, voter(0), ballot.ts)
    texts_before, values_before = backlog_texts(world.db), checked_in_values(world.db)

    paused = world.server.pause()
    try:
        answers = {
            "vote": world.driver.event(event, event_id="EvPAUSED"),
            "form": world.driver.submit_view(view, user="U0BEN", values=checkin_values("55")),
            "help": world.driver.command("help", user="U0BEN", channel=CHANNEL),
            "backlog": world.driver.command("backlog add Paused idea", user="U0BEN", channel=CHANNEL),
            "click": world.driver.click(
                user="U0BEN", action_id="checkin_open", value=str(kr_id), channel=source["channel"], ts=source["ts"]
            ),
        }
        for name, answer in answers.items():
            assert answer.elapsed < 3.0, (name, answer)
        assert answers["vote"].status == 503
        assert answers["form"].json["response_action"] == "errors"
        for name in ("help", "backlog"):
            assert answers[name].status == 200 and "nothing was saved" in shown(answers[name].json), name
        assert "/okr backlog add Paused idea" in shown(answers["backlog"].json)
        started = time.monotonic()
        assert health(world.bot)[0] == 503 and time.monotonic() - started < 3.0
    finally:
        world.server.resume(paused)

    # the server answers again: the work Slack was told was not done stays undone, and the bot serves at once
    assert health(world.bot) == (200, {"ok": True, "database": "ok", "migrations": "ok"})
    time.sleep(0.5)  # what was waiting on the paused server has finished now, and rolled back
    assert backlog_texts(world.db) == texts_before and checked_in_values(world.db) == values_before
    assert (ballot.number, voter(0), HELPS) not in stored_votes(world.db)
    assert world.driver.event(event, event_id="EvPAUSED", retry_num=1).status == 200
    assert (ballot.number, voter(0), HELPS) in stored_votes(world.db)
