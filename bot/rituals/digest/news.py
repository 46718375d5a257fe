"""What the digest says about a week: each team's changes to its OKRs (and which other teams they touch, through
declared ripples), key results that fell to at risk or off track, new and unacknowledged ripples, conflicts between
teams, and the ripple network for the picture.

`build_digest` reads a workspace in a fixed number of queries, whatever the number of teams or ripples, and returns
plain data; the templates (`digest.j2`) turn it into Block Kit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.render import mrkdwn
from bot.rituals.checkins import confidence_label
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    EventLog,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    Ripple,
    RippleKind,
    RippleState,
    Team,
)

AT_RISK = 6  # a confidence of 6 or less is at risk (4–6) or off track (1–3)
LIVE_RIPPLES = (RippleState.OPEN, RippleState.ACKNOWLEDGED)
_UP = {Direction.INCREASE, Direction.KEEP_ABOVE}
_DOWN = {Direction.DECREASE, Direction.KEEP_BELOW}
_PUNCTUATION = re.compile(r"[^\w%$€£ ]+")


@dataclass(frozen=True)
class KrInfo:
    key_result: KeyResult
    objective: Objective
    team_id: int
    archived: bool = False  # its cycle is closed

    @property
    def label(self) -> str:
        return f"{self.objective.number}.{self.key_result.position}"

    @property
    def dropped(self) -> bool:
        return self.key_result.state is KeyResultState.DROPPED or self.objective.state is ObjectiveState.DROPPED

    @property
    def at_risk(self) -> bool:
        return self.key_result.confidence is not None and self.key_result.confidence <= AT_RISK


@dataclass
class Change:
    action: str  # committed, revised, dropped
    what: str  # "O2 Title" or "KR 1.2 metric"
    actor: str | None
    reason: str | None
    touches: list[str] = field(default_factory=list)  # names of the other teams, through ripples


@dataclass
class Risk:
    label: str
    metric: str
    confidence: int
    was: int | None  # the confidence before, or None for a first check-in
    touches: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return confidence_label(self.confidence)


@dataclass
class RippleNews:
    number: int
    kind: str  # affects, depends_on
    from_team: str
    to_team: str
    key_result: str
    their_key_result: str | None
    note: str
    state: str
    new: bool


@dataclass
class TeamNews:
    team: Team
    changes: list[Change] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    ripples: list[RippleNews] = field(default_factory=list)

    @property
    def has_news(self) -> bool:
        return bool(self.changes or self.risks or self.ripples)


@dataclass(frozen=True)
class Conflict:
    kind: str  # "opposite" (two teams pull one metric both ways) or "dependency" (a team depends on a weak KR)
    text: str  # mrkdwn, with what people typed escaped


@dataclass(frozen=True)
class Edge:
    from_team: str
    to_team: str
    kind: str
    at_risk: bool


@dataclass
class Digest:
    since: datetime
    until: datetime
    teams: list[TeamNews]
    conflicts: list[Conflict]
    edges: list[Edge]
    team_count: int
    zone: str = "UTC"  # the workspace's digest time zone: the day people read in the title is theirs

    @property
    def week_to(self) -> date:
        return self.until.astimezone(ZoneInfo(self.zone)).date()

    @property
    def quiet(self) -> bool:
        return not self.teams and not self.conflicts


def build_digest(session: Session, *, workspace_id: int, since: datetime, until: datetime, zone: str = "UTC") -> Digest:
    """Everything the digest says about [since, until), in six queries whatever the size of the workspace."""
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.workspace_id == workspace_id))}
    ripples = _ripples(session, workspace_id=workspace_id, since=since, until=until)
    events = _events(session, workspace_id=workspace_id, since=since, until=until)
    mentioned = {e.entity_id for e in events if e.entity == "objective"} | {
        e.data.get("objective_id") for e in events if e.entity == "key_result"
    }
    objective_ids = {i for i in mentioned if i is not None}
    kr_ids = {r.key_result_id for r in ripples} | {r.to_key_result_id for r in ripples if r.to_key_result_id}
    krs = key_results(session, workspace_id=workspace_id, objective_ids=objective_ids, kr_ids=kr_ids)
    risks = _fallen(session, workspace_id=workspace_id, since=since, until=until)

    news = {team_id: TeamNews(team) for team_id, team in teams.items()}
    reaches = _reaches(ripples, teams)
    _tell_changes(news, events, krs, reaches)
    _tell_risks(news, risks, krs, reaches)
    for ripple in ripples:
        new = since <= ripple.created_at < until
        if ripple.state is RippleState.OPEN or (new and ripple.state in LIVE_RIPPLES):
            news[ripple.from_team_id].ripples.append(_ripple_news(ripple, teams, krs, new=new))
    ordered = sorted((n for n in news.values() if n.has_news), key=lambda n: n.team.name_key)
    for item in ordered:
        item.risks.sort(key=lambda r: r.label)
    conflicts = _conflicts(krs, ripples, teams)
    return Digest(since, until, ordered, conflicts, _edges(ripples, teams, krs), len(teams), zone)


def _ripples(session: Session, *, workspace_id: int, since: datetime, until: datetime) -> list[Ripple]:
    """The workspace's live ripples, and those declared in [since, until) whatever became of them."""
    return list(
        session.scalars(
            select(Ripple)
            .where(
                Ripple.workspace_id == workspace_id,
                or_(Ripple.state.in_(LIVE_RIPPLES), (Ripple.created_at >= since) & (Ripple.created_at < until)),
            )
            .order_by(Ripple.number)
        )
    )


