"""The ripple network page: every team of the workspace, the ripples between them, and the conflicts the digest
talks about, as a picture (network_svg.py) and as a table.

By default the live ripples are shown (open and acknowledged, the digest's `LIVE_RIPPLES`); `everything=True`
(`?all=1`) shows resolved and withdrawn ones too. A ripple is **at risk** when a key result at either end is at risk,
off track or was dropped (the digest's `weak`); the **conflicts** are the digest's: teams pulling one metric both
ways (`opposite_pulls`), and a live "depends on" ripple on a key result that is weak (`weak_dependencies`). A
ripple takes part in a pull when one of its key results does.

`team` focuses a team (by id); `ripple` chooses a ripple (by its number, R12 → 12), shown even when resolved. One
that is not in the workspace (gone, mistyped, or another workspace's) leaves the page whole, with a note saying so.

Three statements whatever the number of teams and ripples: the teams, the ripples, their key results (with every
running cycle's, for the pulls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.dashboard import network_svg
from bot.dashboard.templating import network_url
from bot.rituals.checkins import confidence_label
from bot.rituals.digest.news import (
    LIVE_RIPPLES,
    KrInfo,
    Pull,
    key_results,
    opposite_pulls,
    weak,
    weak_dependencies,
)
from storage.models import Ripple, RippleKind, Team

KINDS = {RippleKind.AFFECTS: "affects", RippleKind.DEPENDS_ON: "depends on"}
LARGEST_NUMBER = 2**31 - 1


@lru_cache(maxsize=8192)  # a page of 2,000 ripples writes each address three times or more
def page_url(*, team: int | None = None, ripple: int | None = None, everything: bool = False) -> str:
    """The network page's address, keeping `all=1` when everything is shown."""
    url = network_url(team=team, ripple=ripple)
    return url + (("&" if "?" in url else "?") + "all=1" if everything else "")


@dataclass(frozen=True)
class TeamNode:
    id: int
    name: str
    ripples_out: int  # of the ripples shown
    ripples_in: int
    conflict: bool  # takes part in a conflict

    @property
    def ripples(self) -> int:
        return self.ripples_out + self.ripples_in


@dataclass(frozen=True)
class KeyResultRef:
    """One end of a ripple: a team's key result, with what the digest reads of it."""

    id: int
    team_id: int
    label: str  # 1.2
    metric: str
    confidence: int | None
    dropped: bool
    archived: bool  # its cycle is closed
    weak: bool  # at risk, off track or dropped

    @property
    def condition(self) -> str:
        """ "dropped", "at risk (5/10)", "on track (8/10)", or "" before any check-in."""
        if self.dropped:
            return "dropped"
        if self.confidence is None:
            return ""
        return f"{confidence_label(self.confidence)} ({self.confidence}/10)"


@dataclass(frozen=True)
class NetworkConflict:
    kind: str  # "opposite" (teams pull one metric both ways) or "dependency" (depends on a weak key result)
    text: str  # plain words; the template escapes them
    team_ids: frozenset[int]
    ripple_numbers: tuple[int, ...]  # the ripples shown that take part


@dataclass(frozen=True)
class RippleRow:
    ripple: Ripple
    from_team: TeamNode
    to_team: TeamNode
    key_result: KeyResultRef | None  # the declaring team's; None when it can no longer be read
    their_key_result: KeyResultRef | None
    at_risk: bool
    conflicts: tuple[NetworkConflict, ...]

    @property
    def number(self) -> int:
        return self.ripple.number

    @property
    def label(self) -> str:
        return f"R{self.ripple.number}"

    @property
    def kind(self) -> str:
        return KINDS[self.ripple.kind]

    @property
    def state(self) -> str:
        return self.ripple.state.value

    @property
    def live(self) -> bool:
        return self.ripple.state in LIVE_RIPPLES

    @property
    def title(self) -> str:
        """R12 · Rockets affects Comets · open (· at risk · conflict)"""
        flags = (" · at risk" if self.at_risk else "") + (" · conflict" if self.conflicts else "")
        return f"{self.label} · {self.from_team.name} {self.kind} {self.to_team.name} · {self.state}{flags}"


