"""Coalescing bursts: many calls for one key within a short delay run the action once, after the delay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Debouncer:
    """`call(key, action)` runs `action` `delay` seconds after the first call for `key`; calls made while it
    waits join that run. A call made while the action runs starts a new wait, so the last change is never
    left out. In-process only: the minute sweep redraws whatever a process that died did not."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._pending: set[Hashable] = set()
        self._lock = threading.Lock()

    def call(self, key: Hashable, action: Callable[[], object]) -> None:
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        timer = threading.Timer(self.delay, self._run, args=(key, action))
        timer.daemon = True
        timer.start()

    def _run(self, key: Hashable, action: Callable[[], object]) -> None:
        with self._lock:
            self._pending.discard(key)
        try:
            action()
        except Exception:  # a timer thread has no one to tell: log, and the sweep catches up
            log.exception("a debounced action failed", extra={"key": str(key)})
