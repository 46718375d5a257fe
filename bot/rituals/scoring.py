"""Scores from 0.0 to 1.0: how far a key result has moved from its baseline toward its target.

About 0.7 is what an ambitious team usually lands; 1.0 cycle after cycle means the targets were safe.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.models import Direction, KeyResult

BAR_WIDTH = 10


def score(direction: Direction, baseline: float | None, target: float | None, current: float | None) -> float | None:
    """None when the key result has no numbers to score yet.

    - increase/decrease: the share of the distance from baseline to target covered, clamped to 0–1;
      moving the wrong way scores 0.
    - keep above/keep below: 1.0 while the line holds, 0.0 when it does not (a guardrail is kept or not).
    """
    if target is None:
        return None
    value = current if current is not None else baseline
    if value is None:
        return None
    if direction is Direction.KEEP_ABOVE:
        return 1.0 if value >= target else 0.0
    if direction is Direction.KEEP_BELOW:
        return 1.0 if value <= target else 0.0
    if baseline is None:
        return None
    distance = target - baseline
    if distance == 0:
        return 1.0 if value == target else 0.0
    return round(min(1.0, max(0.0, (value - baseline) / distance)), 2)


def key_result_score(kr: KeyResult) -> float | None:
    """Its final score once its cycle is scored (given by the owner, or the progress at the close), else its
    progress so far."""
    if kr.final_at is not None:
        return kr.final_score
    return score(kr.direction, kr.baseline, kr.target, kr.current)


def average(scores: Iterable[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return round(sum(known) / len(known), 2) if known else None


def progress_bar(value: float | None, width: int = BAR_WIDTH) -> str:
    """A bar of full and empty blocks, readable in any Slack client and in notifications."""
    if value is None:
        return "░" * width
    filled = round(value * width)
    return "█" * filled + "░" * (width - filled)
