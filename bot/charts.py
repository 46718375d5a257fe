"""Charts the bot posts as images: a team's key-result scores week by week across a cycle.

Drawn on a `matplotlib.figure.Figure` with the Agg canvas, never through pyplot: pyplot keeps global
state (the "current figure") that is not safe to share with the scheduler thread that renders charts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

WIDTH_PX, HEIGHT_PX, DPI = 800, 450, 100
LABEL_LIMIT = 40
TITLE_LIMIT = 60
GOOD_SCORE = 0.7  # an ambitious key result that lands about 0.7 did well

X_LABEL = "Week"
Y_LABEL = "Score"
GOOD_SCORE_LABEL = "0.7"
EMPTY_NOTE = "No check-ins yet"

# Ten colours and seven markers: no two of the first seventy lines look alike.
_COLOURS = tuple(f"tab:{name}" for name in ("blue", "orange", "green", "red", "purple", "brown", "pink", "gray",
                                             "olive", "cyan"))  # fmt: skip
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
        GOOD_SCORE_LABEL, xy=(1, GOOD_SCORE * 100), xycoords=("axes fraction", "data"), xytext=(2, 0),
        textcoords="offset points", va="center", fontsize=8, color="#5f9a62",
    )  # fmt: skip

    drawn, lines, labels = 0, [], []
    for one, colour, marker in zip(series, cycle(_COLOURS), cycle(_MARKERS), strict=False):
        points = sorted((week, min(1.0, max(0.0, score))) for week, score in one.points if 1 <= week <= weeks)
        drawn += len(points)
        (line,) = axes.plot(
            [week for week, _ in points], [score * 100 for _, score in points], color=colour, marker=marker,
            markersize=5, linewidth=1.6,
        )  # fmt: skip
        lines.append(line)
        # given explicitly: a label that is empty or starts with "_" would otherwise be left out
        labels.append(_clip(one.label, LABEL_LIMIT))
    if not drawn:
        axes.text(0.5, 0.5, EMPTY_NOTE, transform=axes.transAxes, ha="center", va="center", fontsize=12,
                  color="#808080")  # fmt: skip
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


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
