"""What a bot process counts, served at `GET /metrics` in Prometheus's text format (README, "Metrics").

One process serves one port (`okr-bot serve`, `socket` and `scheduler` each run one waitress server with threads),
so every metric lives in prometheus_client's default registry and each replica is scraped on its own; the
multi-process mode prometheus_client offers is for prefork servers sharing a port, which the bot never runs.

Every name starts with `okr_`. Labels take a small, fixed set of values (a request's kind, a Slack method the bot
calls, a claim's kind), never an id or a person, so the number of series stays bounded whatever Slack sends.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

disable_created_metrics()  # no `_created` series beside each counter and histogram: nothing here reads them

# ---- requests from Slack (HTTP and Socket Mode alike: both go through bot/ack.py's gate)
REQUESTS = Counter(
    "okr_requests",
    "Requests from Slack by kind (command, event, action, view, options, other) and outcome: ok, "
    "refused (unsigned or malformed), ignored (signed, but not a payload the bot reads), error (a 5xx), or the "
    "reason a fallback answered instead (no_slot, no_worker, deadline, database).",
    ["kind", "outcome"],
)
ACK_SECONDS = Histogram(
    "okr_ack_seconds",
    "Seconds from when the bot takes a request (after any wait in the HTTP server's queue) to "
    "its answer (Slack gives 3).",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0),
)
WORK_DROPPED = Counter(
    "okr_work_after_ack_dropped", "Work after an ack dropped because the listener pool's backlog was full."
)

# ---- calls to Slack's Web API
SLACK_CALLS = Counter(
    "okr_slack_calls",
    "Web API calls by method and outcome: ok, refused (Slack answered ok=false), ratelimited "
    "(429), server_error (5xx), unreachable (no answer: timeout, connection lost) or stopped (not made: shutting "
    "down). A request's client counts a call once, the retries slack-sdk makes inside it included; a scheduled "
    "send's client counts each attempt.",
    ["method", "outcome"],
)
SLACK_CALL_SECONDS = Histogram(
    "okr_slack_call_seconds",
    "Seconds a Web API call took (as counted in okr_slack_calls; a scheduled send's wait "
    "for the rate limits is okr_slack_paced_seconds).",
    ["method"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
RATE_LIMITED = Counter("okr_slack_rate_limited", "429 answers from Slack, by method.", ["method"])
RETRY_AFTER_SECONDS = Counter(
    "okr_slack_retry_after_seconds",
    "Seconds Slack asked the bot to wait in its 429s' Retry-After, by method.",
    ["method"],
)
PACED_SECONDS = Counter(
    "okr_slack_paced_seconds", "Seconds scheduled sends waited for Slack's rate limits (bot/delivery/pacing.py)."
)

# ---- claimed sends (check-ins, reminders, summaries, rounds, resets, digests…)
SENDS = Counter(
    "okr_sends",
    "Claimed sends by kind and outcome: sent, refused (for good), retry (given back), skipped (not due "
    "to go: away, paused, stale…), dropped (no longer to go), done_elsewhere, held_elsewhere, and taken_over "
    "(a claim a dead process left, taken by this one).",
    ["kind", "outcome"],
)

# ---- the minute sweep
SWEEP_SECONDS = Histogram(
    "okr_sweep_seconds", "Seconds one sweep took.", buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
)
SWEEPS = Counter("okr_sweeps", "Sweeps by outcome: finished, failed, stopped (by a shutdown).", ["outcome"])
SWEEP_FINISHED_AT = Gauge(
    "okr_sweep_last_finished_timestamp_seconds", "When this process's last sweep finished (Unix time)."
)
DUE_ROWS = Gauge(
    "okr_due_rows", "Check-ins, summaries and reminders due and not sent yet, read after each sweep.", ["what"]
)
DUE_OLDEST_SECONDS = Gauge(
    "okr_due_oldest_seconds", "How long the oldest check-in, summary or reminder still due has been waiting."
)

# ---- the database
DATABASE_ERRORS = Counter(
    "okr_database_errors",
    "Errors from the database driver, by SQLAlchemy's name for them (OperationalError…).",
    ["error"],
)

# ---- the process
SHUTTING_DOWN = Gauge("okr_shutting_down", "1 from SIGTERM or SIGINT until the process exits.")

REQUEST_KINDS = {
    "event_callback": "event",
    "url_verification": "event",
    "ssl_check": "event",
    "block_actions": "action",
    "message_action": "action",
    "shortcut": "action",
    "interactive_message": "action",
    "view_submission": "view",
    "view_closed": "view",
    "block_suggestion": "options",
}


def request_kind(body: Any) -> str:
    if not isinstance(body, dict):
        return "other"
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return REQUEST_KINDS.get(kind, "other") if isinstance(kind, str) else "other"


def answered(kind: str, status: int, started: float, *, fallback: str | None = None) -> None:
    """Count a request answered with `status`, `started` on time.monotonic()'s clock."""
    if fallback is not None:
        outcome = fallback
    elif status < 400:
        outcome = "ok"
    elif status < 500:
        outcome = "refused"
    else:
        outcome = "error"
    REQUESTS.labels(kind, outcome).inc()
    ACK_SECONDS.labels(kind).observe(max(0.0, time.monotonic() - started))


def slack_call(method: str, outcome: str, seconds: float) -> None:
    SLACK_CALLS.labels(method, outcome).inc()
    SLACK_CALL_SECONDS.labels(method).observe(max(0.0, seconds))


def rate_limited(method: str, retry_after: float) -> None:
    RATE_LIMITED.labels(method).inc()
    RETRY_AFTER_SECONDS.labels(method).inc(max(0.0, retry_after))


def send(kind: str, outcome: str) -> None:
    SENDS.labels(kind, outcome).inc()


def watch_database(engine: Engine) -> None:
    """Count every error the driver raises on `engine` (a refused connection, a statement timeout, a lost server)."""

    @event.listens_for(engine, "handle_error")
    def _count(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        DATABASE_ERRORS.labels(type(error).__name__ if error is not None else "DBAPIError").inc()


def exposition() -> tuple[bytes, str]:
    """The text `/metrics` answers with, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
