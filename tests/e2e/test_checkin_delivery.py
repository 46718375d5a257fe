"""Check-in DMs go out exactly once however the sweep is run: several at once, through a flaky Slack,
killed mid-send, or after an answer that never came.

Every test builds a team whose weekly check-in time has already passed in every owner's zone (the real
clock's "now"), so `okr-bot sweep` processes (which read the real clock) and in-process sweeps agree on
what is due. A DM is counted twice over: on the fake's record of successful chat.postMessage calls to
the owner's D… channel, and on the messages that channel holds.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert, select, update

from bot.delivery import LEASE
from bot.delivery.checkins import UNREACHABLE_KIND
from bot.rituals import schedule
from bot.rituals.checkins import CHECKIN_KIND, checkin_key
from bot.sandbox import FakeSlack
from bot.scheduler import client_for
from bot.slack import web_client
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import ClaimState, Person, Role, Schedule, ScheduleKind, SendClaim, Workspace
from tests import factories
from tests.conftest import SIGNING_SECRET, child_env, sandbox_settings
from tests.helpers import flatten

UTC_ZONE = ZoneInfo("UTC")
MINUTE = timedelta(minutes=1)
ROOT = Path(__file__).parents[2]


# the world: a team whose check-in is due right now --------------------------------------------------------


@dataclass(frozen=True)
class DueTeam:
    team_id: int
    workspace_id: int
    owners: tuple[str, ...]
    week: date  # the check-in week that is due
    now: datetime  # the real time the team was set up at
    weekday: int  # the team's check-in day and hour (UTC, like every owner)
    hour: int

    def key(self, owner: str) -> str:
        return checkin_key(self.team_id, owner, self.week)


def due_team(
    db: Database, slack: FakeSlack, owners: int, *, robots: tuple[str, ...] = (), facilitator: str = "U0ADA"
) -> DueTeam:
    """`owners` people in UTC, each owning one key result of team Rockets (5 per objective), plus `robots`
    (bot users: Slack answers `cannot_dm_bot` to a DM). The team checks in at the hour two hours ago, so
    this week's check-in has passed in every owner's zone; every owner's DM is due a minute ago. The bot has
    met them all before (it knows their zone), as in any week after their first."""
    now = datetime.now(UTC)
    people = [f"U1OWN{n:03d}" for n in range(owners)]
    for user in people:
        slack.add_user(user, user.lower(), tz="UTC")
    for user in robots:
        slack.add_user(user, user.lower(), tz="UTC", is_bot=True)
    everyone = [*people, *robots]
    checkin = now - timedelta(hours=2)
    week = schedule.week_of(now, weekday=checkin.weekday(), hour=checkin.hour, zone=UTC_ZONE)
    with db.transaction() as session:
        workspace = factories.workspace(session, slack_team_id=slack.workspace().team_id)
        team = factories.team(session, workspace, name="Rockets", channel_id="C0ROCKET")
        team.timezone, team.checkin_weekday, team.checkin_hour = "UTC", checkin.weekday(), checkin.hour
        team.cycle_anchor, team.max_objectives = (now - timedelta(days=7)).date(), 5
        factories.member(session, team, facilitator, role=Role.FACILITATOR)
        session.add_all(Person(workspace_id=workspace.id, user_id=user, timezone="UTC") for user in everyone)
        for start in range(0, len(everyone), 5):
            key_results = [
                {
                    "metric": f"Teams {user} onboards in a week",
                    "unit": "teams",
                    "baseline": 0,
                    "target": 10,
                    "owner": user,
                }
                for user in everyone[start : start + 5]
            ]
            factories.committed_objective(session, team, now=now, title=f"Objective {start}", key_results=key_results)
        moved = session.execute(
            update(Schedule)
            .where(Schedule.team_id == team.id, Schedule.kind == ScheduleKind.CHECKIN)
            .values(due_at=now - MINUTE, week_start=week)
        ).rowcount
        assert moved == len(everyone)
        ids = (team.id, workspace.id)
    return DueTeam(*ids, tuple(everyone), week, now, checkin.weekday(), checkin.hour)


# what Slack saw ----------------------------------------------------------------------------------------------


def dm_posts(slack: FakeSlack, user: str | None = None) -> list:
    """Successful chat.postMessage calls into DM channels (one user's, or anyone's)."""
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok and str(c.args.get("channel", "")).startswith("D")]
    if user is None:
        return posts
    channel = slack.dm_channel_id(user)
    return [c for c in posts if c.args["channel"] == channel]


def dms(slack: FakeSlack, user: str) -> list[dict]:
    """The top-level messages in the bot's DM with `user`."""
    return [m for m in slack.messages(slack.dm_channel_id(user)) if not m.get("thread_ts")]


