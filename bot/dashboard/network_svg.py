"""The ripple network as inline SVG: teams as circles, ripples as arrows from the declaring team, conflicts between
teams as dotted red lines. Every team and every arrow is a link (focusable, with a `<title>` and an `aria-label`);
the page's table says the same in words.

What makes 200 teams and 2,000 ripples readable: the ripples from one team to another are one arrow, thicker with
their number and marked with it; arrows fade as they grow numerous; circles grow with a team's ripples and shrink
as teams grow numerous; names are written for every team when there are few, else for the focused team, its
neighbours and the biggest teams, where they fit (network_layout.py). Focusing a team or choosing a ripple brings
its arrows forward and fades the rest.

Only numbers the code computed go into the geometry; every word is escaped (markupsafe) before it is written.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.dashboard import network_layout as layout
from bot.dashboard.network_layout import Point, Wanted

ALL_LABELS = 40  # up to this many teams, every name is written
BIG_LABELS = 24  # past it, the names of this many of the biggest teams (besides the focus and its neighbours)
NAME_LIMIT = 26  # characters of a name written beside its circle (the full name is in its title)
CURVE = 0.12  # how far an arrow bows, as a share of its length: A→B and B→A bow apart
ARROW = 8.0  # arrowhead length (viewBox units)
HIT_LIMIT = 400  # up to this many arrows, each gets a wider invisible stroke that is easier to point at
BADGE_LIMIT = 150  # up to this many arrows, a grouped one shows its count (past it, only when brought forward)
TITLE_LIST = 8  # ripple numbers named in a grouped arrow's title before "and N more"


@dataclass(frozen=True)
class Dot:
    """A team."""

    id: int
    name: str
    ripples_out: int
    ripples_in: int
    conflict: bool

    @property
    def title(self) -> str:
        conflict = " · in a conflict" if self.conflict else ""
        return f"{self.name} · {_count(self.ripples_out)} out, {self.ripples_in} in{conflict}"


@dataclass(frozen=True)
class Wave:
    """A ripple."""

    number: int
    from_id: int
    to_id: int
    depends: bool
    at_risk: bool
    conflict: bool
    title: str  # "R12 · Rockets affects Comets · open"


@dataclass(frozen=True)
class Tension:
    """Two teams pulling one metric both ways (a conflict without a ripple of its own)."""

    a: int
    b: int
    title: str


@dataclass(frozen=True)
class View:
    """What is drawn, and around what: `shape` are the ripples the layout is made from (the ones listed by default;
    a chosen ripple outside them is drawn without moving anything)."""

    dots: Sequence[Dot]
    waves: Sequence[Wave]
    tensions: Sequence[Tension]
    shape: Sequence[tuple[int, int]]
    focus: int | None = None
    selected: int | None = None


Link = Callable[..., str]  # network_url-like: link(team=…) or link(ripple=…)


def _count(n: int) -> str:
    return f"{n} ripple" if n == 1 else f"{n} ripples"


def _e(text: object) -> str:
    return str(escape(text))


def _n(value: float) -> str:
    """A coordinate: one decimal at most, from a number only."""
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


@dataclass
class _Group:
    """The ripples from one team to another, drawn as one arrow."""

    from_id: int
    to_id: int
    waves: list[Wave]
    bow: float = CURVE

    @property
    def numbers(self) -> list[int]:
        return [w.number for w in self.waves]

    @property
    def kind(self) -> str:
        depends = {w.depends for w in self.waves}
        return "mixed" if len(depends) > 1 else ("depends" if True in depends else "affects")

    @property
    def conflict(self) -> bool:
        return any(w.conflict for w in self.waves)

    @property
    def at_risk(self) -> bool:
        return any(w.at_risk for w in self.waves)


def draw(view: View, link: Link) -> Markup:
    """The whole `<svg id="network">`."""
    where = layout.positions([d.id for d in view.dots], view.shape)
    dots = {d.id: d for d in view.dots}
    radius = layout.radii({d.id: d.ripples_out + d.ripples_in for d in view.dots})
    groups = _groups(view.waves, view.selected)
    near = _neighbours(view)
    lit = {key for key, g in groups.items() if _lit(g, view)}
    focused = view.focus is not None or view.selected is not None
    opacity = min(0.85, max(0.2, 6 / math.sqrt(max(1, len(groups)))))
    few = len(groups) <= HIT_LIMIT
    parts = [_head(view), _defs()]
    parts.append(_tensions(view, where, near))
    parts.append('<g class="edges">')
    # faded arrows first, so the lit ones are drawn over them
    for key in sorted(groups, key=lambda k: (k in lit, groups[k].conflict or groups[k].at_risk, k)):
        group = groups[key]
        state = "lit" if key in lit else ("faded" if focused else "")
        parts.append(
            _edge(
                group,
                dots,
                where,
                radius,
                link,
                state=state,
                opacity=opacity,
                hit=few,
                badge=len(groups) <= BADGE_LIMIT,
            )
        )
    parts.append("</g>")
    parts.append(_nodes(view, where, radius, near, link))
    parts.append(_labels(view, where, radius, near))
    parts.append("</svg>")
    return Markup("".join(parts))


def _head(view: View) -> str:
    teams, ripples = len(view.dots), len(view.waves)
    focused = view.focus is not None or view.selected is not None
    summary = f"Ripple network: {teams} team{'s' if teams != 1 else ''}, {_count(ripples)}"
    return (
        f'<svg id="network" class="network{" focused" if focused else ""}" '
        f'viewBox="0 0 {_n(layout.WIDTH)} {_n(layout.HEIGHT)}" role="group" aria-label="{_e(summary)}" '
        f'data-width="{_n(layout.WIDTH)}" data-height="{_n(layout.HEIGHT)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(summary)}</title>"
    )


def _defs() -> str:
    arrows = "".join(
        f'<marker id="arrow-{name}" class="arrow {name}" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerUnits="userSpaceOnUse" markerWidth="{_n(ARROW)}" markerHeight="{_n(ARROW)}" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z"></path></marker>'
        for name in ("plain", "risk", "lit")
    )
    return f"<defs>{arrows}</defs>"


def _groups(waves: Sequence[Wave], selected: int | None) -> dict[tuple[int, int, bool], _Group]:
    """The ripples from one team to another as one arrow; the chosen ripple always an arrow of its own (bowing
    further than the others it would have joined), so that it is the one its link, title and hooks name."""
    groups: dict[tuple[int, int, bool], _Group] = {}
    for wave in sorted(waves, key=lambda w: w.number):
        alone = wave.number == selected
        key = (wave.from_id, wave.to_id, alone)
        if key not in groups:
            groups[key] = _Group(wave.from_id, wave.to_id, [], bow=2.2 * CURVE if alone else CURVE)
        groups[key].waves.append(wave)
    return groups


def _neighbours(view: View) -> set[int]:
    """The focused team and the teams its ripples join, or the chosen ripple's two teams."""
    near: set[int] = set()
    for wave in view.waves:
        if view.focus is not None and view.focus in (wave.from_id, wave.to_id):
            near |= {wave.from_id, wave.to_id}
        if view.selected == wave.number:
            near |= {wave.from_id, wave.to_id}
    if view.focus is not None:
        near.add(view.focus)
    return near


