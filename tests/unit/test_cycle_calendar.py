"""The 13-week calendar: cycle number, first and last day, and week of the cycle, in the team's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.rituals.cycles import CYCLE_DAYS, cycle_day, cycle_span


def test_a_cycle_is_thirteen_weeks_from_the_anchor_and_the_next_starts_the_day_after():
    anchor = date(2026, 1, 5)
    first = cycle_span(anchor, anchor)
    assert (first.number, first.starts_on, first.last_day, first.ends_on) == (
        1,
        date(2026, 1, 5),
        date(2026, 4, 5),
        date(2026, 4, 6),
    )
    assert cycle_span(anchor, date(2026, 4, 5)).number == 1
    second = cycle_span(anchor, date(2026, 4, 6))
    assert (second.number, second.starts_on) == (2, date(2026, 4, 6))
    assert cycle_span(anchor, anchor + timedelta(days=10 * CYCLE_DAYS + 3)).number == 11


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 1, 5), 1),
        (date(2026, 1, 11), 1),
        (date(2026, 1, 12), 2),
        (date(2026, 3, 29), 12),
        (date(2026, 3, 30), 13),
        (date(2026, 4, 5), 13),
    ],
)
def test_weeks_count_from_the_cycles_first_day(day, week):
    assert cycle_span(date(2026, 1, 5), day).week_of(day) == week


def test_before_the_anchor_a_team_is_drafting_its_first_cycle():
    anchor = date(2026, 1, 5)
    span = cycle_span(anchor, date(2025, 12, 20))
    assert (span.number, span.starts_on) == (1, anchor)
    assert span.week_of(date(2025, 12, 20)) == 0
    with pytest.raises(ValueError, match="after cycle 1"):
        span.week_of(date(2026, 4, 6))


def test_the_week_shown_is_none_before_the_cycle_and_its_last_while_its_reset_runs():
    span = cycle_span(date(2026, 1, 5), date(2026, 1, 5))
    assert span.week_on(date(2026, 1, 4)) == 0
    assert [span.week_on(date(2026, 1, 5) + timedelta(days=d)) for d in (0, 6, 7, 90)] == [1, 1, 2, 13]
    assert span.week_on(date(2026, 4, 20)) == 13  # after its last day, as /okr list and the dashboard show it


def test_a_cycle_across_new_year():
    anchor = date(2026, 11, 30)
    span = cycle_span(anchor, date(2027, 1, 1))
    assert (span.number, span.starts_on, span.last_day) == (1, date(2026, 11, 30), date(2027, 2, 28))
    assert span.week_of(date(2026, 12, 31)) == 5 and span.week_of(date(2027, 1, 4)) == 6


def test_a_cycle_across_a_leap_day_still_has_ninety_one_days():
    anchor = date(2027, 12, 6)
    span = cycle_span(anchor, date(2028, 2, 29))
    assert (span.starts_on, span.last_day, span.ends_on) == (date(2027, 12, 6), date(2028, 3, 5), date(2028, 3, 6))
    assert span.week_of(date(2028, 2, 29)) == 13
    assert cycle_span(anchor, date(2028, 3, 6)).number == 2
    # and one in a year without 29 February ends a day later in the calendar
    assert cycle_span(date(2026, 12, 6), date(2027, 1, 1)).last_day == date(2027, 3, 6)


def test_a_cycle_turns_over_at_the_teams_midnight_on_a_daylight_saving_day():
    # cycle 1 of a Paris team ends on Saturday 28 March 2026; clocks go forward that night (CET → CEST)
    anchor = date(2025, 12, 28)
    last = cycle_day(anchor, "Europe/Paris", datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC))  # 23:59:59 CET
    first = cycle_day(anchor, "Europe/Paris", datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # 00:00 CET, 29 March
    assert (last.day, last.span.number, last.week) == (date(2026, 3, 28), 1, 13)
    assert (first.day, first.span.number, first.week) == (date(2026, 3, 29), 2, 1)
    # the 23-hour day is a whole day of week 1: at 23:30 local (CEST, UTC+2) it is still 29 March
    late = cycle_day(anchor, "Europe/Paris", datetime(2026, 3, 29, 21, 30, tzinfo=UTC))
    assert (late.day, late.week) == (date(2026, 3, 29), 1)
    # and the 25-hour day in October belongs to one week only
    autumn = [
        cycle_day(anchor, "Europe/Paris", datetime(2026, 10, 24, 22, 30, tzinfo=UTC) + timedelta(hours=h))
        for h in range(25)
    ]
    assert {c.day for c in autumn} == {date(2026, 10, 25)} and len({c.week for c in autumn}) == 1


def test_the_same_moment_is_in_different_cycles_for_teams_in_different_zones():
    anchor = date(2026, 1, 5)
    moment = datetime(2026, 4, 5, 12, 30, tzinfo=UTC)  # already Monday 6 April in Auckland
    assert cycle_day(anchor, "Pacific/Auckland", moment).span.number == 2
    assert cycle_day(anchor, "America/Los_Angeles", moment).span.number == 1
    assert cycle_day(anchor, "America/Los_Angeles", moment).week == 13
