"""The rules of ripples and the weekly digest that need no database: reading `/okr ripple …` and a ripple's
number as people type them, comparing metrics across teams, when the digest is due (across daylight-saving
changes and the turn of the year, and after downtime), the digest settings, cutting a long digest into
messages Slack accepts, and the picture of the ripple network."""

from __future__ import annotations

import itertools
import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blockkit import MESSAGE_BLOCKS, check_message
from bot.charts import MANY_EDGES, NetworkEdge, network_chart
from bot.errors import UsageError
from bot.render import render_blocks, render_message
from bot.rituals.digest import (
    MESSAGE_CHARACTERS,
    PART_FRAME,
    SETTINGS_USAGE,
    WEEK,
    Change,
    Conflict,
    Digest,
    RippleNews,
    Risk,
    TeamNews,
    block_text,
    latest_digest_at,
    metric_key,
    next_digest_at,
    parse_digest_settings,
    previous_digest_at,
    split_messages,
)
from bot.rituals.ripples import USAGE, parse_number, parse_ripple_text
from storage.models import RippleKind, Team, Workspace

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")

# parse_ripple_text ------------------------------------------------------------------------------------------


def _typed(args: str) -> tuple[str, RippleKind, str, str | None, str]:
    typed = parse_ripple_text(args)
    return typed.channel_id, typed.kind, typed.key_result, typed.their_key_result, typed.note


def test_a_channel_mention_a_key_result_and_a_note_is_an_affects_ripple():
    assert _typed("<#C0GROWTH|team-growth> 1.2 Our onboarding changes send them twice the sign-ups") == (
        "C0GROWTH",
        RippleKind.AFFECTS,
        "1.2",
        None,
        "Our onboarding changes send them twice the sign-ups",
    )
    assert _typed("<#C0GROWTH> 1.2 Note") == ("C0GROWTH", RippleKind.AFFECTS, "1.2", None, "Note")


@pytest.mark.parametrize("channel", ["C0GROWTH", "#C0GROWTH", "G0PRIVATE1"])
def test_a_raw_channel_id_is_read_too(channel):
    assert _typed(f"{channel} 1.2 Note")[0] == channel.lstrip("#")


@pytest.mark.parametrize(
    "args",
    [
        "depends <#C0GROWTH> 1.2 Note",
        "depends on <#C0GROWTH> 1.2 Note",
        "Depends On <#C0GROWTH> 1.2 Note",
        "depends-on <#C0GROWTH> 1.2 Note",
        "depends_on <#C0GROWTH> 1.2 Note",
        "<#C0GROWTH> depends 1.2 Note",
        "<#C0GROWTH> depends on 1.2 Note",
        "<#C0GROWTH> 1.2 depends Note",
        "<#C0GROWTH> 1.2 depends on Note",
        "<#C0GROWTH> 1.2 depends-on Note",
    ],
)
def test_depends_before_or_after_the_channel_or_the_key_result(args):
    assert _typed(args) == ("C0GROWTH", RippleKind.DEPENDS_ON, "1.2", None, "Note")


@pytest.mark.parametrize(
    "args", ["affects <#C0GROWTH> 1.2 Note", "<#C0GROWTH> affects 1.2 Note", "<#C0GROWTH> 1.2 AFFECTS Note"]
)
def test_affects_may_be_said_before_or_after_the_channel(args):
    assert _typed(args) == ("C0GROWTH", RippleKind.AFFECTS, "1.2", None, "Note")


def test_a_key_result_may_be_written_kr_1_2():
    channel, _kind, key_result, _their, note = _typed("<#C0GROWTH> KR 1.2 Note")
    assert (channel, key_result.replace(" ", "").casefold(), note) == ("C0GROWTH", "kr1.2", "Note")
    assert _typed("<#C0GROWTH> kr1.2 Note")[2].casefold() == "kr1.2"


@pytest.mark.parametrize("their", ["their 2.1", "on 2.1", "-> 2.1", "→ 2.1", "their KR 2.1", "THEIR 2.1"])
def test_their_key_result_follows_ours(their):
    channel, kind, ours, theirs, note = _typed(f"depends <#C0GROWTH> 1.2 {their} We need their weekly numbers")
    assert (channel, kind, ours, note) == ("C0GROWTH", RippleKind.DEPENDS_ON, "1.2", "We need their weekly numbers")
    assert theirs.replace(" ", "").casefold() in ("2.1", "kr2.1")


