"""SIGTERM, as every platform sends it before a deploy, to real bot processes in the middle of their work.

- `okr-bot sweep` sending a Monday's check-in DMs at Slack's latency: it stops within the grace period, exits 0,
  and every claim is either finished or given back; a process started right after (at the same instant, so no
  lease can have run out) sends every DM still due, and each owner has exactly one.
- The same while the sends wait for Slack's rate limits: the waiting sends give their claims back at once.
- `okr-bot serve` in a burst of slash commands: every command Slack got a 200 for is carried out (its reply
  posted, its team created), none twice; the ones that found the port closed changed nothing, and go through
  once sent to the next process.
- `okr-bot scheduler`: /readyz says 503 from the signal on, and the process exits 0.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import select

from bot import shutdown
from bot.delivery.checkins import CHECKIN_KIND
from bot.delivery.summaries import Summaries
from bot.sandbox import FakeSlack, SlackDriver
from storage.claims import LEASE
from storage.db import Database
from storage.models import ClaimState, SendClaim, Team
from tests.conftest import SIGNING_SECRET, child_env
from tests.e2e.support import log_records, logged_errors, wait_until
from tests.e2e.test_checkin_delivery import (
    ROOT,
    assert_one_dm_each,
    assert_one_sent_claim_each,
    checkin_row,
    dm_posts,
    due_team,
    sweeper,
)

GRACE = 10  # SHUTDOWN_GRACE's default, given explicitly


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(slack: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in child_env().items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT", "SCHEDULER"))}
    return keep | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SHUTDOWN_GRACE": str(GRACE),
        **extra,
    }


def _okr_bot(command: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", command, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _terminate(process: subprocess.Popen) -> tuple[float, str, str]:
    """SIGTERM; seconds until the process exited, its stdout and its stderr."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=GRACE + 10)
    return time.monotonic() - sent, out, err


def _claims(db: Database) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind == CHECKIN_KIND)))


def _assert_nothing_waits_for_the_lease(db: Database, now) -> None:
    """Every claim finished, or (a send whose outcome is unknown) handed back: already past its lease."""
    held = [c for c in _claims(db) if c.state is ClaimState.CLAIMED and c.claimed_at > now - LEASE]
    assert held == [], [(c.claim_key, c.claimed_by) for c in held]


# 1. a sweep ---------------------------------------------------------------------------------------------------


OWNERS = 60


def test_sigterm_during_a_sweep_sending_dms_loses_and_doubles_nothing(slack, db, database_url):
    team = due_team(db, slack, OWNERS)
    slack.set_latency(0.15)  # Slack's own pace: a DM is a call of 150 ms
    sweep = _okr_bot("sweep", _env(slack, database_url, SENDERS="4"))
    wait_until(lambda: len(dm_posts(slack)) >= 8 or sweep.poll() is not None, timeout=60, what="the first DMs")
    took, out, err = _terminate(sweep)

    assert sweep.returncode == 0, err
    assert took < GRACE, took
    assert logged_errors(err) == []
    sent_before = len(dm_posts(slack))
    assert 8 <= sent_before < OWNERS, f"the signal came after the sweep: {sent_before} DMs ({out})"
    assert "stopped" in out  # the sends left unclaimed are reported as such
    (stopped,) = log_records(err, "stopped")
    assert stopped["seconds"] < GRACE
    claims = _claims(db)
    assert {c.state for c in claims} == {ClaimState.SENT}, [(c.claim_key, c.state) for c in claims]
    assert len(claims) == sent_before  # every DM posted was recorded, and nothing else was claimed
    _assert_nothing_waits_for_the_lease(db, team.now)

    # the next process, at the same instant: a claim left for the lease would keep its owner without a DM
    slack.set_latency(None)
    again = _okr_bot("sweep", _env(slack, database_url))
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert_one_dm_each(slack, team.owners)
    assert len(dm_posts(slack)) == OWNERS
    assert_one_sent_claim_each(db, team, team.owners)


