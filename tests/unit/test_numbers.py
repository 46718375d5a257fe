"""`bot.numbers`: numbers typed the many ways people type them, and shown back the way they write them."""

from __future__ import annotations

import pytest

from bot.numbers import MAX_LENGTH, check_number, format_number, parse_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("40", 40.0),
        ("12.5", 12.5),
        ("  7  ", 7.0),
        ("\t3\n", 3.0),
        ("+5", 5.0),
        ("-3", -3.0),
        ("\u22123", -3.0),  # the minus sign documents paste
        ("- 5", -5.0),
        ("-0", 0.0),
        ("0", 0.0),
        ("007", 7.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1,200", 1200.0),
        ("1,200,000", 1_200_000.0),
        ("1,200.5", 1200.5),
        ("1_000", 1000.0),
        ("1 200 000", 1_200_000.0),
        ("1\u00a0200", 1200.0),  # no-break space
        ("1\u2009200", 1200.0),  # thin space
        ("1\u202f200", 1200.0),  # narrow no-break space
        ("12,5", 12.5),  # a decimal comma: a thousands group has three digits
        ("0,125", 0.125),  # "0" cannot open a thousands group, so this comma is a decimal one
        ("1,2345", 1.2345),
        ("1234,567", 1234.567),  # 1234 is not a valid first group, so the comma is decimal
        ("1 200,5", 1200.5),
        ("1 200,500", 1200.5),  # spaces group the thousands, so the comma can only be decimal
        ("40%", 40.0),
        ("40 %", 40.0),
        ("-12.5%", -12.5),
        ("1,000,000,000,000,000", 1e15),
        ("-1,000,000,000,000,000", -1e15),
    ],
)
def test_accepted(raw, expected):
    assert parse_number(raw) == expected


def test_negative_zero_comes_back_as_plain_zero():
    assert str(parse_number("-0")) == "0.0"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Type a number, like 40 or 12.5."),
        ("   ", "Type a number, like 40 or 12.5."),
        ("abc", "without words"),
        ("ten", "without words"),
        ("40 users", "without words"),
        ("nan", "without words"),
        ("NaN", "without words"),
        ("inf", "without words"),
        ("-Infinity", "without words"),
        ("1e6", "without words"),
        ("0x10", "without words"),
        ("😀", "Type a number"),
        ("4😀", "Type a number"),
        ("∞", "Type a number"),
        ("$40", "Type a number"),
        ("%", "Type a number"),
        ("-", "Type a number"),
        ("--5", "Type a number"),
        ("40%%", "Type a number"),
        ("1,20,000", "Check the separators"),
        ("1.200,5", "Check the separators"),
        ("12.5.3", "Check the separators"),
        ("1__000", "Check the separators"),
        ("1,200 000", "Check the separators"),  # two kinds of thousands separator
        ("1,2,3", "Check the separators"),
        ("12 ,5", "Check the separators"),
        (".", "Type a number"),
        ("1" * (MAX_LENGTH + 1), "too long"),
        ("1,000,000,000,000,001", "too big"),
        ("-2,000,000,000,000,000", "too big"),
    ],
)
def test_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_number(raw)


def test_forty_characters_is_still_a_number():
    assert parse_number("0." + "1" * (MAX_LENGTH - 2)) == pytest.approx(0.111111111)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e16, -1e16, 10**400])
def test_check_number_refuses_what_no_key_result_measures(value):
    with pytest.raises(ValueError):
        check_number(value)


def test_check_number_passes_ints_as_floats():
    result = check_number(3)
    assert result == 3.0 and isinstance(result, float)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12.0, "12"),
        (12.5, "12.5"),
        (1_200_000, "1,200,000"),
        (1200.5, "1,200.5"),
        (-1200.5, "-1,200.5"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (1e-7, "0.0000001"),
        (1e15, "1,000,000,000,000,000"),
        (123_456_789_012.345, "123,456,789,012.345"),
        (0.7, "0.7"),
    ],
)
def test_format_number(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize("value", [0.0, 12.0, 12.5, 1_200_000.0, -40.25, 0.0001, 999_999_999_999.5])
def test_what_is_shown_reads_back_as_the_same_number(value):
    assert parse_number(format_number(value)) == value
