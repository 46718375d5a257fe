"""`bot.text`: what people type is normalised, checked for hidden characters, and limited in length."""

from __future__ import annotations

import re

import pytest

from bot.blockkit import clip
from bot.errors import UsageError
from bot.text import check_characters, clean, normalise


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("  Rockets  ", False, "Rockets"),
        ("Rocket \n\t Crew", False, "Rocket Crew"),
        ("Cafe\u0301", False, "Café"),
        ("\uff32ockets", False, "\uff32ockets"),  # NFC, not NFKC: full-width letters are kept as typed
        ("line one\r\nline two\rline three", True, "line one\nline two\nline three"),
        ("  a\n\n b  ", True, "a\n\n b"),
        ("", False, ""),
    ],
)
def test_normalise(raw, multiline, expected):
    assert normalise(raw, multiline=multiline) == expected


@pytest.mark.parametrize(
    "text",
    ["Rockets", "Équipe Fusée", "ロケット", "👩\u200d💻 Devs", "❤\ufe0f", "☺\ufe0e", "a & b < c", "🇫🇷 Paris"],
)
def test_ordinary_text_and_emoji_sequences_pass(text):
    check_characters(text, what="The name")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a\x00b", "U+0000"),
        ("a\x7fb", "U+007F"),
        ("a\u0085b", "U+0085"),
        ("a\u200bb", "U+200B"),
        ("a\u200cb", "U+200C"),
        ("a\u200eb", "U+200E"),
        ("a\u202eb", "U+202E"),
        ("a\u2066b", "U+2066"),
        ("a\u2060b", "U+2060"),
        ("a\ufeffb", "U+FEFF"),
        ("a\ud800b", "U+D800"),
        ("a\udfffb", "U+DFFF"),
        ("a\ue000b", "U+E000"),
        ("a\U000f0000b", "U+F0000"),
        ("a\U000e0041b", "U+E0041"),
        ("a\u0378b", "U+0378"),  # unassigned
    ],
)
def test_hidden_and_unstorable_characters_are_refused_with_their_code_point(text, code):
    with pytest.raises(UsageError) as caught:
        check_characters(text, what="The name")
    assert code in caught.value.message
    assert caught.value.message.startswith("The name contains an invisible or control character")


def test_line_breaks_and_tabs_only_where_several_lines_make_sense():
    check_characters("a\nb\tc", what="The text", multiline=True)
    for char in "\n\t":
        with pytest.raises(UsageError):
            check_characters(f"a{char}b", what="The name")
    with pytest.raises(UsageError, match=re.escape("U+000D")):
        check_characters("a\rb", what="The text", multiline=True)


def test_the_replacement_character_is_refused():
    with pytest.raises(UsageError, match=re.escape("U+FFFD")):
        check_characters("Rock\ufffdets", what="The name")


def test_clean_limits_length_after_normalising():
    assert clean("  " + "x" * 80 + "  ", what="The name", max_length=80) == "x" * 80
    assert clean("e\u0301" * 80, what="The name", max_length=80) == "é" * 80  # counted once composed
    with pytest.raises(UsageError, match=re.escape("The name is 81 characters long; the limit is 80.")):
        clean("x" * 81, what="The name", max_length=80)
    with pytest.raises(UsageError, match="is 1,501 characters long; the limit is 1,500"):
        clean("x" * 1501, what="The text", max_length=1500, multiline=True)


def test_clean_requires_text_unless_told_otherwise():
    with pytest.raises(UsageError, match=re.escape("The name is empty.")):
        clean(" \n ", what="The name", max_length=80)
    assert clean(" \n ", what="The name", max_length=80, required=False) == ""


def test_a_clip_does_not_cut_through_an_escaped_entity_or_a_mention():
    assert clip("R" * 8 + "&amp;tail", 11) == "RRRRRRRR…"  # the cut would fall inside &amp;
    assert clip("R" * 8 + "&amp;tail", 14) == "RRRRRRRR&amp;…"
    assert clip("see <@U0123456789> now", 12) == "see …"
    assert clip("see <https://example.com|site> now", 33) == "see <https://example.com|site> n…"
    assert clip("short", 5) == "short"
    plain = "Latency < 200ms & falling, for 99% of requests"  # text that is not markup is cut where it falls
    assert clip(plain, 30) == plain[:29] + "…"
