"""Engines and sessions. There is no global session: callers open one per unit of work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Delete, Engine, Update, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

# execution option marking connections of read-only transactions
READ_ONLY = "okr_read_only"

# Set, while a Slack request is being handled, to an event that is set once Slack has been given a fallback answer
# in its place ("nothing was saved, try again"): from then on the request's transactions roll back instead of
# committing, so that the answer stays true (bot/ack.py).
request_abandoned: ContextVar[threading.Event | None] = ContextVar("okr_request_abandoned", default=None)

# How long PostgreSQL may take (a request never waits on these: bot/ack.py answers Slack first). They bound what a
# stuck statement or a held lock costs a worker, and free the server's side of a connection a crash left open.
SQLITE_BUSY_TIMEOUT = 10  # seconds a writer waits for SQLite's write lock before giving up
PG_CONNECT_TIMEOUT = 5  # seconds
PG_POOL_TIMEOUT = 5  # seconds to wait for a free connection of the pool
PG_STATEMENT_TIMEOUT_MS = 60_000
PG_LOCK_TIMEOUT_MS = 15_000
PG_IDLE_IN_TRANSACTION_MS = 120_000


# What "the database is not available right now" looks like: refused or lost connections, and no free connection in
# the pool within PG_POOL_TIMEOUT (sqlalchemy.exc.TimeoutError)
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, SATimeoutError)


def cause(error: BaseException) -> str:
    """The name of what went wrong under an SQLAlchemy error (the driver's exception), for a log line."""
    return type(getattr(error, "orig", None) or error).__name__


def rows_matched(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE; how many rows its WHERE matched (what a compare-and-set reads to learn whether it
    won). Its result is a CursorResult, which Session.execute's signature does not say."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


class RequestAbandoned(Exception):
    """A transaction of a Slack request that was answered without it (see `request_abandoned`): rolled back."""


class Database:
    """One engine and its session factory; `transaction()` is the unit of work."""

    def __init__(self, url: URL | str, *, echo: bool = False) -> None:
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed together on success and rolled back on any error."""
        with self._sessions.begin() as session:
            yield session
            abandoned = request_abandoned.get()
            if abandoned is not None and abandoned.is_set():
                raise RequestAbandoned("Slack was told this was not saved: rolled back")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it does not queue behind writers for the write lock."""
        with self._readers.begin() as session:
            yield session

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: URL | str, *, echo: bool = False, timeouts: bool = True) -> Engine:
    """The engine for `url`; `timeouts=False` (migrations) lets a statement run as long as it needs."""
    url_text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    if url_text.startswith("sqlite"):
        # connections to a file are cheap: enough for every thread that may hold one (bot/ack.py's slots and
        # workers, the sweep), so that a writer waiting for the lock never leaves a reader without a connection
        pooled = (
            {}
            if url_text in ("sqlite://", "sqlite:///:memory:")
            else {
                "pool_size": 20,
                "max_overflow": 30,
                "pool_timeout": PG_POOL_TIMEOUT,
            }
        )
        engine = create_engine(url_text, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT}, **pooled)
        _configure_sqlite(engine)
        return engine
    if not timeouts:
        return create_engine(url_text, echo=echo, pool_pre_ping=True)
    options = (
        f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={PG_LOCK_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_MS}"
    )
    return create_engine(
        url_text,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=PG_POOL_TIMEOUT,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT,
            "options": options,
            # a server that vanished from the network (not one that refuses) is noticed within a minute or so
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and writers that queue instead of failing.

    pysqlite's own transaction handling starts transactions lazily, so two writers can both
    read and then deadlock upgrading their locks. Taking the write lock at BEGIN (IMMEDIATE)
    makes concurrent requests wait their turn, which is what a bot on one SQLite file needs.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
