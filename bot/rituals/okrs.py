"""Reading a team's committed OKRs: where they stand this cycle, who owns what, every version so far, and
the team's cycles past and present.

Each read takes a fixed number of queries however many teams, objectives and key results there are:
rows are fetched for all of them at once and grouped here, never one query per objective.
Nothing here writes: a cycle nobody has drafted in yet is simply reported empty, not created.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.blockkit import clip
from bot.errors import NotFound
from bot.rituals.cycles import CycleSpan, team_span, team_today
from bot.rituals.drafts import LIVE_OBJECTIVE_STATES, DiscardedDraft, discarded_drafts
from bot.rituals.scoring import average, key_result_score, progress_bar
from bot.rituals.versions import Difference, differences
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    RetroAnswer,
    Team,
)


@dataclass(frozen=True)
class KeyResultStatus:
    key_result: KeyResult
    score: float | None
    confidence: int | None  # from the latest check-in; None before the first one

    @property
    def bar(self) -> str:
        return progress_bar(self.score)


class ScoredByKeyResults:
    """An objective's score is the average of its key results' scores."""

    key_results: tuple

    @property
    def score(self) -> float | None:
        return average(kr.score for kr in self.key_results)

    @property
    def bar(self) -> str:
        return progress_bar(self.score)


@dataclass(frozen=True)
class ObjectiveStatus(ScoredByKeyResults):
    objective: Objective
    key_results: tuple[KeyResultStatus, ...]


@dataclass(frozen=True)
class TeamOkrs:
    """A team's current cycle: its live objectives by number, and how many it dropped."""

    team: Team
    span: CycleSpan
    cycle: Cycle | None  # None until someone drafts or commits in this cycle
    week: int  # 1–13; 0 while the cycle has not started yet
    objectives: tuple[ObjectiveStatus, ...]
    dropped: int


@dataclass(frozen=True)
class OwnedKeyResult:
    team: Team
    objective: Objective
    status: KeyResultStatus


@dataclass(frozen=True)
class VersionEntry:
    version: ObjectiveVersion
    differences: tuple[Difference, ...]  # compared with the version before; empty for the first


@dataclass(frozen=True)
class KeyResultRecord:
    """A key result as it stands, dropped or not, with its score and how many weeks it was checked in."""

    key_result: KeyResult
    score: float | None
    confidence: int | None  # from the latest check-in
    checkins: int

    @property
    def bar(self) -> str:
        return progress_bar(self.score)


@dataclass(frozen=True)
class ObjectiveHistory:
    objective: Objective
    versions: tuple[VersionEntry, ...]  # oldest first
    key_results: tuple[KeyResultRecord, ...] = ()  # by position, dropped ones included (`cycle_history` only)


@dataclass(frozen=True)
class CycleHistory:
    team: Team
    span: CycleSpan
    cycle: Cycle | None
    objectives: tuple[ObjectiveHistory, ...]  # by number, dropped ones included
    current: bool = True
    score: float | None = None  # the average score of the live objectives' active key results
    retro: tuple[RetroAnswer, ...] = ()  # answers to the cycle's retro, oldest first
    discarded: tuple[DiscardedDraft, ...] = ()  # drafts discarded during the cycle, oldest first

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)


@dataclass(frozen=True)
class CycleSummary:
    """One line of `/okr history`: a cycle the team has a row for."""

    cycle: Cycle
    current: bool
    committed: int  # objectives ever committed in it, dropped ones included
    dropped: int
    score: float | None  # as `CycleHistory.score`

    @property
    def dates(self) -> str:
        return date_range(self.cycle.starts_on, self.cycle.ends_on - timedelta(days=1))

    @property
    def bar(self) -> str:
        return progress_bar(self.score)


@dataclass(frozen=True)
class CycleList:
    team: Team
    span: CycleSpan  # today's cycle, whether or not it has a row yet
    cycles: tuple[CycleSummary, ...]  # newest first, at most the limit asked for
    more: int  # older cycles left out
    started: bool  # today's cycle has a row: someone drafted or committed in it

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)


# the current cycle ----------------------------------------------------------------------------------------


