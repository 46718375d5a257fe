"""Fault injection and rate limiting: the failures a bot must survive, on demand, in order or by chance,
held answers (Slack did the work, the client has not heard yet), and the latency of every answer."""

from __future__ import annotations

import math
import random
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


@dataclass
class FaultShare:
    """A fault that hits each call with probability ``share``; its own seeded generator keeps runs repeatable."""

    fault: Fault
    share: float
    draws: random.Random

    def hits(self) -> bool:
        return self.draws.random() < self.share


@dataclass
class Latency:
    """How long Slack takes to answer: ``seconds``, give or take up to ``jitter``, from its own seeded generator."""

    seconds: float
    jitter: float
    draws: random.Random

    def draw(self) -> float:
        return self.seconds + self.draws.uniform(-self.jitter, self.jitter) if self.jitter else self.seconds


class FaultPlan:
    """Queued faults per method (consumed in the order they were queued), faults that hit a share of calls,
    held answers, optional per-minute limits, and Slack's latency.

    Limits are counted per method per workspace, like Slack's tiers, over a sliding 60-second window.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._queued: dict[str, deque[Fault]] = defaultdict(deque)
        self._shares: dict[str, FaultShare] = {}
        self._holds: dict[str, deque[float]] = defaultdict(deque)
        self._lost: dict[str, deque[Fault]] = defaultdict(deque)
        self._lost_shares: dict[str, FaultShare] = {}
        self._limits: dict[str, int] = {}
        self._recent: dict[tuple[str, str | None], deque[float]] = defaultdict(deque)
        self._latency: Latency | None = None

    def queue(self, method: str, fault: Fault, times: int) -> None:
        with self._lock:
            self._queued[method].extend([fault] * times)

    def set_share(self, method: str, fault: Fault, share: float, seed: int) -> None:
        """From now on ``share`` of the calls of ``method`` fail with ``fault``; a share of 0 stops it."""
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, not {share!r}")
        with self._lock:
            if share == 0:
                self._shares.pop(method, None)
            else:
                self._shares[method] = FaultShare(fault, share, random.Random(seed))

    def hold(self, method: str, seconds: float, times: int) -> None:
        if seconds < 0 or times < 1:
            raise ValueError(f"cannot hold {method} for {seconds!r}s {times!r} time(s)")
        with self._lock:
            self._holds[method].extend([seconds] * times)

    def lose(self, method: str, fault: Fault, times: int) -> None:
        with self._lock:
            self._lost[method].extend([fault] * times)

    def lose_share(self, method: str, fault: Fault, share: float, seed: int) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, not {share!r}")
        with self._lock:
            if share == 0:
                self._lost_shares.pop(method, None)
            else:
                self._lost_shares[method] = FaultShare(fault, share, random.Random(seed))

    def clear(self) -> None:
        """Forget queued faults, shares and pending holds; per-minute limits and latency model Slack itself
        and stay."""
        with self._lock:
            self._queued.clear()
            self._shares.clear()
            self._holds.clear()
            self._lost.clear()
            self._lost_shares.clear()

    def set_limit(self, method: str, per_minute: int | None) -> None:
        with self._lock:
            if per_minute is None:
                self._limits.pop(method, None)
            else:
                self._limits[method] = per_minute

    def set_latency(self, seconds: float | None, jitter: float, seed: int) -> None:
        """From now on every answer takes ``seconds`` ± ``jitter``; None makes answers immediate again."""
        if seconds is not None and not 0 <= jitter <= seconds:
            raise ValueError(f"latency needs 0 <= jitter <= seconds, not {jitter!r} and {seconds!r}")
        with self._lock:
            self._latency = Latency(seconds, jitter, random.Random(seed)) if seconds is not None else None

    def latency(self) -> float:
        """How long this call's answer takes, in seconds (0 without a latency); each call draws its own."""
        with self._lock:
            return self._latency.draw() if self._latency is not None else 0.0

    def take(self, method: str) -> Fault | None:
        """The next queued fault for this method, if any (it is used up); else maybe the method's share fault.

        A call that meets a queued fault draws nothing, so the share's sequence depends only on the calls
        that reach it.
        """
        with self._lock:
            queue = self._queued.get(method)
            if queue:
                return queue.popleft()
            share = self._shares.get(method)
            return share.fault if share is not None and share.hits() else None

    def take_lost(self, method: str) -> Fault | None:
        """The error answer that replaces this call's real one, when its answer is to be lost (it is used up)."""
        with self._lock:
            queue = self._lost.get(method)
            if queue:
                return queue.popleft()
            share = self._lost_shares.get(method)
            return share.fault if share is not None and share.hits() else None

    def take_hold(self, method: str) -> float | None:
        """How long to sit on this call's answer, if a hold is pending for the method (it is used up)."""
        with self._lock:
            holds = self._holds.get(method)
            return holds.popleft() if holds else None

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
