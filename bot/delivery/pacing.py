"""Pacing calls to Slack's limits, per workspace and per method, before Slack has to say no.

Slack limits each Web API method per app per workspace by tier (https://api.slack.com/apis/rate-limits):
Tier 2 allows 20 calls a minute, Tier 3 50, Tier 4 100, each with some room for bursts. `chat.postMessage` is
special: one message a second in a channel, with short bursts, under a workspace-wide limit Slack does not
publish. `Limits` holds those figures, `SLACK_RATE_LIMITS` overrides them (`chat.postMessage=300,users.list=20`),
and a `Pacer` holds each call until it fits:

- per workspace and method, no more than the method's limit in any minute, and no more than a tenth of it in any
  second (a burst, not the whole minute at once);
- per channel, for posts: no more than 60 a minute and 5 in a second (1 a second sustained, short bursts);
- after a 429, that method in that workspace waits out its Retry-After; every other method, and the same method
  in every other workspace, goes on.

A `PacedClient` is a `OnceClient` that asks the pacer before every call and, on a 429, tells it and tries again
(it never retries anything else, so a message is still posted at most once). The pacer is per process: with
several replicas sending at the same minute, each paces on its own and Slack's 429s share out the rest.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot import metrics, shutdown
from bot.slack import OnceClient, SlackClient, once_only, retry_after

log = logging.getLogger(__name__)

# Slack's tiers, in calls a minute (the documented floors: "20+", "50+", "100+")
TIERS = {1: 1, 2: 20, 3: 50, 4: 100}
# the methods the bot calls, by tier (each method's page in Slack's reference)
METHOD_TIERS = {
    "auth.test": 4,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.open": 3,
    "conversations.replies": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "reactions.get": 3,
    "users.info": 4,
    "users.list": 2,
    "views.publish": 4,
}
# chat.postMessage is special-tier: one message a second in a channel, and a workspace-wide limit that Slack only
# calls "several hundred a minute"; 600 keeps a weekly fan-out at 10 DMs a second in each workspace
POST_METHODS = frozenset({"chat.postMessage"})
POSTS_PER_MINUTE = 600
CHANNEL_WINDOWS = ((1.0, 5), (60.0, 60))  # (seconds, calls) per channel: 1/s sustained, bursts of 5
RETRY_TRIES = 4  # a call meeting a 429 is made at most this many times


@dataclass(frozen=True)
class Limits:
    """Calls a minute per workspace, by method; a method not named is not paced (Slack's 429 still is)."""

    per_minute: Mapping[str, int] = field(default_factory=lambda: default_limits())
    channel_windows: tuple[tuple[float, int], ...] = CHANNEL_WINDOWS

    @classmethod
    def parse(cls, text: str | None) -> Limits:
        """`SLACK_RATE_LIMITS`: comma-separated `method=calls_per_minute` over the defaults; "off" paces nothing.
        Raises ValueError naming what is wrong."""
        if text is None or not text.strip():
            return cls()
        if text.strip().lower() == "off":
            return cls(per_minute={}, channel_windows=())
        limits = dict(default_limits())
        for part in text.split(","):
            method, equals, number = part.strip().partition("=")
            if not equals or not method.strip() or "." not in method:
                raise ValueError(f"expected method=calls_per_minute (e.g. chat.postMessage=300), not {part.strip()!r}")
            try:
                per_minute = int(number)
            except ValueError:
                raise ValueError(
                    f"{method.strip()}: {number.strip()!r} is not a whole number of calls a minute"
                ) from None
            if not 1 <= per_minute <= 100_000:
                raise ValueError(f"{method.strip()}: calls a minute must be between 1 and 100000, not {per_minute}")
            limits[method.strip()] = per_minute
        return cls(per_minute=limits)

    def windows(self, method: str) -> tuple[tuple[float, int], ...]:
        """The (seconds, calls) windows a method's calls in one workspace must fit."""
        per_minute = self.per_minute.get(method)
        if per_minute is None:
            return ()
        return ((1.0, max(1, math.ceil(per_minute / 10))), (60.0, per_minute))


def default_limits() -> dict[str, int]:
    limits = {method: TIERS[tier] for method, tier in METHOD_TIERS.items()}
    limits.update(dict.fromkeys(POST_METHODS, POSTS_PER_MINUTE))
    return limits


class _Window:
    """The moments calls were (or are booked to be) made under one key, for one (seconds, calls) window, in order.

    A call may be booked before moments booked already: a post held by its busy channel is booked seconds ahead in
    the workspace's window too, and a post to another channel must not queue behind it."""

    def __init__(self, seconds: float, calls: int) -> None:
        self.seconds, self.calls = seconds, calls
        self.moments: list[float] = []

    def earliest(self, at: float) -> float:
        """The first moment from `at` on when one more call fits: outside every span where `calls` moments in a row
        would have a window of `seconds` hold them and it too (between the last of them less `seconds` and the
        first of them plus `seconds`). Those spans move forward as the moments do, so one pass finds it."""
        moments, calls, seconds = self.moments, self.calls, self.seconds
        for first in range(bisect.bisect_right(moments, at - seconds), len(moments) - calls + 1):
            start, end = moments[first + calls - 1] - seconds, moments[first] + seconds
            if start >= at:
                break
            if at < end:
                at = end
        return at

    def book(self, at: float) -> None:
        bisect.insort(self.moments, at)

    def forget_before(self, moment: float) -> None:
        del self.moments[: bisect.bisect_right(self.moments, moment - self.seconds)]


class Pacer:
    """When each call may go, per (workspace, method) and per (workspace, channel) for posts; thread-safe."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = lambda: time.clock_gettime(time.CLOCK_MONOTONIC),
        sleep: Callable[[float], None] = shutdown.pause,
    ) -> None:
        self.limits = limits or Limits()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, ...], list[_Window]] = {}
        self._blocked: dict[tuple[str, str], float] = {}  # (workspace, method) → until (Retry-After)
        self.waited = 0.0  # seconds calls were held, in all (for the benchmark and the log)
        self.rate_limited = 0  # 429s met

    def book(self, workspace: str, method: str, channel: str | None = None) -> float:
        """Book the next moment a call fits; returns the seconds to wait before making it."""
        keys: list[tuple[tuple[str, ...], tuple[tuple[float, int], ...]]] = [
            ((workspace, method), self.limits.windows(method))
        ]
        if channel and method in POST_METHODS and self.limits.channel_windows:
            keys.append(((workspace, method, channel), self.limits.channel_windows))
        with self._lock:
            now = self._clock()
            windows = [w for key, shape in keys if shape for w in self._windows_of(key, shape, now)]
            at = max(now, self._blocked.get((workspace, method), now))
            while True:  # a moment one window allows may be too early for another: settle on one all allow
                settled = at
                for window in windows:
                    at = window.earliest(at)
                if at == settled:
                    break
            for window in windows:
                window.book(at)
            self.waited += at - now
        if at > now:
            metrics.PACED_SECONDS.inc(at - now)
        return at - now

    def wait(self, workspace: str, method: str, channel: str | None = None) -> None:
        delay = self.book(workspace, method, channel)
        if delay > 0:
            self._sleep(delay)

    def blocked(self, workspace: str, method: str, retry_after: float) -> None:
        """Slack said 429: no call of `method` in `workspace` before Retry-After has passed."""
        with self._lock:
            until = self._clock() + max(retry_after, 0.0)
            key = (workspace, method)
            self._blocked[key] = max(self._blocked.get(key, until), until)
            self.rate_limited += 1
        log.warning("slack rate-limited a method; waiting", extra={"method": method, "retry_after": retry_after})

    def _windows_of(self, key: tuple[str, ...], shape: tuple[tuple[float, int], ...], now: float) -> list[_Window]:
        windows = self._windows.get(key)
        if windows is None:
            windows = self._windows[key] = [_Window(seconds, calls) for seconds, calls in shape]
        for window in windows:
            window.forget_before(now)
        return windows


class PacedClient(OnceClient):
    """A `OnceClient` for one workspace that waits for the pacer before each call and, after a 429, lets the pacer
    hold that method in that workspace for Retry-After, then tries again (a 429 means Slack did nothing)."""

    def __init__(self, *, pacer: Pacer, workspace: str, **kwargs: Any) -> None:
        super().__init__(retry_handlers=[], **kwargs)
        self.pacer = pacer
        self.workspace = workspace

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # slack_sdk's name and signature
        channel = _channel_of(kwargs)
        for attempt in range(1, RETRY_TRIES + 1):
            try:
                self.pacer.wait(self.workspace, api_method, channel)
            except shutdown.Stopped:
                metrics.slack_call(api_method, "stopped", 0.0)
                raise
            try:
                return super().api_call(api_method, **kwargs)
            except SlackApiError as error:
                if error.response.status_code != 429 or attempt == RETRY_TRIES:
                    raise
                self.pacer.blocked(self.workspace, api_method, retry_after(error.response.headers))
        raise AssertionError("unreachable")  # the last attempt returns or raises


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    for part in ("json", "data", "params"):
        values = kwargs.get(part)
        if isinstance(values, dict) and isinstance(values.get("channel"), str):
            return values["channel"]
    return None


# the process's pacer: every sender in the process shares it (bot.app configures it from SLACK_RATE_LIMITS)
PACER = Pacer()


def configure(limits: Limits) -> None:
    """Pace this process's sends to `limits` from now on."""
    PACER.limits = limits


def paced(client: WebClient, pacer: Pacer, workspace: str | None = None) -> OnceClient:
    """A paced client with `client`'s token and address. Its calls are paced per `workspace`, by default its token:
    a bot token is one installation, in one workspace, so every sender of a workspace shares its limits. A client
    of a class of its own (a test's client that fails on cue) is kept as it is, made once-only if it is not."""
    workspace = workspace or client.token or ""
    if isinstance(client, PacedClient) and client.pacer is pacer and client.workspace == workspace:
        return once_only(client)  # itself
    if type(client) not in (WebClient, SlackClient, OnceClient, PacedClient):
        return once_only(client)
    return PacedClient(
        pacer=pacer,
        workspace=workspace,
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers or {}),
        team_id=(client.default_params or {}).get("team_id"),
    )
