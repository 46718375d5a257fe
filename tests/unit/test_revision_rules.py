"""The rules of a mid-cycle change that need no database: the reason, the two-key-result floor, the layout."""

from __future__ import annotations

import pytest

from bot.blockkit import MESSAGE_BLOCKS
from bot.errors import Conflict, InvalidFields
from bot.rituals.revisions import Target, check_droppable, check_reason
from handlers.okrs import history_budget
from storage.models import Cycle, KeyResult, KeyResultState, Objective, Team


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("  Customers told us  ", "Customers told us"),
        ("Line one\r\nline two", "Line one\nline two"),
        ("é" * 1000, "é" * 1000),
    ],
)
def test_a_reason_is_cleaned_and_kept(typed, expected):
    assert check_reason(typed) == expected


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Say why"),
        (" \n\t ", "Say why"),
        ("x" * 1001, "1,001 characters long; the limit is 1,000"),
        ("hidden\u202eetxet", "U+202E"),
    ],
)
def test_a_bad_reason_is_reported_under_the_reason_field(typed, words):
    with pytest.raises(InvalidFields) as raised:
        check_reason(typed)

    assert list(raised.value.fields) == ["reason"] and words in raised.value.fields["reason"]


def _target(states: list[KeyResultState], position: int) -> Target:
    objective = Objective(id=1, number=3, title="Calm on-call")
    rows = tuple(KeyResult(id=i, position=i, metric=f"m{i}", state=s) for i, s in enumerate(states, start=1))
    return Target(objective, Cycle(number=1), Team(name="Rockets"), rows, rows[position - 1])


def test_a_key_result_can_be_dropped_while_two_stay_active():
    active, dropped = KeyResultState.ACTIVE, KeyResultState.DROPPED
    check_droppable(_target([active, active, active], 3))
    check_droppable(_target([active, dropped, active, active], 1))


@pytest.mark.parametrize("states", [["active", "active"], ["active", "dropped", "active"]])
def test_dropping_below_two_active_key_results_is_refused(states):
    with pytest.raises(Conflict) as raised:
        check_droppable(_target([KeyResultState(s) for s in states], 1))

    assert "O3 has 2 key results; dropping KR 3.1 would leave 1" in raised.value.message
    assert "Revise KR 3.1 instead, or drop O3 altogether" in raised.value.message


@pytest.mark.parametrize("objectives", range(0, 31))
def test_the_history_layout_always_fits_one_message(objectives):
    shown, per_objective = history_budget(objectives)

    assert shown == min(objectives, 10)
    assert 1 + shown * (2 + per_objective) + 2 <= MESSAGE_BLOCKS  # header; title, "earlier" line, versions; footer
    if objectives:
        assert 2 <= per_objective <= 8
