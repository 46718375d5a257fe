"""Where the ripple network's teams sit on the page, and which of their names are written beside them.

Positions come from networkx's spring layout (Fruchterman–Reingold) with a fixed seed, over the teams in id order
and the pairs of teams that ripples join (weighted by how many): the same network gives the same picture, whatever
order the rows were read in, and focusing a team or choosing a ripple never moves anything. A layout is kept in
the process (`_laid_out`, keyed by the network's shape), so only a network that changed is laid out again.

networkx's force layout needs SciPy from 500 teams on, which the bot does not install: past `FORCE_LIMIT` teams
the teams sit on a circle (networkx's circular layout), in id order.

Names are placed by `place_labels`, in the order of importance given: beside the team's circle, on the side with
room, and left out (unless it must be written) where it would cover another name or team.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
import numpy as np

WIDTH, HEIGHT = 1000.0, 680.0  # the SVG's viewBox
MARGIN_X, MARGIN_Y = 70.0, 34.0  # room for the outer teams' circles and names
SEED = 7
ITERATIONS = 60
FORCE_LIMIT = 500
CHARACTER_WIDTH = 0.58  # an average character's width, as a share of the font size
BAND_COLUMNS = 6  # teams without a ripple: this many to a row, under the others
BAND_ROW = 30.0
BAND_SHARE = 0.3  # of the picture's height, at most

Point = tuple[float, float]


def positions(nodes: Iterable[int], pairs: Iterable[tuple[int, int]]) -> dict[int, Point]:
    """Each node's centre in the viewBox. `pairs` are the ripples (from, to); direction and order do not matter,
    and a pair repeated pulls its teams closer."""
    ordered = tuple(sorted(set(nodes)))
    known = set(ordered)
    counted = Counter((min(a, b), max(a, b)) for a, b in pairs if a != b and a in known and b in known)
    shape = tuple(sorted(counted.items()))
    return dict(zip(ordered, _laid_out(ordered, shape), strict=True))


@lru_cache(maxsize=32)
def _laid_out(nodes: tuple[int, ...], shape: tuple[tuple[tuple[int, int], int], ...]) -> tuple[Point, ...]:
    """The teams that ripples join, by networkx, above a band of rows for the teams that no ripple joins (left to
    the force layout, they would drift to the corners and squeeze the rest into a small part of the picture)."""
    joined = sorted({node for pair, _ in shape for node in pair})
    alone = [node for node in nodes if node not in set(joined)]
    rows = math.ceil(len(alone) / BAND_COLUMNS)
    band = min(HEIGHT * BAND_SHARE, rows * BAND_ROW) if joined else HEIGHT - 2 * MARGIN_Y
    where: dict[int, Point] = {}
    if joined:
        top = (MARGIN_X, MARGIN_Y, WIDTH - MARGIN_X, HEIGHT - MARGIN_Y - band)
        where.update(zip(joined, _force(joined, shape, top), strict=True))
    if alone:
        bottom = HEIGHT - MARGIN_Y
        where.update(zip(alone, _rows(len(alone), (MARGIN_X, bottom - band, WIDTH - MARGIN_X, bottom)), strict=True))
    return tuple(where[node] for node in nodes)


def _force(nodes: list[int], shape: tuple[tuple[tuple[int, int], int], ...], box: Box) -> list[Point]:
    if len(nodes) == 2:  # side by side, whatever angle the force layout would have found
        middle, quarter = (box[1] + box[3]) / 2, (box[2] - box[0]) / 4
        return [(box[0] + quarter, middle), (box[2] - quarter, middle)]
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from((a, b, 1.0 + math.log2(count)) for (a, b), count in shape)
    if len(nodes) < FORCE_LIMIT:
        laid = nx.spring_layout(graph, seed=SEED, iterations=ITERATIONS, k=1.4 / math.sqrt(len(nodes)))
    else:
        laid = nx.circular_layout(graph)
    raw = np.array([laid[node] for node in nodes], dtype=float)
    return [(float(x), float(y)) for x, y in _fit(raw, box)]


def _fit(raw: np.ndarray, box: Box) -> np.ndarray:
    """Stretch the layout to fill the box (a flat axis stays in the middle)."""
    low, high = raw.min(axis=0), raw.max(axis=0)
    span = np.where(high - low > 1e-9, high - low, 1.0)
    unit = np.where(high - low > 1e-9, (raw - low) / span, 0.5)
    size = np.array([box[2] - box[0], box[3] - box[1]])
    fitted: np.ndarray = np.round(unit * size + np.array([box[0], box[1]]), 1)
    return fitted


def _rows(count: int, box: Box) -> list[Point]:
    """`count` places in rows across the box, left to right and top to bottom, each row centred."""
    columns = min(count, BAND_COLUMNS) if box[3] - box[1] < HEIGHT / 2 else max(1, math.ceil(math.sqrt(count * 1.5)))
    rows = math.ceil(count / columns)
    step_x, step_y = (box[2] - box[0]) / columns, (box[3] - box[1]) / rows
    places = []
    for index in range(count):
        row, column = divmod(index, columns)
        in_row = min(columns, count - row * columns)
        left = box[0] + (box[2] - box[0] - in_row * step_x) / 2
        places.append((round(left + (column + 0.5) * step_x, 1), round(box[1] + (row + 0.5) * step_y, 1)))
    return places


def radii(degrees: dict[int, int]) -> dict[int, float]:
    """A team's circle: from 0.6 to 1.3 times a base size as its ripples go from none to the most any team has
    (by area, roughly), the base shrinking as teams get more numerous (12 at a few teams, 4.4 at 200)."""
    spacing = math.sqrt(WIDTH * HEIGHT / max(1, len(degrees)))
    base = min(11.0, max(3.5, 0.075 * spacing))
    most = max(degrees.values(), default=0) or 1
    return {node: round(base * (0.6 + 0.7 * math.sqrt(degree / most)), 1) for node, degree in degrees.items()}


@dataclass(frozen=True)
class Label:
    node: int
    text: str
    x: float
    y: float
    anchor: str  # start, end or middle: SVG's text-anchor


@dataclass(frozen=True)
class Wanted:
    """A name to write beside a team, in order of importance; `must` is written even over others."""

    node: int
    text: str
    must: bool = False


def place_labels(
    wanted: Sequence[Wanted], where: dict[int, Point], radius: dict[int, float], *, font: float
) -> list[Label]:
    """Names beside their teams: right, left, above or below the circle, the first side that stays in the picture
    and covers no name already placed and no other team's circle."""
    circles = np.array([[*where[n], radius[n]] for n in where], dtype=float).reshape(-1, 3)
    ids = list(where)
    boxes: list[tuple[float, float, float, float]] = []
    placed: list[Label] = []
    for item in wanted:
        if item.node not in where:
            continue
        x, y = where[item.node]
        width = CHARACTER_WIDTH * font * len(item.text)
        options = _sides(x, y, radius[item.node], width, font)
        chosen = None
        for label, box in options:
            if _inside(box) and not _covers(box, boxes) and not _covers_circles(box, circles, ids, item.node):
                chosen = (label, box)
                break
        if chosen is None and item.must:
            chosen = next(((label, box) for label, box in options if _inside(box)), options[0])
        if chosen is not None:
            (lx, ly, anchor), box = chosen
            placed.append(Label(item.node, item.text, round(lx, 1), round(ly, 1), anchor))
            boxes.append(box)
    return placed


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _sides(x: float, y: float, r: float, width: float, font: float) -> list[tuple[tuple[float, float, str], Box]]:
    gap, half = 3.0, font / 2
    baseline = y + font * 0.35
    right = ((x + r + gap, baseline, "start"), (x + r + gap, y - half, x + r + gap + width, y + half))
    left = ((x - r - gap, baseline, "end"), (x - r - gap - width, y - half, x - r - gap, y + half))
    above = ((x, y - r - gap - 2, "middle"), (x - width / 2, y - r - gap - font, x + width / 2, y - r - gap))
    below = ((x, y + r + gap + font * 0.8, "middle"), (x - width / 2, y + r + gap, x + width / 2, y + r + gap + font))
    # the side away from the middle first: names grow outwards, where there is room
    return [right, left, above, below] if x >= WIDTH / 2 else [left, right, above, below]


def _inside(box: Box) -> bool:
    return box[0] >= 0 and box[1] >= 0 and box[2] <= WIDTH and box[3] <= HEIGHT


def _covers(box: Box, boxes: list[Box]) -> bool:
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes)


def _covers_circles(box: Box, circles: np.ndarray, ids: list[int], own: int) -> bool:
    """Whether the box covers most of another team's circle (its middle half; a name may graze a circle's edge, its
    halo keeps both readable): one vectorised test over every team."""
    if not len(circles):
        return False
    near_x = np.clip(circles[:, 0], box[0], box[2])
    near_y = np.clip(circles[:, 1], box[1], box[3])
    hit = (circles[:, 0] - near_x) ** 2 + (circles[:, 1] - near_y) ** 2 < (circles[:, 2] / 2) ** 2
    hit[ids.index(own)] = False
    return bool(hit.any())
