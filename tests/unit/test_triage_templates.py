"""The triage and sprint messages as rendered from their templates: within Slack's limits however long the round,
and people's text shown as typed (never a ping, never a link) in the blocks and in the notification text."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.blockkit import MESSAGE_BLOCKS, SECTION_TEXT
from bot.render import render_message
from bot.rituals.backlog import MAX_ITEM_TEXT
from bot.rituals.triage import HELPS, KEPT, MAX_ITEMS, MAYBE, NOT_NOW, NUMBERS, ROCKET, Closed, Outcome, Tally
from storage.models import BacklogItem, ItemState, Round, RoundItem, RoundKind, Team

# chat.postMessage answers `msg_blocks_too_long` for messages of more than about 11,000-13,000 characters of text in
# all blocks together (undocumented; slackapi/bolt-js#2509, #2867), whatever each block's own limit: stay well under
BLOCKS_TEXT = 10_000
HOSTILE = "<!channel> *bold* <http://x|y> & more"
SENTENCE = "Make the sign-up form shorter so that new teams reach their first dashboard sooner. "
LONG_PLAIN = (SENTENCE * 20)[:MAX_ITEM_TEXT]  # the longest text an item can have
LONG_ESCAPED = ((HOSTILE + " ") * 40)[:MAX_ITEM_TEXT]  # every <, > and & grows four or five times when escaped
LONG_AMPERSANDS = "&" * MAX_ITEM_TEXT  # the worst case: each character is five once escaped
TEAM = "R&D <core>"  # team names refuse angle brackets; an ampersand is allowed, the brackets check the escaping


def team(name: str = "Rockets") -> Team:
    return Team(name=name, channel_id="C0ROCKET")


def closed_round(kind: RoundKind = RoundKind.TRIAGE, closed_by: str | None = "U0ADA") -> Round:
    return Round(kind=kind, channel_id="C0ROCKET", closed_by=closed_by, closes_at=None, ballot=[])


def item(number: int, text: str) -> BacklogItem:
    return BacklogItem(number=number, text=text, state=ItemState.INBOX, source_url=None)


def votes_on(kind: RoundKind, seed: int, votes: str) -> Tally:
    """A tally: `full` has votes on every reaction the round counts (the longest tally line there is), `some` is
    what a few people cast, `none` is no votes at all."""
    if votes == "none":
        return Tally()
    if kind is RoundKind.SPRINT:
        return Tally(Counter({ROCKET: 10 + seed % 7 if votes == "full" else 2}))
    if votes == "some":
        return Tally(Counter({HELPS: 3, NOT_NOW: 1, "one": 2}))
    counts = Counter({HELPS: 11 + seed % 3, NOT_NOW: 12, MAYBE: 13})
    counts.update({name: 10 + (seed + i) % 5 for i, name in enumerate(NUMBERS)})
    return Tally(counts)


def closed(
    decisions: list[str],
    texts: list[str],
    *,
    kind: RoundKind = RoundKind.TRIAGE,
    votes: str = "full",
    name: str = "Rockets",
) -> Closed:
    outcomes = [
        Outcome(
            RoundItem(position=n),
            item(n, text),
            votes_on(kind, n, votes),
            decision,
            "1.2" if decision in ("product", "sprint") else None,
            tied=decision == "discovery",
        )
        for n, (decision, text) in enumerate(zip(decisions, texts, strict=True), start=1)
    ]
    ballot = [f"{o}.{k}" for o in (1, 2) for k in range(1, 6)] if kind is RoundKind.TRIAGE else []
    return Closed(closed_round(kind), team(name), outcomes, ballot)


def sections(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def block_texts(message: dict[str, Any]) -> list[str]:
    texts = []
    for block in message["blocks"]:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts.extend(e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str))
    return texts


GROUP = re.compile(r"^(?P<title>.+) · (?P<count>\d+)$")
TALLY = (
    r"(no votes|:rocket: \d+|:white_check_mark: \d+ · :x: \d+ · :thinking_face: \d+( · key result:( :[a-z_]+: \d+)+)?)"
)
LISTED = re.compile(rf"^• \*#(?P<number>\d+)\* .+ — {TALLY}$")  # a whole line: an item cut short ends otherwise
MORE = re.compile(r"^…and (?P<more>\d+) more$")


def summary_groups(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Each group of the summary in order: its title line's count, the numbers listed, the "…and N more" count.
    A line that is none of these (a line cut short, a stray line) fails the test."""
    groups: list[dict[str, Any]] = []
    for text in sections(message)[1:]:
        for line in text.split("\n"):
            if (listed := LISTED.match(line)) and groups:
                assert groups[-1]["more"] is None, f"an item listed after the group's 'more' line: {line!r}"
                groups[-1]["listed"].append(int(listed["number"]))
            elif (more := MORE.match(line)) and groups:
                groups[-1]["more"] = int(more["more"])
            elif group := GROUP.match(line):
                groups.append({"title": group["title"], "count": int(group["count"]), "listed": [], "more": None})
            else:
                raise AssertionError(f"not an item, group or 'more' line: {line[:200]!r}…")
    return groups


def assert_within_slack_limits(message: dict[str, Any]) -> None:
    assert len(message["blocks"]) <= MESSAGE_BLOCKS
    for text in block_texts(message):
        assert len(text) <= SECTION_TEXT, len(text)
    assert sum(len(text) for text in block_texts(message)) <= BLOCKS_TEXT


def assert_groups_add_up(message: dict[str, Any], decisions: list[str], order: list[str]) -> list[dict[str, Any]]:
    """Every group names its exact size, lists its first items in order, and says exactly how many it left out."""
    groups = summary_groups(message)
    expected = [(d, [n for n, dd in enumerate(decisions, start=1) if dd == d]) for d in order]
    expected = [(d, numbers) for d, numbers in expected if numbers]
    assert len(groups) == len(expected), [g["title"] for g in groups]
    for group, (decision, numbers) in zip(groups, expected, strict=True):
        listed = group["listed"]
        assert group["count"] == len(numbers), (decision, group)
        assert listed == numbers[: len(listed)], (decision, listed)
        assert group["more"] == (len(numbers) - len(listed) or None), (decision, group)
    return groups


TRIAGE_ORDER = ["product", "discovery", "not_now", KEPT]
SPREAD = (["product"] * 20 + ["discovery"] * 10 + ["not_now"] * 15 + [KEPT] * 5)[:MAX_ITEMS]


# the closing summary --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [LONG_PLAIN, LONG_ESCAPED, LONG_AMPERSANDS], ids=["plain", "escaped", "ampersands"])
@pytest.mark.parametrize(
    "decisions",
    [["not_now"] * MAX_ITEMS, SPREAD, [KEPT, "product", "discovery", "not_now"] * 12 + ["product"] * 2],
    ids=["one-group", "spread", "interleaved"],
)
def test_a_summary_of_fifty_maximal_items_stays_within_slack_limits_and_counts_what_it_leaves_out(decisions, text):
    assert len(decisions) == MAX_ITEMS
    message = render_message("triage_summary.j2", closed=closed(decisions, [text] * MAX_ITEMS))

    assert_within_slack_limits(message)
    groups = assert_groups_add_up(message, decisions, TRIAGE_ORDER)
    listed = sum(len(g["listed"]) for g in groups)
    left_out = sum(g["more"] or 0 for g in groups)
    assert listed + left_out == MAX_ITEMS
    assert listed >= 5 and left_out > 0, (listed, left_out)  # some of each: the cut is exercised, not avoided
    assert sections(message)[0] == "*Triage closed* by <@U0ADA>: 50 items decided."


def test_a_summary_of_fifty_maximal_items_without_votes_also_stays_within_limits():
    decisions = ["not_now"] * MAX_ITEMS
    message = render_message("triage_summary.j2", closed=closed(decisions, [LONG_PLAIN] * MAX_ITEMS, votes="none"))
    assert_within_slack_limits(message)
    (group,) = assert_groups_add_up(message, decisions, TRIAGE_ORDER)
    assert group["more"] and len(group["listed"]) + group["more"] == MAX_ITEMS


def test_a_sprint_summary_of_fifty_maximal_items_stays_within_limits():
    decisions = ["sprint"] * 5 + [KEPT] * 45
    message = render_message(
        "triage_summary.j2", closed=closed(decisions, [LONG_ESCAPED] * MAX_ITEMS, kind=RoundKind.SPRINT)
    )
    assert_within_slack_limits(message)
    groups = assert_groups_add_up(message, decisions, ["sprint", KEPT])
    assert groups[0]["title"] == ":rocket: *Into the sprint*" and groups[0]["more"] is None
    assert groups[1]["more"], groups[1]
    assert (
        message["text"] == "Sprint pick closed for Rockets: 50 items decided (5 into the sprint, 45 stay in the "
        "product backlog)"
    )