def test_depends_after_our_key_result_may_still_name_theirs_with_their():
    assert _typed("<#C0GROWTH> 1.2 depends their 2.1 Weekly numbers") == (
        "C0GROWTH",
        RippleKind.DEPENDS_ON,
        "1.2",
        "2.1",
        "Weekly numbers",
    )


def test_depends_on_after_our_key_result_names_their_key_result():
    # "depends on 2.1" after our key result names their KR 2.1, as "their 2.1", "on 2.1" and "depends their 2.1" do
    assert _typed("<#C0GROWTH> 1.2 depends on 2.1 We need their weekly numbers") == (
        "C0GROWTH",
        RippleKind.DEPENDS_ON,
        "1.2",
        "2.1",
        "We need their weekly numbers",
    )


@pytest.mark.parametrize(
    "note",
    [
        "We need their sign-up numbers weekly",
        "their team owns the funnel",  # "their" not followed by a key result is the note's
        "on Fridays only",
        "Affects nothing else, KR 2.1 stays",  # words after the note starts are the note's, whatever they are
        "#C0OTHER is copied",
        "C0GROWTH again",
    ],
)
def test_the_note_keeps_its_words(note):
    assert _typed(f"depends <#C0GROWTH> 1.2 {note}")[4] == note


def test_the_note_s_spacing_is_collapsed_to_single_spaces():
    assert _typed("<#C0GROWTH> 1.2   two   spaces\tand a tab")[4] == "two spaces and a tab"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("", "Name the other team by its channel"),
        ("1.2 We need their numbers", "Name the other team by its channel"),
        ("depends 1.2 We need their numbers", "Name the other team by its channel"),
        ("<#C0GROWTH> We need their numbers", "Say which of your key results it is"),
        ("<#C0GROWTH> depends", "Say which of your key results it is"),
        ("<#C0GROWTH> 1.2", "Add a short note"),
        ("<#C0GROWTH> 1.2 their 2.1", "Add a short note"),
        ("depends on <#C0GROWTH> KR 1.2   ", "Add a short note"),
    ],
)
def test_what_is_missing_is_named_with_the_usage(args, words):
    with pytest.raises(UsageError) as raised:
        parse_ripple_text(args)
    assert words in raised.value.message
    assert raised.value.usage == USAGE
    assert raised.value.message.endswith(".") and "\n" not in raised.value.message  # one readable sentence


# parse_number -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "number"), [("R3", 3), ("r3", 3), ("3", 3), ("#3", 3), (" R12 ", 12), ("R007", 7)])
def test_a_ripple_number_is_read_with_or_without_its_r(raw, number):
    assert parse_number(raw, usage="/okr ripple resolve NUMBER") == number


@pytest.mark.parametrize("raw", ["", "R", "abc", "R-3", "3.1", "R 3", "RR3", "1234567890", "三"])
def test_anything_else_is_not_a_ripple_number(raw):
    with pytest.raises(UsageError) as raised:
        parse_number(raw, usage="/okr ripple resolve NUMBER")
    assert "R3" in raised.value.message and raised.value.usage == "/okr ripple resolve NUMBER"


# metric_key -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "same",
    [
        "Weekly active teams",
        "weekly ACTIVE teams",
        "  Weekly   active\tteams  ",
        "Weekly-active teams!",
        "weekly, active: teams.",
        "Weekly (active) teams?",
        "WeeklyActiveTeams",
        "weekly-activeteams",
    ],
)
def test_metrics_are_the_same_whatever_their_case_punctuation_and_spacing(same):
    assert metric_key(same) == metric_key("Weekly active teams") == "weeklyactiveteams"


def test_spelling_a_word_apart_or_together_is_the_same_metric():
    assert metric_key("Sign-ups") == metric_key("signups") == metric_key("SIGN UPS")
    assert metric_key("N.P.S.") == metric_key("NPS")


def test_percent_and_currency_signs_are_kept():
    assert metric_key("Revenue ($)") == metric_key("revenue $") == "revenue$"
    assert metric_key("Revenue (€)") != metric_key("Revenue ($)")
    assert metric_key("Churn %") == metric_key("churn%") == "churn%"
    assert metric_key("Churn %") != metric_key("Churn")
    assert metric_key("Revenue £") != metric_key("Revenue")