def assert_one_dm_each(slack: FakeSlack, owners) -> None:
    for owner in owners:
        assert len(dm_posts(slack, owner)) == 1, f"{owner}: {len(dm_posts(slack, owner))} DMs posted"
        (message,) = dms(slack, owner)
        assert "Rockets" in message["text"], message["text"]


def claims(db: Database, kind: str = CHECKIN_KIND) -> dict[str, SendClaim]:
    with db.read() as session:
        return {c.claim_key: c for c in session.scalars(select(SendClaim).where(SendClaim.kind == kind))}


def assert_one_sent_claim_each(db: Database, team: DueTeam, owners) -> None:
    found = claims(db)
    assert set(found) == {team.key(owner) for owner in owners}
    assert {c.state for c in found.values()} == {ClaimState.SENT}
    assert all(c.message_ts and c.channel_id.startswith("D") for c in found.values())


def checkin_row(db: Database, team: DueTeam, owner: str) -> Schedule:
    with db.read() as session:
        return session.scalars(
            select(Schedule).where(Schedule.team_id == team.team_id, Schedule.user_id == owner)
        ).one()


def sweeper(slack: FakeSlack, database_url: str, db: Database, worker: str = "test") -> Sweeper:
    """A Sweeper with the clients `okr-bot serve` and `okr-bot sweep` use (429s retried, nothing resent)."""
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker=worker)


def sweep_until_quiet(sweep: Sweeper, start: datetime, *, rounds: int = 20) -> list[Counter]:
    """Sweep a minute apart until nothing is due; past a lease when a claim is only held by someone else."""
    reports, now = [], start
    for _ in range(rounds):
        report = sweep.run(now)
        reports.append(report)
        if not report:
            return reports
        now += LEASE + MINUTE if set(report) == {"taken"} else MINUTE
    raise AssertionError(f"still something due after {rounds} sweeps: {reports}")


def sweep_as_replicas(slack: FakeSlack, database_url: str, when: datetime, *, count: int) -> list[Counter]:
    """`count` sweepers, each with its own engine (and pool) and worker name, released at once by a barrier."""
    engines = [Database(database_url) for _ in range(count)]
    sweeps = [sweeper(slack, database_url, engine, worker=f"replica-{n}") for n, engine in enumerate(engines)]
    barrier = threading.Barrier(count)
    reports: list[Counter] = [Counter() for _ in range(count)]
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            reports[n] = sweeps[n].run(when)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for engine in engines:
            engine.dispose()
    assert not failures, failures
    assert all(not thread.is_alive() for thread in threads)
    return reports


# `okr-bot sweep` as a process ----------------------------------------------------------------------------------


def sweep_env(slack: FakeSlack, database_url: str) -> dict[str, str]:
    keep = {k: v for k, v in child_env().items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    return keep | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }


def start_sweep(slack: FakeSlack, database_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "sweep"],
        env=sweep_env(slack, database_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outcomes(stdout: str) -> Counter:
    """`okr-bot sweep`'s last line, e.g. "sent: 12, taken: 18", as a Counter."""
    line = stdout.strip().splitlines()[-1]
    if line == "nothing was due":
        return Counter()
    return Counter({what: int(count) for what, count in re.findall(r"([\w:]+): (\d+)", line)})


# 1. replicas ----------------------------------------------------------------------------------------------------

OWNERS = 30
PROCESS_OWNERS = 20  # each process spends about two seconds starting: fewer owners keep the test short
REPLICAS = 3


@pytest.mark.postgres
def test_three_sweep_processes_at_once_send_each_owner_one_dm(slack, db, database_url):
    """Several processes on one database is the PostgreSQL deployment (SQLite suits one process)."""
    team = due_team(db, slack, PROCESS_OWNERS)
    processes = [start_sweep(slack, database_url) for _ in range(REPLICAS)]
    results = [p.communicate(timeout=60) for p in processes]
    for process, (_out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    reports = [outcomes(out) for out, _err in results]
    total = sum(reports, Counter())
    assert total["sent"] == PROCESS_OWNERS, reports
    assert set(total) <= {"sent", "taken", "moved"}, reports

    assert_one_dm_each(slack, team.owners)
    assert len(dm_posts(slack)) == PROCESS_OWNERS
    assert_one_sent_claim_each(db, team, team.owners)
    assert {checkin_row(db, team, o).week_start for o in team.owners} == {team.week + schedule.WEEK}


def test_three_sweepers_in_threads_send_each_owner_one_dm(slack, db, database_url):
    team = due_team(db, slack, OWNERS)
    reports = sweep_as_replicas(slack, database_url, team.now, count=REPLICAS)
    total = sum(reports, Counter())
    assert total["sent"] == OWNERS, reports
    assert set(total) <= {"sent", "taken", "moved"}, reports

    assert_one_dm_each(slack, team.owners)
    assert len(dm_posts(slack)) == OWNERS
    assert_one_sent_claim_each(db, team, team.owners)
    assert sweeper(slack, database_url, db).run(team.now + MINUTE) == {}


# 2. a flaky Slack ----------------------------------------------------------------------------------------------


def test_a_flaky_slack_delays_dms_but_never_doubles_or_loses_one(slack, db, database_url):
    team = due_team(db, slack, 5, robots=("U1ROBOT",))
    reachable = [o for o in team.owners if o != "U1ROBOT"]
    slack.fail_share("chat.postMessage", 0.3, error="ratelimited", status=429, retry_after=1, seed=1)
    slack.fail_share("conversations.open", 0.25, seed=2)
    slack.fail_share("users.info", 0.25, seed=3)

    reports = sweep_until_quiet(sweeper(slack, database_url, db), team.now)

    slack.clear_faults()
    total = sum(reports, Counter())
    assert total["retry"] > 0 and total["error"] == 0, reports  # the faults did hit, and nothing crashed
    assert total["sent"] == len(reachable) and total["unreachable"] == 1, reports
    assert any(c.status == 429 for c in slack.calls_to("chat.postMessage")), "no rate limit was met"
    assert any(c.status == 500 for c in slack.calls_to("conversations.open") + slack.calls_to("users.info"))

    assert_one_dm_each(slack, reachable)
    found = claims(db)
    assert {k: c.state for k, c in found.items()} == {
        **{team.key(o): ClaimState.SENT for o in reachable},
        team.key("U1ROBOT"): ClaimState.FAILED,
    }
    with db.read() as session:
        robot = session.scalars(select(Person).where(Person.user_id == "U1ROBOT")).one()
        assert robot.unreachable_since is not None and robot.unreachable_reason == "cannot_dm_bot"
        assert session.scalar(select(SendClaim).where(SendClaim.state == ClaimState.CLAIMED)) is None
    told = [m for m in dms(slack, "U0ADA") if "U1ROBOT" in m["text"]]
    assert len(told) == 1 and "cannot_dm_bot" in flatten(told[0])
    assert len(dm_posts(slack)) == len(reachable) + 1  # the owners' DMs and the facilitator's notice
    assert {checkin_row(db, team, o).week_start for o in team.owners} == {team.week + schedule.WEEK}


def test_the_facilitator_hears_of_an_unreachable_owner_even_if_slack_fails_the_first_time(slack, db, database_url):
    """The notice goes through a claim like any send: a 500 while opening the facilitator's DM must not lose it."""
    team = due_team(db, slack, 0, robots=("U1ROBOT",))
    slack.fail_next("conversations.open", "cannot_dm_bot")  # the robot's DM: what Slack answers for a bot anyway
    slack.fail_next("conversations.open", "internal_error", status=500)  # then the facilitator's, once

    reports = sweep_until_quiet(sweeper(slack, database_url, db), team.now)

    assert sum(reports, Counter())["unreachable"] == 1, reports
    assert claims(db)[team.key("U1ROBOT")].state is ClaimState.FAILED
    told = [m for m in dms(slack, "U0ADA") if "U1ROBOT" in m["text"]]
    notices = claims(db, UNREACHABLE_KIND)
    assert len(told) == 1, f"the facilitator was told {len(told)} times; notice claims: " + str(
        {k: (c.state.value, c.claimed_at) for k, c in notices.items()}
    )


# 3. a sweep killed mid-send ---------------------------------------------------------------------------------


def test_a_sweep_killed_after_slack_posted_is_finished_by_the_next_without_a_second_dm(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    slack.hold_next("chat.postMessage", 30)  # Slack posts at once; the process never hears back
    process = start_sweep(slack, database_url)
    try:
        slack.wait_for("chat.postMessage", timeout=30)
        assert len(dms(slack, owner)) == 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    (claim,) = claims(db).values()
    assert claim.state is ClaimState.CLAIMED and claim.message_ts is None
    sweep = sweeper(slack, database_url, db)

    # the claim is not abandoned yet: the dead process might still be sending
    assert sweep.run(datetime.now(UTC)) == {"taken": 1}
    assert len(slack.calls_to("chat.postMessage")) == 1

    # past the lease: the taker finds the message in the DM's history and records it
    histories = len(slack.calls_to("conversations.history"))
    assert sweep.run(datetime.now(UTC) + LEASE + MINUTE) == {"sent": 1}
    assert len(slack.calls_to("conversations.history")) > histories
    assert len(slack.calls_to("chat.postMessage")) == 1
    (message,) = dms(slack, owner)
    (claim,) = claims(db).values()
    assert (claim.state, claim.channel_id, claim.message_ts) == (
        ClaimState.SENT,
        slack.dm_channel_id(owner),
        message["ts"],
    )
    row = checkin_row(db, team, owner)
    next_week = team.week + schedule.WEEK
    assert row.week_start == next_week
    assert row.due_at == schedule.occurrence(next_week, weekday=team.weekday, hour=team.hour, zone=UTC_ZONE)
    assert row.remind_at is not None and row.remind_week_start == team.week


def test_an_abandoned_claim_with_nothing_in_slack_is_sent_once(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    now = datetime.now(UTC)
    with db.transaction() as session:
        session.execute(
            insert(SendClaim).values(
                workspace_id=team.workspace_id,
                kind=CHECKIN_KIND,
                claim_key=team.key(owner),
                state=ClaimState.CLAIMED,
                claimed_at=now - LEASE - MINUTE,
                claimed_by="gone-host:4242",
            )
        )
    sweep = sweeper(slack, database_url, db)

    assert sweep.run(now) == {"sent": 1}
    assert len(slack.calls_to("conversations.history")) == 1  # it looked before sending
    assert len(dm_posts(slack, owner)) == 1 and len(dms(slack, owner)) == 1
    assert claims(db)[team.key(owner)].state is ClaimState.SENT
    assert sweep.run(now + LEASE + MINUTE) == {}
    assert len(dm_posts(slack, owner)) == 1


# 4. an answer that never came ------------------------------------------------------------------------------


def test_a_timed_out_post_is_not_resent_blindly_and_is_found_in_history(slack, db):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    impatient = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, timeout=1, resend=False)
    sweep = Sweeper(db, lambda _workspace: impatient, worker="impatient")
    slack.hold_next("chat.postMessage", 3)

    assert sweep.run(team.now) == {"retry": 1}
    assert len(slack.calls_to("chat.postMessage")) == 1  # posted once, and not posted again on the timeout
    assert len(dms(slack, owner)) == 1
    (claim,) = claims(db).values()
    assert claim.state is ClaimState.CLAIMED  # the outcome is unknown: kept for a taker, not released

    assert sweep.run(team.now + MINUTE) == {"sent": 1}
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(dm_posts(slack, owner)) == 1 and len(dms(slack, owner)) == 1
    (claim,) = claims(db).values()
    assert claim.state is ClaimState.SENT and claim.message_ts == dms(slack, owner)[0]["ts"]
    assert sweep.run(team.now + 2 * MINUTE) == {}


# 5. the due set is read through an index --------------------------------------------------------------------

FUTURE_ROWS = 20_000
DUE_NOW = 3


class DueQueries:
    """The statements (with their parameters) that read the due set of schedule rows, as the sweep ran them."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, object]] = []
        self.counted: list[tuple[str, object]] = []  # what is still due after the sweep, counted for /metrics

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM schedules" in statement and re.search(r"schedules\.(due_at|remind_at) <=", statement):
            (self.counted if "count(" in statement else self.seen).append((statement, parameters))

    def __enter__(self) -> DueQueries:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_the_sweep_reads_only_the_due_rows_through_the_due_index(backend, slack, db, database_url):
    team = due_team(db, slack, DUE_NOW)
    far = team.now + timedelta(days=30)
    with db.transaction() as session:
        session.execute(
            insert(Schedule),
            [
                {
                    "workspace_id": team.workspace_id,
                    "team_id": team.team_id,
                    "kind": ScheduleKind.CHECKIN,
                    "user_id": f"U9FAR{n:05d}",
                    "week_start": team.week + 5 * schedule.WEEK,
                    "due_at": far + n * MINUTE,
                }
                for n in range(FUTURE_ROWS)
            ],
        )

    with DueQueries(db.engine) as due:
        assert sweeper(slack, database_url, db).run(team.now) == {"sent": DUE_NOW}
    assert_one_dm_each(slack, team.owners)
    due_at = [(s, p) for s, p in due.seen if "due_at <=" in s]
    assert due_at and len(due.seen) == 2 * len(due_at)  # each pass asks for due sends and due reminders

    with db.engine.connect() as conn:
        if backend == "sqlite":
            for statement, parameters in due.seen:
                plan = " | ".join(
                    row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                )
                column = "due_at" if "due_at <=" in statement else "remind_at"
                # SEARCH = a range of the index; SCAN would be every row (or every index entry) in turn
                # (a read after the first starts from where the previous one stopped: a range with both ends)
                assert re.fullmatch(
                    rf"SEARCH schedules USING (COVERING )?INDEX ix_schedules_{column} "
                    rf"\(({column}>\? AND )?{column}<\?\)",
                    plan,
                ), plan
            assert len(due.counted) == 2  # sends by kind, and reminders, once after the sweep
            for statement, parameters in due.counted:
                plan = " | ".join(
                    row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                )
                column = "due_at" if "due_at <=" in statement else "remind_at"
                assert re.match(
                    rf"SEARCH schedules USING (COVERING )?INDEX ix_schedules_{column} \({column}<\?\)", plan
                ), plan
        else:
            # the sweep moved the owners' rows on to next week: make them due again (rolled back below)
            again = update(Schedule).where(Schedule.user_id.in_(team.owners)).values(due_at=team.now - MINUTE)
            assert conn.execute(again).rowcount == DUE_NOW
            conn.exec_driver_sql("ANALYZE schedules")  # what autovacuum does after a bulk insert
            statement, parameters = due_at[0]
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()
            nodes = list(_plan_nodes(plan[0]["Plan"]))
            assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], plan
            (scan,) = [n for n in nodes if n.get("Index Name") == "ix_schedules_due_at"]
            # of 20,003 rows, the index hands over exactly the due ones, and none is read only to be dropped
            assert scan["Actual Rows"] == DUE_NOW and not scan.get("Rows Removed by Filter"), scan


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_account_inactive_about_the_person_marks_them_unreachable_while_the_token_works(slack, db, database_url):
    team = due_team(db, slack, 1)
    owners = team.owners
    slack.fail_next("chat.postMessage", "account_inactive")
    report = sweeper(slack, database_url, db).run()
    assert report == {"unreachable": 1}
    assert [c.ok for c in slack.calls_to("auth.test")][-1] is True  # the bot asked whether its token is dead
    with db.read() as session:
        person = session.scalars(select(Person).where(Person.user_id == owners[0])).one()
        workspace = session.scalars(select(Workspace)).one()
    assert person.unreachable_reason == "account_inactive"
    assert workspace.uninstalled_at is None


def test_a_dead_token_stops_the_workspace_instead_of_blaming_each_owner(slack, db, database_url):
    owners = due_team(db, slack, 2).owners
    slack.fail_next("users.info", "invalid_auth")
    slack.fail_next("auth.test", "invalid_auth")
    report = sweeper(slack, database_url, db).run()
    assert report["installation_dead"] == 1
    with db.read() as session:
        workspace = session.scalars(select(Workspace)).one()
        unreachable = session.scalars(select(Person).where(Person.unreachable_since.is_not(None))).all()
        claims = session.scalars(select(SendClaim)).all()
    assert workspace.uninstalled_at is not None
    assert unreachable == [] and claims == []
    assert [c for c in slack.calls_to("chat.postMessage") if c.ok] == []
    assert len(owners) == 2


# what the review of the sweep asked for ------------------------------------------------------------------------


def test_claims_are_stamped_when_taken_so_a_slow_sweep_does_not_look_abandoned(slack, db, database_url):
    team = due_team(db, slack, 2)
    slack.hold_next("users.info", 2)  # the first owner's lookup is slow: the second claim is taken 2 s later
    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 2}
    stamps = sorted(c.claimed_at for c in claims(db).values())
    assert stamps[0] >= team.now and stamps[1] - team.now >= timedelta(seconds=2)


def test_a_refusal_that_will_not_change_is_recorded_once_not_retried_every_minute(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    slack.fail_next("chat.postMessage", "invalid_blocks")
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"failed": 1}
    assert sweep.run(team.now + MINUTE) == {}
    (claim,) = claims(db).values()
    assert (claim.state, claim.outcome) == (ClaimState.FAILED, "invalid_blocks")
    assert checkin_row(db, team, owner).week_start == team.week + timedelta(days=7)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_transient_auth_test_failure_does_not_blame_the_owner(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    slack.fail_next("chat.postMessage", "account_inactive")
    slack.fail_next("auth.test", "internal_error", status=500)
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"retry": 1}
    with db.read() as session:
        assert session.scalars(select(Person).where(Person.unreachable_since.is_not(None))).all() == []
    assert claims(db) == {}  # Slack refused, so nothing went out: the claim was given back
    assert sweep.run(team.now + MINUTE) == {"sent": 1}
    assert len(dm_posts(slack, owner)) == 1


def test_a_timed_out_reminder_is_found_in_the_thread_and_not_sent_twice(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 1}
    # the reminder is due now (Slack's message times are the real clock's, which the history search compares)
    later = datetime.now(UTC)
    with db.transaction() as session:
        session.execute(update(Schedule).where(Schedule.user_id == owner).values(remind_at=later - MINUTE))
    impatient = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, timeout=1, resend=False)
    sweep = Sweeper(db, lambda _workspace: impatient, worker="impatient")
    slack.hold_next("chat.postMessage", 3)
    assert sweep.run(later) == {"retry": 1}
    assert sweep.run(later + LEASE + MINUTE) == {"reminded": 1}
    messages = slack.messages(slack.dm_channel_id(owner))
    replies = [m for m in messages if m.get("thread_ts") and m["thread_ts"] != m["ts"]]
    assert len(replies) == 1
    (reminder,) = claims(db, "checkin_reminder").values()
    assert reminder.state is ClaimState.SENT and reminder.message_ts == replies[0]["ts"]
    assert sweep.run(later + LEASE + 2 * MINUTE) == {}


def test_a_reminder_sent_but_not_cleared_is_cleared_not_sent_again(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"sent": 1}
    later = team.now + timedelta(hours=25)
    assert sweep.run(later) == {"reminded": 1}
    with db.transaction() as session:  # as if the sweep stopped between recording the reminder and clearing it
        session.execute(update(Schedule).where(Schedule.user_id == owner).values(remind_at=later))
    assert sweep.run(later + MINUTE) == {"taken": 1}
    assert checkin_row(db, team, owner).remind_at is None
    assert len(slack.calls_to("chat.postMessage")) == 2  # the DM and one reminder


def test_rows_that_stay_due_do_not_hide_the_ones_after_them(slack, db, database_url, monkeypatch):
    monkeypatch.setattr("bot.sweep.BATCH", 2)
    team = due_team(db, slack, 5)
    first_two = sorted(team.owners)[:2]
    with db.transaction() as session:  # the two earliest rows fail every time (Slack answers 500)
        for n, owner in enumerate(first_two):
            earlier = team.now - timedelta(hours=1, minutes=n)
            session.execute(update(Schedule).where(Schedule.user_id == owner).values(due_at=earlier))
    for _ in first_two:
        slack.fail_next("users.info", "internal_error", status=500)
    report = sweeper(slack, database_url, db).run(team.now)
    assert report == {"retry": 2, "sent": 3}