def current_okrs(session: Session, *, team: Team, now: datetime) -> TeamOkrs:
    """The team's current cycle with its live objectives and their active key results (3 queries)."""
    return current_okrs_of_teams(session, teams=[team], now=now)[team.id]


def current_okrs_of_teams(session: Session, *, teams: Sequence[Team], now: datetime) -> dict[int, TeamOkrs]:
    """`current_okrs` for several teams at once, in the same 3 queries (none when there are no teams)."""
    spans = {team.id: team_span(team, now) for team in teams}
    cycles = _current_cycles(session, teams=teams, spans=spans)
    cycle_ids = [cycle.id for cycle in cycles.values()]
    objectives = cycle_objectives(session, cycle_ids=cycle_ids)
    live = [o for o in objectives if o.state in LIVE_OBJECTIVE_STATES]
    key_results = _key_results_with_confidence(session, objective_ids=[o.id for o in live])
    by_objective: dict[int, list[KeyResultStatus]] = defaultdict(list)
    for status in key_results:
        by_objective[status.key_result.objective_id].append(status)
    result = {}
    for team in teams:
        cycle = cycles.get(team.id)
        mine = [o for o in objectives if cycle is not None and o.cycle_id == cycle.id]
        result[team.id] = TeamOkrs(
            team=team,
            span=spans[team.id],
            cycle=cycle,
            week=spans[team.id].week_on(team_today(team, now)),
            objectives=tuple(
                ObjectiveStatus(o, tuple(by_objective[o.id])) for o in mine if o.state in LIVE_OBJECTIVE_STATES
            ),
            dropped=sum(1 for o in mine if o.state is ObjectiveState.DROPPED),
        )
    return result


def owned_key_results(session: Session, *, workspace_id: int, user_id: str, now: datetime) -> list[OwnedKeyResult]:
    """The live key results someone owns, in any team and whether or not they are a member (1 query)."""
    rows = session.execute(
        select(KeyResult, _latest_confidence(), Objective, Cycle, Team)
        .join(Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id))
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .join(Team, (Team.workspace_id == Cycle.workspace_id) & (Team.id == Cycle.team_id))
        .where(
            KeyResult.workspace_id == workspace_id,
            KeyResult.owner_user_id == user_id,
            KeyResult.state == KeyResultState.ACTIVE,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            Cycle.state != CycleState.CLOSED,
        )
        .order_by(Team.name_key, Objective.number, KeyResult.position)
    )
    return [
        OwnedKeyResult(team, objective, _status(kr, confidence))
        for kr, confidence, objective, cycle, team in rows
        # only the team's current cycle: an earlier one still waiting for its reset is not "live" to its owner
        if cycle.number == team_span(team, now).number
    ]


# history --------------------------------------------------------------------------------------------------


def objective_history(session: Session, *, team: Team, now: datetime) -> CycleHistory:
    """Every objective of the current cycle, dropped ones too, with all its versions in order (3 queries)."""
    span = team_span(team, now)
    cycle = _current_cycles(session, teams=[team], spans={team.id: span}).get(team.id)
    objectives = cycle_objectives(session, cycle_ids=[cycle.id] if cycle else [])
    versions = objective_versions(session, team=team, objectives=objectives)
    return CycleHistory(
        team=team,
        span=span,
        cycle=cycle,
        objectives=tuple(ObjectiveHistory(o, _entries(versions[o.id])) for o in objectives),
    )


def cycle_list(session: Session, *, team: Team, now: datetime, limit: int) -> CycleList:
    """The team's cycles that have a row, newest first, with what was committed and dropped and the average
    score (3 queries). Numbers the calendar passed without anyone drafting have no row and are not listed."""
    span = team_span(team, now)
    cycles = team_cycles(session, team=team)
    shown = cycles[:limit]
    objectives = cycle_objectives(session, cycle_ids=[c.id for c in shown])
    live = [o for o in objectives if o.state in LIVE_OBJECTIVE_STATES]
    scores: dict[int, list[float | None]] = defaultdict(list)
    cycle_of = {o.id: o.cycle_id for o in live}
    for status in _key_results_with_confidence(session, objective_ids=list(cycle_of)):
        scores[cycle_of[status.key_result.objective_id]].append(status.score)
    summaries = []
    for cycle in shown:
        mine = [o for o in objectives if o.cycle_id == cycle.id and o.state is not ObjectiveState.DRAFT]
        summaries.append(
            CycleSummary(
                cycle=cycle,
                current=cycle.number == span.number,
                committed=len(mine),
                dropped=sum(1 for o in mine if o.state is ObjectiveState.DROPPED),
                score=average(scores[cycle.id]),
            )
        )
    return CycleList(
        team=team,
        span=span,
        cycles=tuple(summaries),
        more=len(cycles) - len(shown),
        started=any(c.number == span.number for c in cycles),
    )