def test_different_words_stay_different():
    assert metric_key("Sign-up rate") != metric_key("Sign-in rate")
    assert metric_key("Café visits") == metric_key("CAFÉ visits")  # letters beyond ASCII are letters


# next_digest_at / latest_digest_at ----------------------------------------------------------------------------


def _workspace(weekday: int = 0, hour: int = 9, zone: str = "Europe/Paris") -> Workspace:
    return Workspace(digest_weekday=weekday, digest_hour=hour, digest_timezone=zone)


def _moments(workspace: Workspace, after: datetime, count: int) -> list[datetime]:
    moments = []
    for _ in range(count):
        after = next_digest_at(workspace, after)
        moments.append(after)
    return moments


def test_paris_monday_9_stays_9_local_across_both_daylight_saving_changes():
    paris = _workspace(0, 9, "Europe/Paris")
    # clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026
    assert _moments(paris, datetime(2026, 3, 20, tzinfo=UTC), 3) == [
        datetime(2026, 3, 23, 8, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
        datetime(2026, 4, 6, 7, tzinfo=UTC),
    ]
    assert _moments(paris, datetime(2026, 10, 13, tzinfo=UTC), 3) == [
        datetime(2026, 10, 19, 7, tzinfo=UTC),
        datetime(2026, 10, 26, 8, tzinfo=UTC),
        datetime(2026, 11, 2, 8, tzinfo=UTC),
    ]
    for moment in _moments(paris, datetime(2026, 1, 1, tzinfo=UTC), 60):
        local = moment.astimezone(PARIS)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        assert moment.tzinfo is UTC  # given in the zone of `after`


def test_new_york_monday_9_stays_9_local_across_both_daylight_saving_changes():
    new_york = _workspace(0, 9, "America/New_York")
    # clocks go forward on Sunday 8 March 2026 and back on Sunday 1 November 2026
    assert _moments(new_york, datetime(2026, 2, 28, tzinfo=UTC), 3) == [
        datetime(2026, 3, 2, 14, tzinfo=UTC),
        datetime(2026, 3, 9, 13, tzinfo=UTC),
        datetime(2026, 3, 16, 13, tzinfo=UTC),
    ]
    assert _moments(new_york, datetime(2026, 10, 20, tzinfo=UTC), 3) == [
        datetime(2026, 10, 26, 13, tzinfo=UTC),
        datetime(2026, 11, 2, 14, tzinfo=UTC),
        datetime(2026, 11, 9, 14, tzinfo=UTC),
    ]


def test_a_digest_due_on_the_day_the_clocks_change():
    # Sunday 09:00 on the very days the clocks change
    sunday = _workspace(6, 9, "Europe/Paris")
    assert next_digest_at(sunday, datetime(2026, 3, 28, tzinfo=UTC)) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert next_digest_at(sunday, datetime(2026, 10, 24, tzinfo=UTC)) == datetime(2026, 10, 25, 8, tzinfo=UTC)
    # 02:00 does not exist on 29 March in Paris: the digest still goes that day, at the first instant after the
    # gap's start (01:00 UTC, 03:00 local), and at 02:00 local the week after
    two = _workspace(6, 2, "Europe/Paris")
    assert _moments(two, datetime(2026, 3, 28, tzinfo=UTC), 2) == [
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 4, 5, 0, tzinfo=UTC),
    ]
    # 02:00 happens twice on 25 October: the digest goes once, at the first
    assert _moments(two, datetime(2026, 10, 24, tzinfo=UTC), 2) == [
        datetime(2026, 10, 25, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 1, tzinfo=UTC),
    ]


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC", "Asia/Kolkata"])
def test_the_next_digest_is_strictly_after_the_moment_given(zone):
    workspace = _workspace(2, 17, zone)
    due = next_digest_at(workspace, datetime(2026, 6, 1, tzinfo=UTC))
    assert due.astimezone(ZoneInfo(zone)).hour == 17
    assert next_digest_at(workspace, due - timedelta(microseconds=1)) == due
    following = next_digest_at(workspace, due)
    assert following - due == WEEK  # June: no clock change in between
    assert next_digest_at(workspace, due + timedelta(seconds=1)) == following


