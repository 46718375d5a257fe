"""A team's page on the dashboard, and one key result's page: what `/okr list` and `/okr history` show in Slack,
with every check-in charted, the backlog, the triage and sprint-pick rounds, past cycles and their downloads.

Committed objectives only (dropped ones included, as `/okr history` shows them): an open draft is nobody's
commitment yet and appears nowhere. A team page takes the same 13 statements however many objectives, versions,
check-ins, items, rounds and cycles the team has (fewer when there is nothing to read); a key result's page
takes 4. The reads are in team_reads.py; the backlog, the rounds and the past cycles are put together in
team_history.py, objectives and key results in okr_views.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.dashboard import team_history, team_reads
from bot.dashboard.okr_views import KeyResultView, ObjectiveView, checkin_rows, cycle_score, version_entries
from bot.dashboard.team_history import BacklogSummary, PastCycle, RoundHistory
from bot.rituals.cycles import CycleSpan, team_span, team_today
from bot.rituals.export import file_name
from bot.rituals.okrs import cycle_objectives, date_range, objective_versions, span_of, team_cycles
from bot.rituals.team_settings import WEEKDAYS
from bot.rituals.versions import Difference, differences
from storage.models import BacklogItem, Cycle, KeyResult, Objective, ObjectiveState, ObjectiveVersion, Team

ITEMS_UNDER_KEY_RESULT = 200  # a key result's page lists this many of its items


@dataclass(frozen=True)
class CurrentCycle:
    span: CycleSpan
    cycle: Cycle | None  # None until someone drafts or commits in it
    week: int  # 1–13; 0 while the cycle has not started
    objectives: tuple[ObjectiveView, ...]  # by number, dropped ones included

    @property
    def live(self) -> tuple[ObjectiveView, ...]:
        """The objectives `/okr list` shows."""
        return tuple(o for o in self.objectives if o.live)

    @property
    def dropped(self) -> tuple[ObjectiveView, ...]:
        return tuple(o for o in self.objectives if not o.live)

    @property
    def score(self) -> float | None:
        return cycle_score(self.objectives)

    @property
    def state(self) -> str:
        return self.cycle.state.value if self.cycle is not None else "nothing drafted yet"

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)


@dataclass(frozen=True)
class ExportLink:
    number: int
    current: bool
    csv: str  # the files' names, as `/okr export` names them
    json: str


@dataclass(frozen=True)
class TeamPage:
    team: Team
    current: CurrentCycle
    past: tuple[PastCycle, ...]  # newest first
    backlog: BacklogSummary
    rounds: RoundHistory
    exports: tuple[ExportLink, ...]  # the current cycle first, then the past ones, newest first

    @property
    def checkin_day(self) -> str:
        return WEEKDAYS[self.team.checkin_weekday].capitalize()

    @property
    def checkin_time(self) -> str:
        return f"{self.team.checkin_hour:02d}:00"


def team_page(session: Session, *, workspace_id: int, team_id: int, now: datetime) -> TeamPage:
    """The team's whole record (13 statements at most); a `NotFound` when it is not one of this workspace's."""
    team = team_reads.find_team(session, workspace_id=workspace_id, team_id=team_id)
    cycles = team_cycles(session, team=team)
    today = team_span(team, now)
    row = next((c for c in cycles if c.number == today.number), None)
    objectives = [o for o in cycle_objectives(session, cycle_ids=[c.id for c in cycles]) if _committed(o)]
    key_results = team_reads.key_results_of(session, team=team, objective_ids=[o.id for o in objectives])
    current = _current(
        session, team, today, row, [o for o in objectives if row and o.cycle_id == row.id], key_results, now
    )
    labels = team_history.key_result_labels(cycles, objectives, key_results, current=today.number)
    others = [c for c in cycles if c.number != today.number]
    views = {c.id: [_view(o, key_results[o.id]) for o in objectives if o.cycle_id == c.id] for c in others}
    past = team_history.past_cycles(session, team=team, cycles=others, objectives=views)
    numbers = [current.span.number] + [p.cycle.number for p in past]
    return TeamPage(
        team=team,
        current=current,
        past=past,
        backlog=team_history.backlog_summary(session, team=team, live=_live_labels(current), labels=labels),
        rounds=team_history.round_history(session, team=team, labels=labels),
        exports=tuple(
            ExportLink(n, n == current.span.number, file_name(team, n, "csv"), file_name(team, n, "json"))
            for n in numbers
        ),
    )


def _current(
    session: Session,
    team: Team,
    today: CycleSpan,
    row: Cycle | None,
    objectives: list[Objective],
    key_results: dict[int, list[KeyResult]],
    now: datetime,
) -> CurrentCycle:
    """Today's cycle: its objectives with every version, its key results with every check-in (2 statements)."""
    span = span_of(row) if row is not None else today
    versions = objective_versions(session, team=team, objectives=objectives)
    ids = [kr.id for o in objectives for kr in key_results[o.id]]
    checked = team_reads.checkins_of(session, team=team, key_result_ids=ids)
    return CurrentCycle(
        span=span,
        cycle=row,
        week=span.week_on(team_today(team, now)),
        objectives=tuple(
            ObjectiveView(
                o,
                tuple(KeyResultView(kr, o.number, checkin_rows(span, checked[kr.id])) for kr in key_results[o.id]),
                version_entries(versions[o.id]),
            )
            for o in objectives
        ),
    )


