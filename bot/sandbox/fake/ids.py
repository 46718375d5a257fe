"""Ids and timestamps shaped like Slack's, so code that parses or sorts them works as in production."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


class IdFactory:
    """Deterministic, unique ids per prefix ("V", "F", ...): stable across runs, easy to read in failures."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str, width: int = 9) -> str:
        with self._lock:
            number = next(self._counter)
        return f"{prefix}{_base36(number, width)}"

    @staticmethod
    def secret(nbytes: int = 12) -> str:
        """An unguessable token, for URLs and trigger ids that must not be forgeable by accident."""
        return secrets.token_hex(nbytes)


class MessageClock:
    """Message timestamps: "1700000000.000100"-style strings, unique and strictly increasing.

    Slack identifies a message by (channel, ts), so two messages in the same microsecond must still differ.
    """

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock
        self._last = 0
        self._lock = threading.Lock()

    def next_ts(self) -> str:
        with self._lock:
            micros = max(int(self._wall_clock() * 1_000_000), self._last + 1)
            self._last = micros
        seconds, fraction = divmod(micros, 1_000_000)
        return f"{seconds}.{fraction:06d}"
