"""Process death: a bot killed at random points of a sweep, a triage close and a reset, then restarted: state is
consistent and every effect happens exactly once.

The work runs in a real child process, against a file SQLite database and against PostgreSQL, while the fake Slack
runs in this process:
- a check-in sweep: the sweep `okr-bot sweep` runs (the scheduler's Sweeper, with the Slack clients it builds),
  sending the weekly check-in DM to several owners;
- a triage close: a bot process (the production WSGI app under waitress, as `okr-bot serve` runs it) answering a
  facilitator's `/okr triage close`: the votes read back from Slack's reactions, the summary, every item and the
  header redrawn;
- a reset: the minute sweep at the cycle's end (the owners asked for final scores, the channel told) and when
  scoring closes 48 hours later (the retro, the next cycle's prompt).

Each scenario is first run without interruption, recording every Slack call the work makes. A kill point is one of
those calls, drawn by a seeded `random.Random` (so a failure repeats), different for each backend: the fake Slack
takes that call (it is recorded and has its effect) and sits on the answer (`hold_next`) while the test SIGKILLs the
child. That leaves Slack and the database as a process that got the answer and died before writing anything down
would (only its memory differs, and it is lost either way), and as one that died between the previous call and
this one. The moments between two of the child's own writes, which no Slack call marks (the close decided but its
summary not claimed; the last owner asked but not noted; the retro recorded but not remembered on its cycle), are
reached on PostgreSQL: the test locks the table of the second write and kills the child once it waits there.

Then the bot "restarts": a fresh process sweeps once the dead one's claims are past their lease (the sweep every
bot process runs each minute), a facilitator closes the triage again if it is still open, and the remaining work
runs. Afterwards every message exists exactly once, every conversation reads as after the uninterrupted run, the
database is consistent, nothing is left claimed or half-done, and one more sweep calls Slack for nothing.

Time is passed to the sweeps through `Sweeper.run(now)`; the fake Slack's wall clock follows it (never backwards),
so message timestamps and the claims' history searches agree as they do in production, without freezegun.
Children are forked by a multiprocessing fork server that has imported the bot once, so each one starts in a
fraction of a second instead of seconds, without forking this process's threads.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import multiprocessing
import random
import re
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot import scheduler
from bot.delivery import LEASE
from bot.delivery.resets import NEXT_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from bot.delivery.rounds import SUMMARY_KIND
from bot.rituals import backlog, schedule
from bot.rituals.cycles import CYCLE_DAYS
from bot.rituals.reset import SCORING_TIME, plan_calendar
from bot.rituals.triage import HELPS, MAYBE, NOT_NOW
from bot.sandbox import FakeSlack, SlackDriver
from bot.settings import Settings
from bot.web import EVENTS_PATH
from storage.db import Database
from storage.models import (
    BacklogItem,
    ClaimState,
    Cycle,
    CycleState,
    EventLog,
    ItemState,
    Role,
    Round,
    RoundItem,
    RoundState,
    SendClaim,
    Team,
)
from tests import factories
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.okr_support import PostedRound, add_backlog, commit, posted_round, rockets
from tests.e2e.support import okr, shown, wait_until
from tests.e2e.test_checkin_delivery import (
    DueTeam,
    assert_one_dm_each,
    assert_one_sent_claim_each,
    checkin_row,
    dm_posts,
    due_team,
)

SEED = 20261202
KILL_POINTS = 2  # per scenario and backend (each backend draws its own)
HOLD = 120.0  # seconds Slack sits on the answer of the call a child is killed in: longer than any test waits
ANSWER_AFTER = 4.0  # seconds Slack sits on an answer while the test locks the table the child then waits for
MINUTE = timedelta(minutes=1)
CHANNEL = "C0ROCKET"
_names = itertools.count()


# Slack's clock, moved with the bot's --------------------------------------------------------------------------


class SlackClock:
    """The fake Slack's wall clock: real time shifted to the `now` the work is given, and never moved back."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def at(self, moment: datetime) -> None:
        self.offset = max(self.offset, moment.timestamp() - time.time())


