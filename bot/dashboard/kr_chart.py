"""A key result's check-ins as an inline SVG chart: the value week by week against its start and target, with the
owner's confidence as a shaded band behind it.

The chart is one picture of data the page also gives as a table, so it says in words what it shows
(`role="img"`, a `<title>` and an `aria-label`). It is deterministic: the same check-ins draw the same bytes.
Only numbers the code computed go into the geometry; every word (a metric, a unit) is escaped. Every element is
closed by its end tag (no `<rect/>`), which HTML and XML read alike.

- x: the weeks of the cycle, 1 to 13 (wider when a check-in falls outside them), one column per week;
- y on the left: the key result's value; its start and target are labelled horizontal lines;
- y on the right: confidence, 0 to 10; each check-in's week is shaded up to its confidence, in the colour of
  its level (1–3 off track, 4–6 at risk, 7–10 on track).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.numbers import format_number

WEEKS = 13
LEVELS = (  # css class, words, lowest and highest confidence, colour (the dashboard's own, 4.5:1 on white)
    ("on-track", "on track", 7, 10, "#1a7f37"),
    ("at-risk", "at risk", 4, 6, "#9a6700"),
    ("off-track", "off track", 1, 3, "#c6253f"),
)
INK, MUTED, LINE, TARGET, START = "#1d1c1d", "#595859", "#d9d9d9", "#0b5394", "#595859"
GOAL_WORDS = {"increase": "target", "decrease": "target", "keep_above": "keep above", "keep_below": "keep below"}


def level(confidence: int | None) -> str:
    """The css class of a confidence: `on-track`, `at-risk`, `off-track`, or `no-check-in` for None."""
    if confidence is None:
        return "no-check-in"
    return next(name for name, _words, lowest, _highest, _colour in LEVELS if confidence >= lowest)


def level_words(confidence: int | None) -> str:
    if confidence is None:
        return "no check-in yet"
    return next(words for _name, words, lowest, _highest, _colour in LEVELS if confidence >= lowest)


def _colour(confidence: int) -> str:
    return next(colour for _name, _words, lowest, _highest, colour in LEVELS if confidence >= lowest)


@dataclass(frozen=True)
class Point:
    week: int  # the week of the cycle the check-in is for: 1–13
    value: float
    confidence: int  # 1–10


@dataclass(frozen=True)
class Chart:
    """What the chart shows of one key result."""

    metric: str
    unit: str | None
    baseline: float | None
    target: float | None
    direction: str  # a Direction value: increase, decrease, keep_above, keep_below
    points: tuple[Point, ...]  # by week

    @property
    def shown(self) -> tuple[Point, ...]:
        """The points that can be drawn, by week (a value that is not a finite number is left to the table)."""
        return tuple(sorted((p for p in self.points if math.isfinite(p.value)), key=lambda p: p.week))


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    font: int
    radius: float
    legend: bool

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


SIZES = {
    "small": Size(width=360, height=150, left=48, right=34, top=10, bottom=24, font=10, radius=3, legend=False),
    "large": Size(width=760, height=340, left=72, right=64, top=16, bottom=62, font=13, radius=4.5, legend=True),
}


def _n(value: float) -> str:
    """A coordinate: one decimal, never `-0.0`."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _amount(value: float, unit: str | None) -> str:
    return format_number(value) + (f" {unit}" if unit else "")


def describe(chart: Chart) -> str:
    """The chart in words, for its `<title>` and `aria-label` (plain text: the caller escapes it)."""
    goal = GOAL_WORDS.get(chart.direction, "target")
    parts = [f"{chart.metric}{f' ({chart.unit})' if chart.unit else ''} by week of the cycle"]
    ends = []
    if chart.baseline is not None:
        ends.append(f"start {_amount(chart.baseline, chart.unit)}")
    if chart.target is not None:
        ends.append(f"{goal} {_amount(chart.target, chart.unit)}")
    if ends:
        parts.append(", ".join(ends))
    points = chart.points
    if not points:
        parts.append("no check-in yet")
    else:
        last = max(points, key=lambda p: p.week)
        count = "1 check-in" if len(points) == 1 else f"{len(points)} check-ins"
        parts.append(
            f"{count}, the latest in week {last.week}: {_amount(last.value, chart.unit)}, "
            f"confidence {last.confidence} of 10 ({level_words(last.confidence)})"
        )
    return ". ".join(part[:1].upper() + part[1:] for part in parts) + "."


