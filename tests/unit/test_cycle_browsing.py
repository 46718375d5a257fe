"""The pure pieces of `/okr history` and `/okr export`: cycle numbers as typed, dates as shown, safe file
names and spreadsheet cells."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import UsageError
from bot.rituals.export import safe_cell, slug
from bot.rituals.okrs import date_range, number_ranges
from handlers.okrs import cycle_number


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        (date(2026, 3, 2), date(2026, 5, 31), "2 Mar – 31 May 2026"),
        (date(2026, 11, 30), date(2027, 2, 28), "30 Nov 2026 – 28 Feb 2027"),
        (date(2027, 12, 27), date(2028, 3, 26), "27 Dec 2027 – 26 Mar 2028"),
    ],
)
def test_a_cycles_dates_read_like_a_calendar(first, last, shown):
    assert date_range(first, last) == shown


@pytest.mark.parametrize(
    ("numbers", "shown"),
    [([1], "1"), ([1, 2, 3], "1–3"), ([1, 2, 4], "1–2, 4"), ([1, 3, 5, 6, 7, 9], "1, 3, 5–7, 9")],
)
def test_cycle_numbers_are_named_as_runs(numbers, shown):
    assert number_ranges(numbers) == shown


def test_a_long_list_of_runs_is_cut_and_says_how_many_more():
    assert number_ranges(list(range(1, 100, 2)), limit=3) == "1, 3, 5, and 47 more"


@pytest.mark.parametrize(("typed", "number"), [("", None), ("  ", None), ("3", 3), ("#3", 3), (" 12 ", 12), ("007", 7)])
def test_cycle_numbers_as_typed(typed, number):
    assert cycle_number(typed, command="history") == number


@pytest.mark.parametrize("typed", ["abc", "1.5", "-1", "²", "١٢", "1 2", "#", "3a", "cycle 3"])
def test_anything_else_is_not_a_cycle_number(typed):
    with pytest.raises(UsageError, match="is not a cycle number") as raised:
        cycle_number(typed, command="export")
    assert raised.value.usage == "/okr export [N]"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Rockets", "rockets"),
        ("Équipe Fusée 🚀", "equipe-fusee"),
        ("🚀🚀", "team"),
        ("../../etc", "etc"),
        ("A" * 80, "a" * 40),
        ("Growth & Retention", "growth-retention"),
        ("a" * 39 + " b", "a" * 39),
    ],
)
def test_file_names_are_safe(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Plain", "Plain"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_start_with_a_quote(text, cell):
    assert safe_cell(text) == cell