# one world per run: its own database, fake Slack and bot ---------------------------------------------------------


@dataclass
class World:
    url: str
    db: Database
    slack: FakeSlack
    clock: SlackClock
    driver: SlackDriver | None  # to the bot people talk to while the world is set up, if it has one


@pytest.fixture
def worlds(backend: str, migrated_template: str, tmp_path_factory, request) -> Iterator[Callable[[bool], World]]:
    """Build worlds: a fresh migrated database, a fake Slack (Ada, Ben, Cleo, #team-rocket…) on a `SlackClock`,
    and (`serve`) the bot served against them."""
    cleanups: list[Callable[[], None]] = []

    def build(serve: bool) -> World:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("death") / "okr.db"
            shutil.copyfile(migrated_template, path)
            url = f"sqlite:///{path}"
        else:
            server = request.getfixturevalue("postgres_server")
            name = f"okr_death_{next(_names)}"
            url = server.create_database(name, template=migrated_template)
            cleanups.append(lambda: server.drop_database(name))
        clock = SlackClock()
        slack = FakeSlack(wall_clock=clock).start()
        cleanups.append(slack.stop)
        slack.add_user("U0ADA", "ada", real_name="Ada Admin", is_admin=True, tz="Europe/Paris")
        slack.add_user("U0BEN", "ben", real_name="Ben Member", tz="America/New_York")
        slack.add_user("U0CLEO", "cleo", real_name="Cleo Member", tz="Asia/Tokyo")
        slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"))
        db = Database(url)
        cleanups.append(db.dispose)
        if not serve:
            return World(url, db, slack, clock, None)
        running, stop = serve_bot(sandbox_settings(slack, url), db)
        cleanups.append(stop)
        driver = SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
        return World(url, db, slack, clock, driver)

    yield build
    for cleanup in reversed(cleanups):
        cleanup()


# child processes --------------------------------------------------------------------------------------------------


def _settings(database_url: str, api_url: str, token: str) -> Settings:
    return Settings(
        database_url=make_url(database_url),
        slack_api_url=api_url,
        slack_bot_token=token,
        slack_signing_secret=SIGNING_SECRET,
        scheduler=False,
    )


def sweep_child(database_url: str, api_url: str, token: str, now: str, out) -> None:
    """What `okr-bot sweep` runs (bot/cli.py `_sweep`), at `now`: the scheduler's Sweeper with the clients it builds."""
    settings = _settings(database_url, api_url, token)
    db = Database(settings.database_url)
    try:
        report = scheduler.sweeper(settings, db).run(datetime.fromisoformat(now))
    finally:
        db.dispose()
    out.send(dict(report))


def bot_child(database_url: str, api_url: str, token: str, now: str, out) -> None:
    """A bot process serving Slack over HTTP (the production WSGI app under waitress), until it is killed; its
    clock starts at `now`, this test's time (which signs the requests it gets), and ticks on."""
    freeze_time(now, tick=True).start()
    settings = _settings(database_url, api_url, token)
    running, _stop = serve_bot(settings, Database(settings.database_url))
    out.send(running.url)
    threading.Event().wait()


_forkserver: multiprocessing.context.ForkServerContext | None = None


def _context() -> multiprocessing.context.ForkServerContext:
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload([__name__])  # the bot, imported once, in the server children fork from
    return _forkserver


