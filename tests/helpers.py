"""Reading what the bot said, the way a person reads it in Slack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.sandbox import FakeSlack
from bot.sandbox.session import Sandbox
from bot.settings import Settings


def flatten(message: dict[str, Any]) -> str:
    """All text a person would see in a message or view: fallback text and every block's text."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts) or message.get("text", "")


def ephemerals_to(slack: FakeSlack, user: str) -> list[str]:
    return [flatten(e) for e in slack.ephemerals if e.get("user") == user]


def last_reply(slack: FakeSlack, user: str, *, timeout: float = 5.0, count: int | None = None) -> str:
    """The latest ephemeral reply to `user`, waiting for the `count`-th if asked."""
    if count is not None:
        slack.wait_for_response(lambda r: True, count=count, timeout=timeout)
    replies = ephemerals_to(slack, user)
    assert replies, f"no ephemeral reply to {user}; responses: {slack.responses}"
    return replies[-1]


def eventually(check, *, timeout: float = 5.0, interval: float = 0.02):
    """Retry `check` until it stops raising AssertionError: the bot works after it acks."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


class StatementCounter:
    """Counts the SQL statements an engine runs while the `with` block lasts (every thread, every connection)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def queries(self) -> list[str]:
        """The statements that read or write data, leaving out transaction control (BEGIN, COMMIT…)."""
        return [
            s
            for s in self.statements
            if s.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
        ]


@contextmanager
def running_sandbox(database_url: str, *, quiet: float = 0.05) -> Iterator[Sandbox]:
    """A whole sandbox (the fake Slack, the real bot behind signed HTTP) on this database, swept by hand only."""
    settings = Settings(database_url=make_url(database_url), scheduler=False)
    sandbox = Sandbox(settings, background=False, quiet=quiet).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