def test_sigterm_while_sends_wait_for_the_rate_limit_gives_their_claims_back_at_once(slack, db, database_url):
    team = due_team(db, slack, 20)
    # five DMs a minute: after the first few every sender waits on the pacer for many seconds
    sweep = _okr_bot("sweep", _env(slack, database_url, SENDERS="4", SLACK_RATE_LIMITS="chat.postMessage=5"))
    wait_until(lambda: len(dm_posts(slack)) >= 1 or sweep.poll() is not None, timeout=60, what="the first DM")
    time.sleep(0.5)  # the other senders are waiting on the pacer now
    took, _out, err = _terminate(sweep)

    assert sweep.returncode == 0, err
    assert took < 3, took  # nobody waited out the minute
    sent = len(dm_posts(slack))
    assert sent < 20
    claims = _claims(db)
    assert len(claims) == sent and {c.state for c in claims} == {ClaimState.SENT}
    _assert_nothing_waits_for_the_lease(db, team.now)

    again = _okr_bot("sweep", _env(slack, database_url, SLACK_RATE_LIMITS="off"))
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert_one_dm_each(slack, team.owners)
    assert_one_sent_claim_each(db, team, team.owners)


def test_a_step_that_meets_a_stop_before_its_send_claims_nothing_and_leaves_the_dm_due(slack, db, database_url):
    """In-process: the stop comes after a sweep began a step and before the step's send claims the message."""
    team = due_team(db, slack, 3)
    sweep = sweeper(slack, database_url, db)
    checkins = Summaries(db, sweep.client_for, worker="test")
    row = checkin_row(db, team, team.owners[0])
    shutdown.STOPPING.set()

    assert checkins.dm(row.id, team.now) == "retry"  # not an error: the sweep's report and exit code stay clean
    assert sweep.run(team.now) == {}  # a sweep that begins stopping reads nothing
    assert _claims(db) == [] and dm_posts(slack) == []
    assert checkin_row(db, team, team.owners[0]).due_at == row.due_at  # still due, for the next sweep

    shutdown.reset()
    assert sweep.run(team.now) == {"sent": 3}
    assert_one_dm_each(slack, team.owners)


# 2. serving Slack -------------------------------------------------------------------------------------------------

COMMANDS = 24
ACKED_FIRST = 4  # commands answered before the signal


def _machine_time() -> float:
    return time.clock_gettime(time.CLOCK_REALTIME)  # the child checks signatures on the machine's clock


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def _serve(slack: FakeSlack, database_url: str, port: int) -> subprocess.Popen:
    process = _okr_bot("serve", _env(slack, database_url, PORT=str(port), SCHEDULER="off"), "--host", "127.0.0.1")
    wait_until(
        lambda: process.poll() is not None or _answers(f"http://127.0.0.1:{port}/readyz"),
        timeout=30,
        what="okr-bot serve",
    )
    assert process.poll() is None, process.communicate()[1]
    return process


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


def _channel(n: int) -> str:
    return f"C0BURST{n:02d}"


def _teams(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(Team.name)))


