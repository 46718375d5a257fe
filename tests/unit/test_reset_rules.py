"""The rules of the 13-week reset that need no database: a calendar that moved on (a later anchor cycle, a
cycle closed early), the team's midnight across daylight-saving changes, when the sweep next looks at a
team, and reading final scores and retro answers as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidFields
from bot.rituals.cycles import CYCLE_DAYS, cycle_day, cycle_span, midnight, span_on, team_span
from bot.rituals.reset import (
    RETRO_ANSWER_MAX,
    Retro,
    RetroKeyResult,
    Scorable,
    parse_final_scores,
    parse_retro_form,
    parse_score,
    plan_calendar,
    prompt_of,
)
from storage.models import KeyResult, Objective, Team

# cycle_span: a calendar anchored at a later cycle ---------------------------------------------------------

ANCHOR = date(2026, 6, 15)  # a Monday; cycle 3 of this team starts here (its first two ran on another calendar)


def _span(day: date, **kwargs) -> tuple[int, date, date]:
    span = cycle_span(ANCHOR, day, **kwargs)
    return span.number, span.starts_on, span.ends_on


def test_the_anchor_cycle_is_numbered_from_the_anchor_and_the_ones_after_follow_every_13_weeks():
    assert _span(ANCHOR, anchor_cycle=3) == (3, ANCHOR, ANCHOR + timedelta(days=CYCLE_DAYS))
    assert _span(ANCHOR + timedelta(days=CYCLE_DAYS - 1), anchor_cycle=3)[0] == 3
    assert _span(ANCHOR + timedelta(days=CYCLE_DAYS), anchor_cycle=3) == (
        4,
        date(2026, 9, 14),
        date(2026, 12, 14),
    )
    assert _span(ANCHOR + timedelta(days=5 * CYCLE_DAYS + 40), anchor_cycle=3)[0] == 8
    # the anchor cycle only shifts the numbers: the dates are those of an anchor_cycle=1 calendar
    for offset in (0, 1, 90, 91, 500, 4000):
        day = ANCHOR + timedelta(days=offset)
        first, later = cycle_span(ANCHOR, day), cycle_span(ANCHOR, day, anchor_cycle=7)
        assert (later.number - 6, later.starts_on, later.ends_on) == (first.number, first.starts_on, first.ends_on)


@pytest.mark.parametrize("before", [1, 7, 30, 91, 92, 400, 3650])
def test_days_before_the_anchor_belong_to_the_anchor_cycle_in_week_0(before):
    day = ANCHOR - timedelta(days=before)
    span = cycle_span(ANCHOR, day, anchor_cycle=3)
    assert (span.number, span.starts_on) == (3, ANCHOR)  # never cycle 2, 1, 0 or below
    assert span.week_of(day) == 0


def test_the_anchor_cycles_weeks_count_from_its_own_first_day():
    assert cycle_span(ANCHOR, ANCHOR, anchor_cycle=3).week_of(ANCHOR) == 1
    last = ANCHOR + timedelta(days=CYCLE_DAYS - 1)
    assert cycle_span(ANCHOR, last, anchor_cycle=3).week_of(last) == 13
    with pytest.raises(ValueError, match="after cycle 3"):
        cycle_span(ANCHOR, ANCHOR, anchor_cycle=3).week_of(last + timedelta(days=1))


def test_a_cycle_closed_early_is_behind_the_team_and_the_next_one_starts_on_its_calendar_date():
    anchor = date(2026, 3, 2)  # cycle 1: 2 Mar – 31 May 2026; cycle 2 from 1 Jun
    mid_first = date(2026, 4, 15)
    assert cycle_span(anchor, mid_first).number == 1

    span = cycle_span(anchor, mid_first, closed_through=1)
    assert (span.number, span.starts_on, span.last_day) == (2, date(2026, 6, 1), date(2026, 8, 30))
    assert span.week_of(mid_first) == 0
    assert span.week_of(date(2026, 5, 31)) == 0
    assert span.week_of(date(2026, 6, 1)) == 1
    # once the calendar reaches cycle 2, closing cycle 1 changes nothing
    assert cycle_span(anchor, date(2026, 7, 1), closed_through=1) == cycle_span(anchor, date(2026, 7, 1))
    # a closed cycle only reaches forward: closing cycle 1 does not move a day of cycle 3
    assert cycle_span(anchor, date(2026, 9, 1), closed_through=1).number == 3
    # closed_through 0 (nothing closed yet) is the plain calendar
    assert cycle_span(anchor, mid_first, closed_through=0) == cycle_span(anchor, mid_first)


def test_before_the_first_cycle_starts_a_closed_count_of_zero_keeps_cycle_1():
    span = cycle_span(date(2026, 3, 2), date(2026, 2, 1), closed_through=0)
    assert (span.number, span.week_of(date(2026, 2, 1))) == (1, 0)


def test_a_later_anchor_cycle_and_a_cycle_closed_early_combined():
    # cycle 3 runs from the anchor; it closed early, on its week 4
    day = ANCHOR + timedelta(days=25)
    span = cycle_span(ANCHOR, day, anchor_cycle=3, closed_through=3)
    assert (span.number, span.starts_on, span.ends_on) == (4, date(2026, 9, 14), date(2026, 12, 14))
    assert span.week_of(day) == 0
    # cycles closed before the anchor cycle do not move it
    assert cycle_span(ANCHOR, day, anchor_cycle=3, closed_through=2).number == 3
    # before the anchor, with the cycle before it closed: still the anchor cycle, week 0
    early = ANCHOR - timedelta(days=10)
    drafting = cycle_span(ANCHOR, early, anchor_cycle=3, closed_through=2)
    assert (drafting.number, drafting.starts_on, drafting.week_of(early)) == (3, ANCHOR, 0)


def test_a_closed_count_ahead_of_the_calendar_skips_to_the_first_open_cycle():
    # cycles 3 and 4 both closed while the calendar is still in 3: the team lives in 5, on 5's own dates
    day = ANCHOR + timedelta(days=3)
    span = cycle_span(ANCHOR, day, anchor_cycle=3, closed_through=4)
    assert (span.number, span.starts_on) == (5, ANCHOR + timedelta(days=2 * CYCLE_DAYS))
    assert span.week_of(day) == 0


@pytest.mark.parametrize("anchor_cycle", [1, 2, 6])
@pytest.mark.parametrize("closed_behind", [0, 1, 2])
def test_every_day_falls_in_its_span_or_before_it_and_weeks_never_raise(anchor_cycle, closed_behind):
    anchor = date(2027, 12, 6)  # across new year and 29 February 2028
    for offset in range(-120, 3 * CYCLE_DAYS + 5):
        day = anchor + timedelta(days=offset)
        plain = cycle_span(anchor, day, anchor_cycle=anchor_cycle)
        closed = plain.number - 1 + closed_behind  # 0: nothing of today's cycle closed; 1: it closed early…
        span = cycle_span(anchor, day, anchor_cycle=anchor_cycle, closed_through=closed)
        assert span.number == max(plain.number, closed + 1), (day, closed)
        assert span.ends_on - span.starts_on == timedelta(days=CYCLE_DAYS)
        assert day < span.ends_on
        assert 0 <= span.week_of(day) <= 13
        if span.number > plain.number:
            assert span.week_of(day) == 0 and span.starts_on > day


def test_a_later_anchor_cycle_across_a_leap_day_and_a_new_year():
    anchor = date(2027, 12, 6)
    span = cycle_span(anchor, date(2028, 2, 29), anchor_cycle=4)
    assert (span.number, span.starts_on, span.last_day) == (4, date(2027, 12, 6), date(2028, 3, 5))
    assert span.week_of(date(2027, 12, 31)) == 4 and span.week_of(date(2028, 1, 1)) == 4
    assert span.week_of(date(2028, 2, 29)) == 13
    closed = cycle_span(anchor, date(2028, 2, 29), anchor_cycle=4, closed_through=4)
    assert (closed.number, closed.starts_on, closed.last_day) == (5, date(2028, 3, 6), date(2028, 6, 4))


def test_cycle_day_passes_the_anchor_cycle_and_the_closed_count_through():
    # 23:30 UTC on 14 June is already 15 June (the anchor) in Paris, still 14 June in New York
    moment = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)
    paris = cycle_day(ANCHOR, "Europe/Paris", moment, anchor_cycle=3)
    new_york = cycle_day(ANCHOR, "America/New_York", moment, anchor_cycle=3)
    assert (paris.day, paris.span.number, paris.week) == (ANCHOR, 3, 1)
    assert (new_york.day, new_york.span.number, new_york.week) == (date(2026, 6, 14), 3, 0)
    closed = cycle_day(ANCHOR, "Europe/Paris", moment, anchor_cycle=3, closed_through=3)
    assert (closed.span.number, closed.week) == (4, 0)


# the team's rows: span_on and team_span read the team's calendar ---------------------------------------------


def _team(**kwargs) -> Team:
    values = {"timezone": "UTC", "cycle_anchor": date(2026, 3, 2), "anchor_cycle": 1, "closed_through": 0}
    return Team(**(values | kwargs))


def test_span_on_skips_a_closed_cycle_unless_asked_for_the_dates_alone():
    team = _team(closed_through=1)
    assert span_on(team, date(2026, 4, 15)).number == 2
    assert span_on(team, date(2026, 4, 15), skip_closed=False).number == 1
    # a team row not yet flushed has no defaults: an unset anchor cycle and closed count read as 1 and 0
    fresh = Team(timezone="UTC", cycle_anchor=date(2026, 3, 2))
    assert span_on(fresh, date(2026, 4, 15)) == cycle_span(date(2026, 3, 2), date(2026, 4, 15))


def test_team_span_reads_today_in_the_teams_zone():
    team = _team(timezone="Pacific/Auckland", cycle_anchor=ANCHOR, anchor_cycle=3)
    moment = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)  # already midnight, 15 June, in Auckland (UTC+12)
    assert team_span(team, moment).week_of(date(2026, 6, 15)) == 1
    assert (
        team_span(_team(timezone="America/Los_Angeles", cycle_anchor=ANCHOR, anchor_cycle=3), moment).starts_on
        == ANCHOR
    )


# midnight across daylight-saving changes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("Europe/Paris", date(2026, 3, 28), datetime(2026, 3, 27, 23, 0, tzinfo=UTC)),  # CET
        ("Europe/Paris", date(2026, 3, 29), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # the 23-hour day begins in CET
        ("Europe/Paris", date(2026, 3, 30), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # CEST
        ("Europe/Paris", date(2026, 10, 25), datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # the 25-hour day, CEST
        ("Europe/Paris", date(2026, 10, 26), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # CET again
        ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # EST
        ("America/New_York", date(2026, 3, 9), datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),  # EDT
        ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),  # EDT
        ("America/New_York", date(2026, 11, 2), datetime(2026, 11, 2, 5, 0, tzinfo=UTC)),  # EST
        ("UTC", date(2028, 2, 29), datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
        ("Pacific/Auckland", date(2027, 1, 1), datetime(2026, 12, 31, 11, 0, tzinfo=UTC)),  # NZDT, across new year
    ],
)
def test_midnight_is_the_instant_the_day_begins_in_the_teams_zone(zone, day, expected):
    got = midnight(_team(timezone=zone), day)
    assert got == expected
    assert got.utcoffset() == timedelta(0)  # an instant in UTC, comparable with stored timestamps


@pytest.mark.parametrize(
    ("zone", "short_day", "long_day"),
    [
        ("Europe/Paris", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
        ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),  # the southern hemisphere: the other way round
    ],
)
def test_consecutive_midnights_are_23_or_25_hours_apart_on_daylight_saving_days(zone, short_day, long_day):
    team = _team(timezone=zone)
    assert midnight(team, short_day + timedelta(days=1)) - midnight(team, short_day) == timedelta(hours=23)
    assert midnight(team, long_day + timedelta(days=1)) - midnight(team, long_day) == timedelta(hours=25)
    # and a cycle's 91 days are 91 × 24 hours give or take the one hour gained or lost inside them
    span = cycle_span(short_day - timedelta(days=40), short_day)
    length = midnight(team, span.ends_on) - midnight(team, span.starts_on)
    assert length == timedelta(days=CYCLE_DAYS, hours=-1)


# zones whose clocks change at midnight itself: 00:00 is skipped (spring) or happens twice (autumn)
MIDNIGHT_CHANGES = ["America/Havana", "America/Santiago", "Asia/Beirut", "America/Asuncion", "Europe/Paris"]


@pytest.mark.parametrize("zone", MIDNIGHT_CHANGES)
def test_midnight_is_when_the_local_date_turns_even_when_the_clocks_change_at_midnight(zone):
    tz, team = ZoneInfo(zone), _team(timezone=zone)
    for offset in range(0, 2 * 366):
        day = date(2025, 1, 1) + timedelta(days=offset)
        begins = midnight(team, day)
        assert begins.astimezone(tz).date() == day, (zone, day, begins)
        assert (begins - timedelta(microseconds=1)).astimezone(tz).date() == day - timedelta(days=1), (zone, day)


# plan_calendar: when the sweep next looks at the team ------------------------------------------------------


def test_the_reset_is_planned_at_the_teams_midnight_after_the_cycles_last_day():
    team = _team()
    plan_calendar(team, datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    assert team.reset_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert team.reset_notice_at == datetime(2026, 5, 25, tzinfo=UTC)

    paris = _team(timezone="Europe/Paris")
    plan_calendar(paris, datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    assert paris.reset_at == datetime(2026, 5, 31, 22, 0, tzinfo=UTC)  # midnight CEST
    assert paris.reset_notice_at == datetime(2026, 5, 24, 22, 0, tzinfo=UTC)


def test_a_notice_already_behind_the_team_stays_due_until_it_is_handled_then_the_next_cycles_is_planned():
    team = _team()
    plan_calendar(team, datetime(2026, 5, 28, 9, 0, tzinfo=UTC))
    assert team.reset_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert team.reset_notice_at == datetime(2026, 5, 25, tzinfo=UTC)  # due: the sweep posts it late
    plan_calendar(team, datetime(2026, 5, 28, 9, 0, tzinfo=UTC), noticed=True)
    assert team.reset_notice_at == datetime(2026, 8, 24, tzinfo=UTC)  # a week before cycle 2 ends


def test_a_cycle_ending_across_a_daylight_saving_change_is_planned_in_each_days_own_offset():
    # a New York cycle that ends on Sunday 1 November 2026, the day clocks go back
    team = _team(timezone="America/New_York", cycle_anchor=date(2026, 8, 3))
    plan_calendar(team, datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    assert team.reset_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # midnight EST
    assert team.reset_notice_at == datetime(2026, 10, 26, 4, 0, tzinfo=UTC)  # midnight EDT


def test_a_cycle_closed_early_keeps_its_end_by_the_dates_and_a_later_anchor_cycle_plans_its_own():
    closed = _team(closed_through=1)
    plan_calendar(closed, datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    assert closed.reset_at == datetime(2026, 6, 1, tzinfo=UTC)

    # cycle 1 closed early and the team chose 15 June for cycle 2
    moved = _team(cycle_anchor=ANCHOR, anchor_cycle=2, closed_through=1)
    plan_calendar(moved, datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    assert moved.reset_at == datetime.combine(ANCHOR + timedelta(days=CYCLE_DAYS), time(0), tzinfo=UTC)
    assert moved.reset_notice_at == datetime(2026, 9, 7, tzinfo=UTC)


# final scores -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.7", 0.7),
        (".7", 0.7),
        ("0,7", 0.7),
        ("70%", 0.7),
        ("70 %", 0.7),
        (" 0.7 ", 0.7),
        ("0.7\n", 0.7),
        ("0", 0.0),
        ("1", 1.0),
        ("1.0", 1.0),
        ("100%", 1.0),
        ("0%", 0.0),
        ("-0", 0.0),
        ("0.666", 0.67),
        ("+0.5", 0.5),
        ("0.70", 0.7),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_a_score_is_read_the_ways_people_type_it(raw, expected):
    assert parse_score(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1.5", "runs from 0.0 to 1.0"),
        ("-0.1", "runs from 0.0 to 1.0"),
        ("\u22120.1", "runs from 0.0 to 1.0"),  # the minus sign documents paste
        ("101%", "runs from 0.0 to 1.0"),
        ("70", "runs from 0.0 to 1.0"),  # 70 without % is not 0.7
        ("1,000", "runs from 0.0 to 1.0"),
        ("abc", "without words"),
        ("nan", "without words"),
        ("inf", "without words"),
        ("1e-1", "without words"),
        ("%", "Type a number"),
        ("0.7.1", "Check the separators"),
        ("9" * 100, "too long"),
        ("0." + "7" * 10_000, "too long"),
        ("7" * 10_000 + "%", "too long"),
    ],
)
def test_a_score_that_is_not_one_is_refused_with_a_message(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_score(raw)


def _item(kr_id: int, objective_number: int = 1, position: int = 1) -> Scorable:
    kr = KeyResult(id=kr_id, position=position, metric="Teams active", baseline=20, target=35)
    return Scorable(kr, Objective(id=100 + objective_number, number=objective_number), 20, 0.0)


def test_final_scores_are_read_per_key_result_with_or_without_a_final_value():
    items = [_item(11, 1, 1), _item(12, 1, 2), _item(21, 2, 1), _item(22, 2, 2)]
    fields = {
        "value:11": "33",
        "score:11": "0.8",
        "value:12": "",
        "score:12": "70%",
        "value:21": None,
        "score:21": None,  # left empty: not scored, its progress will count
        # nothing at all for 22: the same
        "value:99": "5",
        "score:99": "abc",  # not one of this person's key results: ignored
    }
    assert parse_final_scores(fields, items) == {11: (33.0, 0.8), 12: (None, 0.7)}
    assert parse_final_scores({}, items) == {}


def test_every_bad_final_score_field_is_named_with_its_key_result():
    items = [_item(11, 1, 1), _item(12, 1, 2), _item(21, 2, 1), _item(22, 2, 2), _item(23, 2, 3)]
    fields = {
        "value:11": "lots",
        "score:11": "0.5",
        "value:12": "40",
        "score:12": "1.5",
        "value:21": "40",
        "score:21": "",
        "value:22": "",
        "score:22": "high",
        "value:23": "12",
        "score:23": "0.9",  # fine on its own, but nothing is saved while others are wrong
    }
    with pytest.raises(InvalidFields) as raised:
        parse_final_scores(fields, items)
    assert raised.value.fields == {
        "value:11": "KR 1.1: the final value should be a number, like 42 or 3.5.",
        "score:12": "KR 1.2: A score runs from 0.0 to 1.0 (or 0% to 100%).",
        "score:21": "KR 2.1: give a score with the final value (0.0 to 1.0).",
        "score:22": "KR 2.2: the score should be a number from 0.0 to 1.0, like 0.7.",
    }


def test_a_bad_final_value_without_a_score_is_named_once_on_the_value():
    with pytest.raises(InvalidFields) as raised:
        parse_final_scores({"value:11": "lots", "score:11": ""}, [_item(11)])
    assert raised.value.fields == {"value:11": "KR 1.1: the final value should be a number, like 42 or 3.5."}


def test_a_huge_final_value_or_score_is_refused_not_crashed_on():
    with pytest.raises(InvalidFields) as raised:
        parse_final_scores({"value:11": "9" * 5000, "score:11": "0." + "5" * 5000}, [_item(11)])
    assert set(raised.value.fields) == {"value:11", "score:11"}
    assert all(len(message) < 200 for message in raised.value.fields.values())


# retro answers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Onboarding needs a checklist", (1, "Onboarding needs a checklist")),
        ("2) Stop the Friday demo", (2, "Stop the Friday demo")),
        ("#3: Yes, we pair more", (3, "Yes, we pair more")),
        ("#2: fewer meetings", (2, "fewer meetings")),
        ("Q1: customers first", (1, "customers first")),
        ("q2. fewer meetings", (2, "fewer meetings")),
        ("Q3) more pairing", (3, "more pairing")),
        ("3 - we pair more", (3, "we pair more")),
        ("2 \u2014 fewer meetings", (2, "fewer meetings")),
        ("  2.   fewer meetings  ", (2, "fewer meetings")),
        ("1.\nA list\nof things", (1, "A list\nof things")),
        # not a prompt number: kept as typed
        ("3", (None, "3")),
        ("3.", (None, "3.")),
        ("1)", (None, "1)")),
        ("10 things we learned", (None, "10 things we learned")),
        ("4. A fourth thought", (None, "4. A fourth thought")),
        ("0. Nothing", (None, "0. Nothing")),
        ("We learned a lot", (None, "We learned a lot")),
        ("Q4: next quarter", (None, "Q4: next quarter")),
        ("Q3 revenue was flat", (None, "Q3 revenue was flat")),  # a quarter, not a prompt: no punctuation
        ("#1 priority was hiring", (None, "#1 priority was hiring")),
        ("", (None, "")),
    ],
)
def test_a_retro_answer_names_its_prompt_by_its_leading_number(text, expected):
    assert prompt_of(text) == expected


@pytest.mark.parametrize("text", ["1.5x faster builds after the cache", "3:30 is too late for the standup"])
def test_a_number_that_merely_starts_an_answer_is_not_cut_off_it(text):
    # a separator followed by a digit is part of a number, not a prompt number: the text stays whole
    assert prompt_of(text) == (None, text)


def test_the_retro_form_keeps_the_prompts_answered():
    fields = {"prompt:1": "  We learned\r\nto measure  ", "prompt:2": "", "prompt:3": None, "prompt:4": "extra"}
    assert parse_retro_form(fields) == {1: "We learned\nto measure"}
    assert parse_retro_form({"prompt:2": "Stop", "prompt:3": "Yes"}) == {2: "Stop", 3: "Yes"}
    assert parse_retro_form({"prompt:3": "Cafe\u0301"}) == {3: "Caf\u00e9"}  # NFC, as everywhere else


def test_an_empty_retro_form_asks_for_one_answer():
    for fields in ({}, {"prompt:1": "", "prompt:2": "   ", "prompt:3": "\n\n"}, {"prompt:4": "not a prompt"}):
        with pytest.raises(InvalidFields) as raised:
            parse_retro_form(fields)
        assert raised.value.fields == {"prompt:1": "Answer at least one of the prompts."}, fields


def test_a_retro_answer_may_be_3000_characters_and_no_more():
    assert parse_retro_form({"prompt:2": "a" * RETRO_ANSWER_MAX}) == {2: "a" * RETRO_ANSWER_MAX}
    # counted after normalising: 3000 accented letters typed as letter + combining accent still fit
    assert parse_retro_form({"prompt:1": "e\u0301" * RETRO_ANSWER_MAX})[1] == "\u00e9" * RETRO_ANSWER_MAX
    with pytest.raises(InvalidFields) as raised:
        parse_retro_form({"prompt:1": "fine", "prompt:2": "a" * (RETRO_ANSWER_MAX + 1)})
    assert raised.value.fields == {"prompt:2": "Keep an answer under 3,000 characters."}


# ambition ---------------------------------------------------------------------------------------------------


def _retro(*scores: float | None) -> Retro:
    objective = Objective(id=1, number=1)
    krs = [
        RetroKeyResult(
            KeyResult(id=i, position=i, final_score=s, final_at=datetime(2026, 6, 3, tzinfo=UTC)), objective, True
        )
        for i, s in enumerate(scores, start=1)
    ]
    return Retro(team=None, cycle=None, objectives=[(objective, krs)] if krs else [], changes=[], moved={})


@pytest.mark.parametrize(
    ("scores", "ambition"),
    [
        ((), "none"),
        ((None,), "none"),
        ((0.0,), "low"),
        ((0.59,), "low"),
        ((0.5, 0.6), "low"),  # 0.55
        ((0.6,), "healthy"),
        ((0.7,), "healthy"),
        ((0.4, 1.0), "healthy"),  # 0.7
        ((0.94,), "healthy"),
        ((0.9, 1.0), "safe"),  # 0.95
        ((0.95,), "safe"),
        ((1.0, 1.0, 1.0), "safe"),
        ((1.0, None), "safe"),  # a key result with no score does not count
    ],
)
def test_ambition_compares_the_average_score_with_the_07_guide(scores, ambition):
    assert _retro(*scores).ambition == ambition


def test_the_retro_score_is_the_average_of_its_key_results_across_objectives():
    first, second = Objective(id=1, number=1), Objective(id=2, number=2)
    done = datetime(2026, 6, 3, tzinfo=UTC)
    retro = Retro(
        team=None,
        cycle=None,
        objectives=[
            (first, [RetroKeyResult(KeyResult(id=1, position=1, final_score=1.0, final_at=done), first, True)]),
            (second, [RetroKeyResult(KeyResult(id=2, position=1, final_score=0.2, final_at=done), second, False)]),
        ],
        changes=[],
        moved={"inbox": 2, "product": 1},
    )
    assert retro.score == 0.6 and retro.ambition == "healthy"
    assert [kr.label for kr in retro.key_results] == ["KR 1.1", "KR 2.1"]
    assert [kr.label for kr in retro.by_progress] == ["KR 2.1"]
    assert retro.moved_total == 3
