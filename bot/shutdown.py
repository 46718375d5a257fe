"""Stopping a bot process on SIGTERM or SIGINT without losing or doubling work (README, "Stopping gracefully").

Every platform sends SIGTERM before it replaces a process, and kills it a little later. On the first signal
`STOPPING` is set, and every long-running part of the process reads it:

- the HTTP server stops accepting connections and answers the requests it has (bot/serving.py);
- the work after each ack runs to its end (bot/ack.py's workers);
- a sweep starts nothing new: a send that has not claimed its message yet does not claim it, and one waiting for
  Slack's rate limits gives its claim back at once (`Stopped`), while a call already made is answered first;
- last, every claim this process still holds is handed back (`storage.claims.push_back_all`) so another
  process takes it over within a minute, looking in Slack first, instead of after the 10-minute lease.

The process then exits 0. If that takes longer than the grace period (SHUTDOWN_GRACE, 10 s by default), a
watchdog hands the claims back and exits 0 at the deadline anyway: a platform's SIGKILL would do worse. A second
SIGINT (Ctrl-C twice) exits at once, the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from slack_sdk.errors import SlackRequestError

from bot import metrics

log = logging.getLogger(__name__)

GRACE = 10.0  # seconds, SHUTDOWN_GRACE's default
LAST_WORDS = 2.0  # seconds the watchdog gives the claims' hand-back before it exits anyway
STOPPING = threading.Event()
STOPPED = "Stopped"  # the error a Delivery carries for a call not made because the process is stopping


class Stopped(SlackRequestError):
    """A Web API call not made because the process is stopping (raised before the call, so Slack did nothing)."""


def pause(seconds: float) -> None:
    """Sleep `seconds`, unless the process is or starts stopping: then raise `Stopped` (the pacer's sleep)."""
    if STOPPING.wait(seconds):
        raise Stopped("the process is stopping: the call was not made")


class Shutdown:
    """The process's stop: which signals start it, the deadline it must meet, and what runs at the deadline."""

    def __init__(self, grace: float = GRACE, *, last_words: Callable[[], object] | None = None) -> None:
        self.grace = grace
        self.last_words = last_words  # hands the claims back; run once, at the end or at the deadline
        self.signalled_at: float | None = None
        self._ended = threading.Lock()
        self._done = False

    def install(self) -> Shutdown:
        """Take SIGTERM and SIGINT (from the main thread)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if STOPPING.is_set():
            if signum == signal.SIGINT:
                log.warning("interrupted again: stopping now")
                self._end_now()
            return
        self.begin(signal.Signals(signum).name)

    def begin(self, why: str) -> None:
        """Start stopping: set `STOPPING` and the deadline, and arm the watchdog."""
        if STOPPING.is_set():
            return
        self.signalled_at = time.monotonic()
        STOPPING.set()
        metrics.SHUTTING_DOWN.set(1)
        log.info("stopping: finishing what was received", extra={"signal": why, "grace_seconds": self.grace})
        threading.Thread(target=self._watchdog, name="okr-shutdown-watchdog", daemon=True).start()

    def remaining(self) -> float:
        """Seconds left before the deadline (the whole grace period before a signal)."""
        if self.signalled_at is None:
            return self.grace
        return max(0.0, self.signalled_at + self.grace - time.monotonic())

    def wait(self, poll: float = 0.5) -> None:
        """Block until a signal comes (the main thread; a short poll lets Python run its signal handlers)."""
        while not STOPPING.wait(poll):
            pass

    def finish(self) -> None:
        """The end of an orderly stop: the last words, once."""
        self._last_words()
        took = time.monotonic() - self.signalled_at if self.signalled_at is not None else 0.0
        log.info("stopped", extra={"seconds": round(took, 3)})

    def _watchdog(self) -> None:
        """At the deadline the process exits, whatever is still running (a thread stuck on a database that hangs would
        otherwise hold the interpreter's exit until the platform's SIGKILL)."""
        time.sleep(self.remaining())
        log.warning("the grace period is over: exiting with work still running", extra={"grace_seconds": self.grace})
        self._end_now()

    def _end_now(self) -> None:
        """Exit now, after the last words if nobody has said them yet (given `LAST_WORDS` seconds: a database may
        hang)."""
        speaking = threading.Thread(target=self._last_words, daemon=True)  # or waits for them being said
        speaking.start()
        speaking.join(LAST_WORDS)
        self._exit_now()

    def _last_words(self) -> None:
        with self._ended:
            if self._done or self.last_words is None:
                return
            self._done = True
            try:
                self.last_words()
            except Exception:
                log.exception("could not hand this process's claims back: they are taken over after their lease")

    def _exit_now(self) -> None:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def reset() -> None:
    """Clear `STOPPING` (tests run many stops in one process)."""
    STOPPING.clear()
    metrics.SHUTTING_DOWN.set(0)