def test_sigterm_in_a_burst_of_commands_carries_out_every_acked_one_once(slack, db, database_url):
    slack.set_latency(0.25)  # each command's reply (after the ack) waits on Slack
    port = _free_port()
    serve = _serve(slack, database_url, port)
    driver = SlackDriver(
        slack, bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET, clock=_machine_time
    )
    names = [f"Burst{n:02d}" for n in range(COMMANDS)]
    for n, name in enumerate(names):  # a channel is one team's
        slack.add_channel(_channel(n), name.lower())
    answers: dict[str, int | str] = {}
    started = threading.Barrier(COMMANDS // 2 + 1)

    def command(n: int, *, first: bool) -> None:
        name = names[n]
        if first:
            started.wait()
        try:
            answers[name] = driver.command(f"team create {name}", user="U0ADA", channel=_channel(n)).status
        except OSError as error:  # the port closed: Slack tells the person the command failed
            answers[name] = type(getattr(error, "reason", error)).__name__

    threads = [
        threading.Thread(target=command, args=(n,), kwargs={"first": n < COMMANDS // 2}) for n in range(COMMANDS)
    ]
    for thread in threads[: COMMANDS // 2]:
        thread.start()
    started.wait()
    # a few acked, their replies (after the ack) still waiting on Slack; the rest of the first half in flight
    wait_until(
        lambda: sum(status == 200 for status in list(answers.values())) >= ACKED_FIRST,
        timeout=20,
        what="the first acks",
    )
    serve.send_signal(signal.SIGTERM)  # and the other half comes as the process stops
    signalled = time.monotonic()
    for thread in threads[COMMANDS // 2 :]:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    _out, err = serve.communicate(timeout=GRACE + 10)
    took = time.monotonic() - signalled

    assert serve.returncode == 0, err
    assert took < GRACE, took
    assert logged_errors(err) == []
    acked = sorted(name for name, status in answers.items() if status == 200)
    assert len(acked) >= ACKED_FIRST, answers
    closed = {"ConnectionRefusedError", "ConnectionResetError", "RemoteDisconnected", "BrokenPipeError"}
    assert set(answers.values()) <= {200, *closed}, answers  # answered, or the port was closed: never an error
    # nothing acked was lost: each acked command's team exists, and its reply reached the person
    assert _teams(db) == acked
    print(f"acked {len(acked)} of {COMMANDS}; stopped {took:.2f} s after SIGTERM")
    replied = [r for r in slack.responses if "created the team" in json.dumps(r)]
    assert sorted(name for name in acked if any(f"*{name}*" in json.dumps(r) for r in replied)) == acked
    assert len(replied) == len(acked)

    # the ones refused are sent again to the next process (as Slack's person would): each is created once
    refused = [name for name in names if name not in acked]
    slack.set_latency(None)
    again = _serve(slack, database_url, port)
    try:
        for name in refused:
            channel = _channel(names.index(name))
            assert driver.command(f"team create {name}", user="U0ADA", channel=channel).status == 200
        wait_until(lambda: len(_teams(db)) == COMMANDS, timeout=15, what="every team")
    finally:
        _terminate(again)
    assert _teams(db) == sorted(names)


# 3. probes while stopping --------------------------------------------------------------------------------------


def test_the_scheduler_says_it_is_not_ready_once_stopping_and_exits_zero(slack, db, database_url):
    team = due_team(db, slack, 3)
    port = _free_port()
    slow = 3.0
    slack.hold_next("chat.postMessage", slow)  # the first DM's answer keeps the sweep busy while the test probes
    scheduler = _okr_bot("scheduler", _env(slack, database_url, PORT=str(port), SENDERS="1"))
    try:
        wait_until(
            lambda: scheduler.poll() is not None or _answers(f"http://127.0.0.1:{port}/livez"),
            timeout=30,
            what="the scheduler",
        )
        status, ready = _get(f"http://127.0.0.1:{port}/readyz")
        assert (status, ready["sweep"], ready["migrations"]) == (200, "ok", "ok"), ready
        wait_until(
            lambda: len(slack.calls_to("chat.postMessage")) >= 1,
            timeout=70,
            what="the minute's sweep",
        )  # sweeps at :00
        scheduler.send_signal(signal.SIGTERM)
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/readyz")[0] == 503, timeout=2, what="readiness to say 503")
        status, ready = _get(f"http://127.0.0.1:{port}/readyz")
        assert ready["process"] == "stopping"
        assert _get(f"http://127.0.0.1:{port}/livez")[0] == 200  # alive: it is only finishing
    finally:
        _out, err = scheduler.communicate(timeout=GRACE + 10)
    assert scheduler.returncode == 0, err
    # the DM whose answer was awaited was recorded; the other two were left due, unclaimed
    claims = _claims(db)
    assert [c.state for c in claims] == [ClaimState.SENT], claims
    _assert_nothing_waits_for_the_lease(db, team.now + timedelta(minutes=1))
