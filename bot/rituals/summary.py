"""The weekly check-in summary a team's channel gets once the week's check-in window has closed.

Where every key result stands, how its owner's confidence moved over the last weeks, who checked in
and who has not yet, and each key result's scores week by week for the chart. Four queries however
many objectives and key results there are: the three of `current_okrs`, then every check-in of those
key results in the cycle at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.charts import ChartSeries
from bot.rituals.cycles import CycleSpan, span_on, team_span
from bot.rituals.okrs import ScoredByKeyResults, current_okrs
from bot.rituals.scoring import progress_bar, score
from storage.models import CheckIn, KeyResult, Objective, Team

TREND_LENGTH = 4  # confidences shown: this week's and up to three before it


@dataclass(frozen=True)
class KeyResultWeek:
    key_result: KeyResult
    objective: Objective
    score: float | None  # now, from the key result's current value; None when it has no numbers to score
    checkin: CheckIn | None  # this week's, if its owner checked in
    trend: tuple[int, ...]  # confidences of the last check-ins up to this week, oldest first (at most 4)
    confidence_fell: bool  # this week's confidence is lower than at the check-in before it
    points: tuple[tuple[int, float], ...]  # (cycle week 1–13, score at that week's check-in), up to this week

    @property
    def objective_number(self) -> int:
        return self.objective.number

    @property
    def owner(self) -> str | None:
        return self.key_result.owner_user_id

    @property
    def bar(self) -> str:
        return progress_bar(self.score)

    @property
    def confidence_rose(self) -> bool:
        return self.checkin is not None and len(self.trend) >= 2 and self.trend[-1] > self.trend[-2]


@dataclass(frozen=True)
class ObjectiveWeek(ScoredByKeyResults):
    objective: Objective
    key_results: tuple[KeyResultWeek, ...]  # by position


@dataclass(frozen=True)
class WeeklySummary:
    team: Team
    span: CycleSpan
    week_start: date  # the Monday of the check-in week
    week: int  # that week's number in the cycle, 1–13; 0 for a week before the first cycle starts
    objectives: tuple[ObjectiveWeek, ...]  # the live ones, by number
    checked_in: tuple[str, ...]  # owners who checked in on every key result they own, in list order
    not_checked_in: tuple[str, ...]  # owners missing at least one check-in this week, in list order
    not_asked: tuple[str, ...] = ()  # owners missing one whom the bot did not ask this week (away, a late week)

    @property
    def key_results(self) -> tuple[KeyResultWeek, ...]:
        """Every active key result, by objective number then position."""
        return tuple(kr for objective in self.objectives for kr in objective.key_results)

    @property
    def fell(self) -> tuple[KeyResultWeek, ...]:
        return tuple(kr for kr in self.key_results if kr.confidence_fell)

    def chart_series(self) -> list[ChartSeries]:
        """One line per key result that has a check-in so far this cycle, labelled like "KR 1.2 metric"."""
        return [
            ChartSeries(f"KR {kr.objective_number}.{kr.key_result.position} {kr.key_result.metric}", kr.points)
            for kr in self.key_results
            if kr.points
        ]


def checkin_week(span: CycleSpan, week_start: date, *, checkin_weekday: int = 0) -> int:
    """The cycle week (1 = the first) a check-in week belongs to, counted on the team's check-in day.

    Counting on the check-in day rather than on the Monday matches the "week N of 13" people see that
    day when a cycle does not start on a Monday. Below 1 before the cycle starts, above 13 after it.
    """
    return (week_start + timedelta(days=checkin_weekday) - span.starts_on).days // 7 + 1


def weekly_summary(
    session: Session, *, team: Team, week_start: date, now: datetime, asked: Collection[str] | None = None
) -> WeeklySummary:
    """The summary of the check-in week starting on Monday `week_start` (4 queries).

    The cycle is the one the week's check-in day belongs to: normally the one current at `now`, but a
    summary of week 13 sent after the cycle turned over still tells week 13 of the cycle that just ended.
    A week before the first cycle starts (teams may commit, and check in, ahead of it) is week 0.
    Check-ins after that week are left out, so a summary caught up late tells the week as it was;
    `score` alone is always the key result's score now. Raises ValueError when `week_start` is not a Monday.

    `asked`: the owners who were asked this week (the DM went out, or Slack refused it). Only they can be
    "not yet"; an owner the bot did not ask (away, paused, a week the bot was down for, an owner whose first
    week is the next) is listed apart, in `not_asked`. Without `asked`, every owner missing one is "not yet".
    """
    if week_start.weekday() != 0:
        raise ValueError(f"a check-in week starts on a Monday, not on {week_start:%A} {week_start.isoformat()}")
    checkin_day = week_start + timedelta(days=team.checkin_weekday)
    if span_on(team, checkin_day) != team_span(team, now):
        now = datetime.combine(checkin_day, time(12), tzinfo=ZoneInfo(team.timezone))
    okrs = current_okrs(session, team=team, now=now)
    span = okrs.span
    week = max(0, checkin_week(span, week_start, checkin_weekday=team.checkin_weekday))

    statuses = [(o.objective, s.key_result) for o in okrs.objectives for s in o.key_results]
    checkins = _checkins(
        session,
        team=team,
        key_result_ids=[kr.id for _, kr in statuses],
        first=min(week_start, span.starts_on - timedelta(days=team.checkin_weekday)),
        last=week_start,
    )
    weeks = {
        kr.id: _key_result_week(objective, kr, checkins[kr.id], span=span, week_start=week_start, team=team)
        for objective, kr in statuses
    }
    objectives = tuple(
        ObjectiveWeek(o.objective, tuple(weeks[s.key_result.id] for s in o.key_results)) for o in okrs.objectives
    )
    checked_in, missing = _owners(weeks.values())
    not_checked_in = tuple(owner for owner in missing if asked is None or owner in asked)
    return WeeklySummary(
        team=team,
        span=span,
        week_start=week_start,
        week=week,
        objectives=objectives,
        checked_in=checked_in,
        not_checked_in=not_checked_in,
        not_asked=tuple(owner for owner in missing if owner not in not_checked_in),
    )


def _checkins(
    session: Session, *, team: Team, key_result_ids: list[int], first: date, last: date
) -> dict[int, list[CheckIn]]:
    """Each key result's check-ins from the `first` to the `last` week, oldest first (1 query)."""
    found: dict[int, list[CheckIn]] = defaultdict(list)
    if not key_result_ids:
        return found
    query = (
        select(CheckIn)
        .where(
            CheckIn.workspace_id == team.workspace_id,
            CheckIn.key_result_id.in_(key_result_ids),
            CheckIn.week_start >= first,
            CheckIn.week_start <= last,
        )
        .order_by(CheckIn.key_result_id, CheckIn.week_start)
    )
    for checkin in session.scalars(query):
        found[checkin.key_result_id].append(checkin)
    return found


