"""The confidence trend's little SVG: what a screen reader hears, the colours of the levels, numbers only."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from bot.dashboard.sparklines import sparkline
from bot.dashboard.templating import environment
from tests.unit.html_tree import Node, parse

RED, AMBER, GREEN = "#c6253f", "#9a6700", "#1a7f37"


def _svg(markup: Markup) -> Node:
    [svg] = parse(markup).select("svg")
    return svg


def test_a_trend_is_an_image_named_in_words():
    svg = _svg(sparkline([8, 7, 5]))

    assert svg.attrs["role"] == "img"
    assert svg.attrs["aria-label"] == "confidence 8, 7, 5 over 3 weeks"
    assert [c.attrs["r"] for c in svg.select("circle")] == ["2", "2", "3"]  # the latest stands out
    assert len(svg.select("polyline")) == 1


def test_one_check_in_is_one_dot_and_none_is_nothing():
    svg = _svg(sparkline([9]))

    assert svg.attrs["aria-label"] == "confidence 9 over 1 week"
    assert len(svg.select("circle")) == 1 and not svg.select("polyline")
    assert sparkline([]) == Markup("")


def test_each_point_has_its_level_colour_and_higher_is_higher():
    svg = _svg(sparkline([1, 3, 4, 6, 7, 10]))

    circles = svg.select("circle")
    assert [c.attrs["fill"] for c in circles] == [RED, RED, AMBER, AMBER, GREEN, GREEN]
    heights = [float(c.attrs["cy"] or 0) for c in circles]
    assert heights == sorted(heights, reverse=True) and len(set(heights)) == 6  # y grows downwards
    xs = [int(c.attrs["cx"] or 0) for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == 6


def test_values_are_held_to_the_scale_and_the_last_thirteen_weeks():
    svg = _svg(sparkline([0, -5, 11, 100, *range(1, 11), 7.9]))

    assert svg.attrs["aria-label"] == "confidence 10, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 7 over 13 weeks"
    assert len(svg.select("circle")) == 13
    assert _svg(sparkline([0])).attrs["aria-label"] == "confidence 1 over 1 week"


@pytest.mark.parametrize("value", ["<script>", "7 onload=x", None, float("nan")])
def test_anything_but_a_number_is_refused(value):
    with pytest.raises((TypeError, ValueError)):
        sparkline([5, value])


def test_the_label_words_are_escaped():
    markup = sparkline([4, 5], what='<b onclick="x">trend</b> & co')

    svg = _svg(markup)
    assert svg.attrs["aria-label"] == '<b onclick="x">trend</b> & co 4, 5 over 2 weeks'
    assert not parse(markup).select("b") and 'onclick="x"' not in markup


def test_the_same_values_give_the_same_bytes():
    assert (
        sparkline((8, 7, 5))
        == sparkline([8, 7, 5])
        == (
            '<svg class="sparkline" role="img" aria-label="confidence 8, 7, 5 over 3 weeks" width="104" height="26" '
            'viewBox="0 0 104 26" focusable="false">'
            '<line x1="0" y1="10" x2="104" y2="10" stroke="#d9d9d9" stroke-dasharray="2 2"></line>'
            '<polyline points="4,8 12,10 20,14" fill="none" stroke="#8c8c8c" stroke-width="1.5"></polyline>'
            f'<circle cx="4" cy="8" r="2" fill="{GREEN}"></circle>'
            f'<circle cx="12" cy="10" r="2" fill="{GREEN}"></circle>'
            f'<circle cx="20" cy="14" r="3" fill="{AMBER}"></circle>'
            "</svg>"
        )
    )


def test_an_autoescaped_template_keeps_the_markup():
    html = environment().from_string("<td>{{ trend }}</td>").render(trend=sparkline([6, 7]))

    assert parse(html).one("td").one("svg").attrs["aria-label"] == "confidence 6, 7 over 2 weeks"
