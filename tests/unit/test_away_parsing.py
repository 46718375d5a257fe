"""`/okr away …` as typed: the day someone is away until, read against a given today."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import UsageError
from bot.rituals.away import AwayCommand, parse_away

TODAY = date(2026, 12, 16)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", AwayCommand("show")),
        ("   ", AwayCommand("show")),
        ("off", AwayCommand("clear")),
        ("OFF", AwayCommand("clear")),
        ("back", AwayCommand("clear")),
        ("2026-12-24", AwayCommand("set", date(2026, 12, 24))),
        ("until 2026-12-24", AwayCommand("set", date(2026, 12, 24))),
        ("  2026-12-24 ", AwayCommand("set", date(2026, 12, 24))),
        ("2026-12-16", AwayCommand("set", TODAY)),
        ("today", AwayCommand("set", TODAY)),
        ("Today", AwayCommand("set", TODAY)),
        ("tomorrow", AwayCommand("set", date(2026, 12, 17))),
        ("thursday", AwayCommand("set", date(2026, 12, 17))),
        ("friday", AwayCommand("set", date(2026, 12, 18))),
        ("FRI", AwayCommand("set", date(2026, 12, 18))),
        ("until fri", AwayCommand("set", date(2026, 12, 18))),
        ("sunday", AwayCommand("set", date(2026, 12, 20))),
        ("monday", AwayCommand("set", date(2026, 12, 21))),
        ("tues", AwayCommand("set", date(2026, 12, 22))),
        ("wednesday", AwayCommand("set", date(2026, 12, 23))),  # the next Wednesday, never today
        ("2027-12-16", AwayCommand("set", date(2027, 12, 16))),  # 365 days ahead, the latest allowed
    ],
)
def test_accepted(text, command):
    assert parse_away(text, today=TODAY) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-15", "2026-12-15 is in the past (today is 2026-12-16)"),
        ("2020-01-01", "is in the past"),
        ("2027-12-17", "2027-12-17 is more than 365 days ahead; you can be marked away until 2027-12-16"),
        ("9999-12-31", "more than 365 days ahead"),
        ("2026-02-30", "`2026-02-30` is not a real date"),
        ("2026-13-01", "`2026-13-01` is not a real date"),
        ("24/12/2026", "`24/12/2026` is not a day I understand"),
        ("20261224", "`20261224` is not a day I understand"),
        ("2026-12-24T10:00", "is not a day I understand"),
        ("2026-W52", "is not a day I understand"),
        ("next week", "`next week` is not a day I understand"),
        ("fr", "`fr` is not a day I understand"),
        ("fridays", "`fridays` is not a day I understand"),
        ("until", "`until` is not a day I understand"),
        ("off now", "`off now` is not a day I understand"),
        ("2026-12-24 2026-12-25", "is not a day I understand"),
        ("２０２６-１２-２４", "is not a day I understand"),  # full-width digits
        ("٢٠٢٦-١٢-٢٤", "is not a day I understand"),  # Arabic-Indic digits
        ("🏖️", "is not a day I understand"),
        ("x" * 3995, "`" + "x" * 29 + "…` is not a day I understand"),
    ],
)
def test_refused(text, message):
    with pytest.raises(UsageError) as caught:
        parse_away(text, today=TODAY)
    assert message in caught.value.message
    assert caught.value.usage.startswith("/okr away [YYYY-MM-DD | today | tomorrow | WEEKDAY | off]")


def test_the_year_ahead_counts_from_today_across_a_leap_day():
    assert parse_away("2029-02-28", today=date(2028, 2, 29)) == AwayCommand("set", date(2029, 2, 28))
    with pytest.raises(UsageError):
        parse_away("2029-03-01", today=date(2028, 2, 29))
