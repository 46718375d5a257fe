"""The operator's probes over HTTP: `/livez` says the process answers, `/readyz` (and `/healthz`) whether it should be
sent work: its database answers in time, its schema is current, its sweeps move on, and it is not stopping.

The bot is the production WSGI app under waitress (bot/web.py), as `okr-bot serve` runs it; a process that sweeps is
given its `SweepWatch` the way bot/serving.py gives it.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot import shutdown
from bot.app import build_app
from bot.health import Readiness, only_operations
from bot.sweep import SweepWatch
from bot.web import BackgroundServer, make_wsgi_app
from storage.db import Database
from storage.migrate import alembic_config, downgrade, upgrade
from tests.conftest import SIGNING_SECRET, sandbox_settings
from tests.e2e.test_checkin_delivery import due_team, sweeper

STALE = 60.0  # seconds: the tests that move a watch's moments back move them far past it
LONG_AGO = 10 * STALE


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None
    seconds: float
    headers: dict[str, str]


def probe(base_url: str, path: str, *, method: str = "GET", timeout: float = 10) -> Answer:
    request = urllib.request.Request(base_url + path, method=method)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw, headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        with error:
            status, raw, headers = error.code, error.read(), dict(error.headers)
    return Answer(status, json.loads(raw) if raw else None, time.perf_counter() - started, headers)


@dataclass
class Served:
    url: str
    watch: SweepWatch | None


def serve(slack, db: Database, database_url: str, readiness: Readiness) -> tuple[Served, Callable[[], None]]:
    """The bot's WSGI app with this readiness, under waitress on a loopback port (as conftest serves the bot)."""
    app = build_app(sandbox_settings(slack, database_url), db)
    server = BackgroundServer(make_wsgi_app(app, db, signing_secret=SIGNING_SECRET, readiness=readiness))

    def stop() -> None:
        server.stop()
        app.close()
        readiness.close()

    return Served(f"http://127.0.0.1:{server.port}", None), stop


@pytest.fixture
def served(slack, db, database_url) -> Iterator[Served]:
    """A process that does not sweep (SCHEDULER=off)."""
    running, stop = serve(slack, db, database_url, Readiness(db))
    yield running
    stop()


@pytest.fixture
def sweeping(slack, db, database_url) -> Iterator[Served]:
    """A process that sweeps: its readiness watches its sweeps."""
    watch = SweepWatch()
    running, stop = serve(slack, db, database_url, Readiness(db, sweeps=watch, stale=STALE))
    running.watch = watch
    yield running
    stop()


@pytest.fixture
def unreachable(slack, tmp_path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path}/missing-dir/okr.db"  # SQLite cannot open a file in a directory that does not exist
    db = Database(url)
    running, stop = serve(slack, db, url, Readiness(db))
    yield running
    stop()
    db.dispose()


# liveness ----------------------------------------------------------------------------------------------------------


def test_live_and_ready_with_the_database_up(served):
    assert probe(served.url, "/livez").body == {"ok": True}
    ready = probe(served.url, "/readyz")
    assert (ready.status, ready.body) == (200, {"ok": True, "database": "ok", "migrations": "ok"})
    assert ready.headers["Content-Type"] == "application/json"
    assert probe(served.url, "/healthz").body == ready.body  # the old name answers the same


def test_alive_but_not_ready_when_the_database_is_unreachable(unreachable):
    live = probe(unreachable.url, "/livez")
    assert (live.status, live.body) == (200, {"ok": True})
    ready = probe(unreachable.url, "/readyz")
    assert (ready.status, ready.body) == (503, {"ok": False, "database": "unreachable"})
    assert ready.seconds < Readiness.TIMEOUT  # a refusal is known at once: no waiting for the timeout


def test_head_asks_the_probes_without_a_body(served):
    for path in ("/livez", "/readyz", "/healthz", "/metrics"):
        answer = probe(served.url, path, method="HEAD")
        assert answer.status == 200, path
        assert answer.body is None, path
    shutdown.STOPPING.set()
    assert probe(served.url, "/readyz", method="HEAD").status == 503
    assert probe(served.url, "/livez", method="HEAD").status == 200