class Child:
    """One child process running `target(*args, out)`; what it sends on `out` is its result."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = _context()
        self._results, out = context.Pipe(duplex=False)
        self.process = context.Process(target=target, args=(*args, out), daemon=True)
        self.process.start()
        out.close()

    def result(self, timeout: float = 120) -> Any:
        if not self._results.poll(timeout):
            raise AssertionError(
                f"child {self.process.pid} sent nothing in {timeout}s (exit code {self.process.exitcode})"
            )
        return self._results.recv()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(30)
        assert self.process.exitcode == -signal.SIGKILL, self.process.exitcode

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(30)
        assert self.process.exitcode is not None


# running the work ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str  # "sweep": a sweep process; "close": `/okr triage close` typed to a bot process
    now: datetime | None = None  # what the sweep is told the time is (a bot reads the real clock)


@dataclass(frozen=True)
class Kill:
    """Where a child dies: in the step's Slack call of `method` that comes after `earlier` others, while Slack sits
    on its answer. With `table` (PostgreSQL), the test locks that table and the child dies waiting to write it:
    after that call was answered, or (no `method`) at its first write of the table."""

    method: str | None
    earlier: int = 0
    table: str | None = None


def execute(world: World, step: Step, kill: Kill | None = None) -> tuple[datetime, list[str]]:
    """Run one step in a child process, or kill the child where `kill` says. Returns the time it ran at and the
    Slack methods it called, in order."""
    now = step.now or datetime.now(UTC)
    world.clock.at(now)
    token, api = world.slack.workspace().bot_token, world.slack.api_url
    with ExitStack() as locks:
        if kill is not None and kill.method is None:
            locks.enter_context(table_locked(world, kill.table))
        if step.kind == "sweep":
            child, started = Child(sweep_child, world.url, api, token, now.isoformat()), len(world.slack.calls)
        else:
            child = Child(bot_child, world.url, api, token, datetime.now(UTC).isoformat())
            bot_url = child.result(timeout=60)
            started = len(world.slack.calls)  # after the bot's start-up (auth.test)
        before = Counter(c.method for c in world.slack.calls)
        if kill is not None and kill.method is not None:
            if kill.earlier:
                world.slack.hold_next(kill.method, 0, times=kill.earlier)
            world.slack.hold_next(kill.method, HOLD if kill.table is None else ANSWER_AFTER)
        replies = len(world.slack.responses)
        if step.kind == "close":
            driver = SlackDriver(world.slack, bot_url=bot_url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
            assert driver.command("triage close", user="U0ADA", channel=CHANNEL).status == 200
        if kill is not None:
            if kill.method is not None:
                world.slack.wait_for(kill.method, count=before[kill.method] + kill.earlier + 1, timeout=60)
                if kill.table is not None:
                    locks.enter_context(table_locked(world, kill.table))
            if kill.table is not None:
                wait_until(lambda: waiting_for_a_lock(world) or not child.process.is_alive(), timeout=60)
                assert child.process.is_alive(), f"the child finished without writing {kill.table}"
            child.kill()
            world.slack.clear_faults()
        elif step.kind == "sweep":
            child.result()
            child.process.join(30)
            assert child.process.exitcode == 0, child.process.exitcode
        else:
            reply = world.slack.wait_for_response(count=replies + 1, timeout=60)
            assert "closed" in shown(reply["body"]), reply
            child.stop()
    return now, [c.method for c in world.slack.calls[started:] if c.method != "response_url"]


def sweep(world: World, now: datetime) -> list[str]:
    return execute(world, Step("sweep", now))[1]


def _pg(world: World, database: str | None = None) -> psycopg.Connection:
    url = make_url(world.url)
    return psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=database or url.database)


@contextmanager
def table_locked(world: World, table: str) -> Iterator[None]:
    """Another session holds `table`: reading it goes on, writing it waits."""
    with _pg(world) as connection:
        connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield


def waiting_for_a_lock(world: World) -> bool:
    with _pg(world, "postgres") as admin:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        return admin.execute(query, (make_url(world.url).database,)).fetchone()[0] > 0


# the scenarios ------------------------------------------------------------------------------------------------------


class Scenario:
    name = ""
    serves = True  # whether people set the world up by talking to the bot
    people: tuple[str, ...] = ()  # whose DMs are compared

    def build(self, world: World) -> Any:
        raise NotImplementedError

    def steps(self, ctx: Any) -> list[Step]:
        raise NotImplementedError

    def restart(self, world: World, ctx: Any, died: datetime) -> datetime:
        """After the death: the restarted bot's minute sweep, once the dead process's claims are past their lease;
        returns the time it ran at."""
        return execute(world, Step("sweep", died + LEASE + MINUTE))[0]

    def check(self, world: World, ctx: Any) -> None:
        raise NotImplementedError

    def conversations(self, world: World, ctx: Any) -> dict[str, str]:
        return {"#team-rocket": CHANNEL} | {user: world.slack.dm_channel_id(user) for user in self.people}


def unfinished_claims(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(select(SendClaim.kind, SendClaim.claim_key).where(SendClaim.state == ClaimState.CLAIMED))
        return [tuple(row) for row in rows]


def claim_states(db: Database, *kinds: str) -> dict[tuple[str, str], ClaimState]:
    with db.read() as session:
        rows = session.execute(
            select(SendClaim.kind, SendClaim.claim_key, SendClaim.state).where(SendClaim.kind.in_(kinds))
        )
        return {(kind, key): state for kind, key, state in rows}


def logged(db: Database, entity: str, action: str) -> Counter[int]:
    """How many times the event log says `action` happened to each `entity` row."""
    with db.read() as session:
        query = select(EventLog.entity_id).where(EventLog.entity == entity, EventLog.action == action)
        return Counter(session.scalars(query))


class CheckinSweep(Scenario):
    name = "checkin-sweep"
    serves = False  # the team is written to the database as the bot would have written it
    OWNERS = 3

    def build(self, world: World) -> DueTeam:
        """Three owners whose weekly check-in DM is due (tests/e2e/test_checkin_delivery.py's `due_team`)."""
        return due_team(world.db, world.slack, self.OWNERS)

    def conversations(self, world: World, team: DueTeam) -> dict[str, str]:
        return {owner: world.slack.dm_channel_id(owner) for owner in team.owners}

    def steps(self, team: DueTeam) -> list[Step]:
        return [Step("sweep", team.now)]

    def check(self, world: World, team: DueTeam) -> None:
        assert_one_dm_each(world.slack, team.owners)  # one chat.postMessage each: nothing was sent twice
        assert len(dm_posts(world.slack)) == len(team.owners)
        assert_one_sent_claim_each(world.db, team, team.owners)
        for owner in team.owners:
            row = checkin_row(world.db, team, owner)
            assert row.week_start == team.week + schedule.WEEK, (owner, row.week_start)
            assert row.remind_week_start == team.week, (owner, row.remind_week_start)


TEXTS = ("Shorter sign-up form", "Dark mode", "Onboarding checklist")
VOTES = (("U0BEN", 0, HELPS), ("U0CLEO", 0, HELPS), ("U0BEN", 1, NOT_NOW), ("U0CLEO", 1, NOT_NOW), ("U0CLEO", 2, MAYBE))


class TriageClose(Scenario):
    name = "triage-close"

    def build(self, world: World) -> PostedRound:
        """Rockets with committed OKRs and three items put to a triage; the team's reactions are in Slack, their
        events never reached the bot (it was down), so the close takes them from `reactions.get`. Check-ins are
        paused, so no sweep here asks Slack about the owners, whatever the day and hour."""
        rockets(world.driver, world.slack, members=())
        with world.db.transaction() as session:  # Ben and Cleo joined (tests/e2e/test_teams.py types it)
            team = session.scalars(select(Team).where(Team.name == "Rockets")).one()
            team.checkins_paused = True
            for user in ("U0BEN", "U0CLEO"):
                factories.member(session, team, user)
        commit(world.db)
        add_backlog(world.db, *TEXTS)
        okr(world.driver, world.slack, "triage start")
        posted = posted_round(world.db)
        for user, position, emoji in VOTES:
            world.slack.add_reaction(CHANNEL, posted.items[position].ts, user, emoji)
        return posted

    def steps(self, posted: PostedRound) -> list[Step]:
        return [Step("close")]

    def restart(self, world: World, posted: PostedRound, died: datetime) -> datetime:
        reached = super().restart(world, posted, died)
        with world.db.read() as session:
            still_open = session.get(Round, posted.id).state is RoundState.OPEN
        if still_open:  # it died before the close was decided: nobody was told, so the facilitator closes it again
            execute(world, Step("close"))
        return reached

    def check(self, world: World, posted: PostedRound) -> None:
        with world.db.read() as session:
            closed = session.get(Round, posted.id)
            entries = session.scalars(select(RoundItem).where(RoundItem.round_id == posted.id)).all()
            states = {item.text: item.state for item in session.scalars(select(BacklogItem))}
        assert closed.state is RoundState.CLOSED and closed.finished_at is not None
        assert all(entry.decision is not None and entry.shown_version == entry.votes_version for entry in entries)
        assert states == {TEXTS[0]: ItemState.PRODUCT, TEXTS[1]: ItemState.NOT_NOW, TEXTS[2]: ItemState.DISCOVERY}
        items = {b.item_id for b in posted.items}
        assert logged(world.db, backlog.ENTITY, "decided") == dict.fromkeys(items, 1)  # each item decided once
        with world.db.read() as session:
            rows = session.execute(
                select(EventLog.actor_user_id, EventLog.entity_id, EventLog.data).where(EventLog.action == "voted")
            ).all()
        voted = Counter((user, item_id, data["reaction"]) for user, item_id, data in rows)
        assert voted == {(user, posted.items[p].item_id, emoji): 1 for user, p, emoji in VOTES}
        assert claim_states(world.db, SUMMARY_KIND) == {(SUMMARY_KIND, str(posted.id)): ClaimState.SENT}
        replies = [m for m in world.slack.messages(CHANNEL) if m.get("thread_ts") == posted.header_ts]
        summaries = [m for m in replies if m["text"].startswith("Triage closed")]
        assert len(summaries) == 1, [shown(m) for m in summaries]
        assert "Closed" in shown(world.slack.message(CHANNEL, posted.header_ts))
        assert all("Decided" in shown(world.slack.message(CHANNEL, b.ts)) for b in posted.items)


@dataclass(frozen=True)
class CycleEnd:
    team_id: int
    began: datetime  # the real time the world was set up at: the cycle ended at midnight before


class Reset(Scenario):
    name = "reset"
    serves = False  # the team is written to the database as the bot would have written it
    people = ("U0BEN", "U0CLEO")

    def build(self, world: World) -> CycleEnd:
        """Rockets (Ada facilitates; Ben and Cleo own a key result each) whose 13-week cycle ended at the last UTC
        midnight, as the sweep planned it yesterday; check-ins are paused, so the sweeps send only the reset's
        messages."""
        began = datetime.now(UTC)
        yesterday = began - timedelta(days=1)
        with world.db.transaction() as session:
            workspace = factories.workspace(session, slack_team_id=world.slack.workspace().team_id)
            team = factories.team(session, workspace, name="Rockets", channel_id=CHANNEL)
            factories.member(session, team, "U0ADA", role=Role.FACILITATOR)
            for user in self.people:
                factories.member(session, team, user)
            team.timezone, team.checkins_paused = "UTC", True
            team.cycle_anchor = began.date() - timedelta(days=CYCLE_DAYS)  # cycle 2 starts today
            session.flush()
            factories.committed_objective(session, team, now=yesterday)
            backlog.add_items(session, team=team, texts=list(TEXTS), user_id="U0BEN", now=yesterday, via="test")
            plan_calendar(team, yesterday, noticed=True)
            assert team.reset_at <= began
            return CycleEnd(team.id, began)

    def steps(self, ctx: CycleEnd) -> list[Step]:
        return [Step("sweep", ctx.began), Step("sweep", ctx.began + SCORING_TIME + MINUTE)]

    def check(self, world: World, ctx: CycleEnd) -> None:
        with world.db.read() as session:
            cycles = session.scalars(select(Cycle).where(Cycle.team_id == ctx.team_id).order_by(Cycle.number)).all()
            states = Counter(item.state for item in session.scalars(select(BacklogItem)))
            moved = session.scalar(select(func.count()).select_from(EventLog).where(EventLog.entity == backlog.ENTITY))
        first, second = cycles
        assert first.state is CycleState.CLOSED and first.reset_done_at is not None and first.owners_asked_at
        assert second.state is CycleState.DRAFTING
        assert logged(world.db, "cycle", "reset_started") == {first.id: 1}
        assert logged(world.db, "cycle", "closed") == {first.id: 1}
        assert states == {ItemState.NOT_NOW: len(TEXTS)}
        assert moved == 2 * len(TEXTS)  # each item added once and moved to "not now" once
        key = str(first.id)
        assert claim_states(world.db, STARTED_KIND, SCORES_KIND, RETRO_KIND, NEXT_KIND) == {
            (STARTED_KIND, key): ClaimState.SENT,
            (RETRO_KIND, key): ClaimState.SENT,
            (NEXT_KIND, key): ClaimState.SENT,
            (SCORES_KIND, f"{key}:U0BEN"): ClaimState.SENT,
            (SCORES_KIND, f"{key}:U0CLEO"): ClaimState.SENT,
        }
        texts = [shown(m) for m in world.slack.messages(CHANNEL)]
        assert len([t for t in texts if "retro of cycle 1" in t]) == 1, texts
        assert len([t for t in texts if "Cycle 1 of Rockets is closing" in t]) == 1, texts
        assert len([t for t in texts if "Cycle 2 of Rockets is open for drafting" in t]) == 1, texts
        retro = next(m for m in world.slack.messages(CHANNEL) if "retro of cycle 1" in shown(m))
        assert (first.retro_channel_id, first.retro_ts) == (CHANNEL, retro["ts"])
        for owner in self.people:
            (dm,) = world.slack.messages(world.slack.dm_channel_id(owner))
            assert "final score" in shown(dm).lower(), shown(dm)


SCENARIOS = {scenario.name: scenario for scenario in (CheckinSweep(), TriageClose(), Reset())}


# uninterrupted runs, and the kill points drawn from them ------------------------------------------------------------


@dataclass
class Plan:
    calls: list[list[str]]  # each step's Slack methods, in order
    seen: dict[str, Counter[str]] = field(default_factory=dict)  # what each conversation shows at the end

    def dump(self) -> str:
        return json.dumps({"calls": self.calls, "seen": self.seen})

    @classmethod
    def load(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(data["calls"], {name: Counter(messages) for name, messages in data["seen"].items()})


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def plans(backend: str, worlds, tmp_path_factory, worker_id: str) -> Callable[[Scenario], Plan]:
    """Each scenario's uninterrupted run, made once per test session and backend (shared by pytest-xdist's
    workers through the session's temporary directory)."""
    root = tmp_path_factory.getbasetemp()
    root = root if worker_id == "master" else root.parent

    def plan(scenario: Scenario) -> Plan:
        path = root / f"process-death-{scenario.name}-{backend}.json"
        with _exclusive(path.with_suffix(".lock")):
            if not path.exists():
                path.write_text(uninterrupted(scenario, worlds).dump())
            return Plan.load(path.read_text())

    return plan


def seen(world: World, scenario: Scenario, ctx: Any) -> dict[str, Counter[str]]:
    """Each conversation's messages as people read them, numbers (times, ids, dates) left out."""
    return {
        name: Counter(re.sub(r"\d+", "#", shown(m)) for m in world.slack.messages(channel))
        for name, channel in scenario.conversations(world, ctx).items()
    }


def finish(world: World, scenario: Scenario, ctx: Any, last: datetime) -> None:
    """The state is consistent, nothing is left claimed, and a sweep later sends (and asks) Slack nothing."""
    scenario.check(world, ctx)
    assert unfinished_claims(world.db) == []
    assert sweep(world, last + MINUTE) == []


def uninterrupted(scenario: Scenario, build: Callable[[bool], World]) -> Plan:
    world = build(scenario.serves)
    ctx = scenario.build(world)
    plan = Plan([])
    for step in scenario.steps(ctx):
        last, calls = execute(world, step)
        plan.calls.append(calls)
    finish(world, scenario, ctx, last)
    plan.seen = seen(world, scenario, ctx)
    return plan


def kill_points(scenario: Scenario, backend: str, plan: Plan) -> list[int]:
    """Which of the work's Slack calls to die in: a seeded draw, its own for each scenario and backend."""
    total = sum(len(calls) for calls in plan.calls)
    return sorted(random.Random(f"{SEED}:{scenario.name}:{backend}").sample(range(total), min(KILL_POINTS, total)))


def run_killed(
    worlds, scenario: Scenario, plan: Plan, where: int, *, table: str | None = None, in_call: bool = True
) -> None:
    """The scenario in a fresh world, its child killed in call `where` of the plan (or, not `in_call`, at its first
    write of `table` in that call's step), restarted, then checked."""
    world = worlds(scenario.serves)
    ctx = scenario.build(world)
    done, last = 0, None
    for step, calls in zip(scenario.steps(ctx), plan.calls, strict=True):
        if done <= where < done + len(calls):
            index = where - done
            kill = Kill(calls[index], calls[:index].count(calls[index]), table) if in_call else Kill(None, 0, table)
            died, _ = execute(world, step, kill)
            last = scenario.restart(world, ctx, died)
        else:
            last, _ = execute(world, step)
        done += len(calls)

    finish(world, scenario, ctx, last)
    assert seen(world, scenario, ctx) == plan.seen, f"killed in call {where} ({plan.calls})"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_uninterrupted_work_sends_each_message_once(name, plans):
    plan = plans(SCENARIOS[name])  # checked as it ran
    assert sum(len(calls) for calls in plan.calls) >= 7, plan.calls  # enough calls to die in
    for conversation, messages in plan.seen.items():
        assert messages and max(messages.values()) == 1, (conversation, messages)


@pytest.mark.parametrize("point", range(KILL_POINTS))
@pytest.mark.parametrize("name", SCENARIOS)
def test_a_process_killed_mid_work_and_restarted_leaves_every_effect_done_once(name, point, backend, worlds, plans):
    scenario = SCENARIOS[name]
    plan = plans(scenario)
    where = kill_points(scenario, backend, plan)[point]

    run_killed(worlds, scenario, plan, where)


# between two writes: Slack answered, part of what follows is written down --------------------------------------------

# (scenario, the call Slack answers, the table whose write the child dies waiting for), each a moment no Slack call
# marks: the state is between two of the child's transactions
BETWEEN_WRITES = {
    # the close is decided (votes read back, items moved), then claiming its summary waits: from the start, since
    # nothing before writes a claim
    "triage decided, nobody told": ("triage-close", None, "send_claims"),
    # the last owner's DM is answered and its claim recorded; then noting that every owner was asked waits
    "every owner asked, not noted": ("reset", lambda plan: len(plan.calls[0]) - 1, "cycles"),
    # the retro is answered and its claim recorded; then remembering its message on the cycle waits
    "retro posted, not remembered": ("reset", lambda plan: len(plan.calls[0]), "cycles"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("moment", BETWEEN_WRITES)
def test_a_process_killed_between_two_writes_is_finished_by_the_restarted_bot_once(moment, worlds, plans):
    """PostgreSQL only: the test stops the child at a chosen write by locking that table, and sees it wait there."""
    name, call, table = BETWEEN_WRITES[moment]
    scenario = SCENARIOS[name]
    plan = plans(scenario)
    run_killed(worlds, scenario, plan, 0 if call is None else call(plan), table=table, in_call=call is not None)
