"""An acknowledged event is a stored event: `okr-bot serve` killed outright (SIGKILL) in the middle of a burst of
votes, then started again while Slack redelivers what it got no answer for.

The bot runs as the README runs it, in a process of its own, on SQLite and on PostgreSQL; 160 people each add one
✅ to a triage item, sent by eight clients at once, and the process is killed once about a third of them have been
answered. Then:
- every event the bot answered 200 is in the database at that instant (its vote is stored before the answer);
- the bot starts again, and Slack sends every event it had no 200 for (with `X-Slack-Retry-Num`), and a few it
  had one for: the tally holds each of the 160 votes once, and nothing needs reading back from Slack.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.rituals.triage import HELPS
from bot.sandbox import FakeSlack, SlackDriver
from bot.web import EVENTS_PATH
from storage.models import ProcessedEvent, Team
from tests import factories
from tests.conftest import SIGNING_SECRET, child_env
from tests.e2e.okr_support import add_backlog, commit, posted_round, reaction_event, rockets, stored_votes
from tests.e2e.support import okr

ROOT = Path(__file__).resolve().parents[2]
VOTERS = 40
ITEMS = 4  # 160 votes: each voter's ✅ on each item
KILL_AFTER = 55  # answered events before the kill


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def real_time() -> float:
    """The machine's clock: the bot process checks request signatures against it (the test's clock is pinned)."""
    return time.clock_gettime(time.CLOCK_REALTIME)


class ServeProcess:
    """`okr-bot serve` in a child process, against the test's database and fake Slack."""

    def __init__(self, slack: FakeSlack, database_url: str, log: Path) -> None:
        self.port = _free_port()
        own = ("SLACK_", "DATABASE_URL", "PORT", "SCHEDULER", "LOG_LEVEL")
        env = {k: v for k, v in child_env().items() if not k.startswith(own)} | {
            "DATABASE_URL": database_url,
            "SLACK_API_URL": slack.api_url,
            "SLACK_BOT_TOKEN": slack.workspace().bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PORT": str(self.port),
            "SCHEDULER": "off",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"okr-bot serve did not start; its log:\n{self.log.read_text()[-3000:]}")

    def driver(self, slack: FakeSlack) -> SlackDriver:
        return SlackDriver(slack, bot_url=self.url + EVENTS_PATH, signing_secret=SIGNING_SECRET, clock=real_time)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def serving() -> Iterator[list[ServeProcess]]:
    """The bot processes a test starts, stopped at its end (those still running)."""
    started: list[ServeProcess] = []
    yield started
    for process in started:
        process.stop()


def test_every_vote_acknowledged_before_a_kill_is_stored_and_none_counts_twice(
    driver, slack, db, database_url, serving, tmp_path
):
    rockets(driver, slack)
    voters = [f"U2V{n:03d}" for n in range(VOTERS)]
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name == "Rockets")).one()
        for user in voters:
            slack.add_user(user, user.lower(), tz="UTC")
            factories.member(session, team, user)
    commit(db)
    add_backlog(db, *[f"Idea {n}" for n in range(ITEMS)])
    okr(driver, slack, "triage start")
    items = posted_round(db).items
    events = {
        f"EvKILL{i:02d}{v:03d}": reaction_event("reaction_added", user, "C0ROCKET", item.ts, HELPS)
        | {"event_ts": slack.next_ts()}
        for i, item in enumerate(items)
        for v, user in enumerate(voters)
    }
    expected = {(item.number, user, HELPS) for item in items for user in voters}

    first = ServeProcess(slack, database_url, tmp_path / "serve.log")
    serving.append(first)
    bot = first.driver(slack)
    answered: dict[str, int] = {}
    lock = threading.Lock()
    queue = iter(list(events))

    def client() -> None:
        while True:
            with lock:
                event_id = next(queue, None)
            if event_id is None:
                return
            try:
                status = bot.event(events[event_id], event_id=event_id).status
            except OSError:  # the process died with the request in flight: no answer
                continue
            with lock:
                answered[event_id] = status

    clients = [threading.Thread(target=client) for _ in range(8)]
    for thread in clients:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.005)
    first.kill()
    for thread in clients:
        thread.join(timeout=60)

    with lock:
        acked = {event_id for event_id, status in answered.items() if status == 200}
    assert KILL_AFTER <= len(acked) < len(events), f"{len(acked)} acknowledged: the kill was not mid-burst"
    # acknowledged means stored: every one of them is in the database, with nobody left to write it
    with db.read() as session:
        stored_ids = set(session.scalars(select(ProcessedEvent.event_id)))
    assert acked <= stored_ids, f"{len(acked - stored_ids)} acknowledged votes were lost"
    assert len(stored_votes(db)) == len(stored_ids)  # each stored event is its vote

    # started again, the bot gets what Slack redelivers: every event it had no 200 for, and a few it had
    second = ServeProcess(slack, database_url, tmp_path / "serve.log")
    serving.append(second)
    bot = second.driver(slack)
    for event_id in [e for e in events if e not in acked] + sorted(acked)[:10]:
        assert bot.event(events[event_id], event_id=event_id, retry_num=1).status == 200, event_id
    assert stored_votes(db) == expected
    with db.read() as session:
        assert sorted(session.scalars(select(ProcessedEvent.event_id))) == sorted(events)
