"""The check-in calendar at its edges, end to end through the sweep under a frozen, ticking clock.

- a team that commits on its check-in morning is asked that very day, each owner at 10:00 where they live
  (an owner whose 10:00 had already passed is asked next week, and is not "not yet" in this week's summary);
- a check-in made on a cycle's first morning, before the first check-in time, counts for week 1;
- after downtime a week's DM still goes out until the reminder delay before the next week's check-in, and
  from then on that week is stale, on both daylight-saving changes too;
- the last week of a cycle: its last summary says it is the last, and no summary comes after the cycle ends.

Times are UTC unless they say otherwise. Walk (from test_checkin_weeks) moves the clock and runs the sweep.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from storage.models import ClaimState, Schedule, ScheduleKind, Team
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import okr, shown
from tests.e2e.test_checkin_weeks import ADA, BEN, CLEO, Walk, check_in, checkins, claims, dm_of, kind_of, sweep, utc

__all__ = ["sweep"]  # the fixture, imported for the tests here
pytestmark = pytest.mark.usefixtures("bot")
LON = "U0LON"
METRICS = ["Teams active after their first week", "Median minutes to a first check-in", "Weekly active teams"]


def set_team(db, **values) -> None:
    with db.transaction() as session:
        team = session.scalars(select(Team)).one()
        for name, value in values.items():
            setattr(team, name, value)


def owned_by(*owners: str) -> list[dict]:
    return [{"metric": METRICS[n], "baseline": 20, "target": 35, "owner": owner} for n, owner in enumerate(owners)]


def first_message(walk: Walk, who: str, kind: str) -> str | None:
    found = walk.messages(who, kind)
    return found[0][0].strftime("%a %m-%d %H:%M") if found else None


def test_owners_met_on_the_check_in_morning_are_asked_that_day_at_ten_where_they_live(driver, slack, db, sweep):
    """London team, Monday 10:00. Committed at 08:30 London: the Londoner is asked at 10:00 London and Ben at
    10:00 New York that same day; Cleo's 10:00 in Tokyo had passed, so her first DM is next Monday's, and
    Wednesday's summary does not count her as late."""
    slack.add_user(LON, "lou", real_name="Lou Member", tz="Europe/London")
    with freeze_time("2026-12-07 08:30:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO, LON))
        set_team(db, timezone="Europe/London")
        commit(db, key_results=owned_by(LON, BEN, CLEO))
        walk = Walk(slack, clock, sweep, users=(LON, BEN, CLEO, ADA))
        walk.through("2026-12-07 08:00", "2026-12-15 00:00")

    assert first_message(walk, LON, "checkin") == "Mon 12-07 10:00"
    assert first_message(walk, BEN, "checkin") == "Mon 12-07 15:00"
    assert first_message(walk, CLEO, "checkin") == "Mon 12-14 01:00"
    assert first_message(walk, LON, "reminder") == "Tue 12-08 10:00"
    (when, summary), *_ = [(w, m) for w, who, m in walk.log if who == "#team" and kind_of(m) == "summary"]
    assert when == utc("2026-12-09 10:00")
    text = shown(summary)
    assert "Not yet: <@U0LON> <@U0BEN>" in text and "Not asked this week: <@U0CLEO>" in text
    keys = [key for key, _state, _outcome in claims(db, "checkin")]
    assert [key for key in keys if key.endswith("2026-12-07")] == [f"{BEN}:2026-12-07", f"{LON}:2026-12-07"]
    assert [key for key in keys if key.startswith(CLEO)] == [f"{CLEO}:2026-12-14"]


def test_a_team_created_before_its_check_in_hour_gets_no_summary_before_anyone_was_asked(driver, slack, db, sweep):
    """Kiritimati (UTC+14) checks in on Tuesdays; its owner lives in Pago Pago (UTC-11), 25 hours west.
    Committed on Monday 09:00 UTC (Monday 23:00 in Kiritimati, Sunday 22:00 in Pago Pago): the DM, the reminder
    and the summary of that very week, in that order."""
    with freeze_time("2026-12-07 09:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN,))
        set_team(db, timezone="Pacific/Kiritimati", checkin_weekday=1)  # Tuesday 10:00 UTC+14 = Monday 20:00 UTC
        slack.add_user(BEN, "ben", real_name="Ben Member", tz="Pacific/Pago_Pago")  # Tuesday 10:00 = 21:00 UTC
        commit(db, key_results=owned_by(BEN, BEN))
        walk = Walk(slack, clock, sweep, users=(BEN, ADA))
        walk.through("2026-12-07 09:00", "2026-12-11 00:00")
    kinds = sorted((when, who, kind_of(m)) for when, who, m in walk.log)
    kinds = [(when.strftime("%a %H:%M"), who, kind) for when, who, kind in kinds]
    assert kinds == [
        ("Tue 21:00", BEN, "checkin"),
        ("Wed 21:00", BEN, "reminder"),
        # due Thursday 10:00 in Kiritimati (Wednesday 20:00 UTC), two days after its check-in day, the summary
        # waits for Ben's reminder, 25 hours west: the first sweep after it (they run hourly here)
        ("Wed 22:00", "#team", "chart"),
        ("Wed 22:00", "#team", "summary"),
    ]


def test_a_check_in_before_the_first_check_in_time_counts_for_week_one(driver, slack, db, sweep):
    """The cycle starts today, Monday; at 08:30, before the 10:00 check-in, Ben checks in from `/okr checkin`:
    that is week 1 (the week of today), and the 10:00 DM shows it done rather than asking again."""
    with freeze_time("2026-12-07 08:30:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN,))
        slack.add_user(BEN, "ben", real_name="Ben Member", tz="UTC")
        commit(db, key_results=owned_by(BEN, BEN))
        reply = okr(driver, slack, "checkin", user=BEN, channel="C0ROCKET")
        assert "week of 2026-12-07" in reply.text.lower(), reply.text
        walk = Walk(slack, clock, sweep, users=(BEN,))
        walk.through("2026-12-07 09:00", "2026-12-07 11:00")
        (dm,) = dm_of(slack, BEN)
        assert "week of 2026-12-07" in shown(dm).lower()
        check_in(driver, slack, user=BEN, dm=dm, value="25", confidence="7")
    (dm,) = dm_of(slack, BEN)
    assert "week of 2026-12-07" in shown(dm).lower()  # redrawn for the same week
    assert [week for _owner, week, *_ in checkins(db)] == ["2026-12-07"]


@pytest.mark.parametrize(
    ("zone", "created", "back", "outcome"),
    [
        # London, Monday 10:00, reminder 24h: the week of 7 December may go out until Sunday 13 December 10:00
        ("Europe/London", "2026-12-04 12:00", "2026-12-13 09:59", "sent"),
        ("Europe/London", "2026-12-04 12:00", "2026-12-13 10:00", "stale"),
        # New York falls back on Sunday 7 November 2027: the cut-off is Sunday 10:00 EST, 15:00 UTC
        ("America/New_York", "2027-10-29 12:00", "2027-11-07 14:59", "sent"),
        ("America/New_York", "2027-10-29 12:00", "2027-11-07 15:00", "stale"),
        # ... and springs forward on Sunday 14 March 2027: Sunday 10:00 EDT, 14:00 UTC
        ("America/New_York", "2027-03-05 12:00", "2027-03-14 13:59", "sent"),
        ("America/New_York", "2027-03-05 12:00", "2027-03-14 14:00", "stale"),
        # London springs forward on Sunday 28 March 2027: Sunday 10:00 BST, 09:00 UTC
        ("Europe/London", "2027-03-19 12:00", "2027-03-28 08:59", "sent"),
        ("Europe/London", "2027-03-19 12:00", "2027-03-28 09:00", "stale"),
    ],
)
def test_after_downtime_a_weeks_dm_goes_out_until_the_reminder_delay_before_the_next(
    driver, slack, db, sweep, zone, created, back, outcome
):
    with freeze_time(created, tick=True) as clock:
        rockets(driver, slack, members=(BEN,))
        set_team(db, timezone=zone)
        slack.add_user(BEN, "ben", real_name="Ben Member", tz=zone)
        commit(db, key_results=owned_by(BEN, BEN))
        walk = Walk(slack, clock, sweep, users=(BEN,))
        report, posted = walk.at(back)  # the first sweep since Friday: the bot was down all week
        with db.read() as session:
            row = session.scalars(select(Schedule).where(Schedule.kind == ScheduleKind.CHECKIN)).one()
    (_key, state, reason), *_ = claims(db, "checkin")
    monday = utc(created).date() + timedelta(days=3)
    posted = [what for what in posted if what.startswith(BEN)]  # the week's summary is caught up too
    if outcome == "sent":
        assert report.get("sent") == 1 and posted == [f"{BEN} checkin"]
        assert state is ClaimState.SENT
    else:
        assert report.get("stale") == 1 and posted == []
        assert (state, reason) == (ClaimState.SKIPPED, "stale")
    assert row.week_start == monday + timedelta(days=7)  # next week's DM is planned either way


@pytest.mark.parametrize(
    ("anchor", "last_summary", "no_summary_on"),
    [
        # a cycle from Monday 7 September: week 13 is 30 November to 6 December, and ends at Monday's midnight
        (date(2026, 9, 7), "2026-12-02", None),
        # from Tuesday 8 September it ends at midnight after Monday 7 December: week 13's check-in that Monday
        # still happens, but its summary would fall on Wednesday 9, after the end
        (date(2026, 9, 8), "2026-12-02", "2026-12-09"),
    ],
)
def test_the_last_summary_of_a_cycle_says_so_and_none_comes_after_its_end(
    driver, slack, db, sweep, anchor, last_summary, no_summary_on
):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN,))
        set_team(db, cycle_anchor=anchor)
        slack.add_user(BEN, "ben", real_name="Ben Member", tz="UTC")
        commit(db, key_results=owned_by(BEN, BEN))
        walk = Walk(slack, clock, sweep, users=(BEN, ADA))
        walk.through("2026-11-29 12:00", "2026-12-11 00:00")
    summaries = [(when.date().isoformat(), m) for when, who, m in walk.log if (who, kind_of(m)) == ("#team", "summary")]
    assert summaries and summaries[-1][0] == last_summary
    assert "The last weekly summary of cycle 1" in shown(summaries[-1][1])
    assert all("The last weekly summary" not in shown(m) for _, m in summaries[:-1])
    if no_summary_on:
        assert no_summary_on not in [day for day, _ in summaries]
        checkins_sent = [when.date().isoformat() for when, _m in walk.messages(BEN, "checkin")]
        assert "2026-12-07" in checkins_sent  # the last week's DM still went out, before the end
