"""Several bot processes on one database: Slack's retries reach any of them, effects happen once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.sandbox import SlackDriver
from bot.web import EVENTS_PATH
from storage.db import Database
from storage.models import EventLog, ProcessedEvent, Team
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.helpers import eventually

REPLICAS = 3


@pytest.fixture
def replicas(slack, database_url):
    """Start `n` bot processes' worth of app, engine and HTTP server on the test's database."""
    started = []

    def start(n: int) -> list[SlackDriver]:
        for _ in range(n):
            replica_db = Database(database_url)  # each process has its own engine and pool
            running, stop = serve_bot(sandbox_settings(slack, database_url), replica_db)
            driver = SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
            started.append((driver, stop, replica_db))
        return [driver for driver, _stop, _db in started]

    yield start
    for _driver, stop, replica_db in started:
        stop()
        replica_db.dispose()


def test_one_event_delivered_to_every_replica_at_once_counts_once(replicas, db):
    drivers = replicas(REPLICAS)
    event = {"type": "app_uninstalled"}
    deliveries = [(d, n) for n, d in enumerate(drivers)]
    with ThreadPoolExecutor(REPLICAS) as pool:
        statuses = list(
            pool.map(lambda dn: dn[0].event(event, event_id="Ev0ONCE", retry_num=dn[1] or None).status, deliveries)
        )
    assert statuses == [200] * REPLICAS

    def recorded_once() -> None:
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
            actions = s.scalars(select(EventLog.action).where(EventLog.entity == "workspace")).all()
            assert actions == ["uninstalled"]

    eventually(recorded_once)


def test_commands_spread_over_replicas_share_one_truth(replicas, slack, db):
    first, second = replicas(2)
    first.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    slack.wait_for_response()
    second.command("team create Other", user="U0BEN", channel="C0ROCKET")
    refused = slack.wait_for_response(count=2)["body"]["text"]
    assert "already the home of team *Rockets*" in refused
    with db.transaction() as s:
        assert s.scalars(select(Team.name)).all() == ["Rockets"]
