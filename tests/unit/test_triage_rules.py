"""The triage and sprint rules of bot/rituals/ballots.py as plain functions: no database, no Slack."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bot.delivery.rounds import _reactions_shown
from bot.rituals.ballots import (
    HELPS,
    MAYBE,
    NOT_NOW,
    NUMBERS,
    ROCKET,
    Tally,
    TriageDecision,
    base_reaction,
    decide_triage,
    sprint_pick,
    votable,
)
from bot.slack import Delivery
from bot.slack import Outcome as SlackOutcome
from storage.models import BacklogItem, ItemState, RoundItem, RoundKind

PRODUCT, DISCOVERY, LATER = ItemState.PRODUCT, ItemState.DISCOVERY, ItemState.NOT_NOW


def tally(**counts: int) -> Tally:
    """`tally(helps=2, one=1)`: the people behind each reaction."""
    names = {"helps": HELPS, "not_now": NOT_NOW, "maybe": MAYBE, "rockets": ROCKET}
    return Tally(Counter({names.get(name, name): count for name, count in counts.items() if count}))


# reactions -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("white_check_mark", "white_check_mark"),
        ("white_check_mark::skin-tone-4", "white_check_mark"),
        ("thumbsup::skin-tone-2", "thumbsup"),
        ("rocket::skin-tone-6", "rocket"),
        ("x", "x"),
        ("keycap_ten", "keycap_ten"),
        ("", ""),
    ],
)
def test_a_skin_tone_is_its_base_emoji(name, base):
    assert base_reaction(name) == base


def test_triage_votes_are_the_three_verdicts_and_the_numbers_on_the_ballot():
    for size in (1, 2, 5, 10):
        for verdict in (HELPS, NOT_NOW, MAYBE):
            assert votable(RoundKind.TRIAGE, size, verdict)
        assert [n for n in NUMBERS if votable(RoundKind.TRIAGE, size, n)] == list(NUMBERS[:size])
    assert votable(RoundKind.TRIAGE, 2, "two") and not votable(RoundKind.TRIAGE, 2, "three")
    assert not votable(RoundKind.TRIAGE, 9, "keycap_ten") and votable(RoundKind.TRIAGE, 10, "keycap_ten")
    for other in (ROCKET, "tada", "thumbsup", "ten", "zero", "1", "white_check_mark::skin-tone-4", ""):
        assert not votable(RoundKind.TRIAGE, 10, other), other


def test_a_sprint_vote_is_a_rocket_only():
    assert votable(RoundKind.SPRINT, 0, ROCKET)
    for other in (HELPS, NOT_NOW, MAYBE, "one", "tada"):
        assert not votable(RoundKind.SPRINT, 5, other), other


def test_number_votes_follow_the_ballot():
    counted = tally(helps=3, one=2, three=4, five=1, keycap_ten=7)
    assert counted.number_votes(0) == []
    assert counted.number_votes(1) == [2]
    assert counted.number_votes(3) == [2, 0, 4]
    assert counted.number_votes(5) == [2, 0, 4, 0, 1]
    assert counted.number_votes(10) == [2, 0, 4, 0, 1, 0, 0, 0, 0, 7]
    assert counted.total == 17 and counted.helps == 3 and counted.not_now == 0 and counted.rockets == 0
    assert Tally().number_votes(2) == [0, 0] and Tally().total == 0


# triage decisions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "ballot", "decision"),
    [
        ({}, 2, TriageDecision(LATER, None, tied=False)),  # no votes: not now
        ({"one": 3, "two": 1}, 2, TriageDecision(LATER, None, tied=False)),  # numbers alone are no verdict
        ({"helps": 1}, 2, TriageDecision(PRODUCT, None, tied=False)),  # no number votes, two KRs: unlinked
        ({"helps": 1}, 1, TriageDecision(PRODUCT, 1, tied=False)),  # …one KR on the ballot: that one
        ({"not_now": 1}, 2, TriageDecision(LATER, None, tied=False)),
        ({"maybe": 1}, 2, TriageDecision(DISCOVERY, None, tied=False)),
        ({"helps": 2, "not_now": 1, "maybe": 1}, 2, TriageDecision(PRODUCT, None, tied=False)),  # a tie below the top
        ({"helps": 1, "not_now": 3, "maybe": 2, "one": 5}, 2, TriageDecision(LATER, None, tied=False)),
        ({"helps": 1, "not_now": 1, "maybe": 2}, 2, TriageDecision(DISCOVERY, None, tied=False)),
        ({"helps": 2, "not_now": 2}, 2, TriageDecision(DISCOVERY, None, tied=True)),  # ✅ = ❌
        ({"maybe": 1, "not_now": 1}, 2, TriageDecision(DISCOVERY, None, tied=True)),  # 🤔 = ❌
        ({"helps": 3, "maybe": 3}, 2, TriageDecision(DISCOVERY, None, tied=True)),  # ✅ = 🤔
        ({"helps": 1, "not_now": 1, "maybe": 1}, 2, TriageDecision(DISCOVERY, None, tied=True)),  # all three
        ({"helps": 2, "not_now": 2, "one": 2}, 2, TriageDecision(DISCOVERY, None, tied=True)),  # numbers don't break it
        ({"helps": 2, "one": 1, "two": 2}, 2, TriageDecision(PRODUCT, 2, tied=False)),  # most number votes
        ({"helps": 2, "one": 2, "two": 2}, 2, TriageDecision(PRODUCT, 1, tied=False)),  # a tie: listed first
        ({"helps": 2, "two": 1, "three": 1}, 3, TriageDecision(PRODUCT, 2, tied=False)),
        ({"helps": 1, "two": 1, "four": 3, "five": 3}, 5, TriageDecision(PRODUCT, 4, tied=False)),
        ({"helps": 1, "three": 4}, 2, TriageDecision(PRODUCT, None, tied=False)),  # off the ballot: not counted
        ({"helps": 1, "three": 4, "one": 1}, 2, TriageDecision(PRODUCT, 1, tied=False)),
        ({"helps": 1, "keycap_ten": 1}, 10, TriageDecision(PRODUCT, 10, tied=False)),
        ({"helps": 1, "one": 1}, 1, TriageDecision(PRODUCT, 1, tied=False)),
    ],
)
def test_decide_triage(counts, ballot, decision):
    assert decide_triage(tally(**counts), ballot) == decision


def test_every_tie_at_the_top_is_discovery_whatever_the_counts():
    for top in range(1, 6):
        for below in range(top):
            for a, b, c in ((top, top, below), (top, below, top), (below, top, top), (top, top, top)):
                decided = decide_triage(tally(helps=a, not_now=b, maybe=c, one=top), 2)
                assert decided == TriageDecision(DISCOVERY, None, tied=True), (a, b, c)


# sprint pick ---------------------------------------------------------------------------------------------------


def entries(rockets_by_number: dict[int, int]) -> list[tuple[RoundItem, BacklogItem, Tally]]:
    """Round items (id = 100 + the item's number) with this many 🚀 each."""
    return [
        (RoundItem(id=100 + number), BacklogItem(number=number), tally(rockets=count))
        for number, count in rockets_by_number.items()
    ]


def test_sprint_pick_takes_the_most_rockets_older_first_and_never_an_item_without_one():
    ballot = entries({1: 1, 2: 2, 3: 1, 4: 0, 5: 3, 6: 1})
    assert sprint_pick(ballot, 1) == {105}
    assert sprint_pick(ballot, 2) == {105, 102}
    assert sprint_pick(ballot, 3) == {105, 102, 101}  # #1, #3 and #6 have one each: the oldest
    assert sprint_pick(ballot, 4) == {105, 102, 101, 103}
    assert sprint_pick(ballot, 5) == {105, 102, 101, 103, 106}
    assert sprint_pick(ballot, 6) == sprint_pick(ballot, 50) == {105, 102, 101, 103, 106}  # #4 has none
    assert sprint_pick(ballot, 0) == set()


def test_sprint_pick_does_not_depend_on_the_order_it_is_given():
    ballot = entries({7: 2, 3: 2, 12: 2, 9: 5, 1: 0, 4: 1})
    expected = {109, 103, 107}
    for seed in range(10):
        shuffled = list(ballot)
        random.Random(seed).shuffle(shuffled)
        assert sprint_pick(shuffled, 3) == expected


def test_nothing_rocketed_takes_nothing():
    assert sprint_pick(entries({1: 0, 2: 0}), 5) == set()
    assert sprint_pick([], 5) == set()


# reading reactions back from Slack -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"ok": True, "type": "message", "channel": "C1"},  # no message
        {"ok": True, "message": ["odd"]},
        {"ok": True, "message": {"reactions": "x"}},
        {"ok": True, "message": {"reactions": [{"name": "x", "users": "U0BEN"}]}},  # not a list of users
        {"ok": True, "message": {"reactions": [{"users": ["U0BEN"]}]}},  # no name
        {"ok": True, "message": {"reactions": ["x"]}},
    ],
)
def test_an_odd_reactions_answer_is_not_read_as_no_reactions(answer):
    assert _reactions_shown(Delivery(SlackOutcome.SENT, response=answer)) is None


def test_a_reactions_answer_gives_each_person_and_emoji_as_shown():
    answer = {
        "ok": True,
        "message": {
            "reactions": [
                {"name": "white_check_mark", "users": ["U0BEN", "U0CLEO"], "count": 2},
                {"name": "white_check_mark::skin-tone-3", "users": ["U0ADA", 7], "count": 2},
            ]
        },
    }
    assert _reactions_shown(Delivery(SlackOutcome.SENT, response=answer)) == {
        ("U0BEN", "white_check_mark"),
        ("U0CLEO", "white_check_mark"),
        ("U0ADA", "white_check_mark::skin-tone-3"),
    }
    assert _reactions_shown(Delivery(SlackOutcome.SENT, response={"ok": True, "message": {}})) == set()
    assert _reactions_shown(Delivery(SlackOutcome.FAILED, error="ratelimited")) is None