@dataclass(frozen=True)
class _Frame:
    """Where things go: the week columns, and the value and confidence scales."""

    size: Size
    first_week: int
    last_week: int
    low: float
    high: float

    @property
    def column(self) -> float:
        return self.size.plot_width / (self.last_week - self.first_week + 1)

    def x(self, week: int) -> float:
        return self.size.left + (week - self.first_week + 0.5) * self.column

    def column_left(self, week: int) -> float:
        return self.size.left + (week - self.first_week) * self.column

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.size.top + (1 - share) * self.size.plot_height

    def y_confidence(self, confidence: float) -> float:
        return self.size.top + (1 - confidence / 10) * self.size.plot_height

    @property
    def bottom(self) -> float:
        return self.size.top + self.size.plot_height


def value_range(values: Sequence[float]) -> tuple[float, float]:
    """The value axis: every value with some room above and below; a single value gets room of its own."""
    low, high = min(values), max(values)
    if high == low:
        room = abs(low) * 0.1 or 1.0
        return low - room, high + room
    room = (high - low) * 0.08
    return low - room, high + room


def ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About `count` round values between `low` and `high` (1, 2 or 5 times a power of ten apart)."""
    raw = (high - low) / count
    if not (math.isfinite(raw) and raw > 0):
        return []
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)  # 0.3 / 0.1 is 2.999…
    found = []
    for index in range(first, last + 1):
        found.append(float(f"{index * step:.12g}") + 0.0)  # 0.30000000000000004 is 0.3; -0.0 is 0.0
    return found


def tick_label(value: float) -> str:
    """A tick's number, short enough for the axis: 1,500, 25k, 1.5M, 2B."""
    for threshold, unit, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= threshold:
            return format_number(round(value / unit, 2)) + suffix
    return format_number(value)


def _frame(chart: Chart, size: Size) -> _Frame:
    points = chart.shown
    weeks = [p.week for p in points]
    values = [p.value for p in points] + [v for v in (chart.baseline, chart.target) if v is not None]
    low, high = value_range(values) if values else (0.0, 1.0)
    return _Frame(size, min([1, *weeks]), max([WEEKS, *weeks]), low, high)


def svg(chart: Chart, size: str = "small") -> Markup:
    """The chart as an `<svg>` element, `small` (the team page) or `large` (the key result's page)."""
    shape = SIZES[size]
    frame = _frame(chart, shape)
    words = escape(describe(chart))
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="kr-chart kr-chart-{size}" viewBox="0 0 {w} {h}" '
            'width="{w}" height="{h}" role="img" aria-label="{words}" font-size="{font}" '
            'font-family="-apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif">'
        ).format(size=size, w=shape.width, h=shape.height, words=words, font=shape.font),
        Markup("<title>{}</title>").format(words),
        *_bands(chart, frame),
        *_axes(chart, frame),
        *_goals(chart, frame),
        *_values(chart, frame),
    ]
    if shape.legend:
        parts.extend(_legend(frame))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _bands(chart: Chart, frame: _Frame) -> list[Markup]:
    """Each checked week shaded from the bottom up to its confidence, in the colour of its level."""
    found = []
    for p in chart.shown:
        confidence = min(10, max(0, p.confidence))
        top = frame.y_confidence(confidence)
        found.append(
            Markup(
                '<rect class="band {cls}" x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" '
                'fill-opacity="0.16"></rect>'
            ).format(
                cls=level(p.confidence),
                x=_n(frame.column_left(p.week) + 0.5),
                y=_n(top),
                w=_n(frame.column - 1),
                h=_n(frame.bottom - top),
                fill=_colour(max(1, confidence)),
            )
        )
    return found


def _text(x: float, y: float, words: str, *, anchor: str = "start", fill: str = MUTED, extra: str = "") -> Markup:
    return Markup('<text x="{x}" y="{y}" text-anchor="{anchor}" fill="{fill}"{extra}>{words}</text>').format(
        x=_n(x), y=_n(y), anchor=anchor, fill=fill, extra=Markup(extra), words=words
    )


