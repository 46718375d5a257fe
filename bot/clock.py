"""The one clock the bot reads: the time now, in UTC.

In production it is the machine's clock. The sandbox moves it forward (`sweep next` jumps to the next
scheduled moment, and everything after happens then, as if that time had come), and tests start a bot
process at a chosen instant with `OKR_CLOCK_START`; freezegun moves it for code running in the tests' own
process. Only the offset from the machine's clock is kept, so the clock keeps ticking at its normal pace.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_offset = timedelta(0)


def now() -> datetime:
    """The current instant (timezone-aware, UTC), moved by whatever offset the sandbox set."""
    return datetime.now(UTC) + _offset


def set_now(instant: datetime) -> None:
    """From here on, the clock reads `instant` and ticks on from it."""
    global _offset
    if instant.tzinfo is None:
        raise ValueError("the clock takes a timezone-aware instant")
    with _lock:
        _offset = instant - datetime.now(UTC)


def advance_to(instant: datetime) -> None:
    """Move the clock forward to `instant`; a clock is never moved back."""
    if instant > now():
        set_now(instant)


def reset() -> None:
    """Back to the machine's clock."""
    global _offset
    with _lock:
        _offset = timedelta(0)
