"""What the image runs, run outside a container: docker/entrypoint.sh and docker/healthcheck.py, as the Dockerfile
and compose.yaml start them, with `okr-bot` the venv's (the image's PATH starts with its venv's bin) and the Slack
settings pointing at the local fake Slack. No container engine runs here: what this cannot show is the image itself
(its build, the user it runs as, PID 1), which tests/unit/test_container_files.py reads from the files instead.

- `migrate`, then `okr-bot serve` (the image's CMD, with compose's SCHEDULER=off): /livez, /readyz (and /healthz)
  say 200, /metrics answers, the process serving is the one started (the entrypoint execs, no shell between), and
  SIGTERM stops it with exit code 0 within SHUTDOWN_GRACE;
- `scheduler` with MIGRATE_ON_START=1 on an empty database (the sweeper): it migrates, serves the probes, and stops
  on SIGTERM the same way;
- any other command runs as it is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.sandbox import FakeSlack
from storage.migrate import pending_revision
from tests.conftest import SIGNING_SECRET, child_env

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "docker" / "healthcheck.py"
VENV_BIN = Path(sys.executable).parent  # /opt/venv/bin in the image
GRACE = 10.0  # SHUTDOWN_GRACE's default, which compose.yaml's stop_grace_period (20 s) outlasts
OWN_SETTINGS = ("SLACK_", "DATABASE_URL", "PORT", "SCHEDULER", "LOG_LEVEL", "MIGRATE_ON_START", "SHUTDOWN_GRACE")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the image runs Linux: /bin/sh, /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def image_env(workdir: Path, **settings: str) -> dict[str, str]:
    """The environment the Dockerfile sets (venv first on PATH, unbuffered output, HOME the working directory), this
    test's clock (OKR_CLOCK_START), and the settings compose would give."""
    inherited = {k: v for k, v in child_env().items() if not k.startswith(OWN_SETTINGS)}
    return (
        inherited
        | {
            "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": str(workdir),
        }
        | settings
    )


def slack_settings(slack: FakeSlack, database: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{database}",
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PORT": str(_free_port()),
        "LOG_LEVEL": "INFO",
    }


def entrypoint(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Started:
    """`sh docker/entrypoint.sh ARGS…` running, its output in a file: the container's main process."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.port = env["PORT"]
        self.log = cwd / "container.log"
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                ["sh", str(ENTRYPOINT), *args],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) of GET path; a refused connection raises OSError."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with direct.open(self.url(path), timeout=5) as answer:
                return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode()

    def wait_for(self, path: str, status: int = 200, timeout: float = 20) -> str:
        """Poll until GET path answers `status`, as an orchestrator's probe would; its body."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the process exited ({self.process.returncode}) before {path} said {status}:\n{self.output()}"
                )
            try:
                code, _, body = self.get(path)
            except OSError as error:
                last = str(error)
            else:
                if code == status:
                    return body
                last = f"{code} {body[:300]}"
            time.sleep(0.1)
        raise AssertionError(f"{path} never said {status} (last: {last}); the log:\n{self.output()}")

    def probe(self, path: str) -> subprocess.CompletedProcess:
        """The image's health check (HEALTHCHECK, or compose's healthcheck) against this process."""
        return subprocess.run(
            ["python", str(HEALTHCHECK), path], env=self.env, capture_output=True, text=True, timeout=10
        )

    def command_line(self) -> list[str]:
        return Path(f"/proc/{self.process.pid}/cmdline").read_bytes().decode().split("\0")[:-1]

    def terminate_and_wait(self) -> tuple[int, float]:
        """SIGTERM, as `docker stop` sends it to the container's main process: (exit code, seconds it took)."""
        signalled = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=GRACE + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"still running {GRACE + 5:.0f} s after SIGTERM; the log:\n{self.output()}") from None
        return code, time.monotonic() - signalled

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def started():
    """The processes a test starts, killed at its end if still running."""
    processes: list[Started] = []
    yield processes
    for process in processes:
        process.stop()


