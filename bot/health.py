"""What an operator's probes and scrapers read: `/livez`, `/readyz` (and `/healthz`, its old name) and `/metrics`.

- **Liveness** (`GET /livez`): 200 while the process answers HTTP. Nothing it depends on is checked, so an
  orchestrator restarts the process only when the process itself is wedged, never because the database is down
  (a restart would not bring it back).
- **Readiness** (`GET /readyz`): 200 when the database answers within `TIMEOUT` seconds, its schema is the one
  this code migrates to, and, in a process that sweeps, a sweep finished or moved on within `SWEEP_STALE` seconds;
  503 otherwise, and from the moment the process starts stopping (bot/shutdown.py), so a load balancer sends
  the next request elsewhere. The body says which check failed.

The database is asked on a thread of its own: a database that hangs (rather than refuses) cannot hold the probe
or the HTTP thread answering it for longer than `TIMEOUT`, and while a query is still stuck later probes say 503
at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot import metrics, shutdown
from bot.sweep import SweepWatch
from storage.db import Database
from storage.migrate import alembic_config

log = logging.getLogger(__name__)

LIVENESS_PATH, READINESS_PATH, METRICS_PATH = "/livez", "/readyz", "/metrics"
VERSION_TABLE = "alembic_version"
HEALTH_PATH = "/healthz"  # what readiness was called before liveness was split from it; kept for existing probes
# seconds without a sweep finishing, or a running one moving on, before a process that sweeps says it is not ready
SWEEP_STALE = 300.0


class Readiness:
    TIMEOUT = 2.0
    SETTLE = 0.2  # seconds a probe still waits for a check an earlier probe gave up on

    def __init__(self, db: Database, *, sweeps: SweepWatch | None = None, stale: float = SWEEP_STALE) -> None:
        self._db = db
        self.sweeps = sweeps  # set once this process's sweeps have started, when it runs them
        self.checks: dict[str, Callable[[], str]] = {}  # more, by name: each says "ok" or what is wrong
        self._stale = stale
        scripts = ScriptDirectory.from_config(alembic_config(db.engine.url))
        self._head = scripts.get_current_head()
        self._older = {script.revision for script in scripts.walk_revisions()} - {self._head}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okr-health")
        self._running: Future | None = None
        self._asked_at = 0.0  # when the check running (or last run) was started, on time.monotonic()'s clock
        self._lock = threading.Lock()
        self._revision: str | None = None

    def check(self) -> tuple[bool, dict[str, str]]:
        """(ready, what each check found)."""
        found = {"database": self._database()}
        if found["database"] == "ok":
            found["migrations"] = self._migrations()
        if self.sweeps is not None:
            found["sweep"] = self.sweeps.behind(self._stale) or "ok"
        for name, check in self.checks.items():
            found[name] = check()
        if shutdown.STOPPING.is_set():
            found["process"] = "stopping"
        return all(value == "ok" for value in found.values()), found

    def _migrations(self) -> str:
        """ "ok" at this code's schema or a newer one: a release migrates before its processes start, and the
        replicas of the release before keep serving meanwhile (migrations add before they take away). Behind it
        (never migrated, or an older revision), not ready."""
        if self._revision is None or self._revision in self._older:
            return f"not at {self._head}: run `okr-bot migrate`"
        return "ok"

    def _database(self) -> str:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(self._read_revision)
                self._asked_at = time.monotonic()
            running, asked_at = self._running, self._asked_at
        try:
            # a check still stuck from an earlier probe has had its time already: a later probe gives it only a moment
            # more (for a database that has just come back to answer it), not the whole timeout again
            left = min(self.TIMEOUT, max(self.SETTLE, asked_at + self.TIMEOUT - time.monotonic()))
            self._revision = running.result(timeout=left)
        except FutureTimeout:
            log.warning("readiness check failed", extra={"error": "the database did not answer in time"})
            return "not answering"
        except Exception as error:  # any failure to answer means "not ready"; the reason goes to the log
            log.warning("readiness check failed", extra={"error": type(error).__name__})
            return "unreachable"
        return "ok"

    def _read_revision(self) -> str | None:
        """The schema's Alembic revision, read as Alembic keeps it (without Alembic's context, which logs two lines
        at every probe)."""
        with self._db.engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def operations(readiness: Readiness) -> Callable[[dict[str, Any], Any], Iterable[bytes] | None]:
    """A WSGI handler for the operator's paths; None for any other path (the caller routes it)."""

    def handle(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes] | None:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return None
        if path == LIVENESS_PATH:
            return json_response(start_response, "200 OK", {"ok": True})
        if path in (READINESS_PATH, HEALTH_PATH):
            ready, found = readiness.check()
            status = "200 OK" if ready else "503 Service Unavailable"
            return json_response(start_response, status, {"ok": ready, **found})
        if path == METRICS_PATH:
            body, content_type = metrics.exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        return None

    return handle


def only_operations(readiness: Readiness) -> WSGIApplication:
    """The whole WSGI app of a process that serves no Slack requests (`okr-bot socket`, `okr-bot scheduler`)."""
    handle = operations(readiness)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answer = handle(environ, start_response)
        if answer is not None:
            return answer
        return json_response(start_response, "404 Not Found", {"ok": False, "error": "not found"})

    return wsgi


def json_response(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
