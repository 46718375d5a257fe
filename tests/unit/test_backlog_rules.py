"""The backlog's rules that need no database: reading typed lines and ideas, naming key results, reading CSV files,
turning a Slack message into an item, and where a shared file may be downloaded from."""

from __future__ import annotations

import re

import pytest

from bot.errors import NotFound, UsageError
from bot.rituals.backlog import (
    MAX_ITEM_TEXT,
    NumberedKeyResult,
    find_key_result,
    is_key_result_reference,
    item_lines,
    message_item_text,
    split_idea,
)
from bot.rituals.backlog_csv import CsvRow, place, problems_message, read_sheet
from bot.slack_files import is_csv, is_slack_hosted
from storage.models import KeyResult


def numbered(*labels: str) -> list[NumberedKeyResult]:
    return [NumberedKeyResult(label, KeyResult(id=n, metric=f"metric {label}")) for n, label in enumerate(labels, 1)]


# item_lines ---------------------------------------------------------------------------------------------------


def test_each_line_is_an_item_without_its_list_marker():
    typed = "- one\n* two\n• three\n– four\n1. five\n12) six\n[ ] seven\n[x] eight\n\n   nine   spaced  \n-\n 3."
    assert item_lines(typed) == ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine spaced"]


def test_a_dash_inside_a_line_or_a_number_without_marker_stays():
    assert item_lines("-5% churn\n2024 roadmap\n3.5 release") == ["-5% churn", "2024 roadmap", "3.5 release"]


def test_every_bad_line_is_named_in_one_error():
    with pytest.raises(UsageError) as refused:
        item_lines("fine\n" + "x" * (MAX_ITEM_TEXT + 1) + "\nbell \x07\nfine too")
    assert refused.value.message.startswith("Nothing was added.")
    assert "Line 2: 1,001 characters" in refused.value.message and "Line 3:" in refused.value.message
    assert "U+0007" in refused.value.message


def test_only_ten_problems_are_listed():
    with pytest.raises(UsageError) as refused:
        item_lines("\n".join(["\x07"] * 25))
    assert "Line 10:" in refused.value.message and "Line 11:" not in refused.value.message
    assert "…and 15 more" in refused.value.message


@pytest.mark.parametrize("typed", ["", "  \n \n", "-\n*\n1."])
def test_no_item_at_all_is_refused(typed):
    with pytest.raises(UsageError, match="no item"):
        item_lines(typed)


def test_at_most_5000_items_at_once():
    assert len(item_lines("\n".join(f"i{n}" for n in range(5000)))) == 5000
    with pytest.raises(UsageError, match="5,001 items"):
        item_lines("\n".join(f"i{n}" for n in range(5001)))


# ideas and key results ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Weekly onboarding email 1.2", ("Weekly onboarding email", "1.2")),
        ("Weekly onboarding email KR 1.2", ("Weekly onboarding email", "KR1.2")),
        ("Weekly onboarding email kr1.2", ("Weekly onboarding email", "kr1.2")),
        ("Weekly onboarding email KR 2", ("Weekly onboarding email", "KR2")),
        ("Support OAuth 2", ("Support OAuth 2", None)),  # a bare number is the text's, not a key result
        ("Weekly onboarding email 2", ("Weekly onboarding email 2", None)),
        ("Weekly onboarding email", ("Weekly onboarding email", None)),
        ("1.2", ("1.2", None)),  # a lone number is the idea, not a key result
        ("Version 1.2.3", ("Version 1.2.3", None)),
    ],
)
def test_split_idea(typed, expected):
    assert split_idea(typed) == expected


@pytest.mark.parametrize(
    ("reference", "label"), [("1.2", "1.2"), ("KR 2.1", "2.1"), ("kr1.1", "1.1"), ("KR1.2", "1.2")]
)
def test_find_key_result_by_label(reference, label):
    assert find_key_result(numbered("1.1", "1.2", "2.1"), reference).label == label


def test_a_bare_number_names_a_key_result_of_the_only_objective():
    assert find_key_result(numbered("1.1", "1.2"), "2").label == "1.2"
    with pytest.raises(UsageError, match=re.escape("Write it as `1.2`")):
        find_key_result(numbered("1.1", "2.1"), "2")


def test_unknown_or_malformed_key_results_are_refused_with_the_known_ones():
    known = re.escape("no live key result 3.1 this cycle. The team's key results: 1.1, 1.2")
    with pytest.raises(NotFound, match=known):
        find_key_result(numbered("1.1", "1.2"), "3.1")
    with pytest.raises(NotFound, match="none yet"):
        find_key_result([], "1.1")
    with pytest.raises(UsageError, match="not a key result number"):
        find_key_result(numbered("1.1"), "first")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2", True), ("KR 1.2", True), ("3", True), ("#3", False), ("inbox", False), ("1.2.3", False), ("123", False)],
)
def test_is_key_result_reference(text, expected):
    assert is_key_result_reference(text) is expected


# a Slack message as an item ---------------------------------------------------------------------------------------


def test_a_message_becomes_one_line_with_slacks_escapes_undone():
    assert message_item_text("Dark &lt;mode&gt;\n\n &amp; SSO for <@U0BEN>") == "Dark <mode> & SSO for <@U0BEN>"


def test_a_message_loses_what_an_item_cannot_hold_and_is_clipped():
    text = message_item_text("a\x07b\u200bc\u202ed 👩\u200d💻 " + "z" * 2000)
    assert text.startswith("abcd 👩\u200d💻 zz") and len(text) == MAX_ITEM_TEXT and text.endswith("…")
    assert message_item_text(" \x07 \n ") == ""