def test_the_next_digest_across_the_turn_of_the_year():
    friday = _workspace(4, 8, "UTC")
    assert next_digest_at(friday, datetime(2026, 12, 30, 12, tzinfo=UTC)) == datetime(2027, 1, 1, 8, tzinfo=UTC)
    assert next_digest_at(friday, datetime(2027, 1, 1, 8, tzinfo=UTC)) == datetime(2027, 1, 8, 8, tzinfo=UTC)
    # Thursday 23:00 in New York is already Friday in UTC: the local day decides
    thursday = _workspace(3, 23, "America/New_York")
    assert next_digest_at(thursday, datetime(2027, 1, 1, 2, tzinfo=UTC)) == datetime(2027, 1, 1, 4, tzinfo=UTC)
    assert next_digest_at(thursday, datetime(2027, 1, 1, 4, tzinfo=UTC)) == datetime(2027, 1, 8, 4, tzinfo=UTC)
    # Monday 00:00 in Paris is still Sunday in UTC
    monday = _workspace(0, 0, "Europe/Paris")
    assert next_digest_at(monday, datetime(2026, 12, 31, tzinfo=UTC)) == datetime(2027, 1, 3, 23, tzinfo=UTC)


def test_the_next_digest_is_given_in_the_zone_of_the_moment_after():
    due = next_digest_at(_workspace(0, 9, "America/New_York"), datetime(2026, 3, 5, 12, tzinfo=PARIS))
    assert due.tzinfo is PARIS
    assert due == datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_after_three_weeks_of_downtime_only_the_latest_digest_is_due():
    paris = _workspace(0, 9, "Europe/Paris")
    missed = datetime(2026, 3, 16, 8, tzinfo=UTC)  # the digest the bot was down for, then three more
    now = missed + 3 * WEEK + timedelta(hours=5)  # across the change of 29 March
    assert latest_digest_at(paris, now) == datetime(2026, 4, 6, 7, tzinfo=UTC)
    assert latest_digest_at(paris, datetime(2026, 4, 6, 7, tzinfo=UTC)) == datetime(2026, 4, 6, 7, tzinfo=UTC)
    assert latest_digest_at(paris, datetime(2026, 4, 6, 6, 59, tzinfo=UTC)) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    new_york = _workspace(0, 9, "America/New_York")
    assert latest_digest_at(new_york, datetime(2026, 3, 9, 12, 59, tzinfo=UTC)) == datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert latest_digest_at(new_york, datetime(2026, 11, 2, 13, 59, tzinfo=UTC)) == datetime(
        2026, 10, 26, 13, tzinfo=UTC
    )


@pytest.mark.parametrize(("zone", "weekday", "hour"), [("Europe/Paris", 0, 9), ("America/New_York", 6, 2)])
def test_the_latest_digest_is_the_last_moment_at_or_before_now_all_year(zone, weekday, hour):
    workspace = _workspace(weekday, hour, zone)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    while now < datetime(2027, 1, 10, tzinfo=UTC):
        latest = latest_digest_at(workspace, now)
        assert latest <= now < next_digest_at(workspace, latest), now
        assert latest.astimezone(ZoneInfo(zone)).weekday() == weekday
        assert now - latest < WEEK + timedelta(hours=1)
        now += timedelta(hours=5, minutes=17)


# parse_digest_settings ----------------------------------------------------------------------------------------


def test_every_digest_setting_is_read():
    assert parse_digest_settings("channel=<#C0RIPPLES|okr-ripples> day=monday hour=9 timezone=Europe/Paris") == {
        "digest_channel_id": "C0RIPPLES",
        "digest_weekday": 0,
        "digest_hour": 9,
        "digest_timezone": "Europe/Paris",
    }
    assert parse_digest_settings("Channel=C0RIPPLES DAY=fri hour=14:00 TZ=america/new_york") == {
        "digest_channel_id": "C0RIPPLES",
        "digest_weekday": 4,
        "digest_hour": 14,
        "digest_timezone": "America/New_York",
    }
    assert parse_digest_settings("day=6") == {"digest_weekday": 6}
    assert parse_digest_settings("hour=0") == {"digest_hour": 0}


@pytest.mark.parametrize("text", ["channel=none", "channel=NONE", "channel=off"])
def test_channel_none_clears_the_digest_channel(text):
    assert parse_digest_settings(text) == {"digest_channel_id": None}


