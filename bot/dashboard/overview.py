"""The workspace overview: every team's current cycle on one page, opening on what needs attention.

What a team shows is what `/okr list` shows in Slack: its committed objectives (revised ones too, never drafts
or dropped ones) and their active key results, each with its progress (the score from 0 to 1), its latest
confidence, the confidences of this cycle's check-ins oldest first, and the day of its last check-in.

A key result's status is the level of its latest confidence (1–3 off track, 4–6 at risk, 7–10 on track).
It is **silent** when nobody has checked it in for three weeks or more (`SILENT_DAYS`), counted from its last
check-in, or, without one, from the later of its cycle's first day and the day it was committed: so a cycle
has run at least three weeks before anything in it is silent. Bad news stays bad news: a key result whose last
word was off track or at risk keeps that status when it falls silent (the row still says how long it has
been). One that nobody has checked in yet and that is not silent is "no check-in yet". A team that paused its
check-ins is not asked for them, so none of its key results is silent (the page says it paused).

A team's status is the worst of its key results', in the order of `Status` (off track first); a team with no
committed OKRs this cycle is "no OKRs yet". The page reads everything in five queries, however many teams,
objectives, key results and check-ins there are (see `overview`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, cast
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from bot.dashboard.overview_reads import Current, read_current
from bot.dashboard.sparklines import sparkline
from bot.rituals.checkins import confidence_label
from bot.rituals.cycles import CYCLE_WEEKS, CycleSpan, team_span, team_today
from bot.rituals.scoring import average, key_result_score
from storage.models import KeyResult, ObjectiveState, Team, VisionStatement

SILENT_DAYS = 21  # three weeks without a check-in
TREND_POINTS = CYCLE_WEEKS  # one confidence a week at most
VISION_LABEL = 80  # characters of a vision statement in the filter's list


class Status(enum.Enum):
    """A key result's or a team's status, worst first: the value is the CSS class and `data-status`."""

    OFF_TRACK = "off-track"
    AT_RISK = "at-risk"
    SILENT = "silent"
    NO_CHECK_IN = "no-check-in"
    ON_TRACK = "on-track"
    NO_OKRS = "no-okrs"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def rank(self) -> int:
        return _ORDER.index(self)


_ORDER = list(Status)
_LABELS = {
    Status.OFF_TRACK: "off track",
    Status.AT_RISK: "at risk",
    Status.SILENT: "silent",
    Status.NO_CHECK_IN: "no check-in yet",
    Status.ON_TRACK: "on track",
    Status.NO_OKRS: "no OKRs yet",
}
NEEDS_ATTENTION = (Status.OFF_TRACK, Status.AT_RISK, Status.SILENT)


# filters ------------------------------------------------------------------------------------------------------

# what `show=` keeps: the tab's label (tabs in this order), the statuses kept (None: all), what an empty tab says
SHOWS: dict[str, tuple[str, tuple[Status, ...] | None, str]] = {
    "all": ("All teams", None, "No team to show"),
    "attention": ("Needs attention", NEEDS_ATTENTION, "No team needs attention"),
    "off-track": ("Off track", (Status.OFF_TRACK,), "No team is off track"),
    "at-risk": ("At risk", (Status.AT_RISK,), "No team is at risk"),
    "silent": ("Silent", (Status.SILENT,), "No team is silent"),
}
SORTS = {
    "attention": "Needs attention first",
    "name": "Name",
    "confidence": "Lowest confidence first",
    "progress": "Least progress first",
}
RAW_LIMIT = 100  # characters of a query value looked at; the rest is never read
SHOWN_LIMIT = 30  # characters of a refused value repeated in a note


@dataclass(frozen=True)
class Filters:
    """What the overview shows (`show`: a key of SHOWS), of which objectives (`vision`: a vision statement's
    number, None for all), in which order (`sort`: a key of SORTS)."""

    show: str = "all"
    vision: int | None = None
    sort: str = "attention"

    @classmethod
    def from_query(cls, args: Mapping[str, Any]) -> tuple[Filters, list[str]]:
        """The filters a query string asks for, and a note naming each value ignored (never raises: whatever is
        not understood falls back to the default). Looks at `show`, `vision` and `sort` only."""
        notes: list[str] = []
        show = _word(args, "show", SHOWS, notes, "is not a filter; showing every team.")
        sort = _word(args, "sort", SORTS, notes, "is not an order; showing what needs attention first.")
        vision = None
        raw = _raw(args, "vision")
        if raw is not None:
            digits = raw.strip().lstrip("#")
            if digits.isascii() and digits.isdigit() and len(digits) <= 9 and int(digits) > 0:
                vision = int(digits)
            elif digits:
                notes.append(f"`vision={_shown(raw)}` is not a vision statement's number; showing every objective.")
        return cls(show=show or "all", vision=vision, sort=sort or "attention"), notes

    def query(self, **changes: Any) -> dict[str, Any]:
        """These filters with `changes`, as the query of a link: the defaults left out (`overview_url(**…)`)."""
        values = {"show": self.show, "vision": self.vision, "sort": self.sort, **changes}
        defaults = {"show": "all", "vision": None, "sort": "attention"}
        return {key: value for key, value in values.items() if value != defaults[key]}


def _raw(args: Mapping[str, Any], key: str) -> str | None:
    try:
        value = args.get(key)
    except Exception:  # a hostile mapping: the filter is simply not given
        return None
    if value is None:
        return None
    return value[:RAW_LIMIT] if isinstance(value, str) else "?"


def _word(args: Mapping[str, Any], key: str, known: Mapping[str, Any], notes: list[str], then: str) -> str | None:
    raw = _raw(args, key)
    if raw is None:
        return None
    word = raw.strip().lower().replace("_", "-")
    if word in known:
        return word
    if word:
        notes.append(f"`{key}={_shown(raw)}` {then}")
    return None


def _shown(raw: str) -> str:
    """A refused value as a note repeats it: printable characters only, no backticks, clipped."""
    text = "".join(c if c.isprintable() and c != "`" else "?" for c in raw.strip())
    return text if len(text) <= SHOWN_LIMIT else text[: SHOWN_LIMIT - 1] + "…"


# what the page shows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyResultRow:
    id: int
    objective_number: int
    position: int
    metric: str
    unit: str | None
    owner: str | None  # a Slack user id
    score: float | None  # 0–1, as `/okr list` shows it; None until it has numbers to score
    confidence: int | None  # of the latest check-in
    trend: tuple[int, ...]  # this cycle's confidences, oldest first, one a week
    last_checkin: date | None  # the day (in the team's zone) of the latest check-in
    quiet_weeks: int  # whole weeks since the last check-in (or since the key result began counting)
    status: Status

    @property
    def label(self) -> str:
        return f"KR {self.objective_number}.{self.position}"

    @property
    def sparkline(self) -> Markup:
        return sparkline(self.trend)


@dataclass(frozen=True)
class ObjectiveRow:
    id: int
    number: int
    title: str
    revised: bool
    vision_number: int | None  # the vision statement it links to
    key_results: tuple[KeyResultRow, ...]

    @property
    def score(self) -> float | None:
        return average(kr.score for kr in self.key_results)


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    sort_name: str  # casefolded
    cycle: int
    week: int  # 1–13; 0 before the cycle's first day
    starts_on: date
    last_day: date
    paused: bool  # the team paused its check-ins
    objectives: tuple[ObjectiveRow, ...]
    status: Status

    @property
    def when(self) -> str:
        """`week 3 of 13`, or the day the cycle starts when it has not begun."""
        if self.week == 0:
            return f"starts on {self.starts_on.isoformat()}"
        return f"week {self.week} of {CYCLE_WEEKS}"

    @cached_property
    def key_results(self) -> list[KeyResultRow]:
        return [kr for o in self.objectives for kr in o.key_results]

    @cached_property
    def progress(self) -> float | None:
        return average(kr.score for kr in self.key_results)

    @cached_property
    def confidence(self) -> float | None:
        """The average of the key results' latest confidences, to one decimal."""
        known = [kr.confidence for kr in self.key_results if kr.confidence is not None]
        return round(sum(known) / len(known), 1) if known else None

    @cached_property
    def last_checkin(self) -> date | None:
        return max((kr.last_checkin for kr in self.key_results if kr.last_checkin), default=None)


