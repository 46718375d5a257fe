"""Importing a backlog from a CSV file: which column holds the items, which the key results, and every bad row
named before anything is written.

A first row naming a column `title`, `summary`, `text`, `item` or `name` is a header: that column holds the items,
and a `kr` (or `key result`) column may put an item straight under a key result (`1.2`). Without such a header,
the first column of every row is an item. Rows are numbered as a spreadsheet numbers them, header included.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import OkrError, UsageError
from bot.rituals.backlog import (
    MAX_ITEMS_AT_ONCE,
    Added,
    NewItem,
    NumberedKeyResult,
    add_new_items,
    find_key_result,
    item_problem,
    numbered_key_results,
)
from bot.text import normalise, plural
from storage.models import Team

MAX_FILE_BYTES = 2 * 1024 * 1024
# in order of preference when a header names several
TITLE_COLUMNS = ("title", "summary", "text", "item", "name")
KEY_RESULT_COLUMNS = ("kr", "key result", "key_result", "key-result", "keyresult")
# spreadsheets in many languages save with `;`; a tab-separated export is common too
OTHER_DELIMITERS = (";", "\t")
PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class CsvRow:
    row: int  # as a spreadsheet numbers it
    text: str
    key_result: str | None  # as written in the `kr` column, e.g. "1.2"


@dataclass
class CsvSheet:
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row, what is wrong with it)


@dataclass(frozen=True)
class _Columns:
    title: int
    key_result: int | None
    header: bool


def read_sheet(data: bytes) -> CsvSheet:
    """The file's items and the problems of its rows; a file that cannot be read at all raises UsageError."""
    records = _records(_decode(data))
    columns = _columns(records[0] if records else [])
    body = list(enumerate(records, start=1))[1 if columns.header else 0 :]
    filled = [(number, cells) for number, cells in body if any(cell.strip() for cell in cells)]
    if not filled:
        raise UsageError(
            "There is no item in that file: put one item per row, in the first column or under a `title` header."
        )
    if len(filled) > MAX_ITEMS_AT_ONCE:
        raise UsageError(
            f"That file has {len(filled):,} rows; at most {MAX_ITEMS_AT_ONCE:,} can be imported at once. "
            "Split it into smaller files and import them one by one."
        )
    sheet = CsvSheet()
    for number, cells in filled:
        _read_row(sheet, number, cells, columns)
    return sheet


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"That file is {_megabytes(len(data))}; the limit is {_megabytes(MAX_FILE_BYTES)}.")
    try:
        return data.decode("utf-8-sig")  # with or without the byte-order mark spreadsheets put first
    except UnicodeDecodeError:
        raise UsageError(
            "That file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and share it again."
        ) from None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _records(text: str) -> list[list[str]]:
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for cells in reader:
            records.append(cells)
    except csv.Error as error:
        raise UsageError(f"Row {len(records) + 1} cannot be read as CSV ({error}). Nothing was imported.") from None
    return records


def _delimiter(first_line: str) -> str:
    """A comma, unless only another delimiter makes the first line a header (a lone column must stay whole)."""
    if _columns(_split(first_line, ",")).header:
        return ","
    return next((d for d in OTHER_DELIMITERS if _columns(_split(first_line, d)).header), ",")


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _columns(first: list[str]) -> _Columns:
    names = [" ".join(cell.split()).casefold() for cell in first]
    title = next((names.index(name) for name in TITLE_COLUMNS if name in names), None)
    if title is None:
        return _Columns(title=0, key_result=None, header=False)
    key_result = next((names.index(name) for name in KEY_RESULT_COLUMNS if name in names), None)
    return _Columns(title=title, key_result=key_result, header=True)


def _read_row(sheet: CsvSheet, number: int, cells: list[str], columns: _Columns) -> None:
    text = normalise(_cell(cells, columns.title))
    key_result = normalise(_cell(cells, columns.key_result)) or None
    problem = item_problem(text) if text else "no item text in its item column."
    if problem:
        sheet.problems.append((number, problem))
    else:
        sheet.rows.append(CsvRow(number, text, key_result))


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def place(rows: list[CsvRow], numbered: list[NumberedKeyResult]) -> tuple[list[NewItem], list[tuple[int, str]]]:
    """Each row as an item under the key result its `kr` column names (or for the inbox), and the rows naming
    no live key result."""
    items, problems = [], []
    for row in rows:
        key_result = None
        if row.key_result:
            try:
                key_result = find_key_result(numbered, row.key_result)
            except OkrError:
                problems.append((row.row, f"`{row.key_result[:20]}` is not one of the team's key results."))
                continue
        items.append(NewItem(row.text, key_result))
    return items, problems


def problems_message(problems: list[tuple[int, str]], *, labels: list[str] | None = None) -> str:
    """The rows to fix, first ones first; `labels`: the live key results, when a row named another."""
    lines = [f"Row {row}: {problem}" for row, problem in sorted(problems)[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(f"…and {plural(len(problems) - PROBLEMS_SHOWN, 'more row')}")
    if labels is not None:
        lines.append(f"The team's key results this cycle: {', '.join(labels) or 'none yet (`/okr draft`)'}.")
    return "Nothing was imported: fix these rows and share the file again.\n" + "\n".join(lines)


def import_items(session: Session, *, team: Team, data: bytes, user_id: str, now: datetime) -> Added:
    """Every row of the file into the backlog, or nothing at all when a row is wrong."""
    sheet = read_sheet(data)
    numbered = numbered_key_results(session, team=team, now=now)
    items, unknown = place(sheet.rows, numbered)
    if sheet.problems or unknown:
        labels = [n.label for n in numbered] if unknown else None
        raise UsageError(problems_message(sheet.problems + unknown, labels=labels))
    return add_new_items(session, team=team, items=items, user_id=user_id, now=now, via="import")
