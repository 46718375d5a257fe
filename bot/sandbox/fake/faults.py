"""Fault injection and rate limiting: the failures a bot must survive, on demand and in order."""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """A canned failure: an error body with an HTTP status, and for 429s the Retry-After header."""

    error: str
    status: int = 200
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class FaultPlan:
    """Queued faults per method (consumed in the order they were queued) and optional per-minute limits.

    Limits are counted per method per workspace, like Slack's tiers, over a sliding 60-second window.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._queued: dict[str, deque[Fault]] = defaultdict(deque)
        self._limits: dict[str, int] = {}
        self._recent: dict[tuple[str, str | None], deque[float]] = defaultdict(deque)

    def queue(self, method: str, fault: Fault, times: int) -> None:
        with self._lock:
            self._queued[method].extend([fault] * times)

    def set_limit(self, method: str, per_minute: int | None) -> None:
        with self._lock:
            if per_minute is None:
                self._limits.pop(method, None)
            else:
                self._limits[method] = per_minute

    def take(self, method: str) -> Fault | None:
        """The next queued fault for this method, if any (it is used up)."""
        with self._lock:
            queue = self._queued.get(method)
            return queue.popleft() if queue else None

    def over_limit(self, method: str, team_id: str | None) -> Fault | None:
        """Count this call against the method's limit; a 429 fault when it goes over."""
        with self._lock:
            limit = self._limits.get(method)
            if limit is None:
                return None
            now = self._clock()
            recent = self._recent[(method, team_id)]
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= limit:
                retry_after = max(1, math.ceil(recent[0] + 60 - now))
                return Fault("ratelimited", status=429, retry_after=retry_after)
            recent.append(now)
            return None
