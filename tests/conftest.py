"""Fixtures shared by the suite: a migrated database per test on SQLite and PostgreSQL, the
local Slack sandbox, and the real bot served over HTTP against it.

Every test that takes `db` (or anything built on it) runs once per backend. PostgreSQL runs
on a throwaway server this test run starts itself; with no PostgreSQL binaries on the machine
those runs are skipped, and the summary says so loudly.

No test reads the machine's clock: each one starts at the same instant (`TEST_NOW`, a Wednesday noon
UTC unless OKR_TEST_NOW says otherwise) and the clock ticks on from there (freezegun), so the suite gives
the same answer whatever the hour and day it runs at. `OKR_TEST_NOW=2026-12-07T03:00Z make test` runs the
whole suite at another moment of the week. A bot process a test starts gets the same instant through
OKR_CLOCK_START (`child_env`).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import make_url

from bot import clock, shutdown
from bot.app import build_app
from bot.dashboard import links as dashboard_links
from bot.dashboard.web import dashboard_for
from bot.delivery import pacing
from bot.sandbox import FakeSlack, SlackDriver
from bot.settings import Settings
from bot.web import EVENTS_PATH, BackgroundServer, make_wsgi_app
from storage.db import Database
from storage.migrate import upgrade
from tests.support.postgres import PostgresServer, PostgresServerError, find_pg_bindir

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BACKENDS = ("sqlite", "postgresql")
_database_names = itertools.count()
PG_MISSING = (
    "no PostgreSQL server binaries found (set PG_BINDIR or install postgresql): "
    "the PostgreSQL half of the suite was skipped"
)


TEST_NOW = datetime.fromisoformat(os.environ.get("OKR_TEST_NOW") or "2026-12-09T12:00:00+00:00").astimezone(UTC)


@pytest.fixture(autouse=True)
def pinned_clock():
    """The clock every test starts from (see the module's docstring); a test may freeze another instant inside."""
    with freeze_time(TEST_NOW, tick=True) as frozen:
        yield frozen


@pytest.fixture(autouse=True)
def fresh_pacer(monkeypatch):
    """Each test starts with the process's pacer unspent: the pacer keeps a minute of calls per workspace and channel,
    and every test's sandbox has the same token and channel ids, so one test's posts would hold up the next's."""
    monkeypatch.setattr(pacing, "PACER", pacing.Pacer())


@pytest.fixture(autouse=True)
def not_stopping():
    """A test that stops the process's work (bot/shutdown.py's STOPPING) leaves the next one running."""
    yield
    shutdown.reset()


@pytest.fixture(autouse=True)
def no_dashboard_links():
    """The dashboard's address is the process's (set by build_app): a test that gave one leaves the next without."""
    yield
    dashboard_links.configure(None)


@pytest.fixture(autouse=True)
def clock_not_moved():
    """A test that moves the bot's clock (a sandbox's jump to the next check-in) leaves the next one at its own."""
    yield
    clock.reset()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a bot process a test starts: this test's clock, so both live at the same moment."""
    return {**os.environ, "OKR_CLOCK_START": datetime.now(UTC).isoformat(), **extra}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        wanted = os.environ.get("OKR_TEST_BACKENDS", ",".join(BACKENDS)).split(",")
        if metafunc.definition.get_closest_marker("postgres"):  # what only several processes on PostgreSQL do
            wanted = [b for b in wanted if b == "postgresql"]
        metafunc.parametrize("backend", [b for b in BACKENDS if b in wanted], scope="session")


def pytest_terminal_summary(terminalreporter) -> None:
    # decided here rather than by the fixture, which runs in the worker processes under pytest-xdist
    wanted = os.environ.get("OKR_TEST_BACKENDS", ",".join(BACKENDS)).split(",")
    try:
        missing = PG_MISSING if "postgresql" in wanted and find_pg_bindir() is None else None
    except PostgresServerError as error:  # PG_BINDIR set to a wrong place: the fixture errors with this too
        missing = str(error)
    if missing:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(missing, red=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(PG_MISSING)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_template(backend: str, tmp_path_factory: pytest.TempPathFactory, request) -> str:
    """A database built by running the migrations once per run; each test gets a copy."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "template.db"
        upgrade(f"sqlite:///{path}")
        return str(path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database("okr_template")
    upgrade(url)
    return "okr_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database for the tests that need one backend only (the sandbox's page)."""
    path = tmp_path_factory.mktemp("sqlite-only") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "okr.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(backend: str, migrated_template: str, tmp_path: Path, request) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "okr.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"okr_test_{next(_database_names)}"
    url = server.create_database(name, template=migrated_template)
    yield url
    server.drop_database(name)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The fake Slack workspace: admin Ada, members Ben and Cleo, and a few channels."""
    fake = FakeSlack().start()
    fake.add_user("U0ADA", "ada", real_name="Ada Admin", is_admin=True, tz="Europe/Paris")
    fake.add_user("U0BEN", "ben", real_name="Ben Member", tz="America/New_York")
    fake.add_user("U0CLEO", "cleo", real_name="Cleo Member", tz="Asia/Tokyo")
    fake.add_channel("C0ROCKET", "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"))
    fake.add_channel("C0GROWTH", "team-growth", members=("U0ADA", "U0BEN"))
    fake.add_channel("C0GENERAL", "general", members=("U0ADA", "U0BEN", "U0CLEO"))
    fake.add_channel("G0SECRET", "secret", is_private=True, bot_is_member=False, members=("U0ADA",))
    yield fake
    fake.stop()


@dataclass
class RunningBot:
    url: str
    settings: Settings
    db: Database


def serve_bot(settings: Settings, db: Database) -> tuple[RunningBot, Callable[[], None]]:
    """The production WSGI app under waitress on a loopback port, as `okr-bot serve` runs it."""
    app = build_app(settings, db)
    server = BackgroundServer(
        make_wsgi_app(app, db, signing_secret=settings.slack_signing_secret, dashboard=dashboard_for(settings, db))
    )

    def stop() -> None:
        server.stop()
        app.close()  # its pools' threads end once idle, rather than piling up over a run

    return RunningBot(f"http://127.0.0.1:{server.port}", settings, db), stop


def sandbox_settings(slack: FakeSlack, database_url: str, **overrides) -> Settings:
    values = {
        "database_url": make_url(database_url),
        "slack_api_url": slack.api_url,
        "slack_bot_token": slack.workspace().bot_token,
        "slack_signing_secret": SIGNING_SECRET,
    } | overrides
    return Settings(**values)


@pytest.fixture
def bot(slack: FakeSlack, db: Database, database_url: str) -> Iterator[RunningBot]:
    running, stop = serve_bot(sandbox_settings(slack, database_url), db)
    yield running
    stop()


@pytest.fixture
def driver(slack: FakeSlack, bot: RunningBot) -> SlackDriver:
    return SlackDriver(slack, bot_url=bot.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