def test_every_problem_is_reported_at_once_and_nothing_is_set():
    with pytest.raises(UsageError) as raised:
        parse_digest_settings("colour=blue day=someday hour=25 timezone=Mars/Olympus channel=okr hour=9")
    lines = raised.value.message.split("\n")
    assert len(lines) == 5
    assert "`colour=blue` is not a digest setting" in lines[0]
    assert "`someday` is not a day of the week" in lines[1]
    assert "`25` is not an hour" in lines[2]
    assert "`Mars/Olympus` is not a time zone" in lines[3]
    assert "`okr` is not a channel" in lines[4]
    assert raised.value.usage == SETTINGS_USAGE


def test_a_word_without_equals_is_not_a_setting():
    with pytest.raises(UsageError, match="`monday` is not a digest setting"):
        parse_digest_settings("monday")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_settings_ask_for_one(text):
    with pytest.raises(UsageError) as raised:
        parse_digest_settings(text)
    assert raised.value.message == "Set at least one of channel=, day=, hour= and timezone=."
    assert raised.value.usage == SETTINGS_USAGE


# split_messages and block_text -------------------------------------------------------------------------------

ROOM = MESSAGE_BLOCKS - 2
BUDGET = MESSAGE_CHARACTERS - PART_FRAME  # each part's text, leaving room for its own header and footer


def _section(size: int, tag: str = "") -> dict:
    text = (tag + " " + "x" * size)[:size] if size else ""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _group(sections: list[int], tag: str) -> list[dict]:
    return [{"type": "divider"}] + [_section(size, f"{tag}.{i}") for i, size in enumerate(sections)]


def test_block_text_counts_the_text_of_sections_fields_and_context_elements():
    assert block_text({"type": "divider"}) == 0
    assert block_text(_section(120)) == 120
    assert block_text({"type": "header", "text": {"type": "plain_text", "text": "Ripples"}}) == 7
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "abc"}, {"type": "image", "alt_text": "z"}]}
    assert block_text(context) == 3
    fields = {"type": "section", "text": {"type": "mrkdwn", "text": "ab"}, "fields": [{"type": "mrkdwn", "text": "cd"}]}
    assert block_text(fields) == 4


def _check_parts(blocks: list[dict], parts: list[list[dict]]) -> None:
    assert [id(b) for part in parts for b in part] == [id(b) for b in blocks]  # none lost, none twice, in order
    for part in parts:
        assert 0 < len(part) <= ROOM
        assert sum(block_text(b) for b in part) <= BUDGET


def _groups_of(blocks: list[dict]) -> list[list[dict]]:
    groups: list[list[dict]] = []
    for block in blocks:
        if block["type"] == "divider" or not groups:
            groups.append([])
        groups[-1].append(block)
    return groups


def _part_of(parts: list[list[dict]]) -> dict[int, int]:
    return {id(b): index for index, part in enumerate(parts) for b in part}


def test_nothing_to_split_is_one_empty_message():
    assert split_messages([]) == [[]]


def test_a_short_digest_is_one_message():
    blocks = [_section(300, "conflicts"), *_group([200, 400], "a"), *_group([100], "b")]
    assert split_messages(blocks) == [blocks]


@pytest.mark.parametrize("seed", range(8))
def test_parts_keep_slacks_limits_and_every_team_together_when_it_fits(seed):
    rng = random.Random(seed)
    blocks = [_section(rng.randrange(50, 3000), "conflicts") for _ in range(rng.randrange(0, 4))]
    for team in range(rng.randrange(20, 120)):
        blocks += _group([rng.randrange(30, 2500) for _ in range(rng.randrange(1, 6))], f"t{team}")
    parts = split_messages(blocks)
    _check_parts(blocks, parts)
    assert len(parts) > 1
    where = _part_of(parts)
    fits = [g for g in _groups_of(blocks) if len(g) <= ROOM and sum(block_text(b) for b in g) <= BUDGET]
    for group in fits:
        assert len({where[id(b)] for b in group}) == 1, group[1]["text"]["text"][:10]
    # a new part starts only when the next team (or the next piece of a team too big for one) would not fit
    starts = {id(g[0]): g for g in fits}
    for before, after in itertools.pairwise(parts):
        if id(after[0]) not in starts:
            continue
        group = starts[id(after[0])]
        blocks_over = len(before) + len(group) > ROOM
        text_over = sum(block_text(b) for b in before + group) > BUDGET
        assert blocks_over or text_over


def test_a_team_with_more_blocks_than_a_message_holds_is_split_into_full_messages():
    blocks = _group([20] * 30, "a") + _group([50] * 130, "huge") + _group([20] * 3, "c")
    parts = split_messages(blocks)
    _check_parts(blocks, parts)
    assert [len(p) for p in parts] == [31, 48, 48, 35 + 4]  # the next team joins the huge one's last part
    assert parts[1][0]["type"] == "divider" and "huge" in parts[1][1]["text"]["text"]