@dataclass(frozen=True)
class VisionOption:
    number: int
    text: str  # clipped for the filter's list


@dataclass(frozen=True)
class Tab:
    show: str
    label: str
    count: int
    current: bool


@dataclass(frozen=True)
class Overview:
    filters: Filters  # as applied: a vision number that is no current statement is dropped
    teams: tuple[TeamRow, ...]  # the ones shown, in the order asked for
    total: int  # teams in the workspace
    counts: Mapping[str, int]  # teams per `show` value, within the vision filter
    visions: tuple[VisionOption, ...]  # the workspace's current statements, by number
    notes: tuple[str, ...]  # what the page could not do as asked (a vision statement that is not current)

    @property
    def tabs(self) -> tuple[Tab, ...]:
        return tuple(
            Tab(show, label, self.counts[show], show == self.filters.show) for show, (label, _, _) in SHOWS.items()
        )

    @property
    def nobody(self) -> str:
        """What the page says when the filters leave no team."""
        return SHOWS[self.filters.show][2]

    @property
    def sorts(self) -> tuple[Tab, ...]:
        return tuple(Tab(sort, label, 0, sort == self.filters.sort) for sort, label in SORTS.items())

    @property
    def vision(self) -> VisionOption | None:
        return next((v for v in self.visions if v.number == self.filters.vision), None)


