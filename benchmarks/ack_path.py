"""The ack path: how long Slack waits for the bot's HTTP answer, next to a bare Bolt app served the same way.

Both run as child processes under waitress with 16 threads: the bot as `okr-bot serve` (README, production), the
yardstick as benchmarks/bare_app.py, whose `/okr` only acks. Eight keep-alive clients send signed requests at a
steady 25 per second between them (each request's latency counts from when it was due, waits included):
- `/okr list` in the team's channel (the bot reads the team's OKRs and answers with them);
- `/okr draft` (the bot answers, then opens the drafting form with `views.open`);
- `reaction_added` on a triage item (the bot stores the vote, then acks; the tally is redrawn after the answer).
Reported per kind: p50/p95/p99 latency to the HTTP response, and the bot's figure over the bare app's.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.common import ROOT, Child, bot_env, free_port, log_tail, percentile, signed, wait_healthy
from benchmarks.stage import CHANNEL, FACILITATOR, Stage, load

KINDS = ("list", "draft", "reaction")
CLIENTS = 8
REQUESTS = 200
RATE = 25.0  # requests per second offered, all clients together: a busy workspace's peak, many times over
WARM_UP = 40
_event_ids = itertools.count()


def command(stage: Stage, text: str) -> tuple[bytes, dict[str, str]]:
    fake, ws = stage.fake, stage.fake.workspace()
    body = urlencode(
        {
            "token": "legacy",
            "team_id": ws.team_id,
            "team_domain": ws.domain,
            "channel_id": CHANNEL,
            "channel_name": "team-rocket",
            "user_id": FACILITATOR,
            "user_name": "ada",
            "command": "/okr",
            "text": text,
            "api_app_id": ws.app_id,
            "is_enterprise_install": "false",
            "response_url": fake.new_response_url(CHANNEL, FACILITATOR, team_id=ws.team_id),
            "trigger_id": fake.new_trigger_id(FACILITATOR, team_id=ws.team_id),
        }
    ).encode()
    return body, signed(body, "application/x-www-form-urlencoded")


def reaction(
    stage: Stage,
    n: int,
    *,
    kind: str = "reaction_added",
    user: str | None = None,
    ts: str | None = None,
    name: str = "white_check_mark",
    event_id: str | None = None,
    event_ts: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    ws = stage.fake.workspace()
    event = {
        "type": kind,
        "user": user or stage.voters[n % len(stage.voters)],
        "reaction": name,
        "item": {"type": "message", "channel": CHANNEL, "ts": ts or stage.ballots[0].ts},
        "item_user": ws.bot_user_id,
        "event_ts": event_ts or f"{int(time.time())}.{n % 1_000_000:06d}",
    }
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": ws.team_id,
            "api_app_id": ws.app_id,
            "type": "event_callback",
            "event_id": event_id or f"EvACK{next(_event_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": ws.team_id, "user_id": ws.bot_user_id, "is_bot": True}],
        }
    ).encode()
    return body, signed(body, "application/json")


def _builder(stage: Stage, kind: str):
    if kind == "list":
        return lambda _n: command(stage, "list")
    if kind == "draft":
        return lambda _n: command(stage, "draft")
    return lambda n: reaction(stage, n)


def _measure(url: str, build, *, requests: int, clients: int, rate: float) -> dict:
    load(url, build, total=WARM_UP, clients=clients, rate=rate)
    latencies, statuses = load(url, build, total=requests, clients=clients, rate=rate)
    answered = [latency for latency, status in zip(latencies, statuses, strict=True) if status == 200]
    if not answered:
        raise RuntimeError(f"{url} answered no request with 200: {sorted(set(statuses))}")
    return {
        "requests": len(latencies),
        "non_200": len(latencies) - len(answered),  # left out of the percentiles
        "p50_ms": percentile(answered, 0.50) * 1000,
        "p95_ms": percentile(answered, 0.95) * 1000,
        "p99_ms": percentile(answered, 0.99) * 1000,
    }


def wait_idle(pid: int, *, timeout: float = 60) -> None:
    """Until the process has used no more than 2% of a core for half a second: the work a previous load left
    behind (tallies redrawn after their acks) must not be measured against the next one."""

    def cpu() -> int:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks

    if not os.path.exists(f"/proc/{pid}/stat"):
        time.sleep(2)  # not Linux: a pause instead
        return
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    before = cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu()
        if now - before <= 0.01 * ticks:
            return
        before = now


def run(stage: Stage, *, log: Path, requests: int = REQUESTS, clients: int = CLIENTS, rate: float = RATE) -> dict:
    """Each kind against the bot, then against the bare app, in one run."""
    port = free_port()
    env = bot_env(database_url="sqlite://", slack_api_url=stage.fake.api_url, token=stage.fake.workspace().bot_token)
    command = [sys.executable, str(ROOT / "benchmarks" / "bare_app.py"), str(port)]
    with log.open("ab") as sink:
        bare = Child(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=sink))
    bare_url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(bare_url)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; the end of its log ({log}):\n{log_tail(log)}") from None
        results = {}
        for kind in KINDS:
            build = _builder(stage, kind)
            # the bare app first, with the bot idle; then the bot, and time for what it does after its acks
            wait_idle(stage.child.process.pid)
            theirs = _measure(bare_url, build, requests=requests, clients=clients, rate=rate)
            ours = _measure(stage.url, build, requests=requests, clients=clients, rate=rate)
            results[kind] = {
                "bot": ours,
                "bare": theirs,
                "ratio_p50": ours["p50_ms"] / theirs["p50_ms"],
                "ratio_p99": ours["p99_ms"] / theirs["p99_ms"],
                "rate_per_s": rate,
                "clients": clients,
            }
        return results
    finally:
        bare.stop()