def _lit(group: _Group, view: View) -> bool:
    if view.selected is not None:
        return view.selected in group.numbers
    return view.focus is not None and view.focus in (group.from_id, group.to_id)


def _curve(a: Point, b: Point, ra: float, rb: float, bow: float) -> tuple[Point, Point, Point]:
    """An arrow's start (on A's circle), its control point, and its tip (on B's circle). Between teams that touch
    (or that a crowded layout piled up), it loops out beside them, so that no ripple goes undrawn."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    normal = (-dy / length, dx / length) if length > 1e-6 else (0.0, -1.0)
    offset = length * bow if length > ra + rb + 2 else max(length * bow, ra + rb + 8)
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    control = (mid[0] + normal[0] * offset, mid[1] + normal[1] * offset)
    start = _toward(a, control, ra)
    tip = _toward(b, control, rb + 1)
    return start, control, tip


def _toward(point: Point, target: Point, distance: float) -> Point:
    dx, dy = target[0] - point[0], target[1] - point[1]
    length = math.hypot(dx, dy) or 1.0
    return (point[0] + dx / length * distance, point[1] + dy / length * distance)


def _edge(
    group: _Group,
    dots: dict[int, Dot],
    where: dict[int, Point],
    radius: dict[int, float],
    link: Link,
    *,
    state: str,
    opacity: float,
    hit: bool,
    badge: bool,
) -> str:
    curve = _curve(where[group.from_id], where[group.to_id], radius[group.from_id], radius[group.to_id], group.bow)
    (sx, sy), (cx, cy), (tx, ty) = curve
    path = f"M{_n(sx)} {_n(sy)} Q{_n(cx)} {_n(cy)} {_n(tx)} {_n(ty)}"
    count = len(group.waves)
    width = min(5.0, 1.2 + 0.9 * math.log2(count)) + (1.2 if group.conflict else 0)
    colour = "risk" if group.conflict or group.at_risk else "plain"
    marker = "lit" if state == "lit" and colour == "plain" else colour
    title = _group_title(group, dots)
    classes = " ".join(
        c
        for c in (
            "edge",
            f"kind-{group.kind}",
            "at-risk" if group.at_risk else "",
            "conflict" if group.conflict else "",
            state,
        )
        if c
    )
    shown = 1.0 if state == "lit" else min(1.0, opacity * (1.6 if colour == "risk" else 1.0))
    numbers = " ".join(str(n) for n in group.numbers)
    many = f' data-ripples="{numbers}"' if count > 1 else ""
    out = [
        f'<a href="{_e(link(ripple=group.numbers[0]))}" class="{classes}" data-ripple="{group.numbers[0]}"{many} '
        f'data-from="{group.from_id}" data-to="{group.to_id}" aria-label="{_e(title)}" opacity="{_n(shown)}">'
        f"<title>{_e(title)}</title>"
    ]
    if hit:
        out.append(f'<path class="hit" d="{path}"></path>')
    out.append(f'<path d="{path}" stroke-width="{_n(width)}" marker-end="url(#arrow-{marker})"></path>')
    if count > 1 and (badge or state == "lit"):
        bx, by = 0.25 * sx + 0.5 * cx + 0.25 * tx, 0.25 * sy + 0.5 * cy + 0.25 * ty
        out.append(
            f'<g class="count" aria-hidden="true"><circle cx="{_n(bx)}" cy="{_n(by)}" r="7"></circle>'
            f'<text x="{_n(bx)}" y="{_n(by + 3.5)}">{count}</text></g>'
        )
    out.append("</a>")
    return "".join(out)


def _group_title(group: _Group, dots: dict[int, Dot]) -> str:
    if len(group.waves) == 1:
        return group.waves[0].title
    named = ", ".join(f"R{n}" for n in group.numbers[:TITLE_LIST])
    more = len(group.numbers) - TITLE_LIST
    flags = (" · at risk" if group.at_risk else "") + (" · conflict" if group.conflict else "")
    return (
        f"{_count(len(group.waves))} from {dots[group.from_id].name} to {dots[group.to_id].name}: {named}"
        + (f" and {more} more" if more > 0 else "")
        + flags
    )


def _tensions(view: View, where: dict[int, Point], near: set[int]) -> str:
    """Conflicts between teams that no arrow carries: a dotted red line, under the arrows (the page lists them)."""
    titles: dict[tuple[int, int], list[str]] = defaultdict(list)
    for tension in view.tensions:
        if tension.a != tension.b and tension.a in where and tension.b in where:
            titles[(min(tension.a, tension.b), max(tension.a, tension.b))].append(tension.title)
    focused = view.focus is not None or view.selected is not None
    out = ['<g class="tensions" aria-hidden="true">']
    for (a, b), said in sorted(titles.items()):
        state = " lit" if near and {a, b} <= near else (" faded" if focused else "")
        (ax, ay), (bx, by) = where[a], where[b]
        out.append(
            f'<line class="tension{state}" x1="{_n(ax)}" y1="{_n(ay)}" x2="{_n(bx)}" y2="{_n(by)}">'
            f"<title>{_e(' / '.join(dict.fromkeys(said)))}</title></line>"
        )
    out.append("</g>")
    return "".join(out)


def _nodes(view: View, where: dict[int, Point], radius: dict[int, float], near: set[int], link: Link) -> str:
    focused = view.focus is not None or view.selected is not None
    out = ['<g class="nodes">']
    for dot in sorted(view.dots, key=lambda d: d.id):
        x, y = where[dot.id]
        classes = ["node"]
        if dot.id == view.focus:
            classes.append("focus")
        elif dot.id in near:
            classes.append("near")
        elif focused:
            classes.append("faded")
        if dot.conflict:
            classes.append("conflict")
        if not dot.ripples_in + dot.ripples_out:
            classes.append("alone")
        current = ' aria-current="true"' if dot.id == view.focus else ""
        out.append(
            f'<a href="{_e(link(team=dot.id))}" class="{" ".join(classes)}" data-team="{dot.id}"{current} '
            f'aria-label="{_e(dot.title)}"><title>{_e(dot.title)}</title>'
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius[dot.id])}"></circle></a>'
        )
    out.append("</g>")
    return "".join(out)


def _labels(view: View, where: dict[int, Point], radius: dict[int, float], near: set[int]) -> str:
    """The names written beside the circles (the links carry them for screen readers, so these are hidden)."""
    font = 12.0 if len(view.dots) <= ALL_LABELS else 11.0
    labels = layout.place_labels(_wanted(view, near), where, radius, font=font)
    out = [f'<g class="labels" aria-hidden="true" font-size="{_n(font)}">']
    for label in labels:
        strong = " near" if label.node in near else ""
        out.append(
            f'<text class="label{strong}" x="{_n(label.x)}" y="{_n(label.y)}" text-anchor="{label.anchor}" '
            f'data-label-for="{label.node}">{_e(label.text)}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _wanted(view: View, near: set[int]) -> list[Wanted]:
    """Names to write, most important first: the focus, its neighbours (the chosen ripple's two teams), then every
    team when there are few, else the biggest."""
    ends = {t for w in view.waves if w.number == view.selected for t in (w.from_id, w.to_id)}
    must = ends | ({view.focus} if view.focus is not None else set())
    by_size = sorted(view.dots, key=lambda d: (-(d.ripples_in + d.ripples_out), d.name.casefold(), d.id))
    first = [d for d in by_size if d.id in must] + [d for d in by_size if d.id in near and d.id not in must]
    rest = [d for d in by_size if d.id not in near]
    if len(view.dots) > ALL_LABELS:
        rest = [d for d in rest if d.ripples_in + d.ripples_out][:BIG_LABELS]
    return [Wanted(d.id, _clip(d.name), must=d.id in must) for d in first] + [Wanted(d.id, _clip(d.name)) for d in rest]


def _clip(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"