@dataclass(frozen=True)
class NetworkPage:
    now: datetime
    everything: bool  # resolved and withdrawn ripples shown too
    teams: list[TeamNode]  # by name
    ripples: list[RippleRow]  # every ripple shown, by number
    conflicts: list[NetworkConflict]
    svg: Markup
    focus: TeamNode | None = None
    selected: RippleRow | None = None
    notes: list[str] = field(default_factory=list)

    def url(self, *, team: int | None = None, ripple: int | None = None) -> str:
        """A link within the page as it is shown (everything, or the live ripples)."""
        return page_url(team=team, ripple=ripple, everything=self.everything)

    @property
    def toggle_url(self) -> str:
        """The same focus and choice, with the other set of ripples."""
        return page_url(
            team=self.focus.id if self.focus else None,
            ripple=self.selected.number if self.selected else None,
            everything=not self.everything,
        )

    @property
    def focus_out(self) -> list[RippleRow]:
        return [r for r in self.ripples if self.focus and r.from_team.id == self.focus.id]

    @property
    def focus_in(self) -> list[RippleRow]:
        return [r for r in self.ripples if self.focus and r.to_team.id == self.focus.id]

    @property
    def focus_conflicts(self) -> list[NetworkConflict]:
        return [c for c in self.conflicts if self.focus and self.focus.id in c.team_ids]

    @property
    def between(self) -> list[RippleRow]:
        """The other ripples shown between the chosen ripple's two teams, either way."""
        if self.selected is None:
            return []
        pair = {self.selected.from_team.id, self.selected.to_team.id}
        return [r for r in self.ripples if {r.from_team.id, r.to_team.id} == pair and r.number != self.selected.number]

    @property
    def live_count(self) -> int:
        return sum(1 for r in self.ripples if r.live)


def network_page(
    session: Session,
    *,
    workspace_id: int,
    now: datetime,
    team: int | None = None,
    ripple: int | None = None,
    everything: bool = False,
) -> NetworkPage:
    """The page for a workspace, focused on a team (id) and/or a ripple (number). Three statements."""
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.workspace_id == workspace_id))}
    query = select(Ripple).where(Ripple.workspace_id == workspace_id)
    if not everything:
        live = Ripple.state.in_(LIVE_RIPPLES)
        asked = ripple is not None and 0 < ripple <= LARGEST_NUMBER  # a larger one is in no INTEGER column
        query = query.where(or_(live, Ripple.number == ripple) if asked else live)
    rows = list(session.scalars(query.order_by(Ripple.number)))
    kr_ids = {r.key_result_id for r in rows} | {r.to_key_result_id for r in rows if r.to_key_result_id}
    krs = key_results(session, workspace_id=workspace_id, objective_ids=set(), kr_ids=kr_ids)

    listed = [r for r in rows if everything or r.state in LIVE_RIPPLES]  # the chosen ripple may be extra
    pulls = [p for p in opposite_pulls(krs) if all(i.team_id in teams for i in p.up + p.down)]
    conflicts = _conflicts(pulls, krs, rows, teams)
    nodes = _nodes(teams, rows, conflicts)
    by_number: dict[int, list[NetworkConflict]] = {}
    for conflict in conflicts:
        for number in conflict.ripple_numbers:
            by_number.setdefault(number, []).append(conflict)
    ripple_rows = [_row(r, nodes, krs, tuple(by_number.get(r.number, ()))) for r in rows]

    notes: list[str] = []
    focus = nodes.get(team) if team is not None else None
    if team is not None and focus is None:
        notes.append("The team in the address is not one of this workspace's teams: the whole network is shown.")
    selected = next((r for r in ripple_rows if r.number == ripple), None) if ripple is not None else None
    if ripple is not None and selected is None:
        notes.append(f"There is no ripple R{ripple} in this workspace.")
    view = network_svg.View(
        dots=[network_svg.Dot(n.id, n.name, n.ripples_out, n.ripples_in, n.conflict) for n in nodes.values()],
        waves=[_wave(r) for r in ripple_rows],
        tensions=_tensions(pulls, teams),
        shape=[(r.from_team_id, r.to_team_id) for r in listed],
        focus=focus.id if focus else None,
        selected=selected.number if selected else None,
    )
    svg = network_svg.draw(view, lambda **query: page_url(everything=everything, **query))
    return NetworkPage(
        now=now,
        everything=everything,
        teams=sorted(nodes.values(), key=lambda n: (n.name.casefold(), n.id)),
        ripples=ripple_rows,
        conflicts=conflicts,
        svg=svg,
        focus=focus,
        selected=selected,
        notes=notes,
    )


