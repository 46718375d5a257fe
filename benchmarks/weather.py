"""Slack's weather: how long Slack waits for the bot's answer while the bot's work waits on Slack's rate limits, and
while its database hangs.

`okr-bot serve` as in production (16 HTTP threads, so 8 dispatch slots, and 32 workers) with a team ready to vote.
Eight clients send, at 25 requests a second between them, a mix of `/okr draft` (the form opened with
`views.open`), `/okr list`, `/okr help` and `reaction_added` votes (each a new vote), in two conditions:
- **429s**: Slack answers 30% of the calls the handlers make (`views.open`, `chat.postMessage`,
  `chat.postEphemeral`, `users.info`, `conversations.open`) with HTTP 429 and `Retry-After: 2`, so handlers sit out
  Retry-After, often several times;
- **database hangs**: on PostgreSQL the server is paused for the whole load (SIGSTOP of every process: connections
  are accepted by the kernel and nothing answers), on SQLite another connection holds the write lock.
Reported: p50 and p99 latency to the HTTP answer, the share answered within Slack's 3 s, how many requests got a
fallback (the bot's "nothing was saved, try again", or a 503 to an event so that Slack sends it again), and, for
the hang, how long after the database came back `/healthz` said 200.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
import urllib.request
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.ack_path import command, reaction
from benchmarks.common import percentile
from benchmarks.stage import Stage, load

REQUESTS = 200
CLIENTS = 8
RATE = 25.0
SLACK_WAITS = 3.0
RATE_LIMITED = ("views.open", "chat.postMessage", "chat.postEphemeral", "users.info", "conversations.open")
FALLBACK_LINES = ("answered without its work", "could not be stored")
_votes = itertools.count()


def run(stage: Stage, *, log: Path, postgres=None, requests: int = REQUESTS) -> dict:
    """Both conditions against one served bot: 429s first, then the hang."""
    return {
        "429": _rate_limited(stage, log=log, requests=requests),
        "hang": _hanging(stage, log=log, postgres=postgres, requests=requests),
    }


def _mix(stage: Stage):
    voters = [(ballot.ts, voter) for ballot in stage.ballots for voter in stage.voters]

    def build(n: int):
        kind = n % 4
        if kind == 0:
            return command(stage, "draft")
        if kind == 1:
            return command(stage, "list")
        if kind == 2:
            return command(stage, "help")
        ts, voter = voters[next(_votes) % len(voters)]
        return reaction(stage, n, user=voter, ts=ts, name="thinking_face" if n % 8 == 3 else "white_check_mark")

    return build


def _figures(latencies: list[float], statuses: list[int], log: Path, lines_before: int) -> dict:
    within = [latency for latency in latencies if latency < SLACK_WAITS]
    return {
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "within_3s": len(within) / len(latencies),
        "fallbacks": _fallback_lines(log) - lines_before,
        "statuses": {str(status): statuses.count(status) for status in sorted(set(statuses))},
    }


def _fallback_lines(log: Path) -> int:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    return sum(text.count(line) for line in FALLBACK_LINES)


def _rate_limited(stage: Stage, *, log: Path, requests: int) -> dict:
    for method in RATE_LIMITED:
        stage.fake.fail_share(method, 0.3, error="ratelimited", status=429, retry_after=2, seed=11)
    before = _fallback_lines(log)
    try:
        latencies, statuses = load(stage.url, _mix(stage), total=requests, clients=CLIENTS, rate=RATE)
    finally:
        for method in RATE_LIMITED:
            stage.fake.fail_share(method, 0)
    return _figures(latencies, statuses, log, before)


def _hanging(stage: Stage, *, log: Path, postgres, requests: int) -> dict:
    before = _fallback_lines(log)
    url = make_url(stage.database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        def release() -> None:
            holder.execute("ROLLBACK")
            holder.close()

        how = "another connection holds the write lock"
    else:
        paused = postgres.pause()

        def release() -> None:
            postgres.resume(paused)

        how = "the server is paused (SIGSTOP)"
    try:
        latencies, statuses = load(stage.url, _mix(stage), total=requests, clients=CLIENTS, rate=RATE)
    finally:
        released = time.monotonic()
        release()
    healthy = _healthy_after(stage.url, released)
    return {**_figures(latencies, statuses, log, before), "how": how, "healthy_after_s": healthy}


def _healthy_after(url: str, since: float, *, timeout: float = 60) -> float | None:
    while time.monotonic() - since < timeout:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return time.monotonic() - since
        except OSError:
            pass
        time.sleep(0.05)
    return None