def _events(session: Session, *, workspace_id: int, since: datetime, until: datetime) -> list[EventLog]:
    """The objectives and key results committed, revised or dropped in [since, until), in order."""
    return list(
        session.scalars(
            select(EventLog)
            .where(
                EventLog.workspace_id == workspace_id,
                EventLog.created_at >= since,
                EventLog.created_at < until,
                EventLog.entity.in_(("objective", "key_result")),
                EventLog.action.in_(("committed", "revised", "dropped")),
            )
            .order_by(EventLog.created_at, EventLog.id)
        )
    )


def _reaches(ripples: list[Ripple], teams: dict[int, Team]) -> dict[tuple[int, int], set[str]]:
    """Who each live ripple reaches: a change to a key result touches the team its ripples go to, and the team whose
    ripples depend on that key result. {(team id, key result id): names of the teams touched}"""
    reaches: dict[tuple[int, int], set[str]] = defaultdict(set)
    for ripple in ripples:
        if ripple.state in LIVE_RIPPLES:
            reaches[(ripple.from_team_id, ripple.key_result_id)].add(teams[ripple.to_team_id].name)
            if ripple.to_key_result_id:
                reaches[(ripple.to_team_id, ripple.to_key_result_id)].add(teams[ripple.from_team_id].name)
    return reaches


def _touched(reaches: dict[tuple[int, int], set[str]], ids: set[int], team_id: int) -> list[str]:
    names = set().union(*(reaches.get((team_id, kr_id), set()) for kr_id in ids))
    return sorted(names, key=str.casefold)


def _tell_changes(
    news: dict[int, TeamNews],
    events: list[EventLog],
    krs: dict[int, KrInfo],
    reaches: dict[tuple[int, int], set[str]],
) -> None:
    """Each event of the week as a change in its team's news, with the teams it touches."""
    by_objective: dict[int, list[KrInfo]] = defaultdict(list)
    for known in krs.values():
        by_objective[known.objective.id].append(known)
    for event in events:
        if event.team_id not in news:
            continue
        if event.entity == "objective":
            infos = by_objective.get(event.entity_id or 0, [])
            objective = infos[0].objective if infos else None
            title = objective.title if objective is not None else (event.data.get("title") or "")
            what = f"O{event.data.get('number', objective.number if objective else '?')} {title}".strip()
            ids = {i.key_result.id for i in infos}
        else:
            info = krs.get(event.entity_id or 0)
            what = f"KR {info.label} {info.key_result.metric}" if info else "a key result"
            ids = {event.entity_id} if event.entity_id else set()
        news[event.team_id].changes.append(
            Change(event.action, what, event.actor_user_id, event.reason, _touched(reaches, ids, event.team_id))
        )