def _axes(chart: Chart, frame: _Frame) -> list[Markup]:
    """The plot's frame, the value ticks on the left, confidence on the right, and the weeks below."""
    s = frame.size
    right = s.left + s.plot_width
    found = [
        Markup('<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="{line}"></rect>').format(
            x=s.left, y=s.top, w=s.plot_width, h=s.plot_height, line=LINE
        )
    ]
    for value in ticks(frame.low, frame.high, 4 if s.legend else 3):
        y = frame.y(value)
        found.append(
            Markup('<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{line}" stroke-width="0.5"></line>').format(
                a=s.left, b=right, y=_n(y), line=LINE
            )
        )
        found.append(_text(s.left - 4, y + s.font / 3, tick_label(value), anchor="end"))
    for confidence in (1, 4, 7, 10):
        found.append(_text(right + 4, frame.y_confidence(confidence) + s.font / 3, str(confidence)))
    x, y = s.width - s.font / 2 - 2, s.top + s.plot_height / 2
    found.append(_text(x, y, "confidence", anchor="middle", extra=f' transform="rotate(90 {_n(x)} {_n(y)})"'))
    every = 1 if s.legend else 3
    for week in range(frame.first_week, frame.last_week + 1):
        if (week - frame.first_week) % every == 0 or week == frame.last_week:
            found.append(_text(frame.x(week), frame.bottom + s.font + 3, str(week), anchor="middle"))
    found.append(_text(s.left - 4, frame.bottom + s.font + 3, "week", anchor="end"))
    return found


def _goals(chart: Chart, frame: _Frame) -> list[Markup]:
    """The start and the target as labelled horizontal lines; one line when they are the same number."""
    s = frame.size
    goal = GOAL_WORDS.get(chart.direction, "target")
    lines: list[tuple[float, str, str, str]] = []  # value, words, colour, dash
    if chart.baseline is not None and chart.target is not None and chart.baseline == chart.target:
        lines.append((chart.target, f"start and {goal} {_amount(chart.target, chart.unit)}", TARGET, "6 3"))
    else:
        if chart.baseline is not None:
            lines.append((chart.baseline, f"start {_amount(chart.baseline, chart.unit)}", START, "2 3"))
        if chart.target is not None:
            lines.append((chart.target, f"{goal} {_amount(chart.target, chart.unit)}", TARGET, "6 3"))
    close = len(lines) == 2 and abs(frame.y(lines[0][0]) - frame.y(lines[1][0])) < s.font + 4
    lowest = min((value for value, *_ in lines), default=None)
    found = []
    for value, words, colour, dash in lines:
        y = frame.y(value)
        found.append(
            Markup(
                '<line class="goal" x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{c}" stroke-width="1.5" '
                'stroke-dasharray="{dash}"></line>'
            ).format(a=s.left, b=s.left + s.plot_width, y=_n(y), c=colour, dash=dash)
        )
        below = (close and value == lowest) or y - s.font - 2 < s.top  # no room above: write it under the line
        halo = ' paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"'  # readable over a line
        found.append(_text(s.left + 4, y + s.font + 1 if below else y - 3, words, fill=colour, extra=halo))
    return found


def _values(chart: Chart, frame: _Frame) -> list[Markup]:
    """The value line through the check-ins, a point on each; "No check-in yet" when there is none."""
    s = frame.size
    points = chart.shown
    if not points:
        return [_text(s.left + s.plot_width / 2, s.top + s.plot_height / 2, "No check-in yet", anchor="middle")]
    found = []
    if len(points) > 1:
        path = " ".join(f"{_n(frame.x(p.week))},{_n(frame.y(p.value))}" for p in points)
        found.append(
            Markup(
                '<polyline class="values" points="{p}" fill="none" stroke="{c}" stroke-width="2"></polyline>'
            ).format(p=path, c=INK)
        )
    for p in points:
        found.append(
            Markup('<circle class="value" cx="{x}" cy="{y}" r="{r}" fill="{c}"><title>{words}</title></circle>').format(
                x=_n(frame.x(p.week)),
                y=_n(frame.y(p.value)),
                r=s.radius,
                c=INK,
                words=f"Week {p.week}: {_amount(p.value, chart.unit)}, confidence {p.confidence} of 10 "
                f"({level_words(p.confidence)})",
            )
        )
    return found


def _legend(frame: _Frame) -> list[Markup]:
    """Under the weeks: what the shading means."""
    s = frame.size
    y = s.height - 10
    found = [_text(s.left, y, "Confidence:", fill=INK)]
    x = s.left + 7.5 * s.font
    for _name, words, lowest, highest, colour in LEVELS:
        found.append(
            Markup('<rect x="{x}" y="{y}" width="{w}" height="{w}" fill="{c}" fill-opacity="0.35"></rect>').format(
                x=_n(x), y=_n(y - s.font + 2), w=s.font, c=colour
            )
        )
        found.append(_text(x + s.font + 4, y, f"{words} ({lowest}–{highest})", fill=INK))
        x += 11 * s.font
    return found