# reading it ---------------------------------------------------------------------------------------------------


def overview(session: Session, *, workspace_id: int, now: datetime, filters: Filters) -> Overview:
    """Every team of the workspace with its current cycle, filtered and sorted as `filters` ask. Nothing is written.

    Five queries at most, whatever the numbers: the teams, the three of `read_current` (objectives, key results,
    check-ins), and the workspace's vision statements."""
    teams = list(session.scalars(select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name_key)))
    spans = {team.id: team_span(team, now) for team in teams}
    found = read_current(session, workspace_id=workspace_id, spans=spans)
    statements = list(
        session.scalars(
            select(VisionStatement).where(VisionStatement.workspace_id == workspace_id).order_by(VisionStatement.number)
        )
    )
    current = [s for s in statements if s.archived_at is None]
    notes: list[str] = []
    linked = next((s.id for s in current if s.number == filters.vision), None)
    if filters.vision is not None and linked is None:
        notes.append(f"There is no current vision statement {filters.vision}; showing every objective.")
        filters = Filters(show=filters.show, vision=None, sort=filters.sort)
    read = _Read(found, {s.id: s.number for s in statements}, linked, now)
    rows = [_team_row(team, spans[team.id], read) for team in teams]
    if linked is not None:
        rows = [row for row in rows if row.objectives]
    counts = {show: sum(1 for row in rows if _shows(show, row.status)) for show in SHOWS}
    shown = sorted((row for row in rows if _shows(filters.show, row.status)), key=SORT_KEYS[filters.sort])
    return Overview(
        filters=filters,
        teams=tuple(shown),
        total=len(teams),
        counts=counts,
        visions=tuple(VisionOption(s.number, _clip(s.text, VISION_LABEL)) for s in current),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Read:
    found: Current
    vision_numbers: Mapping[int, int]  # vision statement id → number
    vision_id: int | None  # only the objectives linked to it
    now: datetime


def _team_row(team: Team, span: CycleSpan, read: _Read) -> TeamRow:
    today = team_today(team, read.now)
    zone = ZoneInfo(team.timezone)
    objectives = tuple(
        ObjectiveRow(
            id=o.id,
            number=o.number,
            title=o.title,
            revised=o.state is ObjectiveState.REVISED,
            vision_number=read.vision_numbers.get(o.vision_id) if o.vision_id is not None else None,
            key_results=tuple(
                _key_result_row(kr, o.number, read, today, zone, span.starts_on, paused=bool(team.checkins_paused))
                for kr in read.found.key_results.get(o.id, [])
            ),
        )
        for o in read.found.objectives.get(team.id, [])
        if read.vision_id is None or o.vision_id == read.vision_id
    )
    key_results = [kr for o in objectives for kr in o.key_results]
    if key_results:
        status = min((kr.status for kr in key_results), key=lambda s: s.rank)
    else:
        status = Status.NO_OKRS if not objectives else Status.NO_CHECK_IN
    return TeamRow(
        id=team.id,
        name=team.name,
        sort_name=team.name_key,
        cycle=span.number,
        week=span.week_on(today),
        starts_on=span.starts_on,
        last_day=span.last_day,
        paused=bool(team.checkins_paused),
        objectives=objectives,
        status=status,
    )


def _key_result_row(
    kr: Row[Any], objective_number: int, read: _Read, today: date, zone: ZoneInfo, start: date, *, paused: bool
) -> KeyResultRow:
    last = read.found.last_checkins.get(kr.id)
    last_day = last.astimezone(zone).date() if last is not None else None
    began = last_day if last_day is not None else kr.created_at.astimezone(zone).date()
    quiet = max(0, (today - max(began, start)).days)
    trend = read.found.trends.get(kr.id, [])
    confidence = trend[-1] if trend else None  # the latest week's, as `/okr list` shows
    return KeyResultRow(
        id=kr.id,
        objective_number=objective_number,
        position=kr.position,
        metric=kr.metric,
        unit=kr.unit,
        owner=kr.owner_user_id,
        # the row has every column the rule reads: one definition of a score for Slack and the dashboard
        score=key_result_score(cast(KeyResult, kr)),
        confidence=confidence,
        trend=tuple(trend[-TREND_POINTS:]),
        last_checkin=last_day,
        quiet_weeks=quiet // 7,
        # a team that paused its check-ins is not asked, so it is not silent (the page says it paused)
        status=key_result_status(confidence, silent=quiet >= SILENT_DAYS and not paused),
    )


def key_result_status(confidence: int | None, *, silent: bool) -> Status:
    """The latest confidence's level; silent instead of on track or no check-in yet when nobody has checked in
    for three weeks (off track and at risk stay what they were: silence does not make them better)."""
    level = Status(confidence_label(confidence).replace(" ", "-")) if confidence is not None else None
    if level in (Status.OFF_TRACK, Status.AT_RISK):
        return level
    if silent:
        return Status.SILENT
    return level or Status.NO_CHECK_IN


def _shows(show: str, status: Status) -> bool:
    wanted = SHOWS[show][1]
    return wanted is None or status in wanted


def _lowest_first(value: Callable[[TeamRow], float | None]) -> Callable[[TeamRow], tuple[Any, ...]]:
    """Teams by a number, lowest first, those without one last, then by name."""

    def key(row: TeamRow) -> tuple[Any, ...]:
        number = value(row)
        return (number is None, number or 0, row.sort_name, row.id)

    return key


SORT_KEYS: dict[str, Callable[[TeamRow], tuple[Any, ...]]] = {
    "attention": lambda row: (row.status.rank, row.sort_name, row.id),
    "name": lambda row: (row.sort_name, row.id),
    "confidence": _lowest_first(lambda row: row.confidence),
    "progress": _lowest_first(lambda row: row.progress),
}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