def _tell_risks(
    news: dict[int, TeamNews],
    risks: dict[int, tuple[int, int | None]],
    krs: dict[int, KrInfo],
    reaches: dict[tuple[int, int], set[str]],
) -> None:
    """Each key result that fell this week, in its team's news (not one since dropped)."""
    for kr_id, (confidence, was) in risks.items():
        info = krs.get(kr_id)
        if info is None or info.team_id not in news or info.dropped:
            continue
        news[info.team_id].risks.append(
            Risk(info.label, info.key_result.metric, confidence, was, _touched(reaches, {kr_id}, info.team_id))
        )


def _edges(ripples: list[Ripple], teams: dict[int, Team], krs: dict[int, KrInfo]) -> list[Edge]:
    """The live ripples as the network's edges, those on a weak key result marked."""
    return [
        Edge(
            teams[r.from_team_id].name,
            teams[r.to_team_id].name,
            r.kind.value,
            weak(krs.get(r.key_result_id)) or weak(krs.get(r.to_key_result_id or 0)),
        )
        for r in ripples
        if r.state in LIVE_RIPPLES
    ]


def key_results(session: Session, *, workspace_id: int, objective_ids: set[int], kr_ids: set[int]) -> dict[int, KrInfo]:
    """Key results of every cycle still running, and of the objectives and key results the week's events and
    the ripples name (which may have closed since), with their objectives: one query."""
    query = (
        select(KeyResult, Objective, Cycle.team_id, Cycle.state)
        .join(Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id))
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .where(
            KeyResult.workspace_id == workspace_id,
            or_(Cycle.state != CycleState.CLOSED, Objective.id.in_(objective_ids), KeyResult.id.in_(kr_ids)),
            Objective.state != ObjectiveState.DRAFT,
        )
    )
    return {
        kr.id: KrInfo(kr, objective, team_id, state is CycleState.CLOSED)
        for kr, objective, team_id, state in session.execute(query)
    }


def _fallen(
    session: Session, *, workspace_id: int, since: datetime, until: datetime
) -> dict[int, tuple[int, int | None]]:
    """Key results whose latest check-in this week is at risk or off track while the one before was not (or there
    was none): {key result id: (confidence now, confidence before)}. Two queries."""
    this_week = session.execute(
        select(CheckIn.key_result_id, CheckIn.week_start, CheckIn.confidence).where(
            CheckIn.workspace_id == workspace_id, CheckIn.created_at >= since, CheckIn.created_at < until
        )
    ).all()
    latest: dict[int, tuple[date, int]] = {}
    for kr_id, week, confidence in this_week:
        if kr_id not in latest or week > latest[kr_id][0]:
            latest[kr_id] = (week, confidence)
    low = {kr_id: value for kr_id, value in latest.items() if value[1] <= AT_RISK}
    if not low:
        return {}
    before: dict[int, tuple[date, int]] = {}
    earlier = session.execute(
        select(CheckIn.key_result_id, CheckIn.week_start, CheckIn.confidence).where(
            CheckIn.workspace_id == workspace_id, CheckIn.key_result_id.in_(list(low))
        )
    ).all()
    for kr_id, week, confidence in earlier:
        if week < low[kr_id][0] and (kr_id not in before or week > before[kr_id][0]):
            before[kr_id] = (week, confidence)
    return {
        kr_id: (confidence, before[kr_id][1] if kr_id in before else None)
        for kr_id, (_week, confidence) in low.items()
        if kr_id not in before or before[kr_id][1] > AT_RISK
    }


def weak(info: KrInfo | None) -> bool:
    """A key result at risk or off track (latest confidence `AT_RISK` or less), or dropped: a ripple on it is marked."""
    return info is not None and (info.dropped or info.at_risk)


def _ripple_news(ripple: Ripple, teams: dict[int, Team], krs: dict[int, KrInfo], *, new: bool) -> RippleNews:
    ours, theirs = krs.get(ripple.key_result_id), krs.get(ripple.to_key_result_id or 0)
    return RippleNews(
        ripple.number,
        ripple.kind.value,
        teams[ripple.from_team_id].name,
        teams[ripple.to_team_id].name,
        f"{ours.label} {ours.key_result.metric}" if ours else "?",
        f"{theirs.label} {theirs.key_result.metric}" if theirs else None,
        ripple.note or "",
        ripple.state.value,
        new,
    )