# CSV files ------------------------------------------------------------------------------------------------------


def rows(data: bytes) -> list[tuple[int, str, str | None]]:
    sheet = read_sheet(data)
    assert sheet.problems == []
    return [(row.row, row.text, row.key_result) for row in sheet.rows]


def test_without_header_the_first_column_of_every_row_is_an_item():
    assert rows(b'Dark mode,ignored\n\nSSO\n"Quoted, comma"\n') == [
        (1, "Dark mode", None),
        (3, "SSO", None),
        (4, "Quoted, comma", None),
    ]


@pytest.mark.parametrize("name", ["title", "Title", "SUMMARY", " text ", "Item", "name"])
def test_a_header_names_the_item_column(name):
    data = f"id,{name},owner\n1,Dark mode,ada\n2,SSO,ben\n".encode()
    assert rows(data) == [(2, "Dark mode", None), (3, "SSO", None)]


def test_title_wins_over_name_and_a_kr_column_is_read():
    data = b"Name,Key Result,Title\nada,1.2,Dark mode\nben,,SSO\n"
    assert rows(data) == [(2, "Dark mode", "1.2"), (3, "SSO", None)]


def test_bom_crlf_multiline_cells_and_blank_rows():
    data = '\ufeffTitle;KR\r\n"Two\r\nlines";KR 1.1\r\n;\r\n\r\nCafé\r\n'.encode()
    assert rows(data) == [(2, "Two lines", "KR 1.1"), (5, "Café", None)]


def test_semicolons_and_tabs_separate_only_under_a_header():
    assert rows(b"title\tkr\nDark mode\t1.1\n") == [(2, "Dark mode", "1.1")]
    assert rows(b"Fix login; then sign-up\n") == [(1, "Fix login; then sign-up", None)]


def test_bad_rows_are_collected_with_their_numbers():
    sheet = read_sheet(b"Title,kr\nok,\n,1.1\nbell \x07,\n" + b"x" * 1001 + b",\n")
    assert [row for row, _ in sheet.problems] == [3, 4, 5]
    assert "no item text" in sheet.problems[0][1] and "U+0007" in sheet.problems[1][1]
    assert "1,001 characters" in sheet.problems[2][1]
    assert [row.text for row in sheet.rows] == ["ok"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x" * (2 * 1024 * 1024 + 1), "2.0 MB; the limit is 2.0 MB"),
        (b"\n".join(b"r%d" % n for n in range(5001)), "5,001 rows; at most 5,000"),
        ("Café".encode("utf-16"), "not UTF-8"),
        (b"", "no item in that file"),
        (b"Title,kr\n\n,\n", "no item in that file"),
        (b"x" * 200_000, "Row 1 cannot be read as CSV"),
    ],
    ids=["too-big", "too-many-rows", "utf-16", "empty", "header-only", "huge-cell"],
)
def test_files_that_cannot_be_read(data, message):
    with pytest.raises(UsageError, match=message):
        read_sheet(data)


def test_5000_rows_are_fine_blank_ones_not_counted():
    data = b"Title\n" + b"\n\n".join(b"r%d" % n for n in range(5000))
    assert len(read_sheet(data).rows) == 5000


def test_rows_are_placed_under_live_key_results_or_named():
    live = numbered("1.1", "1.2")
    items, problems = place([CsvRow(2, "a", "1.2"), CsvRow(3, "b", None), CsvRow(4, "c", "9.9")], live)
    assert [(item.text, item.key_result.label if item.key_result else None) for item in items] == [
        ("a", "1.2"),
        ("b", None),
    ]
    assert problems == [(4, "`9.9` is not one of the team's key results.")]


def test_the_problems_message_lists_ten_rows_first_ones_first_and_the_key_results():
    problems = [(n, "wrong.") for n in range(30, 2, -1)]
    message = problems_message(problems, labels=["1.1", "1.2"])
    assert message.startswith("Nothing was imported")
    assert "Row 3: wrong." in message and "Row 12: wrong." in message and "Row 13:" not in message
    assert "…and 18 more rows" in message and "The team's key results this cycle: 1.1, 1.2." in message
    assert "key results" not in problems_message([(2, "wrong.")])


# shared files -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ({"filetype": "csv", "name": "x"}, True),
        ({"filetype": "text", "name": "Backlog.CSV"}, True),
        ({"filetype": "xlsx", "name": "backlog.xlsx"}, False),
        ({}, False),
    ],
)
def test_is_csv(file, expected):
    assert is_csv(file) is expected


@pytest.mark.parametrize(
    ("url", "api", "expected"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.csv", "https://slack.com/api/", True),
        ("https://files.slack.com/files-pri/T1-F1/download/a.csv", "https://www.slack.com/api/", True),
        ("http://files.slack.com/files-pri/T1-F1/download/a.csv", "https://slack.com/api/", False),
        ("https://evil.example/slack.com/a.csv", "https://slack.com/api/", False),
        ("https://notslack.com/a.csv", "https://slack.com/api/", False),
        ("http://127.0.0.1:4000/files-pri/T1-F1/a.csv", "http://127.0.0.1:4000/api/", True),
    ],
)
def test_the_token_goes_only_to_slacks_own_site(url, api, expected):
    assert is_slack_hosted(url, api) is expected
