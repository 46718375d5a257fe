"""What the dashboard shows of objectives and key results, wherever they appear: a key result with its check-ins
(and its chart), an objective with its key results and versions. Scores and confidence are read as `/okr list`
and `/okr history` read them (bot/rituals/okrs.py), so the dashboard never disagrees with Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from bot.dashboard import kr_chart
from bot.rituals.cycles import CycleSpan
from bot.rituals.okrs import VersionEntry
from bot.rituals.scoring import average, key_result_score, progress_bar
from bot.rituals.versions import differences
from storage.models import CheckIn, KeyResult, KeyResultState, Objective, ObjectiveVersion
from storage.models.okrs import LIVE_OBJECTIVE_STATES


@dataclass(frozen=True)
class CheckInRow:
    checkin: CheckIn
    week: int  # the week of the cycle it is for, 1–13 (outside them only for a check-in outside its cycle)

    @property
    def status(self) -> str:
        return kr_chart.level(self.checkin.confidence)

    @property
    def status_words(self) -> str:
        return kr_chart.level_words(self.checkin.confidence)


@dataclass(frozen=True)
class KeyResultView:
    key_result: KeyResult
    objective_number: int
    checkins: tuple[CheckInRow, ...] = ()  # oldest week first

    @property
    def label(self) -> str:
        return f"KR {self.objective_number}.{self.key_result.position}"

    @property
    def active(self) -> bool:
        return self.key_result.state is KeyResultState.ACTIVE

    @property
    def score(self) -> float | None:
        return key_result_score(self.key_result)

    @property
    def bar(self) -> str:
        return progress_bar(self.score)

    @property
    def confidence(self) -> int | None:
        """The latest check-in's, as `/okr list` shows it."""
        return self.checkins[-1].checkin.confidence if self.checkins else None

    @property
    def status(self) -> str:
        """on-track, at-risk, off-track or no-check-in: the dashboard's `.status` classes."""
        return kr_chart.level(self.confidence)

    @property
    def status_words(self) -> str:
        return kr_chart.level_words(self.confidence)

    @property
    def chart(self) -> kr_chart.Chart:
        kr = self.key_result
        points = tuple(kr_chart.Point(r.week, r.checkin.value, r.checkin.confidence) for r in self.checkins)
        return kr_chart.Chart(kr.metric, kr.unit, kr.baseline, kr.target, kr.direction.value, points)

    def svg(self, size: str = "small") -> Markup:
        return kr_chart.svg(self.chart, size)


@dataclass(frozen=True)
class ObjectiveView:
    objective: Objective
    key_results: tuple[KeyResultView, ...]  # by position, dropped ones included
    versions: tuple[VersionEntry, ...] = ()  # oldest first (the current cycle's objectives only)

    @property
    def label(self) -> str:
        return f"O{self.objective.number}"

    @property
    def live(self) -> bool:
        return self.objective.state in LIVE_OBJECTIVE_STATES

    @property
    def active(self) -> tuple[KeyResultView, ...]:
        """The key results `/okr list` shows: the active ones."""
        return tuple(kr for kr in self.key_results if kr.active)

    @property
    def dropped(self) -> tuple[KeyResultView, ...]:
        return tuple(kr for kr in self.key_results if not kr.active)

    @property
    def score(self) -> float | None:
        """The average of its active key results' scores, as `/okr list` shows it."""
        return average(kr.score for kr in self.active)

    @property
    def bar(self) -> str:
        return progress_bar(self.score)


def cycle_score(objectives: tuple[ObjectiveView, ...]) -> float | None:
    """The average score of the live objectives' active key results, as `/okr history` shows it."""
    return average(kr.score for o in objectives if o.live for kr in o.active)


def version_entries(versions: list[ObjectiveVersion]) -> tuple[VersionEntry, ...]:
    """Each version with what changed since the one before (nothing for the first)."""
    entries, previous = [], None
    for version in versions:
        entries.append(VersionEntry(version, tuple(differences(previous, version.snapshot))))
        previous = version.snapshot
    return tuple(entries)


def cycle_week(span: CycleSpan, week_start: date) -> int:
    """The week of the cycle a check-in is for: the one its week's Thursday falls in (a check-in week runs Monday
    to Sunday; a cycle may start on any weekday). Outside 1–13 only for a check-in outside its cycle."""
    return ((week_start - span.starts_on).days + 3) // 7 + 1


def checkin_rows(span: CycleSpan, checkins: list[CheckIn]) -> tuple[CheckInRow, ...]:
    return tuple(CheckInRow(c, cycle_week(span, c.week_start)) for c in checkins)