def cycle_history(session: Session, *, team: Team, number: int | None, now: datetime) -> CycleHistory:
    """Cycle `number` of the team (None: today's), every objective with all its versions, every key result
    with its score and check-ins, the answers to its retro, and the drafts discarded during it (6 queries).
    Today's cycle may have no row yet: it is then shown empty but for its discarded drafts; any other number
    the team never had is a `NotFound` naming the cycles it has."""
    today = team_span(team, now)
    cycle = find_cycle(team, team_cycles(session, team=team), today=today, number=number)
    span = span_of(cycle) if cycle is not None else today
    objectives = cycle_objectives(session, cycle_ids=[cycle.id] if cycle else [])
    versions = objective_versions(session, team=team, objectives=objectives)
    records: dict[int, list[KeyResultRecord]] = defaultdict(list)
    for record in _key_result_records(session, objective_ids=[o.id for o in objectives]):
        records[record.key_result.objective_id].append(record)
    scores = [
        r.score
        for o in objectives
        if o.state in LIVE_OBJECTIVE_STATES
        for r in records[o.id]
        if r.key_result.state is KeyResultState.ACTIVE
    ]
    return CycleHistory(
        team=team,
        span=span,
        cycle=cycle,
        objectives=tuple(ObjectiveHistory(o, _entries(versions[o.id]), tuple(records[o.id])) for o in objectives),
        current=span.number == today.number,
        score=average(scores),
        retro=tuple(retro_answers(session, cycle_id=cycle.id)) if cycle is not None else (),
        discarded=tuple(discarded_drafts(session, team=team, span=span)),
    )


def retro_answers(session: Session, *, cycle_id: int) -> list[RetroAnswer]:
    query = select(RetroAnswer).where(RetroAnswer.cycle_id == cycle_id)
    return list(session.scalars(query.order_by(RetroAnswer.created_at, RetroAnswer.id)))


def team_cycles(session: Session, *, team: Team) -> list[Cycle]:
    """Every cycle row of the team, newest first (1 query; a team has a handful, four a year)."""
    query = select(Cycle).where(Cycle.workspace_id == team.workspace_id, Cycle.team_id == team.id)
    return list(session.scalars(query.order_by(Cycle.number.desc())))


def find_cycle(team: Team, cycles: Sequence[Cycle], *, today: CycleSpan, number: int | None) -> Cycle | None:
    """The row of cycle `number` (None: today's) among the team's `cycles`; None for today's cycle before
    anyone drafted in it. Looked up here rather than in SQL, so any number typed is safe to ask about."""
    wanted = today.number if number is None else number
    for cycle in cycles:
        if cycle.number == wanted:
            return cycle
    if wanted == today.number:
        return None
    numbers = sorted({c.number for c in cycles} | {today.number})
    raise NotFound(
        f"*{team.name}* has no cycle {clip(str(wanted), 20)}. Its cycles: {number_ranges(numbers)} "
        f"(cycle {today.number} is the current one). `/okr history` lists them."
    )


def span_of(cycle: Cycle) -> CycleSpan:
    """A cycle's own dates, as they were when it was opened (a later change of the team's anchor keeps them)."""
    return CycleSpan(cycle.number, cycle.starts_on, cycle.ends_on)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_range(first: date, last: date) -> str:
    """`2 Mar – 31 May 2026`, or `30 Nov 2026 – 28 Feb 2027` across a new year; both days included."""

    def day(d: date, *, year: bool) -> str:
        return f"{d.day} {MONTHS[d.month - 1]}" + (f" {d.year}" if year else "")

    return f"{day(first, year=first.year != last.year)} – {day(last, year=True)}"


