"""A throwaway PostgreSQL server for the test suite.

The bot's storage layer has to be tested against a real PostgreSQL (SQLite does not
behave the same under concurrency, and mocks say nothing about SQL), but the tests
must not depend on a server someone configured by hand.  ``PostgresServer`` runs
``initdb`` into a private temporary directory, starts ``postgres`` on a free
loopback port, and removes everything again on ``stop()``.

Durability knobs are turned off where that is safe for tests: ``fsync`` and
``full_page_writes`` only matter when the *operating system* crashes, which a test
never simulates.  ``synchronous_commit`` stays **on** by default, because
``kill()`` simulates a *server* crash and with asynchronous commit a transaction
reported as committed can be lost if the WAL writer had not yet written it; fault
tests asserting "committed data survives" would then be flaky.  With ``fsync=off``
a synchronous commit costs one ``write()`` and no disk flush, so it is nearly free.
Pass ``settings={"synchronous_commit": "off"}`` to trade that guarantee for speed.

PostgreSQL refuses to run as root, so when the tests run as root (typical in
containers) the server processes run as ``nobody`` instead.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NoReturn
from urllib.parse import quote

import psycopg
from psycopg import sql

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
ORPHAN_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 5
POLL_INTERVAL_S = 0.05
SERVER_BINARIES = ("initdb", "postgres")
DEFAULT_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "on",
    "full_page_writes": "off",
    "max_connections": "100",
}
FALLBACK_SYSTEM_USER = "pgtest"
_ADDRESS_IN_USE = re.compile(r"could not bind .*address already in use", re.IGNORECASE)


class PostgresServerError(RuntimeError):
    """Raised when the throwaway server cannot be created, started or reached."""


class _AddressInUse(PostgresServerError):
    """The chosen port was taken between picking it and postgres binding it."""


# --------------------------------------------------------------------------- binaries


def _has_server_binaries(directory: Path) -> bool:
    """True if ``directory`` holds everything ``PostgresServer`` executes."""
    return all(os.access(directory / name, os.X_OK) for name in SERVER_BINARIES)


def _pg_config_bindir() -> Path | None:
    """Ask ``pg_config`` where the binaries are; distributions often keep them off PATH."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(result.stdout.strip())


def _debian_bindirs() -> list[Path]:
    """Debian/Ubuntu ``/usr/lib/postgresql/<major>/bin`` directories, newest first."""

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)


def _path_bindir() -> Path | None:
    """The real directory of ``initdb`` on PATH (symlinks resolved, so ``postgres`` is beside it)."""
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def find_pg_bindir() -> Path | None:
    """Locate a directory holding ``initdb`` and ``postgres``, or None if there is none.

    ``PG_BINDIR`` wins so a developer can pick a version; if it is set but wrong we
    raise instead of silently testing against some other installation.
    """
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        path = Path(explicit)
        if not _has_server_binaries(path):
            raise PostgresServerError(f"PG_BINDIR={explicit} does not contain {SERVER_BINARIES}")
        return path
    candidates = [_pg_config_bindir(), *_debian_bindirs(), _path_bindir()]
    return next((c for c in candidates if c is not None and _has_server_binaries(c)), None)


# ------------------------------------------------------------------------ OS identity


@dataclass(frozen=True)
class RunAs:
    """Unprivileged identity for the server processes when the tests run as root."""

    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, object]:
        """Drop root for the child; ``extra_groups=[]`` also sheds root's supplementary groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """Create a no-login system user; only used on images that lack ``nobody``."""
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


def resolve_run_as() -> RunAs | None:
    """None when not root (run as ourselves); otherwise ``nobody``, or a created user."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", FALLBACK_SYSTEM_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(entry.pw_uid, entry.pw_gid)
    entry = _ensure_system_user(FALLBACK_SYSTEM_USER)
    return RunAs(entry.pw_uid, entry.pw_gid)


def _can_traverse(path: Path, run_as: RunAs) -> bool:
    """Whether ``run_as`` may enter every directory from / down to ``path``.

    ``os.access`` cannot answer this for another user, so check the mode bits.
    """
    path = path.resolve()
    for directory in [path, *path.parents]:
        info = directory.stat()
        if info.st_uid == run_as.uid:
            needed = stat.S_IXUSR
        elif info.st_gid == run_as.gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not info.st_mode & needed:
            return False
    return True