def test_other_methods_are_not_the_probes(served):
    """A POST to a probe's path is not a probe: it goes where any other request goes (Bolt's 404)."""
    request = urllib.request.Request(served.url + "/readyz", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404


# migrations --------------------------------------------------------------------------------------------------------


def test_not_ready_one_migration_behind_until_migrated(served, database_url):
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)

    downgrade(database_url, previous)
    ready = probe(served.url, "/readyz")
    assert ready.status == 503
    assert ready.body == {"ok": False, "database": "ok", "migrations": f"not at {head}: run `okr-bot migrate`"}
    assert probe(served.url, "/livez").status == 200

    upgrade(database_url)
    assert probe(served.url, "/readyz").status == 200


def test_still_ready_once_a_newer_release_has_migrated(served, db):
    """A release migrates before its processes start: the replicas of the release before keep serving."""
    with db.transaction() as session:
        (current,) = session.execute(text("SELECT version_num FROM alembic_version")).one()
        session.execute(text("UPDATE alembic_version SET version_num = 'a-newer-release'"))
    try:
        ready = probe(served.url, "/readyz")
        assert (ready.status, ready.body["migrations"]) == (200, "ok")
    finally:
        with db.transaction() as session:
            session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})


def test_not_ready_on_a_database_never_migrated(slack, tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    db = Database(url)
    readiness = Readiness(db)
    server = BackgroundServer(only_operations(readiness))  # as `okr-bot scheduler` serves the probes
    try:
        ready = probe(f"http://127.0.0.1:{server.port}", "/readyz")
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert (ready.status, ready.body["migrations"]) == (503, f"not at {head}: run `okr-bot migrate`")
        assert probe(f"http://127.0.0.1:{server.port}", "/elsewhere").status == 404
    finally:
        server.stop()
        readiness.close()
        db.dispose()


# a database that hangs ---------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port where connections are accepted (by the kernel) and nothing ever answers: to a client, a PostgreSQL
    server that hangs (paused, or stuck on a full disk) rather than refuses."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()  # the connections still waiting are reset: the stuck check ends


def test_a_database_that_hangs_is_not_ready_within_the_timeout(silent_server):
    db = Database(f"postgresql+psycopg://okr@127.0.0.1:{silent_server}/okr")
    readiness = Readiness(db)
    server = BackgroundServer(only_operations(readiness))
    url = f"http://127.0.0.1:{server.port}"
    try:
        first = probe(url, "/readyz")
        assert (first.status, first.body) == (503, {"ok": False, "database": "not answering"})
        assert Readiness.TIMEOUT - 0.1 <= first.seconds < Readiness.TIMEOUT + 1.0, first.seconds
        live = probe(url, "/livez")
        assert live.status == 200 and live.seconds < 0.5, live  # the probe's thread is not the one stuck
    finally:
        server.stop()
        readiness.close()
        db.dispose()


def test_later_probes_say_so_at_once_while_the_query_is_still_stuck(silent_server):
    """README, "Probes": a database that hangs costs a probe at most 2 seconds, "and later probes say 503 at once
    while the query is still stuck" (the connection attempt waits for PostgreSQL's 5-second connect timeout)."""
    db = Database(f"postgresql+psycopg://okr@127.0.0.1:{silent_server}/okr")
    readiness = Readiness(db)
    server = BackgroundServer(only_operations(readiness))
    url = f"http://127.0.0.1:{server.port}"
    try:
        assert probe(url, "/readyz").body["database"] == "not answering"
        second = probe(url, "/readyz")
        assert (second.status, second.body["database"]) == (503, "not answering")
        assert second.seconds < 0.5, f"the second probe took {second.seconds:.2f} s"
    finally:
        server.stop()
        readiness.close()
        db.dispose()


@pytest.mark.postgres
def test_a_paused_postgresql_is_not_ready_in_time_and_ready_again_once_it_answers(served, postgres_server):
    assert probe(served.url, "/readyz").status == 200
    paused = postgres_server.pause()
    try:
        ready = probe(served.url, "/readyz")
        assert (ready.status, ready.body) == (503, {"ok": False, "database": "not answering"})
        assert ready.seconds < Readiness.TIMEOUT + 1.0, ready.seconds
        again = probe(served.url, "/readyz")  # the check is still stuck: no second wait of the whole timeout
        assert again.status == 503 and again.seconds < 0.5, again
        assert probe(served.url, "/livez").status == 200
    finally:
        postgres_server.resume(paused)
    deadline = time.perf_counter() + 3
    while (answer := probe(served.url, "/readyz")).status != 200 and time.perf_counter() < deadline:
        time.sleep(0.1)
    assert answer.body == {"ok": True, "database": "ok", "migrations": "ok"}


# the sweep ---------------------------------------------------------------------------------------------------------


def test_a_young_process_is_ready_before_its_first_sweep(sweeping):
    ready = probe(sweeping.url, "/readyz")
    assert (ready.status, ready.body) == (200, {"ok": True, "database": "ok", "migrations": "ok", "sweep": "ok"})


def test_not_ready_when_no_sweep_has_finished_since_long_after_the_start(sweeping):
    sweeping.watch.created -= LONG_AGO
    ready = probe(sweeping.url, "/readyz")
    assert ready.status == 503
    assert ready.body["sweep"].startswith("no sweep has finished in the "), ready.body
    assert ready.body["database"] == "ok"


def test_not_ready_when_the_last_sweep_finished_long_ago(sweeping):
    watch = sweeping.watch
    watch.began()
    watch.ended(ok=True)
    assert probe(sweeping.url, "/readyz").status == 200
    watch.created -= LONG_AGO
    watch.last_finished -= LONG_AGO
    ready = probe(sweeping.url, "/readyz")
    assert ready.status == 503
    assert ready.body["sweep"] == f"the last sweep finished {LONG_AGO:.0f} s ago", ready.body

    watch.began()  # a failed sweep does not count as finished
    watch.ended(ok=False)
    assert probe(sweeping.url, "/readyz").status == 503
    watch.began()
    watch.ended(ok=True)
    assert probe(sweeping.url, "/readyz").status == 200


def test_a_long_sweep_is_ready_while_it_moves_on_and_not_once_it_stops_moving(sweeping):
    watch = sweeping.watch
    watch.began()
    watch.ended(ok=True)
    watch.began()  # a Monday's thousands of DMs: the sweep runs for far longer than the stale time
    for moment in ("created", "last_finished", "running_since", "last_progress"):
        setattr(watch, moment, getattr(watch, moment) - LONG_AGO)
    stuck = probe(sweeping.url, "/readyz")
    assert stuck.status == 503
    assert stuck.body["sweep"] == f"the sweep running has not moved on for {LONG_AGO:.0f} s", stuck.body

    watch.progressed()  # one more DM sent
    moving = probe(sweeping.url, "/readyz")
    assert (moving.status, moving.body["sweep"]) == (200, "ok")

    watch.last_progress -= STALE + 5
    stopped_moving = probe(sweeping.url, "/readyz")
    assert stopped_moving.status == 503
    assert stopped_moving.body["sweep"] == f"the sweep running has not moved on for {STALE + 5:.0f} s"


def test_the_real_sweeps_keep_a_process_ready_and_their_absence_does_not(slack, db, database_url):
    """The Sweeper's own watch, real sweeps and real waiting, with a stale time of a second."""
    team = due_team(db, slack, 1)
    sweep = sweeper(slack, database_url, db)
    running, stop = serve(slack, db, database_url, Readiness(db, sweeps=sweep.watch, stale=1.0))
    try:
        assert sweep.run(team.now) == {"sent": 1}
        assert probe(running.url, "/readyz").body["sweep"] == "ok"
        time.sleep(1.3)
        late = probe(running.url, "/readyz")
        assert late.status == 503 and late.body["sweep"].startswith("the last sweep finished "), late.body
        assert sweep.run(team.now) == {}
        assert probe(running.url, "/readyz").status == 200
    finally:
        stop()


# stopping ----------------------------------------------------------------------------------------------------------


def test_not_ready_from_the_moment_the_process_starts_stopping_but_still_alive(sweeping):
    assert probe(sweeping.url, "/readyz").status == 200
    shutdown.STOPPING.set()  # what SIGTERM sets (bot/shutdown.py); conftest clears it after the test
    ready = probe(sweeping.url, "/readyz")
    assert ready.status == 503
    assert ready.body == {"ok": False, "database": "ok", "migrations": "ok", "sweep": "ok", "process": "stopping"}
    live = probe(sweeping.url, "/livez")
    assert (live.status, live.body) == (200, {"ok": True})
