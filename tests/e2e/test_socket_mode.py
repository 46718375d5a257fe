"""`okr-bot socket` end to end: a real bot process connected to the fake Slack over Socket Mode.

- The process opens its link with the app-level token (apps.connections.open, then the WebSocket), serves /livez,
  /readyz and /metrics on PORT, and answers slash commands, an event and interactions over the link: each is acked
  over it (a command's reply or a form's `response_action` in the ack's payload), and the work after the ack reaches
  Slack.
- When Slack asks it to move (a `disconnect` message, `refresh_requested`), it opens a new link and carries on there.
- SIGTERM with commands in flight: the process exits 0 within the grace period, /readyz says 503 meanwhile, every
  command acked before the link closed is carried out (its team exists, its reply was posted), and one that was not
  acked (it came after the signal) changed nothing.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox import FakeSlack
from bot.sandbox.fake.socket_mode import NotConnected
from bot.sandbox.socket_driver import SocketDriver, SocketResult
from storage.db import Database
from storage.models import Team
from tests.conftest import child_env
from tests.e2e.support import log_records, logged_errors, wait_until
from tests.e2e.test_drafting import objective_values
from tests.helpers import flatten

ROOT = Path(__file__).parents[2]
GRACE = 10  # SHUTDOWN_GRACE's default, given explicitly


class SocketBot:
    """`okr-bot socket` as a child process, its output in files (a pipe nobody reads could fill up and block it)."""

    def __init__(self, slack: FakeSlack, database_url: str, logs: Path) -> None:
        self.port = _free_port()
        replaced = ("SLACK_", "DATABASE_URL", "PORT", "SCHEDULER")
        keep = {k: v for k, v in child_env().items() if not k.startswith(replaced)}
        env = keep | {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": slack.workspace().bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_API_URL": slack.api_url,
            "PORT": str(self.port),
            "SHUTDOWN_GRACE": str(GRACE),
            "SCHEDULER": "off",
        }
        logs.mkdir(parents=True, exist_ok=True)
        links = len(slack.calls_to("apps.connections.open"))
        self.out_path, self.err_path = logs / "stdout", logs / "stderr"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "socket"], env=env, cwd=ROOT, stdout=out, stderr=err
            )
        try:
            wait_until(
                lambda: self.process.poll() is not None or _answers(self.url("/readyz")),
                timeout=30,
                what="okr-bot to serve",
            )
            assert self.process.poll() is None, self.err
            slack.wait_for("apps.connections.open", lambda call: call.ok, count=links + 1)
            slack.wait_for_socket(timeout=10)
        except BaseException:
            self.kill()  # not started as it should: nobody else holds it to stop it
            raise

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def err(self) -> str:
        return self.err_path.read_text()

    def terminate(self) -> float:
        """SIGTERM; seconds until the process exited."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=GRACE + 10)
        return time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def start_bot(slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator:
    started: list[SocketBot] = []

    def start() -> SocketBot:
        started.append(SocketBot(slack, database_url, tmp_path / f"bot{len(started)}"))
        return started[-1]

    yield start
    for bot in started:
        bot.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


def _requests(bot: SocketBot, kind: str, outcome: str = "ok") -> float:
    """okr_requests_total for one kind and outcome, as /metrics shows it."""
    status, text = _get(bot.url("/metrics"))
    assert status == 200
    found = re.search(rf'^okr_requests_total\{{kind="{kind}",outcome="{outcome}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _teams(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(Team.name)))


def _top(slack: FakeSlack, user: str) -> dict:
    stack = slack.open_views(user)
    assert stack, f"{user} has no modal open"
    return slack.view_payload(stack[-1]["id"])


# 1. serving Slack over the link ------------------------------------------------------------------------------------


def test_socket_mode_serves_commands_events_and_forms_over_the_link(slack, db, start_bot):
    bot = start_bot()
    (opened,) = slack.calls_to("apps.connections.open")
    assert opened.ok and opened.token == slack.app_token  # the app-level token, not the bot's
    assert _get(bot.url("/livez")) == (200, json.dumps({"ok": True}))
    status, body = _get(bot.url("/readyz"))
    ready = json.loads(body)
    assert status == 200 and ready["ok"] is True and ready["database"] == ready["migrations"] == "ok", ready
    _status, metrics = _get(bot.url("/metrics"))
    assert "# TYPE okr_requests_total counter" in metrics
    commands = _requests(bot, "command")
    driver = SocketDriver(slack)

    # a slash command: acked over the link, its reply through the response_url, the team in the database
    result = driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    assert result.status == 200 and result.ack.type == "slash_commands", result
    assert result.elapsed < 3, result.elapsed  # Slack's deadline
    assert "created the team *Rockets*" in flatten(slack.wait_for_response()["body"])
    assert _teams(db) == ["Rockets"]
    timeline = [call.method for call in slack.calls]
    assert timeline.index("socket_mode_ack") < timeline.index("response_url")  # the ack first, then the work
    assert _requests(bot, "command") == commands + 1

    # a command answered in its ack: the ack's payload is the reply, shown to the person only
    helped = driver.command("help", user="U0BEN", channel="C0GENERAL")
    assert helped.status == 200 and helped.payload["response_type"] == "ephemeral", helped
    (shown,) = [e for e in slack.ephemerals if e["user"] == "U0BEN"]
    assert shown["channel"] == "C0GENERAL" and shown["source"] == "command" and "/okr" in flatten(shown)

    # an event: app_home_opened publishes the Home tab
    home = driver.open_home("U0ADA")
    assert home.status == 200 and home.ack.type == "events_api" and home.payload is None, home
    published = slack.wait_for("views.publish", lambda call: call.args.get("user_id") == "U0ADA")
    assert published.ok, published.response

    # interactions: a form submitted (its ack carries the response_action), and a button in it
    assert driver.command("draft", user="U0ADA", channel="C0ROCKET").status == 200
    assert slack.wait_for("views.open").ok
    form = _top(slack, "U0ADA")
    assert form["callback_id"] == "draft_objective"
    submitted = driver.submit_view(form["id"], user="U0ADA", values=objective_values("Onboarding takes a day"))
    assert submitted.status == 200 and submitted.ack.type == "interactive", submitted
    assert submitted.payload["response_action"] == "update"
    listing = _top(slack, "U0ADA")
    assert listing["callback_id"] == "draft_key_results"
    pressed = driver.click(user="U0ADA", action_id="draft_kr_add", view_id=listing["id"])
    assert pressed.status == 200 and pressed.payload is None, pressed
    assert slack.wait_for("views.push").ok
    assert _top(slack, "U0ADA")["callback_id"] == "draft_key_result"

    assert bot.terminate() < GRACE
    assert bot.process.returncode == 0, bot.err
    assert log_records(bot.err, "stopped"), bot.err
    assert logged_errors(bot.err) == []
    assert slack.socket_links() == []  # the bot closed its link
    assert all(ack.seconds < 3 for ack in slack.acks), slack.acks


def test_an_app_token_slack_refuses_is_said_in_words(slack, database_url):
    keep = {k: v for k, v in child_env().items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    env = keep | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_API_URL": slack.api_url,
        "SLACK_APP_TOKEN": "xapp-1-A0OTHER-0000-not-this-app",
        "PORT": str(_free_port()),
        "SCHEDULER": "off",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "socket"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2, done.stderr
    assert "Slack refused to open a Socket Mode connection with SLACK_APP_TOKEN (invalid_auth)" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_bot_moves_to_a_new_link_when_slack_asks(slack, db, start_bot):
    bot = start_bot()  # (it is killed at the end: the tests around stop it gracefully)
    driver = SocketDriver(slack)
    assert driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET").status == 200
    (first,) = slack.socket_links()

    slack.drop_socket("refresh")  # Slack's `disconnect` message, reason refresh_requested
    slack.wait_for("apps.connections.open", lambda call: call.ok, count=2)
    wait_until(
        lambda: [link["id"] for link in slack.socket_links()] not in ([], [first["id"]]),
        timeout=10,
        what="a new link",
    )
    wait_until(
        lambda: first["id"] not in [link["id"] for link in slack.socket_links()],
        timeout=10,
        what="the old link to close",
    )
    (second,) = slack.socket_links()
    joined = driver.command("team join", user="U0BEN", channel="C0ROCKET")
    assert joined.status == 200 and joined.ack.connection == second["id"], joined
    assert "joined the team *Rockets*" in flatten(slack.wait_for_response(count=2)["body"])
    assert logged_errors(bot.err) == []


# 2. SIGTERM ----------------------------------------------------------------------------------------------------------

COMMANDS = 12
ACKED_FIRST = 3  # commands acked before the signal


def _channel(n: int) -> str:
    return f"C0BURST{n:02d}"


def test_sigterm_with_commands_in_flight_carries_out_every_acked_one_once(slack, db, start_bot):
    slack.set_latency(0.25)  # the work after each ack (its reply) waits on Slack
    names = [f"Burst{n:02d}" for n in range(COMMANDS)]
    for n, name in enumerate(names):  # a channel is one team's
        slack.add_channel(_channel(n), name.lower())
    bot = start_bot()
    driver = SocketDriver(slack)
    results: dict[str, SocketResult | str] = {}
    started = threading.Barrier(COMMANDS // 2 + 1)

    def command(n: int, *, first: bool) -> None:
        if first:
            started.wait()
        try:
            results[names[n]] = driver.command(f"team create {names[n]}", user="U0ADA", channel=_channel(n))
        except NotConnected:  # the bot had closed its link: Slack tells the person the app did not answer
            results[names[n]] = "not connected"

    probes: list[tuple[int, dict]] = []
    signalled = threading.Event()

    def probe() -> None:  # /readyz from the signal until the process is gone
        signalled.wait()
        while bot.process.poll() is None:
            try:
                status, body = _get(bot.url("/readyz"))
                probes.append((status, json.loads(body)))
            except (OSError, ValueError):
                break  # the port closed, or the answer was cut off: the process is ending
            time.sleep(0.05)

    threads = [
        threading.Thread(target=command, args=(n,), kwargs={"first": n < COMMANDS // 2}) for n in range(COMMANDS)
    ]
    prober = threading.Thread(target=probe)
    prober.start()
    for thread in threads[: COMMANDS // 2]:
        thread.start()
    started.wait()
    wait_until(
        lambda: sum(isinstance(r, SocketResult) and r.status == 200 for r in list(results.values())) >= ACKED_FIRST,
        timeout=20,
        what="the first acks",
    )
    bot.process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    signalled.set()
    for thread in threads[COMMANDS // 2 :]:  # and the other half comes as the process stops
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    bot.process.wait(timeout=GRACE + 10)
    took = time.monotonic() - sent
    prober.join(timeout=10)

    assert bot.process.returncode == 0, bot.err
    assert took < GRACE, took
    assert logged_errors(bot.err) == []
    acked = sorted(name for name, result in results.items() if isinstance(result, SocketResult) and result.status)
    assert len(acked) >= ACKED_FIRST, results
    unanswered = {name: result for name, result in results.items() if name not in acked}
    # not acked: sent after the bot closed its link, or lost with it (never an ack left waiting past the close)
    assert all(result == "not connected" or result.envelope.lost for result in unanswered.values()), unanswered
    # nothing acked was lost, nothing unacked was done: each acked command's team exists and its reply was posted
    assert _teams(db) == acked
    replied = [r for r in slack.responses if "created the team" in json.dumps(r)]
    assert sorted(name for name in acked if any(f"*{name}*" in json.dumps(r) for r in replied)) == acked
    assert len(replied) == len(acked)
    # not ready from the signal's handling on, while it finished
    stopping = next((n for n, (status, ready) in enumerate(probes) if ready.get("process") == "stopping"), None)
    assert stopping is not None, probes
    assert all(status == 503 and ready["process"] == "stopping" for status, ready in probes[stopping:]), probes
    assert slack.socket_links() == []
    print(f"acked {len(acked)} of {COMMANDS}; stopped {took:.2f} s after SIGTERM")
