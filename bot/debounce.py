"""Coalescing bursts: many calls for one key within a short delay run the action once, after the delay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from storage.db import UNAVAILABLE, cause

log = logging.getLogger(__name__)


class Debouncer:
    """`call(key, action)` runs `action` `delay` seconds after the first call for `key`; calls made while it
    waits join that run. A call made while the action runs starts a new wait, so the last change is never
    left out. In-process only: the minute sweep redraws whatever a process that died did not."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._pending: set[Hashable] = set()
        self._timers: dict[Hashable, threading.Timer] = {}
        self._lock = threading.Lock()
        self._closed = False

    def call(self, key: Hashable, action: Callable[[], object]) -> None:
        with self._lock:
            if key in self._pending or self._closed:
                return
            self._pending.add(key)
            timer = threading.Timer(self.delay, self._run, args=(key, action))
            timer.daemon = True
            self._timers[key] = timer
        timer.start()

    def cancel(self) -> None:
        """Drop the actions still waiting and take no more (the app is closing; the sweep catches up)."""
        with self._lock:
            self._closed = True
            timers, self._timers = list(self._timers.values()), {}
            self._pending.clear()
        for timer in timers:
            timer.cancel()

    def _run(self, key: Hashable, action: Callable[[], object]) -> None:
        with self._lock:
            self._pending.discard(key)
            self._timers.pop(key, None)
        try:
            action()
        except UNAVAILABLE as error:  # an outage, not a bug: the sweep catches up once the database is back
            log.warning("a debounced action waits for the database", extra={"key": str(key), "error": cause(error)})
        except Exception:  # a timer thread has no one to tell: log, and the sweep catches up
            log.exception("a debounced action failed", extra={"key": str(key)})
