"""The bot served as the README serves it (`okr-bot serve`, waitress) against the sandbox, with a team ready to vote:
Rockets in #team-rocket, voters who joined it, a committed objective and a triage round posted in Slack."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from benchmarks.common import SIGNING_SECRET, Child, bot_env, free_port, log_tail, okr_bot, wait_healthy
from bot.rituals import backlog
from bot.sandbox import FakeSlack, SlackDriver
from bot.web import EVENTS_PATH
from storage.db import Database
from storage.models import BacklogItem, Membership, Round, RoundItem, Team
from tests import factories

CHANNEL = "C0ROCKET"
FACILITATOR = "U0ADA"


@dataclass
class Ballot:
    round_item_id: int
    ts: str


@dataclass
class Stage:
    fake: FakeSlack
    database_url: str
    url: str
    child: Child
    voters: list[str]
    ballots: list[Ballot] = field(default_factory=list)

    @property
    def driver(self) -> SlackDriver:
        return SlackDriver(self.fake, bot_url=self.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)

    def stop(self) -> float:
        """Stop the bot and the sandbox; the bot's peak resident memory in MB."""
        try:
            return self.child.stop()
        finally:
            self.fake.stop()


def start(database_url: str, *, log: Path, voters: int = 40, items: int = 5, threads: int = 16) -> Stage:
    """The bot serving `database_url`, its log written to `log`."""
    fake = FakeSlack().start()
    child = None
    try:
        fake.add_user(FACILITATOR, "ada", real_name="Ada", is_admin=True, tz="UTC")
        people = [f"U0V{n:04d}" for n in range(voters)]
        for person in people:
            fake.add_user(person, person.lower(), tz="UTC")
        fake.add_channel(CHANNEL, "team-rocket", members=(FACILITATOR, *people))
        port = free_port()
        env = bot_env(
            database_url=database_url, slack_api_url=fake.api_url, token=fake.workspace().bot_token, port=port
        )
        child = Child(okr_bot("serve", "--host", "127.0.0.1", "--threads", str(threads), env=env, log=log))
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; the end of its log ({log}):\n{log_tail(log)}") from None
    except BaseException:
        if child is not None:
            child.stop()
        fake.stop()
        raise
    stage = Stage(fake, database_url, url, child, people)
    try:
        _prepare(stage, items)
    except BaseException:
        stage.stop()
        raise
    return stage


def _prepare(stage: Stage, items: int) -> None:
    """The team, its members and OKRs, and an open triage of `items` inbox items, through the bot."""
    driver = stage.driver
    db = Database(stage.database_url)
    try:
        _expect(driver.command("team create Rockets", user=FACILITATOR, channel=CHANNEL))
        _until(lambda: _members(db) == 1, "the team was not created")
        for person in stage.voters:
            _expect(driver.command("team join", user=person, channel=CHANNEL))
        _until(lambda: _members(db) == 1 + len(stage.voters), "the voters did not all join")
        now = datetime.now(UTC)
        with db.transaction() as session:
            team = session.scalars(select(Team).where(Team.name_key == "rockets")).one()
            factories.committed_objective(session, team, now=now)
            backlog.add_items(
                session,
                team=team,
                texts=[f"Idea {n}" for n in range(items)],
                user_id=FACILITATOR,
                now=now,
                via="bench",
                key_result=None,
            )
        _expect(driver.command("triage start", user=FACILITATOR, channel=CHANNEL))
        deadline = time.monotonic() + 30
        while not stage.ballots:
            with db.read() as session:
                rows = session.execute(
                    select(RoundItem.id, RoundItem.message_ts)
                    .join(Round, Round.id == RoundItem.round_id)
                    .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
                    .order_by(RoundItem.position)
                ).all()
            if rows and all(ts for _id, ts in rows):
                stage.ballots = [Ballot(item_id, ts) for item_id, ts in rows]
            elif time.monotonic() > deadline:
                raise RuntimeError("the triage round was not posted within 30 s")
            else:
                time.sleep(0.1)
    finally:
        db.dispose()


def _expect(result) -> None:
    if result.status != 200:
        raise RuntimeError(f"the bot answered {result.status}: {result.text[:300]}")


def _members(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Membership))


def _until(check: Callable[[], bool], failure: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        time.sleep(0.05)


# load --------------------------------------------------------------------------------------------------------

Request = tuple[bytes, dict[str, str]]


def load(
    url: str, requests: Callable[[int], Request], *, total: int, clients: int, rate: float | None = None
) -> tuple[list[float], list[int]]:
    """Send `total` requests from `clients` concurrent keep-alive clients; each request's latency (s) to its
    HTTP response, and the statuses. `requests(n)` builds the n-th request (body and headers).

    With `rate` (requests per second, all clients together) the n-th request is due at n / rate seconds from
    the start, as Slack would send it, and its latency counts from then, so a request that waited for a free
    client counts its wait too. Without it every client sends its next request as soon as it has an answer.
    """
    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.05

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[tuple[float, int]] = []
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body, headers = requests(n)
            due = start + n / rate if rate else None
            if due is not None and (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            started = due if due is not None else time.perf_counter()
            connection.request("POST", EVENTS_PATH, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started, response.status))
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.close()
        with lock:
            latencies.extend(latency for latency, _status in mine)
            statuses.extend(status for _latency, status in mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses
