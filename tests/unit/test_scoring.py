"""Scores and progress bars for every direction, including the edges."""

from __future__ import annotations

import pytest

from bot.rituals.scoring import average, progress_bar, score
from storage.models import Direction

INC, DEC, ABOVE, BELOW = Direction.INCREASE, Direction.DECREASE, Direction.KEEP_ABOVE, Direction.KEEP_BELOW


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "current", "expected"),
    [
        (INC, 40, 65, None, 0.0),  # nothing checked in yet: still at the baseline
        (INC, 40, 65, 40, 0.0),
        (INC, 40, 65, 50, 0.4),
        (INC, 40, 65, 65, 1.0),
        (INC, 40, 65, 90, 1.0),  # beyond the target is still 1.0
        (INC, 40, 65, 30, 0.0),  # the wrong way scores nothing
        (DEC, 300, 120, 210, 0.5),
        (DEC, 300, 120, 320, 0.0),
        (DEC, 300, 120, 100, 1.0),
        (ABOVE, 99.5, 99.9, 99.95, 1.0),
        (ABOVE, 99.5, 99.9, 99.8, 0.0),
        (BELOW, None, 2, 1.5, 1.0),
        (BELOW, None, 2, 2.5, 0.0),
        (INC, 10, 10, 10, 1.0),  # a target equal to the baseline (the coach warns about it)
        (INC, 10, 10, 9, 0.0),
        (INC, None, 65, 50, None),  # no baseline: no distance to measure
        (INC, 40, None, 50, None),
        (ABOVE, None, 5, None, None),
    ],
)
def test_score(direction, baseline, target, current, expected):
    assert score(direction, baseline, target, current) == expected


def test_average_ignores_unscored_key_results():
    assert average([0.5, None, 1.0]) == 0.75
    assert average([None]) is None
    assert average([]) is None


@pytest.mark.parametrize(
    ("value", "bar"), [(None, "░░░░░░░░░░"), (0.0, "░░░░░░░░░░"), (0.34, "███░░░░░░░"), (1.0, "██████████")]
)
def test_progress_bar(value, bar):
    assert progress_bar(value) == bar