def test_many_small_teams_fill_each_message_to_its_block_limit():
    blocks = [b for team in range(100) for b in _group([10], f"t{team}")]  # 2 blocks a team
    parts = split_messages(blocks)
    _check_parts(blocks, parts)
    assert [len(p) for p in parts] == [48, 48, 48, 48, 8]


def test_teams_with_long_text_fill_each_message_to_its_character_limit():
    blocks = [b for team in range(30) for b in _group([2900], f"t{team}")]  # 3 teams fit in 10,000 characters
    parts = split_messages(blocks)
    _check_parts(blocks, parts)
    assert [len(p) for p in parts] == [6] * 10


def test_the_room_can_be_narrowed():
    blocks = [b for team in range(10) for b in _group([10, 10], f"t{team}")]
    parts = split_messages(blocks, room=9)
    assert [len(p) for p in parts] == [9, 9, 9, 3]
    assert [b for p in parts for b in p] == blocks


def test_a_team_with_more_text_than_a_message_holds_is_split():
    # a team with 17 sections of ~2,900 characters (e.g. 100 ripples with long notes, 6 rows a section) is cut
    # at block boundaries into messages that each fit
    blocks = _group([200], "a") + _group([2900] * 17, "long") + _group([200], "c")
    parts = split_messages(blocks)
    _check_parts(blocks, parts)
    assert len(parts) == 6  # three sections of 2,900 a message, after the first team


def test_a_part_with_its_header_and_context_stays_within_the_message_characters():
    # split_messages leaves room for the two blocks digest_part.j2 adds and for their text
    blocks = [b for team in range(8) for b in _group([2500], f"t{team}")]
    digest = _digest([], [])
    parts = split_messages(blocks)
    assert [sum(block_text(b) for b in part) for part in parts] == [7_500, 7_500, 5_000]
    for n, part in enumerate(parts, start=1):
        message = render_message("digest_part.j2", blocks=part, part=n, parts=len(parts), digest=digest, preview=False)
        assert sum(block_text(b) for b in message["blocks"]) <= MESSAGE_CHARACTERS


# the digest's templates, on data made by hand -----------------------------------------------------------------


def _team(name: str, channel: str) -> Team:
    return Team(name=name, name_key=name.casefold(), channel_id=channel)


def _digest(teams: list[TeamNews], conflicts: list[Conflict]) -> Digest:
    return Digest(datetime(2026, 11, 16, 9, tzinfo=UTC), datetime(2026, 11, 23, 9, tzinfo=UTC), teams, conflicts, [], 3)


NEWS = TeamNews(
    _team("Rocket", "C0ROCKET"),
    changes=[Change("committed", "O1 Ship the <new> onboarding & more", "U0ADA", "Because", ["Growth"])],
    risks=[Risk("1.2", "Activation rate", 5, 8, [])],
    ripples=[
        RippleNews(7, "depends_on", "Rocket", "Growth", "1.2 Activation rate", "2.1 Sign-ups", "Weekly", "open", True)
    ],
)
CONFLICT = Conflict("opposite", "*Sign-ups*: *Rocket* KR 1.1 wants it up; *Growth* KR 2.1 wants it down")


@pytest.mark.parametrize(
    ("teams", "conflicts"), [([], []), ([], [CONFLICT]), ([NEWS], []), ([NEWS], [CONFLICT]), ([NEWS, NEWS], [])]
)
def test_every_shape_of_digest_renders_messages_slack_accepts(teams, conflicts):
    digest = _digest(teams, conflicts)
    blocks = render_blocks("digest.j2", digest=digest)
    parts = split_messages(blocks)
    messages = [
        render_message("digest_part.j2", blocks=part, part=n, parts=len(parts), digest=digest, preview=False)
        for n, part in enumerate(parts, start=1)
    ]
    for message in messages:
        check_message(message)
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    if not teams and not conflicts:
        assert text.startswith("A quiet week")
    if teams:
        assert "*Rocket* <#C0ROCKET>" in text
        assert "O1 Ship the &lt;new&gt; onboarding &amp; more" in text  # what people typed is shown as typed
        assert "is at risk (confidence 5, was 8)" in text
        assert ":ocean: *R7* _new_ KR 1.2 Activation rate depends on *Growth* (KR 2.1 Sign-ups)" in text
    assert ("Conflicts to talk about (1)" in text) is bool(conflicts)