def number_ranges(numbers: Sequence[int], *, limit: int = 20) -> str:
    """`1–3, 5, 7–9`: ascending numbers as runs, the first `limit` runs and how many more."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    words = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        words.append(f"and {len(runs) - limit} more")
    return ", ".join(words)


def objective_versions(
    session: Session, *, team: Team, objectives: Sequence[Objective]
) -> dict[int, list[ObjectiveVersion]]:
    versions: dict[int, list[ObjectiveVersion]] = defaultdict(list)
    if objectives:
        query = (
            select(ObjectiveVersion)
            .where(
                ObjectiveVersion.workspace_id == team.workspace_id,
                ObjectiveVersion.objective_id.in_([o.id for o in objectives]),
            )
            .order_by(ObjectiveVersion.objective_id, ObjectiveVersion.version)
        )
        for version in session.scalars(query):
            versions[version.objective_id].append(version)
    return versions


def _entries(versions: list[ObjectiveVersion]) -> tuple[VersionEntry, ...]:
    entries, previous = [], None
    for version in versions:
        entries.append(VersionEntry(version, tuple(differences(previous, version.snapshot))))
        previous = version.snapshot
    return tuple(entries)


# queries --------------------------------------------------------------------------------------------------


def _current_cycles(session: Session, *, teams: Sequence[Team], spans: dict[int, CycleSpan]) -> dict[int, Cycle]:
    if not teams:
        return {}
    wanted = or_(*(and_(Cycle.team_id == team.id, Cycle.number == spans[team.id].number) for team in teams))
    query = select(Cycle).where(Cycle.workspace_id == teams[0].workspace_id, wanted)
    return {cycle.team_id: cycle for cycle in session.scalars(query)}


def cycle_objectives(session: Session, *, cycle_ids: list[int]) -> list[Objective]:
    """Every objective of these cycles, dropped ones too, by cycle and number (one query)."""
    if not cycle_ids:
        return []
    query = select(Objective).where(Objective.cycle_id.in_(cycle_ids)).order_by(Objective.cycle_id, Objective.number)
    return list(session.scalars(query))


def _key_results_with_confidence(session: Session, *, objective_ids: list[int]) -> list[KeyResultStatus]:
    if not objective_ids:
        return []
    query = (
        select(KeyResult, _latest_confidence())
        .where(KeyResult.objective_id.in_(objective_ids), KeyResult.state == KeyResultState.ACTIVE)
        .order_by(KeyResult.objective_id, KeyResult.position)
    )
    return [_status(kr, confidence) for kr, confidence in session.execute(query)]


def _key_result_records(session: Session, *, objective_ids: list[int]) -> list[KeyResultRecord]:
    """Every key result of these objectives, dropped ones too, with its latest confidence and check-in count."""
    if not objective_ids:
        return []
    checkins = (
        select(func.count(CheckIn.id))
        .where(CheckIn.workspace_id == KeyResult.workspace_id, CheckIn.key_result_id == KeyResult.id)
        .correlate(KeyResult)
        .scalar_subquery()
    )
    query = (
        select(KeyResult, _latest_confidence(), checkins)
        .where(KeyResult.objective_id.in_(objective_ids))
        .order_by(KeyResult.objective_id, KeyResult.position)
    )
    return [
        KeyResultRecord(kr, key_result_score(kr), confidence, count) for kr, confidence, count in session.execute(query)
    ]


def _latest_confidence():
    """The confidence of a key result's latest check-in, as a column of the key-result query."""
    return (
        select(CheckIn.confidence)
        .where(CheckIn.workspace_id == KeyResult.workspace_id, CheckIn.key_result_id == KeyResult.id)
        .order_by(CheckIn.week_start.desc())
        .limit(1)
        .correlate(KeyResult)
        .scalar_subquery()
    )


def _status(kr: KeyResult, confidence: int | None) -> KeyResultStatus:
    return KeyResultStatus(kr, key_result_score(kr), confidence)
