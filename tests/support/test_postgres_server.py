"""End-to-end check of the throwaway PostgreSQL server the rest of the suite relies on.

One test walks the whole lifecycle, because every step (initdb, start, kill,
restart, stop) costs real time and each depends on the state the previous left.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from .postgres import PostgresServer, find_pg_bindir

BINDIR = find_pg_bindir()

pytestmark = pytest.mark.skipif(
    BINDIR is None,
    reason="PostgreSQL server binaries not found (set PG_BINDIR or install postgresql)",
)


def _engine(url: str) -> Engine:
    """NullPool so no pooled connection outlives a block: templates and kills need that."""
    return create_engine(url, poolclass=NullPool)


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    assert BINDIR is not None
    with PostgresServer(BINDIR) as pg:
        yield pg


def _make_template(server: PostgresServer) -> None:
    engine = _engine(server.create_database("app_template"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"))
        conn.execute(text("INSERT INTO notes (body) VALUES ('from template')"))
    engine.dispose()


def _bodies(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars())


def test_lifecycle(server: PostgresServer) -> None:
    root = server.root
    port = server.port
    assert root is not None and root.is_dir()
    assert port is not None and server.url.endswith(f"127.0.0.1:{port}/postgres")
    with _engine(server.url).connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1

    _make_template(server)
    app = _engine(server.create_database("app_test", template="app_template"))
    with app.begin() as conn:
        conn.execute(text("INSERT INTO notes (body) VALUES ('committed before kill')"))
    assert _bodies(app) == ["from template", "committed before kill"]

    server.kill()
    assert not _port_accepts(port)
    server.restart()
    assert server.port == port
    assert _bodies(app) == ["from template", "committed before kill"]
    app.dispose()

    server.drop_database("app_test")
    server.stop()
    server.stop()  # idempotent
    assert not Path(root).exists()
    assert not _port_accepts(port)