def _key_result_week(
    objective: Objective, kr: KeyResult, checkins: list[CheckIn], *, span: CycleSpan, week_start: date, team: Team
) -> KeyResultWeek:
    this_week = checkins[-1] if checkins and checkins[-1].week_start == week_start else None
    fell = this_week is not None and len(checkins) >= 2 and this_week.confidence < checkins[-2].confidence
    points = []
    for checkin in checkins:
        week = checkin_week(span, checkin.week_start, checkin_weekday=team.checkin_weekday)
        value = score(kr.direction, kr.baseline, kr.target, checkin.value)
        if value is not None and week >= 1:  # a check-in before the cycle started has no place on its chart
            points.append((week, value))
    return KeyResultWeek(
        key_result=kr,
        objective=objective,
        score=score(kr.direction, kr.baseline, kr.target, kr.current),
        checkin=this_week,
        trend=tuple(c.confidence for c in checkins[-TREND_LENGTH:]),
        confidence_fell=fell,
        points=tuple(points),
    )


def _owners(weeks: Iterable[KeyResultWeek]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    missing: dict[str, bool] = {}  # owner → missed at least one, in order of first appearance
    for kr in weeks:
        if kr.owner is not None:
            missing[kr.owner] = missing.get(kr.owner, False) or kr.checkin is None
    return (
        tuple(owner for owner, missed in missing.items() if not missed),
        tuple(owner for owner, missed in missing.items() if missed),
    )
