"""What changed between two snapshots of an objective: the comparison behind history and announcements."""

from __future__ import annotations

import copy

from bot.rituals.versions import Difference, differences


def _snapshot(**objective) -> dict:
    base = {
        "number": 2,
        "title": "New teams get value in week one",
        "why": None,
        "vision_id": None,
        "state": "committed",
        "key_results": [
            {
                "id": 11,
                "position": 1,
                "metric": "Active teams",
                "unit": "%",
                "baseline": 20.0,
                "target": 35.0,
                "direction": "increase",
                "owner": "U0BEN",
                "state": "active",
            },
            {
                "id": 12,
                "position": 2,
                "metric": "Minutes to first dashboard",
                "unit": None,
                "baseline": 30,
                "target": 10,
                "direction": "decrease",
                "owner": None,
                "state": "active",
            },
        ],
    }
    return base | objective


def _with_kr(snapshot: dict, index: int, **fields) -> dict:
    changed = copy.deepcopy(snapshot)
    changed["key_results"][index].update(fields)
    return changed


def test_a_first_version_has_nothing_to_compare_with():
    assert differences(None, _snapshot()) == []


def test_identical_versions_differ_in_nothing():
    assert differences(_snapshot(), _snapshot()) == []


def test_objective_fields_are_named_with_the_objective_number():
    after = _snapshot(title="New teams succeed in week one", why="Churn", state="revised")

    assert differences(_snapshot(), after) == [
        Difference("O2", "title", "New teams get value in week one", "New teams succeed in week one"),
        Difference("O2", "why", None, "Churn"),
        Difference("O2", "state", "committed", "revised"),
    ]


def test_key_result_fields_are_named_with_their_position():
    after = _with_kr(_snapshot(), 0, target=40.0, owner="U0CLEO", direction="keep_above")

    assert differences(_snapshot(), after) == [
        Difference("KR 2.1", "target", 35.0, 40.0),
        Difference("KR 2.1", "direction", "increase", "keep_above"),
        Difference("KR 2.1", "owner", "U0BEN", "U0CLEO"),
    ]


def test_empty_and_missing_text_are_the_same_but_zero_is_not_missing():
    before = _with_kr(_snapshot(why=""), 1, unit="")

    assert differences(before, _snapshot(why=None)) == []  # "" unit and None unit, "" why and None why
    assert differences(_snapshot(), _with_kr(_snapshot(), 1, baseline=30.0)) == []  # 30 and 30.0
    assert differences(_snapshot(), _with_kr(_snapshot(), 1, baseline=0)) == [Difference("KR 2.2", "baseline", 30, 0)]
    zero = _with_kr(_snapshot(), 1, baseline=0)
    assert differences(zero, _with_kr(_snapshot(), 1, baseline=None)) == [Difference("KR 2.2", "baseline", 0, None)]


def test_a_dropped_key_result_shows_as_a_state_change():
    after = _with_kr(_snapshot(state="revised"), 1, state="dropped")

    assert Difference("KR 2.2", "state", "active", "dropped") in differences(_snapshot(), after)


def test_key_results_are_matched_by_id_not_by_position():
    before = _snapshot()
    after = copy.deepcopy(before)
    after["key_results"] = [
        before["key_results"][1] | {"position": 1},
        {**before["key_results"][0], "id": 99, "position": 2},
    ]

    found = differences(before, after)

    assert Difference("KR 2.1", "position", 2, 1) not in found  # positions are not compared
    assert Difference("KR 2.2", "added", None, "Active teams") in found
    assert Difference("KR 2.1", "removed", "Active teams", None) in found


def test_the_event_log_gets_the_raw_values():
    assert Difference("KR 2.1", "target", 35.0, 40.0).as_data() == {
        "subject": "KR 2.1",
        "field": "target",
        "before": 35.0,
        "after": 40.0,
    }
