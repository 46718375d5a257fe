"""The weekly check-in summary: its figures from the database, in a fixed number of queries, and its message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.blockkit import MESSAGE_BLOCKS, SECTION_TEXT
from bot.charts import ChartSeries, progress_chart
from bot.render import render_message
from bot.rituals.cycles import cycle_span
from bot.rituals.summary import checkin_week, weekly_summary
from storage.models import KeyResult, KeyResultState, ObjectiveState
from tests import factories
from tests.helpers import StatementCounter, flatten

# The team's cycle starts on Monday 2026-11-23 (factories.NOW); check-ins are on Mondays.
W1, W2, W3, W4, W5, W6 = (date(2026, 11, 23) + timedelta(weeks=n) for n in range(6))
AFTER_WEEK_5 = datetime(2026, 12, 23, 9, 0, tzinfo=UTC)  # the Wednesday after week 5's check-ins

ACTIVATION = {
    "metric": "Teams active after their first week",
    "unit": "%",
    "baseline": 20,
    "target": 35,
    "owner": "U0BEN",
}
MINUTES = {
    "metric": "Median minutes to first dashboard",
    "unit": "min",
    "baseline": 30,
    "target": 10,
    "direction": "decrease",
    "owner": "U0CLEO",
}
ACTIVE_TEAMS = {"metric": "Weekly active teams", "baseline": 0, "target": 100, "owner": "U0BEN"}
TICKETS = {"metric": "Support tickets per team", "target": 2, "direction": "keep_below", "owner": "U0DAN"}
CHURN = {"metric": "Teams that churn each month", "baseline": 10, "target": 5, "direction": "decrease"}  # no owner
DROPPED = {"metric": "A key result dropped mid-cycle", "baseline": 0, "target": 1, "owner": "U0EVE"}


def _rows(session, objective) -> list[KeyResult]:
    query = select(KeyResult).where(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
    return list(session.scalars(query))


def _build_rockets(db):
    """Two live objectives over five weeks of check-ins, plus a dropped objective and a dropped key result."""
    with db.transaction() as session:
        ws = factories.workspace(session)
        team = factories.team(session, ws, name="Rockets")
        first = factories.committed_objective(session, team, key_results=[ACTIVATION, MINUTES])
        second = factories.committed_objective(
            session, team, title="Teams stay", key_results=[ACTIVE_TEAMS, TICKETS, CHURN, DROPPED]
        )
        gone = factories.committed_objective(
            session, team, title="Gone", key_results=[{**ACTIVATION, "owner": "U0FAY"}]
        )
        gone.state = ObjectiveState.DROPPED
        activation, minutes = _rows(session, first)
        active_teams, tickets, churn, dropped = _rows(session, second)
        dropped.state = KeyResultState.DROPPED

        for week, value, confidence in ((W1, 23, 7), (W2, 26, 8), (W3, 29, 6), (W5, 32, 4)):
            factories.checkin(session, activation, week_start=week, value=value, confidence=confidence)
        for week, value, confidence in ((W1, 28, 5), (W2, 25, 5), (W3, 22, 6), (W4, 20, 7), (W5, 18, 7)):
            factories.checkin(session, minutes, week_start=week, value=value, confidence=confidence)
        factories.checkin(session, active_teams, week_start=W4, value=10, confidence=5)  # nothing in week 5
        factories.checkin(session, tickets, week_start=W3, value=1.5, confidence=8)
        factories.checkin(session, tickets, week_start=W5, value=3, confidence=3).note = "Two <big> launches & a bug"
        factories.checkin(session, churn, week_start=W5, value=8, confidence=6)
        factories.checkin(session, dropped, week_start=W5, value=1, confidence=9)  # dropped: not in the summary
        [gone_kr] = _rows(session, gone)
        factories.checkin(session, gone_kr, week_start=W5, value=30, confidence=2)  # dropped objective: left out
        return team, (activation.id, minutes.id, active_teams.id, tickets.id, churn.id)


def _figures(summary):
    return [
        (
            f"KR {w.objective_number}.{w.key_result.position}",
            w.score,
            w.checkin.confidence if w.checkin else None,
            w.trend,
            w.confidence_fell,
            w.points,
        )
        for w in summary.key_results
    ]


def test_the_summary_of_week_five(db):
    team, ids = _build_rockets(db)

    with db.read() as session, StatementCounter(db.engine) as counter:
        summary = weekly_summary(session, team=team, week_start=W5, now=AFTER_WEEK_5)

    assert len(counter.queries) == 4
    assert (summary.team.id, summary.span.number, summary.week, summary.week_start) == (team.id, 1, 5, W5)
    assert [o.objective.title for o in summary.objectives] == ["New teams get value in their first week", "Teams stay"]
    assert [w.key_result.id for w in summary.key_results] == list(ids)
    assert _figures(summary) == [
        ("KR 1.1", 0.8, 4, (7, 8, 6, 4), True, ((1, 0.2), (2, 0.4), (3, 0.6), (5, 0.8))),
        ("KR 1.2", 0.6, 7, (5, 6, 7, 7), False, ((1, 0.1), (2, 0.25), (3, 0.4), (4, 0.5), (5, 0.6))),
        ("KR 2.1", 0.1, None, (5,), False, ((4, 0.1),)),
        ("KR 2.2", 0.0, 3, (8, 3), True, ((3, 1.0), (5, 0.0))),
        ("KR 2.3", 0.4, 6, (6,), False, ((5, 0.4),)),
    ]
    assert [o.score for o in summary.objectives] == [0.7, 0.17]
    assert summary.checked_in == ("U0CLEO", "U0DAN")
    assert summary.not_checked_in == ("U0BEN",)  # checked in on KR 1.1 but not on KR 2.1
    assert [f"KR {w.objective_number}.{w.key_result.position}" for w in summary.fell] == ["KR 1.1", "KR 2.2"]
    assert summary.chart_series() == [
        ChartSeries("KR 1.1 Teams active after their first week", ((1, 0.2), (2, 0.4), (3, 0.6), (5, 0.8))),
        ChartSeries("KR 1.2 Median minutes to first dashboard", ((1, 0.1), (2, 0.25), (3, 0.4), (4, 0.5), (5, 0.6))),
        ChartSeries("KR 2.1 Weekly active teams", ((4, 0.1),)),
        ChartSeries("KR 2.2 Support tickets per team", ((3, 1.0), (5, 0.0))),
        ChartSeries("KR 2.3 Teams that churn each month", ((5, 0.4),)),
    ]
    png = progress_chart(summary.chart_series(), title="Rockets · week 5")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:24] == b"IHDR" + (800).to_bytes(4) + (450).to_bytes(4)


def test_a_summary_caught_up_late_tells_the_week_as_it_was(db):
    team, _ = _build_rockets(db)

    with db.read() as session:
        week_three = weekly_summary(session, team=team, week_start=W3, now=AFTER_WEEK_5)

    assert week_three.week == 3
    assert _figures(week_three)[:2] == [
        # the score is the key result's score now; the trend and the points stop at week 3
        ("KR 1.1", 0.8, 6, (7, 8, 6), True, ((1, 0.2), (2, 0.4), (3, 0.6))),
        ("KR 1.2", 0.6, 6, (5, 5, 6), False, ((1, 0.1), (2, 0.25), (3, 0.4))),
    ]
    assert week_three.checked_in == ("U0CLEO", "U0DAN")  # Dan's only check-in so far is week 3's
    assert week_three.not_checked_in == ("U0BEN",)
    assert [w.key_result.metric for w in week_three.fell] == ["Teams active after their first week"]


def test_the_message_lists_every_key_result_and_who_checked_in(db):
    team, ids = _build_rockets(db)
    with db.read() as session:
        summary = weekly_summary(session, team=team, week_start=W5, now=AFTER_WEEK_5)
        flagged = [session.get(KeyResult, ids[2])]

    message = render_message("checkin_summary.j2", summary=summary, flagged=flagged)

    assert message["text"] == "Rockets · week 5 check-in: 2 of 3 owners checked in"
    blocks = message["blocks"]
    assert [b["type"] for b in blocks] == [
        "header",
        "context",
        "section",
        "section",
        "divider",
        "context",
        "section",
        "section",
    ]
    assert blocks[0]["text"]["text"] == "Rockets · week 5 check-in"
    assert blocks[1]["elements"][0]["text"] == f"Cycle 1, week 5 of 13 · the week of 2026-12-21 · <#{team.channel_id}>"
    assert blocks[2]["text"]["text"] == (
        "*O1 · New teams get value in their first week* `███████░░░` 70%\n"
        "• *KR 1.1* Teams active after their first week\n"
        "      `████████░░` 80% · 20 → 32 → 35 % · confidence 7 → 8 → 6 → 4 ↓ · <@U0BEN>\n"
        "• *KR 1.2* Median minutes to first dashboard\n"
        "      `██████░░░░` 60% · 30 → 18 → 10 min · confidence 5 → 6 → 7 → 7 · <@U0CLEO>"
    )
    assert blocks[3]["text"]["text"] == (
        "*O2 · Teams stay* `██░░░░░░░░` 17%\n"
        "• *KR 2.1* Weekly active teams\n"
        "      `█░░░░░░░░░` 10% · 0 → 10 → 100 · _no check-in this week_ (confidence was 5) · <@U0BEN>\n"
        "• *KR 2.2* Support tickets per team\n"
        "      `░░░░░░░░░░` 0% · 3 now, keep below 2 · confidence 8 → 3 ↓ · <@U0DAN>\n"
        "• *KR 2.3* Teams that churn each month\n"
        "      `████░░░░░░` 40% · 10 → 8 → 5 · confidence 6 · no owner"
    )
    assert blocks[5]["elements"][0]["text"] == "Checked in: <@U0CLEO> <@U0DAN> · Not yet: <@U0BEN>"
    assert blocks[6]["text"]["text"] == (
        "*Confidence fell*\n"
        "• *KR 1.1* Teams active after their first week: 6 → 4 · <@U0BEN>\n"
        "• *KR 2.2* Support tickets per team: 8 → 3 · <@U0DAN> · “Two &lt;big&gt; launches &amp; a bug”"
    )
    assert blocks[7]["text"]["text"] == (
        "*Three check-ins missed in a row*\n"
        "• *KR 2.1* Weekly active teams · <@U0BEN>\n"
        "Is each still the right key result, with the right owner? Revise or drop it from `/okr list`, with a reason."
    )


def test_without_falls_or_flags_those_sections_are_left_out(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="Calm")
        objective = factories.committed_objective(session, team)
        for kr in _rows(session, objective):
            factories.checkin(session, kr, week_start=W1, value=kr.baseline, confidence=7)

    with db.read() as session:
        summary = weekly_summary(session, team=team, week_start=W1, now=factories.NOW)
    message = render_message("checkin_summary.j2", summary=summary, flagged=[])

    assert summary.fell == () and summary.not_checked_in == ()
    assert [b["type"] for b in message["blocks"]] == ["header", "context", "section", "divider", "context"]
    assert message["blocks"][-1]["elements"][0]["text"] == "Checked in: <@U0BEN> <@U0CLEO> · everyone is in"
    assert "Confidence fell" not in flatten(message) and "missed" not in flatten(message)


def test_a_team_without_okrs_gets_a_short_summary_in_one_query(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="Empty")

    with db.read() as session, StatementCounter(db.engine) as counter:
        summary = weekly_summary(session, team=team, week_start=W1, now=factories.NOW)
    message = render_message("checkin_summary.j2", summary=summary, flagged=[])

    assert len(counter.queries) == 1
    assert (summary.week, summary.objectives, summary.checked_in, summary.not_checked_in) == (1, (), (), ())
    assert summary.chart_series() == []
    assert message["text"] == "Empty · week 1 check-in"
    assert [b["type"] for b in message["blocks"]] == ["header", "context", "section"]
    assert "no committed OKRs this cycle" in message["blocks"][2]["text"]["text"]


LONG = "Share of <new> teams & their admins who invite a second member within their first week " * 4


def _five_by_five(db):
    key_results = [
        {"metric": f"{n} {LONG}"[:300], "unit": ("u&<>" * 10), "baseline": 0, "target": 10, "owner": f"U0OWNER{n}"}
        for n in range(5)
    ]
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="R" * 80)
        objectives = [
            factories.committed_objective(session, team, title=f"{n} {LONG}"[:300], key_results=key_results)
            for n in range(5)
        ]
        rows = [kr for objective in objectives for kr in _rows(session, objective)]
        for kr in rows:
            factories.checkin(session, kr, week_start=W1, value=5, confidence=9)
            factories.checkin(session, kr, week_start=W2, value=6, confidence=2).note = LONG
        return team, rows


def test_five_objectives_of_five_key_results_with_long_texts_fit_slack_limits_in_four_queries(db):
    team, rows = _five_by_five(db)

    with db.read() as session, StatementCounter(db.engine) as counter:
        summary = weekly_summary(session, team=team, week_start=W2, now=factories.NOW + timedelta(days=8))
    message = render_message("checkin_summary.j2", summary=summary, flagged=rows)

    assert len(counter.queries) == 4
    assert len(summary.key_results) == 25 and len(summary.fell) == 25 and len(summary.chart_series()) == 25
    assert summary.checked_in == tuple(f"U0OWNER{n}" for n in range(5))
    blocks = message["blocks"]
    assert len(blocks) == 11 <= MESSAGE_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 7 and all(len(text) <= SECTION_TEXT for text in sections)
    # every key result is listed in full: only a text far longer than these would be clipped
    assert all(f"*KR {n}.5*" in sections[n - 1] and not sections[n - 1].endswith("…") for n in range(1, 6))
    assert sections[5].endswith("…and 17 more") and sections[5].count("\n• ") == 8
    assert "…and 15 more\n" in sections[6] and sections[6].count("\n• ") == 10
    assert message["text"] and len(message["text"]) <= 3000


def test_more_objectives_than_a_message_can_hold_are_counted_not_listed(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="Busy")
        for n in range(12):
            factories.committed_objective(session, team, title=f"Objective {n}", key_results=[ACTIVATION])

    with db.read() as session:
        summary = weekly_summary(session, team=team, week_start=W1, now=factories.NOW)
    message = render_message("checkin_summary.j2", summary=summary, flagged=[])

    assert len(summary.objectives) == 12
    assert [b["type"] for b in message["blocks"]].count("section") == 10
    assert "…and 2 more objectives" in flatten(message)


def test_a_week_that_does_not_start_on_a_monday_is_refused(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session))

    with db.read() as session, pytest.raises(ValueError, match="starts on a Monday, not on Tuesday"):
        weekly_summary(session, team=team, week_start=W1 + timedelta(days=1), now=factories.NOW)


def test_week_thirteen_summed_up_after_the_cycle_turned_over_is_still_week_thirteen(db):
    w12, w13 = W1 + timedelta(weeks=11), W1 + timedelta(weeks=12)
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="Late")
        team.checkin_weekday = 6  # Sunday check-ins: their summary comes in the next cycle
        activation, _ = _rows(session, factories.committed_objective(session, team))
        factories.checkin(session, activation, week_start=w12, value=33, confidence=8)
        factories.checkin(session, activation, week_start=w13, value=35, confidence=9)
        factories.committed_objective(  # the next cycle's OKRs, committed before the summary goes out
            session, team, title="Next", key_results=[ACTIVE_TEAMS], now=datetime(2027, 2, 22, 9, tzinfo=UTC)
        )
    tuesday_of_cycle_two = datetime(2027, 2, 23, 10, tzinfo=UTC)

    with db.read() as session, StatementCounter(db.engine) as counter:
        summary = weekly_summary(session, team=team, week_start=w13, now=tuesday_of_cycle_two)

    assert len(counter.queries) == 4
    assert (summary.span.number, summary.week) == (1, 13)
    assert [o.objective.title for o in summary.objectives] == ["New teams get value in their first week"]
    assert _figures(summary) == [
        ("KR 1.1", 1.0, 9, (8, 9), False, ((12, 0.87), (13, 1.0))),
        ("KR 1.2", 0.0, None, (), False, ()),
    ]
    assert (summary.checked_in, summary.not_checked_in) == (("U0BEN",), ("U0CLEO",))


def test_a_check_in_before_the_first_cycle_starts_is_week_zero_and_off_the_chart(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session), name="Early")
        team.cycle_anchor = date(2026, 12, 2)  # a Wednesday: the team commits and checks in ahead of it
        activation, minutes = _rows(session, factories.committed_objective(session, team))
        factories.checkin(session, activation, week_start=W1, value=23, confidence=6)
        factories.checkin(session, minutes, week_start=W1, value=30, confidence=7)

    with db.read() as session:
        summary = weekly_summary(session, team=team, week_start=W1, now=factories.NOW)
    message = render_message("checkin_summary.j2", summary=summary, flagged=[])

    assert (summary.span.number, summary.span.starts_on, summary.week) == (1, date(2026, 12, 2), 0)
    assert _figures(summary) == [("KR 1.1", 0.2, 6, (6,), False, ()), ("KR 1.2", 0.0, 7, (7,), False, ())]
    assert summary.chart_series() == []
    assert message["text"] == "Early · check-in before cycle 1 starts: 2 of 2 owners checked in"
    assert message["blocks"][1]["elements"][0]["text"].startswith("Cycle 1 starts 2026-12-02 · the week of 2026-11-23")


def test_weeks_are_counted_on_the_check_in_day_when_a_cycle_starts_midweek():
    span = cycle_span(date(2026, 11, 25), date(2026, 11, 25))  # a Wednesday
    fridays = 4

    assert checkin_week(span, date(2026, 11, 23), checkin_weekday=fridays) == 1  # Friday the 27th
    assert checkin_week(span, date(2026, 11, 30), checkin_weekday=fridays) == 2
    assert checkin_week(span, date(2027, 2, 15), checkin_weekday=fridays) == 13  # Friday 19 Feb, its last
    assert checkin_week(span, date(2026, 11, 23), checkin_weekday=0) == 0  # Monday the 23rd: before it starts
    assert checkin_week(span, date(2027, 2, 22), checkin_weekday=0) == 13  # Monday 22 Feb, two days before its end
