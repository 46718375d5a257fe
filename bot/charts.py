"""Charts the bot posts as images: a team's key-result scores week by week across a cycle, and the digest's
picture of the ripple network (laid out by networkx).

Drawn on a `matplotlib.figure.Figure` with the Agg canvas, never through pyplot: pyplot keeps global
state (the "current figure") that is not safe to share with the scheduler thread that renders charts.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import cycle

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter
from numpy.typing import NDArray

WIDTH_PX, HEIGHT_PX, DPI = 800, 450, 100
LABEL_LIMIT = 40
TITLE_LIMIT = 60
GOOD_SCORE = 0.7  # an ambitious key result that lands about 0.7 did well

X_LABEL = "Week"
Y_LABEL = "Score"
GOOD_SCORE_LABEL = "0.7"
EMPTY_NOTE = "No check-ins yet"

# Ten colours and seven markers: no two of the first seventy lines look alike.
_COLOURS = tuple(
    f"tab:{name}" for name in ("blue", "orange", "green", "red", "purple", "brown", "pink", "gray", "olive", "cyan")
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


@dataclass(frozen=True)
class ChartSeries:
    label: str  # e.g. "KR 1.2 Weekly active teams"; clipped to LABEL_LIMIT in the legend
    points: Sequence[tuple[int, float]]  # (week number 1…weeks, score 0.0–1.0)


def progress_chart(series: Sequence[ChartSeries], *, weeks: int = 13, title: str) -> bytes:
    """A PNG of about 800×450 px: one line per key result, score in % of the way from baseline to target."""
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # a figure title, above the legend too: a long team name never runs into it
    figure.suptitle(_clip(title, TITLE_LIMIT), x=0.01, ha="left", fontsize=11, parse_math=False)
    _score_axes(axes, weeks)
    lines, labels, drawn = _plot_series(axes, series, weeks)
    if not drawn:
        axes.text(
            0.5, 0.5, EMPTY_NOTE, transform=axes.transAxes, ha="center", va="center", fontsize=12, color="#808080"
        )
    if series:
        # one column: 25 key results (5 objectives of 5) still fit beside the plot in a smaller font
        legend = figure.legend(
            lines, labels, loc="outside right upper", fontsize=8 if len(series) <= 15 else 7, frameon=False
        )
        for text in legend.get_texts():
            text.set_parse_math(False)  # a `$` in a metric is a dollar, not the start of a formula

    buffer = io.BytesIO()
    # no version or date in the file: the same chart gives the same bytes
    canvas.print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def _score_axes(axes: Axes, weeks: int) -> None:
    """Weeks 1…`weeks` across, 0–100 % up, and the dashed line of a good score."""
    axes.set_xlim(0.5, weeks + 0.5)
    axes.set_xticks(range(1, weeks + 1))
    axes.set_xlabel(X_LABEL)
    axes.set_ylim(-4, 104)
    axes.set_yticks([0, 25, 50, 75, 100])
    axes.yaxis.set_major_formatter(PercentFormatter(100))
    axes.set_ylabel(Y_LABEL)
    axes.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.axhline(GOOD_SCORE * 100, color="#9bc59d", linestyle="--", linewidth=1, zorder=1)
    axes.annotate(
        GOOD_SCORE_LABEL,
        xy=(1, GOOD_SCORE * 100),
        xycoords=("axes fraction", "data"),
        xytext=(2, 0),
        textcoords="offset points",
        va="center",
        fontsize=8,
        color="#5f9a62",
    )


def _plot_series(axes: Axes, series: Sequence[ChartSeries], weeks: int) -> tuple[list[Line2D], list[str], int]:
    """One line per key result (its points within the weeks, scores held to 0–1); the lines, their legend labels,
    and how many points were drawn."""
    drawn, lines, labels = 0, [], []
    for one, colour, marker in zip(series, cycle(_COLOURS), cycle(_MARKERS), strict=False):
        points = sorted((week, min(1.0, max(0.0, score))) for week, score in one.points if 1 <= week <= weeks)
        drawn += len(points)
        (line,) = axes.plot(
            [week for week, _ in points],
            [score * 100 for _, score in points],
            color=colour,
            marker=marker,
            markersize=5,
            linewidth=1.6,
        )
        lines.append(line)
        # given explicitly: a label that is empty or starts with "_" would otherwise be left out
        labels.append(_clip(one.label, LABEL_LIMIT))
    return lines, labels, drawn


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class NetworkEdge:
    from_team: str
    to_team: str
    depends: bool  # drawn dashed; "affects" is solid
    at_risk: bool  # a key result at either end is at risk or was dropped: drawn red


NETWORK_PX = 900
RISK_COLOUR, EDGE_COLOUR, DEPENDS_COLOUR, NODE_COLOUR = "tab:red", "#7a7a7a", "tab:blue", "#cfe3f7"
# past this many ripples, one curved arrow each would take tens of seconds to draw: straight arrows in one
# collection instead, "depends on" told apart by colour rather than dashes
MANY_EDGES = 150


def network_chart(edges: Sequence[NetworkEdge], *, title: str) -> bytes:
    """A PNG of the teams (nodes) and their declared ripples (arrows from the declaring team), laid out by
    networkx with a fixed seed, so the same network gives the same picture."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for edge in edges:
        graph.add_edge(_clip(edge.from_team, 24), _clip(edge.to_team, 24), edge=edge)
    size = NETWORK_PX / DPI
    figure = Figure(figsize=(size, size), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_axis_off()
    figure.suptitle(_clip(title, TITLE_LIMIT), x=0.01, ha="left", fontsize=11, parse_math=False)
    if not graph:
        axes.text(0.5, 0.5, "No ripples declared", ha="center", va="center", fontsize=12, color="#808080")
    else:
        positions = nx.spring_layout(graph, seed=7, k=1.6 / max(1, len(graph)) ** 0.5)
        small = len(graph) > 40
        node_size = 120 if small else 900
        nx.draw_networkx_nodes(graph, positions, ax=axes, node_color=NODE_COLOUR, node_size=node_size)
        if graph.number_of_edges() <= MANY_EDGES:
            _draw_arrows(axes, graph, positions, node_size=node_size, arrowsize=8 if small else 14)
        else:
            _draw_many_arrows(axes, graph, positions)
        labels = nx.draw_networkx_labels(graph, positions, ax=axes, font_size=6 if small else 8)
        for text in labels.values():
            text.set_parse_math(False)
        many = graph.number_of_edges() > MANY_EDGES
        axes.legend(
            handles=[
                Line2D([], [], color=EDGE_COLOUR, label="affects"),
                Line2D(
                    [],
                    [],
                    color=DEPENDS_COLOUR if many else EDGE_COLOUR,
                    linestyle="-" if many else "--",
                    label="depends on",
                ),
                Line2D([], [], color=RISK_COLOUR, linewidth=1.8, label="at risk or dropped"),
            ],
            loc="lower left",
            fontsize=8,
            frameon=False,
        )
    buffer = io.BytesIO()
    canvas.print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


# where networkx laid out each team
Positions = Mapping[str, NDArray[np.float64]]


def _ripples(graph: nx.MultiDiGraph[str]) -> Iterable[tuple[str, str, NetworkEdge]]:
    """Each arrow: the declaring team, the team the ripple touches, and the ripple (kept on the edge as `edge`)."""
    return graph.edges(data="edge")


def _draw_arrows(
    axes: Axes, graph: nx.MultiDiGraph[str], positions: Positions, *, node_size: int, arrowsize: int
) -> None:
    """One curved arrow per ripple: dashed for "depends on", red when at risk."""
    for risky in (False, True):
        for depends in (False, True):
            chosen = [(u, v) for u, v, d in _ripples(graph) if (d.at_risk, d.depends) == (risky, depends)]
            nx.draw_networkx_edges(
                graph,
                positions,
                edgelist=chosen,
                ax=axes,
                arrows=True,
                arrowsize=arrowsize,
                edge_color=RISK_COLOUR if risky else EDGE_COLOUR,
                style="dashed" if depends else "solid",
                width=1.8 if risky else 1.0,
                node_size=node_size,
                connectionstyle="arc3,rad=0.08",
            )


def _draw_many_arrows(axes: Axes, graph: nx.MultiDiGraph[str], positions: Positions) -> None:
    """Every ripple as a straight arrow, all drawn as one collection per colour (at networkx's positions)."""
    for colour, wanted in (
        (EDGE_COLOUR, lambda d: not d.at_risk and not d.depends),
        (DEPENDS_COLOUR, lambda d: not d.at_risk and d.depends),
        (RISK_COLOUR, lambda d: d.at_risk),
    ):
        pairs = [(positions[u], positions[v]) for u, v, d in _ripples(graph) if wanted(d)]
        if not pairs:
            continue
        starts = [a for a, _ in pairs]
        shifts = [(b[0] - a[0], b[1] - a[1]) for a, b in pairs]
        axes.quiver(
            [x for x, _ in starts],
            [y for _, y in starts],
            [dx * 0.92 for dx, _ in shifts],
            [dy * 0.92 for _, dy in shifts],
            angles="xy",
            scale_units="xy",
            scale=1,
            color=colour,
            width=0.0012 if colour != RISK_COLOUR else 0.002,
            headwidth=5,
            headlength=6,
            alpha=0.6,
            zorder=1,
        )