# network_chart ------------------------------------------------------------------------------------------------


def _network(teams: int, ripples: int, seed: int = 1) -> list[NetworkEdge]:
    rng = random.Random(seed)
    edges = []
    for n in range(ripples):
        a = rng.randrange(teams)
        b = (a + 1 + rng.randrange(teams - 1)) % teams
        edges.append(NetworkEdge(f"Team {a:03d}", f"Team {b:03d}", n % 3 == 0, n % 7 == 0))
    return edges


def test_no_ripples_still_draw_a_picture():
    picture = network_chart([], title="Ripples between teams · week to 2026-11-23")
    assert picture.startswith(PNG_SIGNATURE)


def test_one_team_and_two_teams_are_drawn():
    # one node: a ripple a team declared to itself is refused when declared, but the picture must not mind
    assert network_chart([NetworkEdge("Rocket", "Rocket", False, False)], title="One").startswith(PNG_SIGNATURE)
    two = [NetworkEdge("Rocket", "Growth", True, True), NetworkEdge("Growth", "Rocket", False, False)]
    assert network_chart(two, title="Two").startswith(PNG_SIGNATURE)


def test_the_same_network_gives_the_same_picture():
    edges = _network(12, 24)
    long_names = [NetworkEdge("A team with a very long name indeed, longer than any label", "$x$ & <y>", True, False)]
    assert network_chart(edges, title="Week") == network_chart(list(edges), title="Week")
    assert network_chart(long_names, title="Week") == network_chart(long_names, title="Week")
    assert network_chart(edges, title="Week") != network_chart(edges[:-1], title="Week")


def test_200_teams_and_2000_ripples_are_drawn_in_seconds_and_the_same_each_time():
    edges = _network(200, 2000)
    assert len({e.from_team for e in edges} | {e.to_team for e in edges}) == 200
    started = time.perf_counter()
    picture = network_chart(edges, title="Ripples between teams · week to 2026-11-23")
    elapsed = time.perf_counter() - started
    assert picture.startswith(PNG_SIGNATURE)
    assert elapsed < 20, f"{elapsed:.1f} s"  # about 1 s on 2 idle cores: straight arrows past MANY_EDGES
    assert network_chart(edges, title="Ripples between teams · week to 2026-11-23") == picture


@pytest.mark.parametrize("count", [MANY_EDGES, MANY_EDGES + 1])
def test_either_side_of_many_edges_draws_a_picture(count):
    edges = _network(40, count)
    assert network_chart(edges, title="Week").startswith(PNG_SIGNATURE)


def test_a_weeks_digest_covers_the_time_since_the_previous_one_across_a_change_of_clocks():
    paris = Workspace(digest_weekday=0, digest_hour=9, digest_timezone="Europe/Paris")
    spring = datetime(2026, 3, 30, 7, tzinfo=UTC)  # Monday 09:00 CEST, the week the clocks went forward
    autumn = datetime(2026, 10, 26, 8, tzinfo=UTC)  # Monday 09:00 CET, the week they went back

    assert previous_digest_at(paris, spring) == datetime(2026, 3, 23, 8, tzinfo=UTC)  # 167 hours: none told twice
    assert previous_digest_at(paris, autumn) == datetime(2026, 10, 19, 7, tzinfo=UTC)  # 169 hours: none left out
    plain = datetime(2026, 6, 8, 7, tzinfo=UTC)
    assert previous_digest_at(paris, plain) == plain - WEEK


def test_the_title_gives_the_digests_day_where_the_workspace_reads_it():
    monday_morning_in_auckland = datetime(2026, 11, 22, 20, tzinfo=UTC)  # Monday 09:00 NZDT, Sunday in UTC
    digest = Digest(
        monday_morning_in_auckland - WEEK, monday_morning_in_auckland, [], [], [], 3, zone="Pacific/Auckland"
    )
    message = render_message("digest_part.j2", blocks=[], part=1, parts=1, digest=digest, preview=False)
    assert message["text"] == "Ripples digest · week to 2026-11-23"
    utc = Digest(monday_morning_in_auckland - WEEK, monday_morning_in_auckland, [], [], [], 3)
    assert utc.week_to.isoformat() == "2026-11-22"
