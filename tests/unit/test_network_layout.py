"""The ripple network's picture: the same network always gives the same layout and the same markup, whatever order
its rows come in; names are placed without covering each other; every word is escaped; and 200 teams with 2,000
ripples are laid out and drawn well within a second."""

from __future__ import annotations

import random
import time

import pytest

from bot.dashboard import network_layout as layout
from bot.dashboard import network_svg
from bot.dashboard.network_svg import Dot, Tension, View, Wave
from tests.unit.html_tree import parse


def _network(teams: int, ripples: int, seed: int = 5) -> tuple[list[int], list[tuple[int, int]]]:
    """Teams in tens that mostly ripple among themselves, as departments do, and a few across."""
    rnd = random.Random(seed)
    pairs = []
    for _ in range(ripples):
        a = rnd.randrange(teams)
        b = (a // 10 * 10 + rnd.randrange(10)) if rnd.random() < 0.7 else rnd.randrange(teams)
        pairs.append((a, b if b != a and b < teams else (a + 1) % teams))
    return list(range(teams)), pairs


def _view(teams: int, ripples: int, **focus: int) -> View:
    nodes, pairs = _network(teams, ripples)
    out = {n: sum(1 for a, _ in pairs if a == n) for n in nodes}
    into = {n: sum(1 for _, b in pairs if b == n) for n in nodes}
    return View(
        dots=[Dot(n, f"Team {n:03d}", out[n], into[n], n % 17 == 0) for n in nodes],
        waves=[
            Wave(i + 1, a, b, i % 3 == 0, i % 11 == 0, i % 29 == 0, f"R{i + 1} · Team {a:03d} affects Team {b:03d}")
            for i, (a, b) in enumerate(pairs)
        ],
        tensions=[Tension(0, 17, "Conflict on Reach")],
        shape=pairs,
        **focus,
    )


def _link(*, team: int | None = None, ripple: int | None = None) -> str:
    return f"/dashboard/network?team={team}" if team is not None else f"/dashboard/network?ripple={ripple}"


def test_the_same_network_gives_the_same_positions_whatever_the_order_of_its_rows():
    nodes, pairs = _network(60, 300)
    layout._laid_out.cache_clear()
    first = layout.positions(nodes, pairs)
    layout._laid_out.cache_clear()
    shuffled_nodes, shuffled_pairs = nodes[::-1], [(b, a) for a, b in reversed(pairs)]
    again = layout.positions(shuffled_nodes, shuffled_pairs)

    assert first == again
    assert all(
        layout.MARGIN_X <= x <= layout.WIDTH - layout.MARGIN_X
        and layout.MARGIN_Y <= y <= layout.HEIGHT - layout.MARGIN_Y
        for x, y in first.values()
    )
    assert len({(round(x), round(y)) for x, y in first.values()}) > 55  # spread out, not piled up
    assert layout.positions(nodes, pairs[:-40]) != first  # another network, another picture


def test_small_and_very_large_networks_are_laid_out_too():
    assert layout.positions([], []) == {}
    assert layout.positions([7], []) == {7: (layout.WIDTH / 2, layout.HEIGHT / 2)}
    assert set(layout.positions([1, 2], [(1, 2)])) == {1, 2}
    count = layout.FORCE_LIMIT + 20
    many = layout.positions(range(count), [(n, n + 1) for n in range(count - 1)])  # force layout would need SciPy
    assert len(set(many.values())) == count
    alone = layout.positions(range(12), [(0, 1), (1, 2)])  # teams without a ripple: in rows under the others
    assert all(alone[n][1] > max(alone[j][1] for j in (0, 1, 2)) for n in range(3, 12))
    assert len({alone[n] for n in range(3, 12)}) == 9


def test_a_team_with_more_ripples_gets_a_bigger_circle_and_many_teams_smaller_ones():
    few = layout.radii({1: 0, 2: 3, 3: 12})
    assert few[1] < few[2] < few[3]
    many = layout.radii({n: 3 for n in range(200)})
    assert max(many.values()) < min(few.values()) * 1.5


def test_names_never_cover_each_other_and_those_that_must_be_written_are():
    nodes, pairs = _network(200, 2000)
    where = layout.positions(nodes, pairs)
    radius = layout.radii(dict.fromkeys(nodes, 5))
    wanted = [layout.Wanted(3, "A focused team with a long name", must=True)]
    wanted += [layout.Wanted(n, f"Team {n:03d}") for n in nodes]
    labels = layout.place_labels(wanted, where, radius, font=11)

    assert labels[0].node == 3 and 20 < len(labels) < 200
    boxes = []
    for label in labels:
        width = layout.CHARACTER_WIDTH * 11 * len(label.text)
        left = {"start": label.x, "end": label.x - width, "middle": label.x - width / 2}[label.anchor]
        boxes.append((left, label.y - 9, left + width, label.y + 2))
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[2] <= layout.WIDTH
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5)


def test_the_picture_is_the_same_markup_every_time_and_escapes_every_word():
    hostile = '<script>alert("x")</script> & Co'
    view = View(
        dots=[Dot(1, hostile, 1, 0, False), Dot(2, "Comets", 0, 1, True)],
        waves=[Wave(4, 1, 2, True, True, False, f"R4 · {hostile} depends on Comets · open")],
        tensions=[Tension(1, 2, f"Conflict on <b>Reach</b>: {hostile} wants it up")],
        shape=[(1, 2)],
    )
    markup = network_svg.draw(view, _link)

    assert markup == network_svg.draw(view, _link)
    assert "<script" not in markup and "<b>" not in markup
    svg = parse(markup).one("svg", id="network")
    assert svg.one("a", data_team="1").one("title").text() == f"{hostile} · 1 ripple out, 0 in"
    edge = svg.one("a", data_ripple="4")
    assert edge.attrs["aria-label"] == f"R4 · {hostile} depends on Comets · open"
    assert {"kind-depends", "at-risk"} <= edge.classes and "data-ripples" not in edge.attrs
    assert svg.one("line", cls="tension").one("title").text().startswith("Conflict on <b>Reach</b>")
    assert [t.text() for t in svg.select("text", cls="label")] == [hostile[:25] + "…", "Comets"]


@pytest.mark.parametrize("focus", [{}, {"focus": 5}, {"selected": 7}])
def test_200_teams_and_2000_ripples_are_laid_out_and_drawn_well_within_a_second(focus):
    view = _view(200, 2000, **focus)
    layout._laid_out.cache_clear()
    started = time.perf_counter()
    markup = network_svg.draw(view, _link)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    network_svg.draw(view, _link)
    warm = time.perf_counter() - started

    assert cold < 1.0 and warm < 0.5, (cold, warm)
    svg = parse(markup).one("svg", id="network")
    assert len(svg.select("a", cls="node")) == 200
    edges = svg.select("a", cls="edge")
    assert len(edges) < 2000 and sum(len((e.attrs.get("data-ripples") or "x").split()) for e in edges) == 2000
    labels = svg.select("text", cls="label")
    assert 10 <= len(labels) <= network_svg.BIG_LABELS + 20  # a few names, not 200
    if focus.get("focus") is not None:
        assert "focus" in svg.one("a", data_team="5").classes
        assert all("lit" in e.classes or "faded" in e.classes for e in edges)
    if focus.get("selected") is not None:
        assert "lit" in svg.one("a", data_ripple="7").classes
