"""The key result chart of the dashboard: an accessible, deterministic inline SVG whose geometry is numbers only and
whose words are escaped, for every shape of data a key result can have."""

from __future__ import annotations

import math
import re

import pytest

from bot.dashboard.kr_chart import (
    LEVELS,
    SIZES,
    Chart,
    Point,
    describe,
    level,
    level_words,
    svg,
    tick_label,
    ticks,
    value_range,
)
from tests.unit.html_tree import Node, parse

GEOMETRY = {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "font-size", "fill-opacity"}
NUMBER = re.compile(r"-?\d+(\.\d+)?")
COLOURS = {name: colour for name, _words, _low, _high, colour in LEVELS}


def chart(points=(), *, baseline=20.0, target=35.0, direction="increase", metric="Activation", unit="%") -> Chart:
    return Chart(metric, unit, baseline, target, direction, tuple(Point(*p) for p in points))


def drawn(c: Chart, size: str = "small") -> Node:
    [root] = [n for n in parse(svg(c, size)).children if isinstance(n, Node)]
    assert root.tag == "svg"
    return root


def own(root: Node, tag: str) -> list[Node]:
    return root.select(tag)


def goal_lines(root: Node) -> list[Node]:
    return root.select("line", cls="goal")


def labels(root: Node) -> list[str]:
    return [t.text() for t in root.select("text")]


def test_it_is_an_image_that_says_in_words_what_it_shows():
    root = drawn(chart([(1, 22, 8), (2, 25, 5)]))

    assert root.attrs["role"] == "img"
    title = next(child for child in root.children if isinstance(child, Node) and child.tag == "title")
    assert (
        title.text()
        == root.attrs["aria-label"]
        == (
            "Activation (%) by week of the cycle. Start 20 %, target 35 %. "
            "2 check-ins, the latest in week 2: 25 %, confidence 5 of 10 (at risk)."
        )
    )
    assert [c.one("title").text() for c in own(root, "circle")] == [
        "Week 1: 22 %, confidence 8 of 10 (on track)",
        "Week 2: 25 %, confidence 5 of 10 (at risk)",
    ]


def test_geometry_is_numbers_only_and_words_are_escaped():
    hostile = '<script>alert("x")</script> & "quotes"'
    out = svg(chart([(1, 22, 8), (3, 30, 2)], metric=hostile, unit="<b>"), "large")
    root = drawn(chart([(1, 22, 8), (3, 30, 2)], metric=hostile, unit="<b>"), "large")

    assert "<script>" not in out and "<b>" not in out and "&lt;script&gt;" in out
    assert root.attrs["aria-label"].startswith(hostile)  # read back as the text it was, not as markup
    for node in root.elements():
        for name, value in node.attrs.items():
            if name in GEOMETRY:
                assert value is not None and NUMBER.fullmatch(value), (node.tag, name, value)
        if node.tag == "polyline":
            assert re.fullmatch(r"(-?\d+\.\d,-?\d+\.\d ?)+", node.attrs["points"] or "")


def test_the_same_check_ins_draw_the_same_bytes():
    first = svg(chart([(1, 22, 8), (2, 25, 5)]), "small")
    again = svg(chart([(2, 25, 5), (1, 22, 8)]), "small")  # given in another order
    assert first == again and str(first) == str(svg(chart([(1, 22, 8), (2, 25, 5)])))


def test_no_check_in_draws_the_frame_and_says_so():
    root = drawn(chart())

    assert "No check-in yet" in labels(root)
    assert not own(root, "circle") and not own(root, "polyline") and not root.select("rect", cls="band")
    assert len(goal_lines(root)) == 2
    assert describe(chart()).endswith("No check-in yet.")


def test_one_check_in_is_a_point_without_a_line():
    root = drawn(chart([(4, 24, 3)]))

    assert len(own(root, "circle")) == 1 and not own(root, "polyline")
    [band] = root.select("rect", cls="band")
    assert "off-track" in band.classes and band.attrs["fill"] == COLOURS["off-track"]
    assert "1 check-in, the latest in week 4" in describe(chart([(4, 24, 3)]))


def test_start_and_target_are_labelled_lines_and_a_decrease_has_its_target_below():
    root = drawn(chart([(1, 28, 6)], baseline=30, target=10, direction="decrease", unit="min"))

    start, target = goal_lines(root)
    assert float(target.attrs["y1"]) > float(start.attrs["y1"])  # lower on the picture: the smaller number
    assert "start 30 min" in labels(root) and "target 10 min" in labels(root)


