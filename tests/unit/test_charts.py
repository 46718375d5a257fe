"""The weekly progress chart is a real PNG of the promised size, whatever it is given."""

from __future__ import annotations

import struct
import threading
import zlib

import pytest

from bot.charts import ChartSeries, progress_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first, checking its CRC on the way."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert crc == zlib.crc32(kind + body)
    width, height = struct.unpack(">II", body[:8])
    return width, height


def chunks(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind)
        offset += 12 + length
    return kinds


THREE = [
    ChartSeries("KR 1.1 Teams active after their first week", [(1, 0.0), (2, 0.2), (3, 0.33), (4, 0.6)]),
    ChartSeries("KR 1.2 Median minutes to first dashboard", [(1, 0.1), (3, 0.5), (4, 0.75)]),
    ChartSeries("KR 2.1 Weekly active teams", [(4, 1.0)]),
]


def test_a_chart_is_an_800_by_450_png_ending_with_its_end_chunk():
    data = progress_chart(THREE, title="Rockets · week 4 check-in")

    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == (800, 450)
    kinds = chunks(data)
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds


def test_the_same_input_gives_the_same_bytes():
    assert progress_chart(THREE, title="Rockets") == progress_chart(THREE, title="Rockets")


def test_no_series_still_draws_an_empty_chart_with_a_note():
    empty = progress_chart([], title="Rockets · week 1 check-in")
    no_points = progress_chart([ChartSeries("KR 1.1 Nothing yet", [])], title="Rockets · week 1 check-in")

    assert png_size(empty) == (800, 450)
    assert png_size(no_points) == (800, 450)
    # the note is drawn: an empty chart is not the same picture as a chart with a line on it
    assert empty != progress_chart(THREE[2:], title="Rockets · week 1 check-in")


def test_five_objectives_of_five_key_results_with_long_labels_render():
    series = [
        ChartSeries(
            f"KR {o}.{k} " + "Share of weekly active teams that invite a second member " * 3,
            [(week, (week * o * k % 11) / 10) for week in range(1, 14)],
        )
        for o in range(1, 6)
        for k in range(1, 6)
    ]

    data = progress_chart(series, title="A team with a rather long name indeed · week 13 check-in " * 4)

    assert png_size(data) == (800, 450)


@pytest.mark.parametrize(
    "label",
    [
        "KR 1.1 Revenue in $ per $team$",  # a pair of dollars would be a formula to matplotlib
        "KR 1.2 Costs under $5 and \\alpha",
        "_KR 1.3 starts with an underscore",  # matplotlib would leave it out of the legend
        "",
    ],
)
def test_labels_and_titles_are_shown_as_typed(label):
    data = progress_chart([ChartSeries(label, [(1, 0.5), (2, 0.6)])], title=f"Team $x^{{2$ · {label}")

    assert png_size(data) == (800, 450)


def test_points_outside_the_chart_are_left_out_or_held_to_its_edges():
    odd = [ChartSeries("KR 1.1 Odd", [(0, 0.5), (14, 0.5), (3, 1.7), (2, -0.2), (5, 0.5)])]

    assert png_size(progress_chart(odd, title="Odd")) == (800, 450)
    assert png_size(progress_chart(odd, weeks=6, title="Six weeks")) == (800, 450)


def test_charts_render_at_once_in_several_threads():
    results: list[bytes] = []
    errors: list[BaseException] = []

    def draw() -> None:
        try:
            results.append(progress_chart(THREE, title="Rockets"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 4 and len(set(results)) == 1