def _conflicts(
    pulls: list[Pull], krs: dict[int, KrInfo], rows: list[Ripple], teams: dict[int, Team]
) -> list[NetworkConflict]:
    """The digest's conflicts, in its order, in plain words, each with its teams and the ripples shown in it."""
    found: list[NetworkConflict] = []
    for pull in pulls:
        ids = {i.key_result.id for i in pull.up + pull.down}
        text = (
            f"{pull.metric}: "
            + ", ".join(f"{teams[i.team_id].name} (KR {i.label}) wants it up" for i in pull.up)
            + "; "
            + ", ".join(f"{teams[i.team_id].name} (KR {i.label}) wants it down" for i in pull.down)
        )
        numbers = tuple(r.number for r in rows if r.key_result_id in ids or r.to_key_result_id in ids)
        found.append(NetworkConflict("opposite", text, frozenset(i.team_id for i in pull.up + pull.down), numbers))
    for ripple, info in weak_dependencies(krs, rows):
        how = "was dropped" if info.dropped else f"is {confidence_label(info.key_result.confidence or 1)}"
        text = (
            f"{teams[ripple.from_team_id].name} depends on {teams[ripple.to_team_id].name} "
            f"KR {info.label} {info.key_result.metric}, which {how} (R{ripple.number})."
        )
        found.append(
            NetworkConflict("dependency", text, frozenset({ripple.from_team_id, ripple.to_team_id}), (ripple.number,))
        )
    return found


def _tensions(pulls: list[Pull], teams: dict[int, Team]) -> list[network_svg.Tension]:
    """Each pair of teams pulling one metric both ways."""
    found = []
    for pull in pulls:
        for up in pull.up:
            for down in pull.down:
                if up.team_id != down.team_id:
                    title = (
                        f"Conflict on {pull.metric}: {teams[up.team_id].name} wants it up, "
                        f"{teams[down.team_id].name} wants it down"
                    )
                    found.append(network_svg.Tension(up.team_id, down.team_id, title))
    return found


def _nodes(teams: dict[int, Team], rows: list[Ripple], conflicts: list[NetworkConflict]) -> dict[int, TeamNode]:
    out: dict[int, int] = dict.fromkeys(teams, 0)
    into: dict[int, int] = dict.fromkeys(teams, 0)
    for r in rows:
        out[r.from_team_id] += 1
        into[r.to_team_id] += 1
    conflicted = {team_id for c in conflicts for team_id in c.team_ids}
    return {
        team_id: TeamNode(team_id, t.name, out[team_id], into[team_id], team_id in conflicted)
        for team_id, t in sorted(teams.items())
    }


def _reference(info: KrInfo | None) -> KeyResultRef | None:
    if info is None:
        return None
    kr = info.key_result
    return KeyResultRef(
        kr.id, info.team_id, info.label, kr.metric, kr.confidence, info.dropped, info.archived, weak(info)
    )


def _row(
    ripple: Ripple, nodes: dict[int, TeamNode], krs: dict[int, KrInfo], conflicts: tuple[NetworkConflict, ...]
) -> RippleRow:
    ours, theirs = krs.get(ripple.key_result_id), krs.get(ripple.to_key_result_id or 0)
    return RippleRow(
        ripple,
        nodes[ripple.from_team_id],
        nodes[ripple.to_team_id],
        _reference(ours),
        _reference(theirs),
        weak(ours) or weak(theirs),
        conflicts,
    )


def _wave(row: RippleRow) -> network_svg.Wave:
    return network_svg.Wave(
        row.number,
        row.from_team.id,
        row.to_team.id,
        row.ripple.kind is RippleKind.DEPENDS_ON,
        row.at_risk,
        bool(row.conflicts),
        row.title,
    )