def test_a_start_equal_to_the_target_is_one_line():
    root = drawn(chart([(1, 5, 9), (2, 6, 10)], baseline=5, target=5, direction="keep_above", unit=None))

    [line] = goal_lines(root)
    assert "start and keep above 5" in labels(root)
    ys = [float(c.attrs["cy"]) for c in own(root, "circle")]
    assert ys[1] < ys[0] < float(line.attrs["y1"]) + 0.01  # 6 above 5, and 5 on the line


def test_missing_start_or_target_draws_what_there_is():
    no_target = drawn(chart([(1, 3, 7)], target=None))
    assert [t for t in labels(no_target) if t.startswith(("start", "target"))] == ["start 20 %"]
    neither = drawn(chart([(1, 3, 7), (2, 3, 7)], baseline=None, target=None))
    assert not goal_lines(neither) and len(own(neither, "circle")) == 2
    flat = [float(c.attrs["cy"]) for c in own(neither, "circle")]
    assert flat[0] == flat[1] and 10 < flat[0] < 126  # a flat line inside the plot, not on its edge
    empty = drawn(chart(baseline=None, target=None))
    assert not goal_lines(empty) and "No check-in yet" in labels(empty)
    assert describe(chart(baseline=None, target=None, unit=None)) == "Activation by week of the cycle. No check-in yet."


@pytest.mark.parametrize("confidence", range(1, 11))
def test_confidence_is_a_band_up_to_its_height_in_its_level_colour(confidence):
    size = SIZES["large"]
    [band] = drawn(chart([(2, 25, confidence)]), "large").select("rect", cls="band")

    assert band.attrs["fill"] == COLOURS[level(confidence)]
    assert float(band.attrs["height"]) == pytest.approx(size.plot_height * confidence / 10, abs=0.1)
    assert float(band.attrs["y"]) + float(band.attrs["height"]) == pytest.approx(size.top + size.plot_height, abs=0.1)


def test_levels_and_their_words():
    assert [level(c) for c in (1, 3, 4, 6, 7, 10)] == [
        "off-track",
        "off-track",
        "at-risk",
        "at-risk",
        "on-track",
        "on-track",
    ]
    assert level(None) == "no-check-in" and level_words(None) == "no check-in yet" and level_words(4) == "at risk"


def test_the_weeks_run_one_to_thirteen_and_widen_for_a_check_in_outside_them():
    usual = drawn(chart([(1, 22, 8)]), "large")
    assert [t for t in labels(usual) if t.isdigit()][-13:] == [str(w) for w in range(1, 14)]
    late = drawn(chart([(1, 22, 8), (14, 30, 9)]), "large")
    assert "14" in labels(late)
    xs = [float(c.attrs["cx"]) for c in own(late, "circle")]
    size = SIZES["large"]
    assert size.left < xs[0] < xs[1] < size.left + size.plot_width


def test_small_and_large():
    small, large = drawn(chart([(1, 22, 8)]), "small"), drawn(chart([(1, 22, 8)]), "large")
    assert small.attrs["viewbox"] == "0 0 360 150" and large.attrs["viewbox"] == "0 0 760 340"  # as HTML reads it
    assert "kr-chart-small" in small.classes and "kr-chart-large" in large.classes
    assert "Confidence:" in labels(large) and "Confidence:" not in labels(small)
    assert "confidence" in labels(small)  # the right-hand axis says what it measures


def test_a_value_that_is_not_a_number_is_left_out_of_the_drawing():
    out = str(svg(chart([(1, math.nan, 5), (2, 25, 5)])))
    assert "nan" not in out.lower().replace("nanoseconds", "")
    assert len(drawn(chart([(1, math.nan, 5), (2, 25, 5)])).select("circle")) == 1


def test_ticks_are_round_numbers_within_the_range():
    assert ticks(19, 36) == [20.0, 25.0, 30.0, 35.0]
    assert ticks(-0.1, 0.3) == [-0.1, 0.0, 0.1, 0.2, 0.3]
    assert ticks(5, 5) == [] and ticks(0, math.inf) == []
    assert value_range([7.0]) == pytest.approx((6.3, 7.7)) and value_range([0.0]) == (-1.0, 1.0)
    assert [tick_label(v) for v in (1500, 25_000, 1_500_000, -2e9, 0.25)] == ["1,500", "25k", "1.5M", "-2B", "0.25"]