def _committed(objective: Objective) -> bool:
    """Committed at some point (dropped ones too): a draft is shown nowhere."""
    return objective.state is not ObjectiveState.DRAFT


def _view(objective: Objective, key_results: list[KeyResult]) -> ObjectiveView:
    return ObjectiveView(objective, tuple(KeyResultView(kr, objective.number) for kr in key_results))


def _live_labels(current: CurrentCycle) -> list[tuple[KeyResult, str]]:
    """The current cycle's live key results, in the order `/okr list` shows them, with their labels."""
    return [(kr.key_result, kr.label) for o in current.live for kr in o.active]


# one key result -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyResultVersion:
    """A version of the objective that added, changed or removed this key result, or dropped the objective, with
    the key result as that version left it."""

    version: ObjectiveVersion
    snapshot: dict[str, Any] | None  # the key result in this version; None once it is no longer in it
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class KeyResultPage:
    team: Team
    span: CycleSpan  # its cycle's dates
    cycle: Cycle
    current: bool  # its cycle is the team's current one
    objective: Objective
    key_result: KeyResultView
    versions: tuple[KeyResultVersion, ...]  # oldest first
    items: tuple[BacklogItem, ...]  # backlog items linked to it, whatever their state, by number (the first 200)

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)


def key_result_page(
    session: Session, *, workspace_id: int, team_id: int, key_result_id: int, now: datetime
) -> KeyResultPage:
    """One key result of the team, of any cycle, dropped or not (4 statements); a `NotFound` when it is not that
    team's, or the team is not one of this workspace's."""
    kr, objective, cycle, team = team_reads.find_key_result(
        session, workspace_id=workspace_id, team_id=team_id, key_result_id=key_result_id
    )
    span = span_of(cycle)
    checkins = team_reads.checkins_of(session, team=team, key_result_ids=[kr.id])[kr.id]
    versions = objective_versions(session, team=team, objectives=[objective])[objective.id]
    items = team_reads.items_under(session, team=team, key_result_id=kr.id, limit=ITEMS_UNDER_KEY_RESULT)
    return KeyResultPage(
        team=team,
        span=span,
        cycle=cycle,
        current=cycle.number == team_span(team, now).number,
        objective=objective,
        key_result=KeyResultView(kr, objective.number, checkin_rows(span, checkins)),
        versions=key_result_versions(versions, kr.id),
        items=tuple(items),
    )


def key_result_versions(versions: list[ObjectiveVersion], key_result_id: int) -> tuple[KeyResultVersion, ...]:
    """The versions that added, changed or removed this key result, or dropped (or restored) its objective."""
    found: list[KeyResultVersion] = []
    previous: dict[str, Any] | None = None
    for version in versions:
        mine = _snapshot_of(version.snapshot, key_result_id)
        before = _snapshot_of(previous, key_result_id)
        if mine is not None or before is not None:
            subject = _subject(version.snapshot, mine or before)
            changed = tuple(d for d in differences(previous, version.snapshot) if _concerns(d, subject))
            if previous is None or before is None or changed:
                found.append(KeyResultVersion(version, mine, changed))
        previous = version.snapshot
    return tuple(found)


def _concerns(d: Difference, subject: str) -> bool:
    """A change to the key result itself, or its objective dropped or taken back from dropped."""
    if d.subject == subject:
        return True
    return d.subject.startswith("O") and d.field == "state" and "dropped" in (d.before, d.after)


def _snapshot_of(snapshot: dict[str, Any] | None, key_result_id: int) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return next((kr for kr in snapshot.get("key_results", []) if kr.get("id") == key_result_id), None)


def _subject(snapshot: dict[str, Any], kr: dict[str, Any] | None) -> str:
    """How `versions.differences` names the key result ("KR 1.2"): the objective's number as this version has it."""
    return f"KR {snapshot.get('number')}.{(kr or {}).get('position')}"
