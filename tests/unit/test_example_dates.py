"""Every example date the bot shows is computed from the day it is shown, so it is never in the past.

A date typed into a template or a help text (`/okr away 2026-12-31`) is in the past for anyone reading it after
that day; these tests fail on any such date left in the bot's words, and check that the computed examples are
ahead of today wherever the reader is, and accepted by the commands they illustrate.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from bot import clock, examples, render
from bot.commands import CATALOGUE, parse
from bot.errors import UsageError
from bot.render import render_message
from bot.rituals.away import MAX_DAYS_AHEAD, parse_away
from bot.rituals.team_settings import USAGE, parse_cycle_anchor, parse_settings_text
from handlers.commands import help_reply

DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TEMPLATES = Path(render.__file__).parent / "templates"
# two years of days, a leap day and every month end among them
DAYS = [date(2027, 1, 1) + timedelta(days=n) for n in range(731)]


def test_no_template_or_usage_line_holds_a_fixed_date():
    found = {path.name: DATE.findall(path.read_text()) for path in TEMPLATES.glob("*.j2")}
    assert {name: dates for name, dates in found.items() if dates} == {}
    assert [c.usage for c in CATALOGUE if DATE.search(c.usage)] == []
    assert not DATE.search(USAGE)


def test_the_away_example_is_a_month_end_at_least_a_week_ahead_and_accepted():
    for today in DAYS:
        example = examples.away_until(today)

        assert today + timedelta(days=7) <= example <= today + timedelta(days=38), today
        assert (example + timedelta(days=1)).day == 1, today  # the last day of its month
        # a day ahead in Kiribati (UTC+14) or behind in Samoa (UTC-11), it is still ahead of the reader's today
        for reader_today in (today - timedelta(days=1), today, today + timedelta(days=1)):
            assert parse_away(example.isoformat(), today=reader_today).until == example, today
        assert example <= today + timedelta(days=MAX_DAYS_AHEAD), today


def test_the_cycle_start_example_is_a_monday_one_to_two_weeks_ahead_and_accepted():
    for today in DAYS:
        example = examples.cycle_start(today)

        assert example.weekday() == 0, today
        assert today + timedelta(days=7) <= example < today + timedelta(days=14), today
        assert parse_cycle_anchor(example.isoformat()) == {"cycle_anchor": example}, today


def test_the_examples_follow_the_clock_into_any_year():
    for now, away, cycle in (
        ("2027-06-25 12:00", "2027-07-31", "2027-07-05"),
        ("2027-06-10 23:59", "2027-06-30", "2027-06-21"),
        ("2031-12-28 00:30", "2032-01-31", "2032-01-05"),
    ):
        with freeze_time(now):
            topic = help_reply(parse("help away"))["blocks"]
            settings = help_reply(parse("help team"))["blocks"]
        assert f"a date like `{away}`" in str(topic), now
        assert f"`cycle-start={cycle}`" in str(settings), now


def test_the_check_in_dm_footer_suggests_a_day_ahead():
    with freeze_time("2027-11-27 08:00"):
        message = render_message("checkin_dm.j2", weeks=[], away_note=None, more=0)
    footer = message["blocks"][-1]["elements"][0]["text"]
    assert "Away? `/okr away 2027-12-31` pauses your check-ins." in footer
    with freeze_time("2028-03-30 08:00"):
        message = render_message("checkin_dm.j2", weeks=[], away_note=None, more=0)
    assert "`/okr away 2028-04-30`" in message["blocks"][-1]["elements"][0]["text"]


def test_a_day_not_understood_is_answered_with_an_example_ahead_of_the_persons_today():
    with pytest.raises(UsageError) as caught:
        parse_away("someday", today=date(2029, 8, 27))
    assert "like `2029-09-30`, `today`" in caught.value.message


def test_a_cycle_start_that_is_not_a_date_names_the_form_and_no_date():
    with pytest.raises(UsageError) as caught:
        parse_settings_text("cycle-start=next-monday")
    assert "use the form YYYY-MM-DD" in caught.value.message and not DATE.search(caught.value.message)


def test_the_examples_follow_the_bots_clock_when_the_sandbox_moves_it():
    try:
        clock.set_now(datetime(2031, 12, 28, 0, 30, tzinfo=UTC))
        topic = help_reply(parse("help away"))["blocks"]
    finally:
        clock.reset()
    assert "a date like `2032-01-31`" in str(topic)
