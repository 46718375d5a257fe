"""Example dates the bot shows in its help and hints, computed from the day they are shown.

A fixed date in a hint ("`/okr away 2026-12-31`") is in the past for everyone reading it after that day, and
an example the bot itself would refuse teaches the wrong thing. Each example here is at least a week ahead of
`today`, so it is still ahead wherever the reader is (time zones are less than two days apart), and well
within what the commands accept.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from bot import clock

MARGIN = timedelta(days=7)


def today() -> date:
    """The UTC date on the bot's clock (the sandbox and tests move it); the margin covers the reader's own zone."""
    return clock.now().date()


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def away_until(today: date) -> date:
    """A last day away for `/okr away`: the end of this month if that is a week ahead or more, otherwise the end
    of next month (so 8 to 38 days ahead)."""
    end = last_day_of_month(today)
    if end - today < MARGIN:
        end = last_day_of_month(end + timedelta(days=1))
    return end


def cycle_start(today: date) -> date:
    """A first day for a cycle (`cycle-start=`): the first Monday at least a week ahead."""
    earliest = today + MARGIN
    return earliest + timedelta(days=-earliest.weekday() % 7)