def test_a_small_round_lists_every_item_and_no_more_line():
    texts = ["Shorter sign-up form", "Dark mode", "Onboarding checklist", "Export to CSV", "Ask the sales team"]
    decisions = ["product", "discovery", "not_now", "not_now", KEPT]
    message = render_message("triage_summary.j2", closed=closed(decisions, texts))

    groups = assert_groups_add_up(message, decisions, TRIAGE_ORDER)
    assert [g["listed"] for g in groups] == [[1], [2], [3, 4], [5]]
    assert all(g["more"] is None for g in groups)
    text = "\n".join(sections(message))
    assert "more" not in text
    assert "• *#1* Shorter sign-up form · KR 1.2 — :white_check_mark: 12 · :x: 12 · :thinking_face: 13 · " in text
    assert "• *#2* Dark mode _(tie)_ — " in text
    assert message["text"] == (
        "Triage closed for Rockets: 5 items decided (1 to the product backlog, 1 to discovery, 2 to not now, "
        "1 left where they were)"
    )


def test_a_full_round_of_short_items_lists_all_fifty():
    decisions = SPREAD
    texts = [f"Item number {n} of the round, a short one" for n in range(1, MAX_ITEMS + 1)]
    message = render_message("triage_summary.j2", closed=closed(decisions, texts, votes="some"))
    assert_within_slack_limits(message)
    groups = assert_groups_add_up(message, decisions, TRIAGE_ORDER)
    assert sum(len(g["listed"]) for g in groups) == MAX_ITEMS and all(g["more"] is None for g in groups)


def test_the_summary_shows_item_texts_and_the_team_name_as_typed():
    message = render_message("triage_summary.j2", closed=closed(["product", "not_now"], [HOSTILE, "Plain"], name="R&D"))
    raw = "\n".join([message["text"], *block_texts(message)])
    assert "<!channel>" not in raw and "<http" not in raw
    assert "• *#1* &lt;!channel&gt; *bold* &lt;http://x|y&gt; &amp; more · KR 1.2 — " in sections(message)[1]
    assert message["text"].startswith("Triage closed for R&amp;D: 2 items decided")


def test_the_ephemeral_close_reply_counts_and_escapes_the_team_name():
    decisions = SPREAD
    message = render_message("round_closed.j2", closed=closed(decisions, [LONG_ESCAPED] * MAX_ITEMS, name=TEAM))
    assert_within_slack_limits(message)
    (text,) = sections(message)
    assert text.startswith(
        "Triage of *R&amp;D &lt;core&gt;* closed: 20 to the product backlog, 10 to discovery, "
        "15 to not now, 5 left where they were."
    )
    assert "<core>" not in message["text"]


# an item's own message -------------------------------------------------------------------------------------------


def item_message(text: str, **extra: Any) -> dict[str, Any]:
    context = {
        "kind": "triage",
        "item": item(7, text),
        "label": None,
        "tally": Tally(),
        "ballot_size": 2,
        "decision": None,
        "decided_label": None,
    } | extra
    return render_message("triage_item.j2", **context)


def test_an_item_message_never_pings_or_links_from_the_item_text_in_its_blocks_or_its_notification():
    message = item_message(HOSTILE)
    assert message["text"] == "#7 &lt;!channel&gt; *bold* &lt;http://x|y&gt; &amp; more"
    assert message["blocks"][0]["text"]["text"] == "*#7* &lt;!channel&gt; *bold* &lt;http://x|y&gt; &amp; more"
    for text in [message["text"], *block_texts(message)]:
        assert "<!" not in text and "<http" not in text, text


def test_an_item_notification_keeps_a_mention_and_is_cut_before_escaping():
    message = item_message("Ask <@U0BEN> about it " + "&" * MAX_ITEM_TEXT)
    assert message["text"].startswith("#7 Ask <@U0BEN> about it &amp;&amp;")
    assert message["text"].endswith("&amp;…")  # cut at a whole character, never inside an escape
    assert len(message["text"]) <= 4000
    assert_within_slack_limits(message)


# the round's start -----------------------------------------------------------------------------------------------


def test_the_start_reply_shows_the_team_name_as_typed():
    opened = Round(kind=RoundKind.TRIAGE, channel_id="C0ROCKET", closes_at=datetime(2026, 12, 1, 9, tzinfo=UTC))
    message = render_message("round_started.j2", round=opened, team=team(TEAM), count=3, waiting=0)
    assert message["text"] == "Triage started in R&amp;D &lt;core&gt;"
    assert "Triage started in <#C0ROCKET>: 3 items" in message["blocks"][0]["text"]["text"]
