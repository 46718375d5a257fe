"""Graceful stops under load: SIGTERM to `okr-bot sweep` in the middle of a Monday's DMs, and to `okr-bot serve` in
the middle of a stream of slash commands, with the sandbox answering every Web API call after 150 ms.

    python benchmarks/shutdown.py

- **sweep**: 2,000 owners due at once (steady state: one call a DM), 16 senders. SIGTERM once 500 DMs are out.
  Reported: seconds from the signal to the exit, the exit code, the DMs out by then, the claims the stopped
  process left held (`claimed` and not handed back: each would wait out the 10-minute lease), then, after a
  second `okr-bot sweep` at once, duplicates and owners without a DM.
- **serve**: 16 clients each sending `/okr team create` (each in a channel of its own, its reply posted after the
  ack), a tenth of a second after the last one's answer; SIGTERM after 2 seconds while the clients go on for 1
  more. Reported: seconds from the signal to the exit, the exit code, commands acked, acked commands whose team
  or reply is missing (lost), commands answered by a fallback ("overloaded, nothing was saved": bot/ack.py), and
  commands refused once the port closed (Slack would show those as failed, so nothing is promised for them).

Each is run `RUNS` times; the report gives each run and the median stop time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from benchmarks.common import Child, bot_env, command_body, databases, free_port, median, okr_bot, signed, wait_healthy
from benchmarks.delivery import CLIENT_ID, CLIENT_SECRET, LATENCY, _seed
from bot.sandbox import FakeSlack
from storage.claims import LEASE
from storage.db import Database
from storage.models import ClaimState, SendClaim, Team

RUNS = 3
CREATED = re.compile(r"created the team \*(Stop\d+)\*")
OWNERS = 2_000
STOP_AFTER_DMS = 500
CLIENTS = 16
LOAD_BEFORE, LOAD_AFTER = 2.0, 1.0  # seconds of commands before the signal, and after it
THINK = 0.1  # seconds a client waits between one answer and its next command


def sweep_stop(
    backend: str, database_url: str, *, log: Path, owners: int = OWNERS, stop_after: int = STOP_AFTER_DMS
) -> dict:
    fake = FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    db = Database(database_url)
    try:
        everyone = _seed(fake, db, owners=owners, workspaces=1, now=datetime.now(UTC), steady=True)
        fake.set_latency(LATENCY)
        env = bot_env(
            database_url=database_url,
            slack_api_url=fake.api_url,
            token="",
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_RATE_LIMITS="off",
        )
        env.pop("SLACK_BOT_TOKEN")
        child = Child(okr_bot("sweep", env=env, log=log))
        while len(_posted(fake)) < stop_after and child.process.poll() is None:
            time.sleep(0.01)
        signalled = time.monotonic()
        os.kill(child.process.pid, signal.SIGTERM)
        child.wait()
        stop_s = time.monotonic() - signalled
        out_by_then = len(_posted(fake))
        with db.read() as session:
            recent = SendClaim.claimed_at > datetime.now(UTC) - LEASE  # not handed back
            held = session.scalar(
                select(func.count()).select_from(SendClaim).where(SendClaim.state == ClaimState.CLAIMED, recent)
            )
        again = Child(okr_bot("sweep", env=env, log=log))
        again.wait()
        per_channel = Counter(c.args.get("channel") for c in _posted(fake))
        return {
            "backend": backend,
            "owners": owners,
            "stop_s": stop_s,
            "exit_code": child.process.returncode,
            "dms_when_stopped": out_by_then,
            "claims_left_held": held,
            "restart_exit_code": again.process.returncode,
            "duplicates": sum(n - 1 for n in per_channel.values()),
            "lost": len(everyone - set(per_channel)),
        }
    finally:
        db.dispose()
        fake.stop()


def serve_stop(backend: str, database_url: str, *, log: Path) -> dict:
    fake = FakeSlack().start()
    db = Database(database_url)
    try:
        fake.add_user("U0ADA", "ada", tz="UTC")
        port = free_port()
        env = bot_env(
            database_url=database_url, slack_api_url=fake.api_url, token=fake.workspace().bot_token, port=port
        )
        child = Child(okr_bot("serve", "--host", "127.0.0.1", env=env, log=log))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        fake.set_latency(LATENCY)
        answers: dict[str, str] = {}
        stop_sending = threading.Event()
        lock = threading.Lock()
        numbers = iter(range(1_000_000))

        def client() -> None:
            while not stop_sending.is_set():
                with lock:
                    n = next(numbers)
                channel, name = f"C0S{n:06d}", f"Stop{n:06d}"
                fake.add_channel(channel, name.lower(), members=("U0ADA",))
                answers[name] = _command(url, f"team create {name}", channel=channel, fake=fake)
                stop_sending.wait(THINK)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_BEFORE)
        exited: list[float] = []
        waiter = threading.Thread(target=lambda: (child.wait(), exited.append(time.monotonic())))
        signalled = time.monotonic()
        os.kill(child.process.pid, signal.SIGTERM)
        waiter.start()
        time.sleep(LOAD_AFTER)
        stop_sending.set()
        waiter.join()
        stop_s = exited[0] - signalled
        for thread in threads:
            thread.join()
        acked = {name for name, status in answers.items() if status == "200"}
        with db.read() as session:
            teams = set(session.scalars(select(Team.name)))
        replied = {found for r in fake.responses for found in CREATED.findall(json.dumps(r))}
        return {
            "backend": backend,
            "stop_s": stop_s,
            "exit_code": child.process.returncode,
            "commands": len(answers),
            "acked": len(acked),
            "lost": len(acked - (teams & replied)),
            "created_unacked": len(teams - acked),
            "fallbacks": sum(status == "fallback" for status in answers.values()),
            "refused": dict(Counter(s for s in answers.values() if s not in ("200", "fallback"))),
        }
    finally:
        db.dispose()
        fake.stop()


def _command(url: str, text: str, *, channel: str, fake: FakeSlack) -> str:
    ws = fake.workspace()
    body = command_body(
        text,
        team_id=ws.team_id,
        channel_id=channel,
        user_id="U0ADA",
        user_name="ada",
        response_url=fake.new_response_url(channel, "U0ADA"),
        trigger_id="1.2.3",
    )
    request = urllib.request.Request(
        url + "/slack/events", data=body, headers=signed(body, "application/x-www-form-urlencoded")
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
            # a fallback is a 200 too: "the bot is overloaded…, nothing was saved" (bot/ack.py)
            return "fallback" if b"nothing was saved" in body else str(answer.status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except OSError as error:
        return type(getattr(error, "reason", error)).__name__


def _posted(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.ok]


def run(backend: str, new_database, *, log: Path, scale: float = 1.0) -> dict:
    owners, stop_after = max(200, int(OWNERS * scale)), max(50, int(STOP_AFTER_DMS * scale))
    sweeps = [sweep_stop(backend, new_database(), log=log, owners=owners, stop_after=stop_after) for _ in range(RUNS)]
    serves = [serve_stop(backend, new_database(), log=log) for _ in range(RUNS)]
    return {
        "sweep": sweeps,
        "sweep_median_stop_s": median([r["stop_s"] for r in sweeps]),
        "serve": serves,
        "serve_median_stop_s": median([r["stop_s"] for r in serves]),
    }


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    with databases(postgres=False) as found:
        print(
            json.dumps(run("sqlite", lambda: found.new("sqlite"), log=found.workdir / "bot.log", scale=scale), indent=1)
        )


if __name__ == "__main__":
    main()
