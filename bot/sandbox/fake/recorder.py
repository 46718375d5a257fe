"""What the bot sent: every Web API call, every response_url POST and every Socket Mode ack, waitable without
sleeping."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiCall:
    """One Web API call as the fake saw it: the arguments, the token, and what it answered."""

    method: str
    args: dict
    token: str | None
    response: dict
    status: int
    at: float
    team_id: str | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    def describe(self) -> str:
        outcome = "ok" if self.ok else f"error={self.response.get('error')}"
        args = json.dumps(self.args, default=str, sort_keys=True)
        if len(args) > 160:
            args = args[:157] + "..."
        return f"{self.method} [{self.status} {outcome}] {args}"


@dataclass(frozen=True)
class Ack:
    """An app's answer to a Socket Mode envelope: ``{"envelope_id": ..., "payload": ...}`` as it came over the link."""

    envelope_id: str
    payload: dict | None  # None when the app acked without one
    type: str | None  # the envelope's type (events_api, slash_commands, interactive); None: no envelope had that id
    seconds: float | None  # from the envelope's sending to its ack (Slack waits 3)
    connection: str  # the link it came over
    at: float


class Recorder:
    """Append-only logs guarded by one Condition, so tests can block until the bot has done something.

    The bot acks first and calls Slack afterwards (often from another thread), so a test must wait for the
    call instead of asserting right after the HTTP request returns.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._calls: list[ApiCall] = []
        self._responses: list[dict] = []
        self._acks: list[Ack] = []

    def record_call(self, call: ApiCall) -> None:
        with self._condition:
            self._calls.append(call)
            self._condition.notify_all()

    def record_response(self, response: dict) -> None:
        with self._condition:
            self._responses.append(response)
            self._condition.notify_all()

    def record_ack(self, ack: Ack, call: ApiCall) -> None:
        with self._condition:
            self._acks.append(ack)
            self._calls.append(call)
            self._condition.notify_all()

    @property
    def calls(self) -> list[ApiCall]:
        with self._condition:
            return list(self._calls)

    @property
    def responses(self) -> list[dict]:
        with self._condition:
            return copy.deepcopy(self._responses)

    @property
    def acks(self) -> list[Ack]:
        with self._condition:
            return list(self._acks)

    def clear_calls(self) -> None:
        with self._condition:
            self._calls.clear()

    def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool], *, count: int, timeout: float
    ) -> ApiCall:
        def matching() -> list[ApiCall]:
            return [c for c in self._calls if c.method == method and predicate(c)]

        found = self._wait(matching, count, timeout)
        if found is None:
            recorded = "\n".join(f"  {c.describe()}" for c in self._calls) or "  (none)"
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} matching {method} call(s); recorded calls:\n{recorded}"
            )
        return found

    def wait_for_response(self, predicate: Callable[[dict], bool], *, count: int, timeout: float) -> dict:
        found = self._wait(lambda: [r for r in self._responses if predicate(r)], count, timeout)
        if found is None:
            recorded = "\n".join(f"  {json.dumps(r['body'], default=str)[:160]}" for r in self._responses)
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} matching response_url POST(s); "
                f"recorded:\n{recorded or '  (none)'}"
            )
        return copy.deepcopy(found)

    def wait_for_ack(self, predicate: Callable[[Ack], bool], *, count: int, timeout: float) -> Ack:
        found = self._wait(lambda: [a for a in self._acks if predicate(a)], count, timeout)
        if found is None:
            recorded = "\n".join(f"  {a.type} {a.envelope_id} {json.dumps(a.payload)[:120]}" for a in self._acks)
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} matching Socket Mode ack(s); "
                f"recorded:\n{recorded or '  (none)'}"
            )
        return found

    def _wait(self, matching: Callable[[], list], count: int, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = matching()
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)
