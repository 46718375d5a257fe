"""The `okr-bot` command as an operator runs it: real processes, real ports, real exit codes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.sandbox import SlackDriver
from storage.db import Database, make_engine
from tests.conftest import child_env
from tests.helpers import flatten

TOKEN = "xoxb-sandbox-0000"
SECRET = "cli-test-signing-secret"


def okr_bot(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).parents[2],
    )


def _env(extra: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in child_env().items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    return keep | extra


def machine_time() -> float:
    """The machine's clock, which freezegun does not replace (it patches `time.time` in this process)."""
    return time.clock_gettime(time.CLOCK_REALTIME)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_migrate_creates_the_schema(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/fresh.db"
    else:
        url = request.getfixturevalue("postgres_server").create_database("fresh_for_cli")
    result = okr_bot("migrate", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)
    assert "teams" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "definitely not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "oracle://scott@db/orcl"}, "supports sqlite and postgresql"),
        ({"PORT": "http"}, "PORT must be a number"),
    ],
)
def test_bad_settings_exit_non_zero_with_a_clear_message(env, expected):
    result = okr_bot("migrate", env=env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    result = okr_bot("serve", env=env)
    assert result.returncode == 2
    assert "okr-bot migrate" in result.stderr


def test_serve_without_credentials_points_to_the_sandbox(database_url):
    result = okr_bot("serve", env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "okr-bot sandbox" in result.stderr


def start_serve(slack, database_url: str, *, host: str) -> tuple[subprocess.Popen, int]:
    """`okr-bot serve --host HOST` in its own process, with credentials, on a free port."""
    port = _free_port()
    env = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", host],
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, port


def test_serve_with_credentials_serves_slack_over_http(slack, database_url):
    process, port = start_serve(slack, database_url, host="127.0.0.1")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        # the bot process checks signatures against the machine's clock (which freezegun leaves alone there)
        driver = SlackDriver(
            slack, bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, clock=machine_time
        )
        assert driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET").status == 200
        assert "created the team *Rockets*" in flatten(slack.wait_for_response()["body"])
        assert (
            driver.send_raw(b"command=%2Fokr&text=help", {"Content-Type": "application/x-www-form-urlencoded"}).status
            == 401
        )
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert TOKEN.removeprefix("xoxb-") not in err and SECRET not in err
    assert '"message": "serving Slack over HTTP"' in err


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"okr-bot serve exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("okr-bot serve never became healthy")


def test_start_without_credentials_serves_the_sandbox_page(tmp_path):
    """`make run` on a fresh clone: the sandbox's page on PORT, its address printed, the bot's logs in a file beside
    the database rather than on the terminal, and Ctrl-C or SIGTERM ends it cleanly."""
    port = _free_port()
    env = _env({"DATABASE_URL": f"sqlite:///{tmp_path}/sandbox.db", "PORT": str(port)})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "start"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        first = process.stdout.readline()
        assert f"open http://localhost:{port}/ in your browser" in first, first
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/?as=ada&in=team-rocket", timeout=10).read().decode()
        assert "OKR bot sandbox" in page and "#team-rocket" in page
        body = urllib.parse.urlencode({"as": "ada", "in": "team-rocket", "text": "/okr team create Rockets"}).encode()
        refused = urllib.request.Request(f"http://127.0.0.1:{port}/api/type", data=body)
        with pytest.raises(urllib.error.HTTPError) as answered:  # not from the page: another site's form
            urllib.request.urlopen(refused, timeout=10)
        assert answered.value.code == 403
        typed = urllib.request.Request(f"http://127.0.0.1:{port}/api/type", data=body, headers={"X-Sandbox-Page": "1"})
        answer = json.loads(urllib.request.urlopen(typed, timeout=30).read())
        assert answer["ok"] is True, answer
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/?as=ada&in=team-rocket", timeout=10).read().decode()
        assert "created the team <strong>Rockets</strong>" in page
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "runs in the sandbox" in err
    assert not [line for line in (first + out).splitlines() if line.startswith("{")], out  # no JSON log lines
    logs = (tmp_path / "sandbox.log").read_text(encoding="utf-8").splitlines()
    assert logs and all(json.loads(line)["level"] for line in logs)


def test_the_terminal_sandbox_is_still_there(tmp_path):
    script = "/okr team create Rockets\nas ben\n/okr team join\nmessages\n/okr nonsense\nquit\n"
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/sandbox.db"}
    assert okr_bot("migrate", env=env).returncode == 0
    result = okr_bot("sandbox", "--terminal", env=env, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "@ada created the team *Rockets*" in result.stdout
    assert "@ben joined the team *Rockets*" in result.stdout
    assert "I don't know the command `nonsense`" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("{")]


def test_socket_mode_needs_both_tokens(database_url):
    result = okr_bot("socket", env={"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "Socket Mode needs SLACK_APP_TOKEN" in result.stderr


def test_purge_workspace_deletes_it_and_says_so(database_url):
    from tests import factories

    db = Database(database_url)
    with db.transaction() as session:
        factories.team(session, factories.workspace(session, slack_team_id="T0GONE"))
    db.dispose()
    gone = okr_bot("purge-workspace", "T0GONE", env={"DATABASE_URL": database_url})
    assert gone.returncode == 0 and "Deleted workspace T0GONE" in gone.stdout
    again = okr_bot("purge-workspace", "T0GONE", env={"DATABASE_URL": database_url})
    assert again.returncode == 1 and "No workspace T0GONE" in again.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "The scheduler sends Slack messages: set SLACK_BOT_TOKEN"),  # nothing to send with
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SCHEDULER": "off"}, "unset SCHEDULER"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SHUTDOWN_GRACE": "forever"}, "SHUTDOWN_GRACE must be a number of seconds"),
    ],
)
def test_the_scheduler_refuses_what_would_leave_it_nothing_to_do(database_url, env, expected):
    result = okr_bot("scheduler", env={"DATABASE_URL": database_url, **env})
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