def _parent_death_preexec() -> Callable[[], None] | None:
    """Make the postmaster get SIGQUIT (immediate shutdown) if the test process dies.

    ``atexit`` does not run when pytest is SIGKILLed or segfaults; this Linux
    ``prctl(PR_SET_PDEATHSIG)`` hook covers that.  It fires when the *thread* that
    started the server exits, so start servers from the main thread (pytest
    fixtures do).  The preexec function runs after the uid switch, which would
    otherwise reset the setting.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGQUIT), 0, 0, 0)

    return preexec


# ---------------------------------------------------------------------------- helpers


def _free_port() -> int:
    """Ask the kernel for an unused loopback port (racy, hence the retry in ``start``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, offset: int = 0, limit: int = 4000) -> str:
    """The last ``limit`` characters of a log written after ``offset``, for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return text[-limit:]


def _proc_state_and_parent(pid: int) -> tuple[str, int] | None:
    """(state, ppid) from ``/proc/<pid>/stat``, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may contain ") "
    return fields[0], int(fields[1])


def _children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid``; empty where there is no ``/proc``.

    Needed because every postgres child calls ``setsid()``, so a process group does
    not find them.
    """
    children = []
    for entry in Path("/proc").glob("[0-9]*"):
        info = _proc_state_and_parent(int(entry.name))
        if info is not None and info[1] == pid:
            children.append(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    """Running and not a zombie (an orphaned zombie holds no shared memory)."""
    info = _proc_state_and_parent(pid)
    return info is not None and info[0] != "Z"


def _wait_for_exit(pids: list[int], timeout: float) -> None:
    """Wait for orphaned postgres children to notice postmaster death; SIGKILL stragglers."""
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
    for pid in filter(_alive, pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- server


class PostgresServer:
    """One private PostgreSQL cluster: ``initdb`` + ``postgres`` in a temporary directory.

    Usable as a context manager.  ``stop()`` is idempotent and also registered with
    ``atexit`` so an aborted test run does not leave a postmaster behind.
    """

    def __init__(
        self,
        bindir: Path,
        *,
        base_dir: Path | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.bindir = Path(bindir)
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.run_as = resolve_run_as()
        self.root: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    # -- paths -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._require_root() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_root() / "sock"

    @property
    def log_path(self) -> Path:
        return self._require_root() / "server.log"

    def _require_root(self) -> Path:
        if self.root is None:
            raise PostgresServerError("server has not been started")
        return self.root

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) for database ``name`` on this server."""
        if self.port is None:
            raise PostgresServerError("server has not been started")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{quote(name, safe='')}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> PostgresServer:
        """Create a fresh cluster and start it on a free port; returns self for chaining."""
        if self.root is not None:
            raise PostgresServerError(f"server already started in {self.root}")
        atexit.register(self.stop)
        try:
            self._make_root()
            began = time.monotonic()
            self._initdb()
            self.timings["initdb"] = time.monotonic() - began
            began = time.monotonic()
            self._launch_on_free_port()
            self.timings["start"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Fast-shutdown the server and delete its directory; safe to call repeatedly."""
        atexit.unregister(self.stop)
        if self.root is None and self.process is None:
            return
        began = time.monotonic()
        self._shutdown(signal.SIGINT)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        self.port = None
        self.timings["stop"] = time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would, and wait for its children to die.

        Waiting matters: ``restart()`` refuses to start while orphaned backends still
        hold the old shared memory.
        """
        if self.process is None or not self.running:
            raise PostgresServerError("server is not running")
        children = _children_of(self.process.pid)
        self._shutdown(signal.SIGKILL)
        _wait_for_exit(children, ORPHAN_TIMEOUT_S)

    def pause(self) -> list[int]:
        """SIGSTOP the postmaster and every backend: a server that hangs rather than refuses (connections are
        accepted by the kernel, and nothing answers). Returns the pids, for ``resume``."""
        if self.process is None or not self.running:
            raise PostgresServerError("server is not running")
        pids = [self.process.pid, *_children_of(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return pids

    def resume(self, pids: list[int]) -> None:
        """SIGCONT what ``pause`` stopped."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def restart(self) -> PostgresServer:
        """Start again on the same data directory and port (after ``kill()`` or not)."""
        if self.root is None or self.port is None:
            raise PostgresServerError("server has not been started")
        self._shutdown(signal.SIGINT)
        began = time.monotonic()
        self._launch(self.port)
        self.timings["restart"] = time.monotonic() - began
        return self

    def __enter__(self) -> PostgresServer:
        return self if self.root is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases ---------------------------------------------------------------

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """``CREATE DATABASE`` (optionally from a template) and return its SQLAlchemy URL.

        Copying a template is how tests get a migrated schema cheaply; note that
        PostgreSQL refuses while anyone is connected to the template.
        """
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._execute_admin(statement)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` even if a leaked connection still uses it (``WITH (FORCE)``)."""
        self._execute_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _execute_admin(self, statement: sql.Composable) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        with self._connect(autocommit=True) as conn:
            conn.execute(statement)

    def _connect(self, *, autocommit: bool = False, timeout: int = 5) -> psycopg.Connection:
        """Connect through the private unix socket.

        Unlike the TCP port, nothing else can be listening there, so a readiness poll
        cannot hang on (or be fooled by) a foreign process that grabbed our port.
        """
        if self.port is None:
            raise PostgresServerError("server has not been started")
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            connect_timeout=timeout,
            autocommit=autocommit,
        )

    # -- internals ---------------------------------------------------------------

    def _make_root(self) -> None:
        """Create the private directory, owned by whoever will run the server."""
        run_as, base_dir = self.run_as, self.base_dir
        if run_as is not None and base_dir is not None and not _can_traverse(base_dir, run_as):
            raise PostgresServerError(
                f"base_dir {base_dir} is not traversable by uid {run_as.uid};"
                " postgres runs unprivileged, use a directory like /tmp"
            )
        self.root = Path(tempfile.mkdtemp(prefix="pgtest-", dir=self.base_dir))
        self.socket_dir.mkdir(mode=0o700)
        self.log_path.touch(mode=0o600)
        if self.run_as is not None:
            for path in (self.root, self.socket_dir, self.log_path):
                os.chown(path, self.run_as.uid, self.run_as.gid)

    def _child_kwargs(self) -> dict[str, object]:
        """Popen arguments shared by initdb and postgres."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict[str, object] = {"cwd": self.root, "env": env, "stdin": subprocess.DEVNULL}
        if self.run_as is not None:
            kwargs.update(self.run_as.popen_kwargs())
        return kwargs

    def _initdb(self) -> None:
        command = [
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        ]
        with self.log_path.open("ab") as log:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=120, **self._child_kwargs())
        if result.returncode != 0:
            raise PostgresServerError(f"initdb failed with exit code {result.returncode}:\n{_tail(self.log_path)}")

    def _launch_on_free_port(self) -> None:
        """Start on a kernel-chosen port, retrying if another process grabbed it first."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._launch(_free_port())
                return
            except _AddressInUse:
                if attempt == PORT_ATTEMPTS:
                    raise PostgresServerError(
                        f"no free port after {PORT_ATTEMPTS} attempts:\n{_tail(self.log_path)}"
                    ) from None

    def _server_command(self, port: int) -> list[str]:
        settings = {
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.socket_dir),
            "port": str(port),
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _launch(self, port: int) -> None:
        """Start postgres on ``port`` and block until it accepts connections.

        ``start_new_session`` keeps a Ctrl-C in the terminal away from the postmaster,
        so the fixture's ``stop()`` still gets a live server to shut down cleanly.
        """
        offset = self.log_path.stat().st_size
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._server_command(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_parent_death_preexec(),  # only prctl; see its docstring
                **self._child_kwargs(),
            )
        self.port = port
        self._wait_until_ready(offset)

    def _wait_until_ready(self, log_offset: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                self._raise_start_failure(log_offset, "postgres exited during startup")
            try:
                with self._connect(timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last_error = exc
            time.sleep(POLL_INTERVAL_S)
        self._shutdown(signal.SIGKILL)
        self._raise_start_failure(log_offset, f"postgres not ready after {READY_TIMEOUT_S:.0f}s ({last_error})")

    def _raise_start_failure(self, log_offset: int, reason: str) -> NoReturn:
        log = _tail(self.log_path, log_offset)
        self._shutdown(signal.SIGKILL)
        if _ADDRESS_IN_USE.search(log):
            raise _AddressInUse(log)
        raise PostgresServerError(f"{reason}; tail of the server log:\n{log}")

    def _shutdown(self, sig: signal.Signals) -> None:
        """Signal the postmaster (SIGINT = fast shutdown) and reap it.

        After SIGINT the postmaster waits for its children itself; after SIGKILL
        ``kill()`` deals with the orphans.
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
