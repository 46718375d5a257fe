"""The check-in calendar: local hours in each zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.rituals.schedule import (
    EARLIEST_ZONE,
    WEEK,
    current_week,
    cycle_end,
    first_checkin,
    late_cutoff,
    next_occurrence,
    occurrence,
    summary_due,
    week_of,
)

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_same_local_hour_is_a_different_utc_hour_in_each_zone():
    monday = date(2026, 11, 30)
    assert occurrence(monday, weekday=0, hour=10, zone=TOKYO) == utc("2026-11-30 01:00")
    assert occurrence(monday, weekday=0, hour=10, zone=NEW_YORK) == utc("2026-11-30 15:00")
    assert occurrence(monday, weekday=2, hour=9, zone=PARIS) == utc("2026-12-02 08:00")
    # the earliest zone on Earth is where a Monday 10:00 comes first: Sunday 20:00 UTC
    assert occurrence(monday, weekday=0, hour=10, zone=EARLIEST_ZONE) == utc("2026-11-29 20:00")


@pytest.mark.parametrize(
    ("zone", "mondays", "expected_utc_hours"),
    [
        # New York springs forward on Sunday 2027-03-14: 10:00 local moves from 15:00 to 14:00 UTC
        (NEW_YORK, ["2027-03-08", "2027-03-15", "2027-03-22"], [15, 14, 14]),
        # Paris springs forward on 2027-03-28 and falls back on 2027-10-31
        (PARIS, ["2027-03-22", "2027-03-29", "2027-10-25", "2027-11-01"], [9, 8, 8, 9]),
        (TOKYO, ["2027-03-08", "2027-03-15"], [1, 1]),
    ],
)
def test_daylight_saving_moves_the_utc_time_never_the_local_one(zone, mondays, expected_utc_hours):
    for monday, hour in zip(mondays, expected_utc_hours, strict=True):
        due = occurrence(date.fromisoformat(monday), weekday=0, hour=10, zone=zone)
        assert due.hour == hour
        assert due.astimezone(zone).hour == 10 and due.astimezone(zone).weekday() == 0


def test_weekly_due_times_never_skip_or_double_a_week_across_a_change():
    week, due = next_occurrence(utc("2027-03-01 00:00"), weekday=0, hour=10, zone=NEW_YORK)
    seen = []
    for _ in range(6):
        seen.append((week, due.astimezone(NEW_YORK).strftime("%a %H:%M")))
        week += WEEK
        due = occurrence(week, weekday=0, hour=10, zone=NEW_YORK)
    assert [w for w, _ in seen] == [date(2027, 3, 1) + timedelta(weeks=i) for i in range(6)]
    assert {local for _, local in seen} == {"Mon 10:00"}


def test_a_check_in_week_runs_from_one_check_in_time_to_the_next():
    # Monday 10:00 in New York is 15:00 UTC on 2026-11-30
    assert week_of(utc("2026-11-30 14:59"), weekday=0, hour=10, zone=NEW_YORK) == date(2026, 11, 23)
    assert week_of(utc("2026-11-30 15:00"), weekday=0, hour=10, zone=NEW_YORK) == date(2026, 11, 30)
    assert week_of(utc("2026-12-06 23:00"), weekday=0, hour=10, zone=NEW_YORK) == date(2026, 11, 30)
    # a Thursday check-in: the week is still named by its Monday
    assert week_of(utc("2026-12-03 07:59"), weekday=3, hour=9, zone=PARIS) == date(2026, 11, 23)
    assert week_of(utc("2026-12-03 08:00"), weekday=3, hour=9, zone=PARIS) == date(2026, 11, 30)


def test_next_occurrence_is_now_when_now_is_the_check_in_time():
    assert next_occurrence(utc("2026-11-30 15:00"), weekday=0, hour=10, zone=NEW_YORK) == (
        date(2026, 11, 30),
        utc("2026-11-30 15:00"),
    )
    assert next_occurrence(utc("2026-11-30 15:01"), weekday=0, hour=10, zone=NEW_YORK) == (
        date(2026, 12, 7),
        utc("2026-12-07 15:00"),
    )


@pytest.mark.parametrize(
    ("reminder_hours", "expected"),
    [(24, "2026-12-02 10:00"), (48, "2026-12-03 10:00"), (1, "2026-12-02 10:00"), (72, "2026-12-04 10:00")],
)
def test_the_summary_comes_a_day_after_the_reminder_delay_at_the_check_in_hour(reminder_hours, expected):
    team = SimpleNamespace(timezone="UTC", checkin_weekday=0, checkin_hour=10, reminder_hours=reminder_hours)
    assert summary_due(team, date(2026, 11, 30)) == utc(expected)


def test_the_summary_keeps_its_local_hour_over_a_daylight_saving_weekend():
    # Paris springs forward on Sunday 2027-03-28: a Friday 10:00 check-in's summary is Sunday 10:00 local
    team = SimpleNamespace(timezone="Europe/Paris", checkin_weekday=4, checkin_hour=10, reminder_hours=24)
    due = summary_due(team, date(2027, 3, 22))
    assert due == utc("2027-03-28 08:00")
    assert due.astimezone(PARIS).strftime("%a %H:%M") == "Sun 10:00"


# the first check-in week, a new owner's first DM, the late-DM cut-off, the end of a cycle ---------------------


def _team(anchor: str, *, zone: str = "UTC", weekday: int = 0, reminder_hours: int = 24) -> SimpleNamespace:
    return SimpleNamespace(
        timezone=zone,
        checkin_weekday=weekday,
        checkin_hour=10,
        reminder_hours=reminder_hours,
        cycle_anchor=date.fromisoformat(anchor),
        anchor_cycle=1,
        closed_through=0,
    )


@pytest.mark.parametrize(
    ("anchor", "weekday", "now", "week"),
    [
        # a cycle from Monday 7 December, Monday check-ins: 08:30 that Monday is already week 1, not last week
        ("2026-12-07", 0, "2026-12-07 08:30", "2026-12-07"),
        ("2026-12-07", 0, "2026-12-07 10:00", "2026-12-07"),
        ("2026-12-07", 0, "2026-12-14 09:59", "2026-12-07"),
        ("2026-12-07", 0, "2026-12-14 10:00", "2026-12-14"),
        # from Wednesday 9 December: its first check-in is Monday 14, and the days before belong to that week
        ("2026-12-09", 0, "2026-12-09 00:00", "2026-12-14"),
        ("2026-12-09", 0, "2026-12-16 12:00", "2026-12-14"),
        ("2026-12-09", 0, "2026-12-21 10:00", "2026-12-21"),
        # a Friday check-in and a cycle from Friday: before 10:00 that Friday is the cycle's first week too
        ("2026-12-11", 4, "2026-12-11 09:00", "2026-12-07"),
        # a cycle that has not begun (teams may commit ahead of it): plain check-in weeks, no jump forward
        ("2027-01-04", 0, "2026-12-16 12:00", "2026-12-14"),
    ],
)
def test_the_check_in_week_never_starts_before_the_cycle_that_has_begun(anchor, weekday, now, week):
    team = _team(anchor, weekday=weekday)
    assert current_week(team, ZoneInfo("UTC"), utc(now)) == date.fromisoformat(week)


@pytest.mark.parametrize(
    ("now", "zone", "week", "due"),
    [
        # zone unknown: the week still to come somewhere (UTC-12), due as soon as it has come anywhere (UTC+14)
        ("2026-12-02 12:00", None, "2026-12-07", "2026-12-06 20:00"),
        # ... or at once, when its earliest 10:00 has already passed: Monday 08:30 UTC
        ("2026-12-07 08:30", None, "2026-12-07", "2026-12-07 08:30"),
        # ... until 10:00 has passed even in UTC-12 (Monday 22:00 UTC): then next week's
        ("2026-12-07 22:00", None, "2026-12-07", "2026-12-07 22:00"),
        ("2026-12-07 22:01", None, "2026-12-14", "2026-12-13 20:00"),
        # a known zone: the next 10:00 there
        ("2026-12-07 08:30", "America/New_York", "2026-12-07", "2026-12-07 15:00"),
        ("2026-12-07 08:30", "Asia/Tokyo", "2026-12-14", "2026-12-14 01:00"),
    ],
)
def test_a_new_owners_first_dm(now, zone, week, due):
    person = SimpleNamespace(timezone=zone)
    assert first_checkin(_team("2026-12-07"), person, utc(now)) == (date.fromisoformat(week), utc(due))


@pytest.mark.parametrize(
    ("zone", "week", "reminder_hours", "cutoff"),
    [
        ("Europe/London", "2026-12-07", 24, "2026-12-13 10:00"),  # Sunday 10:00
        ("Europe/London", "2026-12-07", 72, "2026-12-11 10:00"),  # Friday 10:00
        ("America/New_York", "2027-11-01", 24, "2027-11-07 15:00"),  # Sunday 10:00 EST, the day clocks fall back
        ("Europe/London", "2027-03-22", 24, "2027-03-28 09:00"),  # Sunday 10:00 BST, the day clocks go forward
    ],
)
def test_a_late_dm_goes_out_until_the_reminder_delay_before_the_next_check_in(zone, week, reminder_hours, cutoff):
    team = _team("2026-12-07", zone=zone, reminder_hours=reminder_hours)
    assert late_cutoff(team, date.fromisoformat(week), ZoneInfo(zone)) == utc(cutoff)


def test_a_check_in_week_belongs_to_the_cycle_its_check_in_day_falls_in():
    tuesday_start = _team("2026-09-08")  # 13 weeks: the cycle ends at midnight after Monday 7 December
    assert cycle_end(tuesday_start, date(2026, 11, 30)) == utc("2026-12-08 00:00")
    assert cycle_end(tuesday_start, date(2026, 12, 7)) == utc("2026-12-08 00:00")  # its week 13's check-in day
    assert cycle_end(tuesday_start, date(2026, 12, 14)) == utc("2027-03-09 00:00")  # the next cycle's