def metric_key(metric: str) -> str:
    """Two teams' metrics are "the same" when they match ignoring case, punctuation and spacing ("Sign-ups",
    "signups" and "SIGN UPS" are one metric)."""
    return "".join(_PUNCTUATION.sub("", metric.casefold()).split())


def _order(info: KrInfo) -> tuple[int, int, int]:
    return (info.team_id, info.objective.number, info.key_result.position)


@dataclass(frozen=True)
class Pull:
    """Teams pulling one metric both ways: the key results that want it up and those that want it down, each side in
    the order people see (teams as created, then their key results)."""

    up: list[KrInfo]
    down: list[KrInfo]

    @property
    def metric(self) -> str:
        """The metric as the first of its key results names it."""
        return min(self.up + self.down, key=_order).key_result.metric


def opposite_pulls(krs: dict[int, KrInfo]) -> list[Pull]:
    """The digest's first kind of conflict: two teams on one metric (`metric_key`), one wanting it up and the other
    down, at least one of them moving it (two teams each keeping it on their side of a line is no tug of war).
    Only committed or revised objectives' key results that were not dropped take part."""
    live = sorted(
        (
            i
            for i in krs.values()
            if not i.dropped and i.objective.state in (ObjectiveState.COMMITTED, ObjectiveState.REVISED)
        ),
        key=_order,
    )  # the order people see: teams as created, then their key results
    by_metric: dict[str, list[KrInfo]] = defaultdict(list)
    for each in live:
        by_metric[metric_key(each.key_result.metric)].append(each)
    found: list[Pull] = []
    for infos in by_metric.values():
        pairs = [
            (a, b)
            for a in infos
            for b in infos
            if a.team_id != b.team_id
            and a.key_result.direction in _UP
            and b.key_result.direction in _DOWN
            and {a.key_result.direction, b.key_result.direction} & {Direction.INCREASE, Direction.DECREASE}
        ]
        if not pairs:
            continue
        pulling = {id(i) for pair in pairs for i in pair}
        up = sorted((i for i in infos if id(i) in pulling and i.key_result.direction in _UP), key=_order)
        down = sorted((i for i in infos if id(i) in pulling and i.key_result.direction in _DOWN), key=_order)
        found.append(Pull(up, down))
    return found


def weak_dependencies(krs: dict[int, KrInfo], ripples: list[Ripple]) -> list[tuple[Ripple, KrInfo]]:
    """The digest's second kind of conflict: a live "depends on" ripple on the other team's key result, which is at
    risk, off track or was dropped (`weak`); each with that key result, in the ripples' order."""
    found: list[tuple[Ripple, KrInfo]] = []
    for ripple in ripples:
        if ripple.kind is not RippleKind.DEPENDS_ON or ripple.state not in LIVE_RIPPLES or not ripple.to_key_result_id:
            continue
        info = krs.get(ripple.to_key_result_id)
        if info is not None and weak(info):
            found.append((ripple, info))
    return found


def _conflicts(krs: dict[int, KrInfo], ripples: list[Ripple], teams: dict[int, Team]) -> list[Conflict]:
    found: list[Conflict] = []
    for pull in opposite_pulls(krs):
        text = (
            f"*{mrkdwn(pull.metric)}*: "
            + ", ".join(f"*{mrkdwn(teams[i.team_id].name)}* KR {i.label} wants it up" for i in pull.up)
            + "; "
            + ", ".join(f"*{mrkdwn(teams[i.team_id].name)}* KR {i.label} wants it down" for i in pull.down)
        )
        found.append(Conflict("opposite", text))
    for ripple, info in weak_dependencies(krs, ripples):
        how = "was dropped" if info.dropped else f"is {confidence_label(info.key_result.confidence or 1)}"
        found.append(
            Conflict(
                "dependency",
                f"*{mrkdwn(teams[ripple.from_team_id].name)}* depends on *{mrkdwn(teams[ripple.to_team_id].name)}* "
                f"KR {info.label} {mrkdwn(info.key_result.metric)}, which {how} (R{ripple.number}).",
            )
        )
    return found
