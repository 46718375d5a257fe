"""A confidence trend as a small inline SVG: one point a check-in, oldest first, coloured by its level.

The markup is built from numbers only (each value is made an int and held to the 1–10 scale); the one piece of
text, the label a screen reader reads, is escaped. The same values always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from bot.rituals.checkins import confidence_label
from bot.text import plural

POINTS = 13  # a cycle's weeks: the latest ones are kept
STEP = 8  # pixels between two weeks
PAD = 4
WIDTH = PAD * 2 + STEP * (POINTS - 1)
HEIGHT = 26
LOW, HIGH = 1, 10
# the levels' colours: those of the page's status text (4.5:1 on white)
COLOURS = {"off track": "#c6253f", "at risk": "#9a6700", "on track": "#1a7f37"}
LINE = "#8c8c8c"
GUIDE = "#d9d9d9"
ON_TRACK_FROM = 7  # the dashed guide: at and above it is on track


def sparkline(confidences: Sequence[int], *, what: str = "confidence") -> Markup:
    """`<svg role="img" aria-label="confidence 8, 7, 5 over 3 weeks">…`; empty markup for no value at all."""
    values = [min(HIGH, max(LOW, int(v))) for v in confidences][-POINTS:]
    if not values:
        return Markup("")
    label = escape(f"{what} {', '.join(str(v) for v in values)} over {plural(len(values), 'week')}")
    xs = range(PAD, PAD + STEP * len(values), STEP)
    parts = [
        f'<svg class="sparkline" role="img" aria-label="{label}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" focusable="false">',
        f'<line x1="0" y1="{_Y[ON_TRACK_FROM]}" x2="{WIDTH}" y2="{_Y[ON_TRACK_FROM]}" stroke="{GUIDE}" '
        'stroke-dasharray="2 2"></line>',
    ]
    if len(values) > 1:
        drawn = " ".join(f"{x},{_Y[v]}" for x, v in zip(xs, values, strict=False))
        parts.append(f'<polyline points="{drawn}" fill="none" stroke="{LINE}" stroke-width="1.5"></polyline>')
    last = len(values) - 1  # the latest point stands out
    parts.extend(
        f'<circle cx="{x}" cy="{_Y[v]}" r="{3 if i == last else 2}" fill="{_FILL[v]}"></circle>'
        for i, (x, v) in enumerate(zip(xs, values, strict=False))
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _y(value: int) -> str:
    """The height of a confidence: 10 at the top, 1 at the bottom, with the padding kept free for the dots."""
    y = PAD + (HIGH - value) * (HEIGHT - 2 * PAD) / (HIGH - LOW)
    return f"{y:g}"


_Y = {v: _y(v) for v in range(LOW, HIGH + 1)}
_FILL = {v: COLOURS[confidence_label(v)] for v in range(LOW, HIGH + 1)}
