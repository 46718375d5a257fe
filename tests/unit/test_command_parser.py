"""`bot.commands.parse`: every odd thing a person can type after `/okr`, without Slack or a database."""

from __future__ import annotations

import re

import pytest

from bot.commands import CATALOGUE, MAX_COMMAND_TEXT, TOP_LEVEL, lookup, parse
from bot.errors import UsageError


@pytest.mark.parametrize(
    ("raw", "name", "args"),
    [
        ("help", "help", ""),
        ("?", "help", ""),
        ("help team", "help", "team"),
        ("team create Rockets", "team create", "Rockets"),
        ("TEAM CREATE Rocket Crew", "team create", "Rocket Crew"),
        ("  team   create   Rocket   Crew  ", "team create", "Rocket   Crew"),
        ("team\tjoin", "team join", ""),
        ("team join growth", "team join", "growth"),
        ("team leave", "team leave", ""),
        ("team settings hour=9 day=tue", "team settings", "hour=9 day=tue"),
        ("vision add Line one\nline two", "vision", "add Line one\nline two"),
        ("vision", "vision", ""),
        ("status", "list", ""),
        ("Status", "list", ""),
        ("list", "list", ""),
        ("backlog add Fix login", "backlog", "add Fix login"),
        ("draft Delight new customers", "draft", "Delight new customers"),
        ("team\u00a0create\u00a0Rockets", "team create", "Rockets"),  # no-break spaces still separate words
        ("Cafe\u0301", None, None),  # NFC applied before lookup: an unknown word, reported below
    ],
)
def test_known_commands_and_their_arguments(raw, name, args):
    if name is None:
        with pytest.raises(UsageError, match="I don't know the command `café`"):
            parse(raw)
        return
    parsed = parse(raw)
    assert (parsed.name, parsed.args, parsed.empty) == (name, args, False)
    assert parsed.spec is lookup(name)


@pytest.mark.parametrize("raw", ["", " ", "\n\t ", "\r\n"])
def test_nothing_typed_is_help_marked_empty(raw):
    parsed = parse(raw)
    assert (parsed.name, parsed.args, parsed.empty) == ("help", "", True)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("tem", "Did you mean `/okr team`?"),
        ("tema create X", "Did you mean `/okr team`?"),
        ("visoin", "Did you mean `/okr vision`?"),
        ("drfat", "Did you mean `/okr draft`?"),
        ("stauts", "Did you mean `/okr status`?"),
        ("xyzzy", "I don't know the command `xyzzy`."),
        ("team", "`/okr team` needs one more word."),
        ("team frob", "`team frob` is not a command."),
        ("team " + "z" * 100, "`team " + "z" * 29 + "…` is not a command."),
    ],
)
def test_unknown_words_are_named_with_a_suggestion_when_one_is_close(raw, message):
    with pytest.raises(UsageError) as caught:
        parse(raw)
    assert message in caught.value.message
    if message.startswith("I don't know"):
        assert "Did you mean" not in caught.value.message


def test_unknown_command_word_is_clipped_in_the_reply():
    with pytest.raises(UsageError) as caught:
        parse("q" * 500)
    assert len(caught.value.message) < 100
    assert caught.value.usage == "/okr help"


def test_the_team_group_lists_its_sub_commands():
    with pytest.raises(UsageError) as caught:
        parse("team")
    for word in ("create", "join", "leave", "settings"):
        assert f"/okr team {word}" in caught.value.message


def test_length_limit_is_4000_characters():
    assert parse("help " + "x" * (MAX_COMMAND_TEXT - 5)).name == "help"
    with pytest.raises(UsageError, match="4,001 characters long; `/okr` takes at most 4,000"):
        parse("help " + "x" * (MAX_COMMAND_TEXT - 4))


@pytest.mark.parametrize(
    ("raw", "code_point"),
    [
        ("team create Rock\x00ets", "U+0000"),
        ("team create Rock\x1bets", "U+001B"),
        ("team create Rock\u202eets", "U+202E"),
        ("team create Rock\u200bets", "U+200B"),
        ("team create Rock\u2066ets", "U+2066"),
        ("team create \ufeffRockets", "U+FEFF"),
        ("team create Rock\ud800ets", "U+D800"),
        ("team create Rock\ue000ets", "U+E000"),
        ("team create Rock\U000e0001ets", "U+E0001"),
    ],
)
def test_invisible_and_control_characters_are_refused_by_code_point(raw, code_point):
    with pytest.raises(UsageError, match=re.escape(code_point)):
        parse(raw)


@pytest.mark.parametrize("raw", ["team create 👩\u200d💻 Devs", "team create ❤\ufe0f Team", "vision add a\tb"])
def test_emoji_joiners_and_tabs_are_kept(raw):
    assert parse(raw).name in ("team create", "vision")


def test_every_catalogue_entry_is_reachable_by_its_name():
    for command in CATALOGUE:
        assert parse(command.name).name == command.name
        assert command.usage.startswith(f"/okr {command.name.split()[0]}")
    assert {"team", "vision", "help", "status", "draft"} <= set(TOP_LEVEL)


def test_the_catalogue_names_every_sub_command_of_the_slack_contract():
    names = {c.name for c in CATALOGUE}
    contract = {
        "help",
        "team create",
        "team join",
        "team leave",
        "team settings",
        "vision",
        "draft",
        "list",
        "checkin",
        "backlog",
        "idea",
        "triage",
        "sprint",
        "ripple",
        "digest",
        "reset",
        "history",
        "export",
        "away",
        "dashboard",
    }
    assert contract == names
    assert all(c.ready for c in CATALOGUE)