def test_migrate_then_serve_answers_the_probes_and_stops_cleanly_on_sigterm(slack, tmp_path, started):
    env = image_env(tmp_path, **slack_settings(slack, tmp_path / "okr.db"), SCHEDULER="off")  # compose.yaml's bot

    migrated = entrypoint("migrate", env=env, cwd=tmp_path)  # compose.yaml's migrate service
    assert migrated.returncode == 0, migrated.stderr
    assert pending_revision(env["DATABASE_URL"]) is None

    bot = Started("okr-bot", "serve", env=env, cwd=tmp_path)  # the image's CMD
    started.append(bot)
    bot.wait_for("/livez")
    # the entrypoint execed: the process the container started is okr-bot itself, and it is the one SIGTERM reaches
    command = bot.command_line()
    assert Path(command[0]).name.startswith("python") and command[1:] == [str(VENV_BIN / "okr-bot"), "serve"], command
    assert bot.probe("/livez").returncode == 0  # the Dockerfile's HEALTHCHECK

    # readiness: the database answers and its schema is current (compose.yaml's healthcheck); /healthz is its old name
    bot.wait_for("/readyz")
    assert bot.probe("/readyz").returncode == 0
    assert bot.get("/healthz")[0] == 200
    status, content_type, body = bot.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain") and "# TYPE okr_" in body, (status, content_type)

    code, took = bot.terminate_and_wait()
    assert code == 0, f"exit code {code} after SIGTERM; the log:\n{bot.output()}"
    assert took <= GRACE, f"stopped {took:.1f} s after SIGTERM, past the grace period"
    failed = bot.probe("/livez")
    assert failed.returncode == 1 and "Connection refused" in failed.stderr, failed.stderr


def test_the_sweeper_migrates_on_start_answers_the_probes_and_stops_cleanly_on_sigterm(slack, tmp_path, started):
    database = tmp_path / "fresh.db"
    env = image_env(tmp_path, **slack_settings(slack, database), SCHEDULER="on", MIGRATE_ON_START="1")
    assert pending_revision(f"sqlite:///{database}") is not None

    sweeper = Started("scheduler", env=env, cwd=tmp_path)  # compose.yaml's sweeper, migrating first
    started.append(sweeper)
    sweeper.wait_for("/livez", timeout=30)
    assert pending_revision(env["DATABASE_URL"]) is None
    assert sweeper.command_line()[1:] == [str(VENV_BIN / "okr-bot"), "scheduler"]
    sweeper.wait_for("/readyz")
    assert sweeper.probe("/readyz").returncode == 0
    assert sweeper.get("/slack/events")[0] == 404, "the sweeper answers no Slack requests"

    code, took = sweeper.terminate_and_wait()
    assert code == 0, f"exit code {code} after SIGTERM; the log:\n{sweeper.output()}"
    assert took <= GRACE, f"stopped {took:.1f} s after SIGTERM, past the grace period"


def test_a_command_that_is_not_okr_bots_runs_as_it_is(tmp_path):
    env = image_env(tmp_path)
    shell = entrypoint("sh", "-c", 'echo hi; echo "$0"', env=env, cwd=tmp_path, timeout=10)
    assert (shell.returncode, shell.stdout) == (0, "hi\nsh\n"), shell.stderr
    failing = entrypoint("sh", "-c", "exit 7", env=env, cwd=tmp_path, timeout=10)
    assert failing.returncode == 7, "the command's own exit code"
    # `okr-bot COMMAND` and `COMMAND` are the same; `lint` reads no settings, so it needs no database
    for args in (("okr-bot", "lint", "--help"), ("lint", "--help")):
        helped = entrypoint(*args, env=env, cwd=tmp_path, timeout=30)
        assert helped.returncode == 0 and helped.stdout.startswith("usage: okr-bot lint"), helped.stderr


def test_the_health_check_fails_when_nothing_listens(tmp_path):
    env = image_env(tmp_path, PORT=str(_free_port()))
    probe = subprocess.run(["python", str(HEALTHCHECK), "/livez"], env=env, capture_output=True, text=True, timeout=10)
    assert probe.returncode == 1 and "/livez" in probe.stderr


def test_the_entrypoint_is_a_posix_script():
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True, timeout=10).returncode == 0
    assert os.access(ENTRYPOINT, os.X_OK), "executable in the repository too, for `docker run -v` and local use"
