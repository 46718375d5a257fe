"""What the benchmarks share: databases to run on, the bot as a child process, signed requests, percentiles."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.migrate import upgrade  # noqa: E402

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"


# databases ---------------------------------------------------------------------------------------------------


@dataclass
class Databases:
    """Fresh, migrated databases: SQLite files, and PostgreSQL on a throwaway server when its binaries exist."""

    workdir: Path
    postgres: object | None = None  # tests.support.postgres.PostgresServer
    _names: int = 0
    skipped: list[str] = field(default_factory=list)

    def new(self, backend: str) -> str | None:
        self._names += 1
        if backend == "sqlite":
            url = f"sqlite:///{self.workdir}/bench{self._names}.db"
        else:
            if self.postgres is None:
                return None
            url = self.postgres.create_database(f"bench{self._names}")
        upgrade(url)
        return url

    @property
    def backends(self) -> tuple[str, ...]:
        return ("sqlite", "postgresql") if self.postgres is not None else ("sqlite",)


@contextlib.contextmanager
def databases(*, postgres: bool = True) -> Iterator[Databases]:
    workdir = Path(tempfile.mkdtemp(prefix="okr-bench-"))
    found = Databases(workdir)
    server = None
    if postgres:
        from tests.support.postgres import PostgresServer, PostgresServerError, find_pg_bindir

        try:
            bindir = find_pg_bindir()
            if bindir is None:
                found.skipped.append("PostgreSQL: no server binaries on this machine (set PG_BINDIR)")
            else:
                server = PostgresServer(bindir).start()
                found.postgres = server
        except PostgresServerError as error:
            found.skipped.append(f"PostgreSQL: {error}")
    try:
        yield found
    except BaseException:
        print(f"the databases and logs of this run are kept in {workdir}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if server is not None:
            server.stop()


# the bot as a child process ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Child:
    """A child process whose peak resident memory is read when it ends (from wait4's rusage)."""

    process: subprocess.Popen
    peak_mb: float | None = None

    def stop(self, *, grace: float = 10) -> float:
        """Stop it if it still runs (SIGTERM, SIGKILL after `grace` seconds) and return its peak resident memory
        in MB (Linux reports kB)."""
        if self.peak_mb is not None:
            return self.peak_mb
        pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        if pid == 0:  # still running
            # a signal of our own: Popen.terminate() would reap a child that ended meanwhile, and wait4 find none
            os.kill(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while (found := os.wait4(self.process.pid, os.WNOHANG))[0] == 0:
                if time.monotonic() > deadline:
                    self.process.kill()
                    found = os.wait4(self.process.pid, 0)
                    break
                time.sleep(0.05)
            pid, status, usage = found
        return self._ended(status, usage)

    def wait(self) -> float:
        """Wait for it to end on its own; its peak resident memory in MB."""
        if self.peak_mb is None:
            _pid, status, usage = os.wait4(self.process.pid, 0)
            self._ended(status, usage)
        return self.peak_mb

    def _ended(self, status: int, usage) -> float:
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.peak_mb = usage.ru_maxrss / 1024  # kB on Linux
        return self.peak_mb


def bot_env(*, database_url: str, slack_api_url: str, token: str, port: int | None = None, **extra: str) -> dict:
    """The bot's environment: this one's, without any Slack or database settings of its own (an exported
    SLACK_CLIENT_ID would switch the bot to OAuth), and the sandbox's instead."""
    own = ("SLACK_", "DATABASE_URL", "PORT", "SCHEDULER", "LOG_LEVEL")
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(own)},
        "DATABASE_URL": database_url,
        "SLACK_API_URL": slack_api_url,
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SCHEDULER": "off",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    if port is not None:
        env["PORT"] = str(port)
    return env


def okr_bot(*args: str, env: dict, log: Path, capture: bool = False) -> subprocess.Popen:
    """`okr-bot ARGS` as the README runs it, from this checkout; its log (stderr) appended to `log`."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=sink,
        )


def log_tail(log: Path, limit: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def wait_healthy(url: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become healthy within {timeout:.0f} s")
        time.sleep(0.1)


# signed Slack requests ---------------------------------------------------------------------------------------


def signed(body: bytes, content_type: str, *, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def command_body(text: str, **fields: str) -> bytes:
    return urlencode({"command": "/okr", "text": text, **fields}).encode()


def event_body(event: dict, *, team_id: str, event_id: str, api_app_id: str, bot_user_id: str) -> bytes:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": team_id, "user_id": bot_user_id, "is_bot": True}],
        }
    ).encode()


# figures -----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of a non-empty sample: p99 of 100 values is the 99th."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered) - 1e-9)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(function, runs: int) -> tuple[float, object]:
    """The median wall time of `runs` calls, in seconds, and the last call's result."""
    timings = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), result
