"""Whether an owner's weekly DM goes out now (bot/rituals/checkins.py `ask_or_skip`), from what is known of them,
and what last week's skip tells them in this week's DM (`away_note`). Pure: teams and people are built in memory.

The team (Rockets) checks in on Mondays at 10:00 with a 24-hour reminder; its cycle began on Monday 23 November
2026, and the week asked about is the one of Monday 7 December 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rituals import schedule
from bot.rituals.checkins import Ask, Later, Skip, Unreachable, ask_or_skip, away_note
from storage.models import ClaimState, Person, SendClaim, Team

WEEK = date(2026, 12, 7)  # a Monday
NEXT = WEEK + timedelta(days=7)
UTC_ZONE, NEW_YORK, PARIS = ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris")
LOS_ANGELES, EARLIEST = ZoneInfo("America/Los_Angeles"), ZoneInfo("Etc/GMT-14")
SECOND = timedelta(seconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rockets(**settings) -> Team:
    values = {
        "name": "Rockets",
        "name_key": "rockets",
        "channel_id": "C0ROCKET",
        "timezone": "UTC",
        "checkin_weekday": 0,
        "checkin_hour": 10,
        "cycle_anchor": date(2026, 11, 23),
        "anchor_cycle": 1,
        "closed_through": 0,
        "checkins_paused": False,
        "reminder_hours": 24,
        "away_words": None,
    }
    return Team(workspace_id=1, **(values | settings))


def ben(zone: str | None = "UTC", **facts) -> Person:
    values = {
        "timezone": zone,
        "deactivated": False,
        "away_until": None,
        "status_text": None,
        "status_emoji": None,
        "status_expires_at": None,
        "profile_read_at": utc("2026-12-01T00:00"),
    }
    return Person(workspace_id=1, user_id="U0BEN", **(values | facts))


def decide(
    *,
    team: Team | None = None,
    person: Person | None = None,
    week: date = WEEK,
    due_at: datetime | None = None,
    now: datetime,
    planned_blind: bool = False,
):
    """The decision for a row planned, unless said otherwise, at the team's hour in the person's known zone."""
    team = team or rockets()
    if due_at is None:
        due_at = schedule.checkin_due(team, week, schedule.known_zone(person, team))
    return ask_or_skip(team=team, person=person, week=week, due_at=due_at, now=now, planned_blind=planned_blind)


# asking ---------------------------------------------------------------------------------------------------------


def test_an_owner_whose_hour_has_come_is_asked():
    assert decide(person=ben(), now=utc("2026-12-07T10:00")) == Ask(WEEK)
    assert decide(person=ben(), now=utc("2026-12-07T10:01")) == Ask(WEEK)
    assert decide(person=ben("Europe/Paris"), now=utc("2026-12-07T09:00")) == Ask(WEEK)  # 10:00 in Paris


def test_someone_never_read_is_asked_in_the_teams_zone():
    assert decide(person=None, now=utc("2026-12-07T10:00")) == Ask(WEEK)
    tokyo_team = rockets(timezone="Asia/Tokyo")
    assert decide(team=tokyo_team, person=None, now=utc("2026-12-07T01:00")) == Ask(WEEK)  # 10:00 in Tokyo
    assert decide(team=tokyo_team, person=ben(None), now=utc("2026-12-07T01:00")) == Ask(WEEK)


# the team paused, the owner left ----------------------------------------------------------------------------


def test_a_paused_team_skips_everyone_before_anything_else_is_looked_at():
    paused = rockets(checkins_paused=True)
    now = utc("2026-12-07T10:01")
    assert decide(team=paused, person=ben(), now=now) == Skip("paused")
    assert decide(team=paused, person=ben(deactivated=True), now=now) == Skip("paused")
    assert decide(team=paused, person=ben(away_until=date(2026, 12, 31)), now=now) == Skip("paused")
    assert decide(team=paused, person=None, now=now) == Skip("paused")


def test_a_deactivated_owner_is_unreachable_whatever_else_is_true():
    now = utc("2026-12-07T10:01")
    assert decide(person=ben(deactivated=True), now=now) == Unreachable("user_disabled")
    gone_and_away = ben(deactivated=True, away_until=date(2026, 12, 31), status_text="OOO")
    assert decide(person=gone_and_away, now=now) == Unreachable("user_disabled")
    # not even waiting for their hour: Slack will not take the DM at any hour
    assert decide(person=ben("America/New_York", deactivated=True), now=now) == Unreachable("user_disabled")


# waiting for their hour -------------------------------------------------------------------------------------


def test_an_owner_whose_hour_has_not_come_is_planned_at_it():
    # planned at 10:00 UTC (the zone known then); Slack since said New York, where 10:00 is 15:00 UTC
    planned = utc("2026-12-07T10:00")
    decision = decide(person=ben("America/New_York"), due_at=planned, now=utc("2026-12-07T10:01"))
    assert decision == Later(WEEK, NEW_YORK, "waiting")
    assert schedule.checkin_due(rockets(), decision.week, decision.zone) == utc("2026-12-07T15:00")
    assert decide(person=ben("America/New_York"), due_at=planned, now=utc("2026-12-07T14:59:59")) == decision
    assert decide(person=ben("America/New_York"), due_at=planned, now=utc("2026-12-07T15:00")) == Ask(WEEK)


def test_planned_blind_and_their_hour_had_passed_when_they_became_an_owner_it_is_next_weeks():
    """Planned before their zone was known: due at once (they became an owner at 12:00 UTC on Monday). Paris's
    10:00 had passed by then, so this week is not theirs any more."""
    decision = decide(
        person=ben("Europe/Paris"), due_at=utc("2026-12-07T12:00"), now=utc("2026-12-07T12:00"), planned_blind=True
    )
    assert decision == Later(NEXT, PARIS, "waiting")
    # the same row, planned knowing their zone (a late sweep after downtime, say): asked, late
    assert decide(
        person=ben("Europe/Paris"), due_at=utc("2026-12-07T12:00"), now=utc("2026-12-07T12:00"), planned_blind=False
    ) == Ask(WEEK)


def test_planned_blind_with_their_hour_still_to_come_waits_for_it():
    """Planned blind, the row is due when 10:00 comes in the earliest zone on Earth (Sunday 20:00 UTC)."""
    earliest = schedule.checkin_due(rockets(), WEEK, EARLIEST)
    assert earliest == utc("2026-12-06T20:00")
    waiting = decide(person=ben("America/New_York"), due_at=earliest, now=earliest, planned_blind=True)
    assert waiting == Later(WEEK, NEW_YORK, "waiting")
    # someone who lives in the earliest zone: their hour is the row's own, not before it
    assert decide(person=ben("Etc/GMT-14"), due_at=earliest, now=earliest, planned_blind=True) == Ask(WEEK)


# too late -------------------------------------------------------------------------------------------------------


def test_a_week_already_over_is_stale_and_the_current_one_is_planned():
    # the sweep did not run for a week: next Monday's 10:00 has passed
    assert decide(person=ben(), now=utc("2026-12-14T10:30")) == Later(NEXT, UTC_ZONE, "stale")
    # for three weeks: straight to the current week, not one week after another
    assert decide(person=ben(), now=utc("2026-12-28T10:30")) == Later(date(2026, 12, 28), UTC_ZONE, "stale")


def test_a_week_past_its_late_cutoff_is_stale():
    """A late DM may go out until the reminder delay before next week's check-in: Sunday 10:00 with 24 hours."""
    assert decide(person=ben(), now=utc("2026-12-13T09:59:59")) == Ask(WEEK)
    assert decide(person=ben(), now=utc("2026-12-13T10:00")) == Later(NEXT, UTC_ZONE, "stale")
    two_days = rockets(reminder_hours=48)
    assert decide(team=two_days, person=ben(), now=utc("2026-12-12T09:59:59")) == Ask(WEEK)
    assert decide(team=two_days, person=ben(), now=utc("2026-12-12T10:00")) == Later(NEXT, UTC_ZONE, "stale")


def test_the_late_cutoff_is_read_in_the_owners_zone():
    sunday_noon = utc("2026-12-13T12:00")  # past Sunday 10:00 in UTC, 07:00 in New York
    assert decide(person=ben(), now=sunday_noon) == Later(NEXT, UTC_ZONE, "stale")
    assert decide(person=ben("America/New_York"), now=sunday_noon) == Ask(WEEK)
    assert decide(person=ben("America/New_York"), now=utc("2026-12-13T15:00")) == Later(NEXT, NEW_YORK, "stale")


def test_a_stale_week_is_stale_even_for_someone_away():
    """Our downtime is ours to record (`stale`), not their absence: next week's DM must not say "welcome back"."""
    away = ben(away_until=date(2026, 12, 20), status_text="OOO")
    assert decide(person=away, now=utc("2026-12-14T10:30")) == Later(NEXT, UTC_ZONE, "stale")


# away -------------------------------------------------------------------------------------------------------------


def test_okr_away_skips_the_week_up_to_and_including_its_last_day_in_the_owners_zone():
    """In Los Angeles 10:00 on Monday is 18:00 UTC; at 02:00 UTC on Tuesday it is still Monday there."""
    now = utc("2026-12-08T02:00")
    assert decide(person=ben("America/Los_Angeles", away_until=date(2026, 12, 7)), now=now) == Skip("away")
    assert decide(person=ben("America/Los_Angeles", away_until=date(2026, 12, 6)), now=now) == Ask(WEEK)
    assert decide(person=ben("America/Los_Angeles", away_until=date(2027, 1, 4)), now=now) == Skip("away")
    assert decide(person=ben(away_until=date(2026, 12, 7)), now=utc("2026-12-07T10:00")) == Skip("away")
    assert decide(person=ben(away_until=date(2026, 12, 6)), now=utc("2026-12-07T10:00")) == Ask(WEEK)


@pytest.mark.parametrize(
    ("text", "emoji", "reason"),
    [
        ("OOO till Monday", None, "status_away:OOO"),
        ("out of office", ":calendar:", "status_away:out of office"),
        ("Family holiday", None, "status_away:holiday"),
        (None, ":palm_tree:", "status_away::palm_tree:"),
        ("Back Monday", ":airplane:", "status_away::airplane:"),
    ],
)
def test_a_status_that_says_away_skips_the_week(text, emoji, reason):
    now = utc("2026-12-07T10:01")
    assert decide(person=ben(status_text=text, status_emoji=emoji), now=now) == Skip(reason)


@pytest.mark.parametrize(
    ("text", "emoji"),
    [
        ("Listening to music", None),
        ("In a meeting", ":spiral_calendar_pad:"),
        ("Focus time", ":headphones:"),
        (None, None),
    ],
)
def test_a_status_that_does_not_say_away_means_nothing(text, emoji):
    assert decide(person=ben(status_text=text, status_emoji=emoji), now=utc("2026-12-07T10:01")) == Ask(WEEK)


def test_a_teams_own_away_words_replace_the_defaults():
    team = rockets(away_words="conference, :tent:")
    now = utc("2026-12-07T10:01")
    assert decide(team=team, person=ben(status_text="At a conference"), now=now) == Skip("status_away:conference")
    assert decide(team=team, person=ben(status_emoji=":tent:"), now=now) == Skip("status_away::tent:")
    assert decide(team=team, person=ben(status_text="OOO"), now=now) == Ask(WEEK)


def test_an_expired_status_means_nothing():
    now = utc("2026-12-07T10:01")
    away = {"status_text": "Vacation", "status_emoji": ":palm_tree:"}
    assert decide(person=ben(**away, status_expires_at=now - SECOND), now=now) == Ask(WEEK)
    assert decide(person=ben(**away, status_expires_at=now), now=now) == Ask(WEEK)  # cleared as of now
    assert decide(person=ben(**away, status_expires_at=now + SECOND), now=now) == Skip("status_away:vacation")
    assert decide(person=ben(**away, status_expires_at=None), now=now) == Skip("status_away:vacation")


def test_okr_away_is_the_reason_given_when_the_status_says_away_too():
    person = ben(away_until=date(2026, 12, 7), status_text="OOO")
    assert decide(person=person, now=utc("2026-12-07T10:01")) == Skip("away")


# what last week's skip tells this week's DM ---------------------------------------------------------------------


def claim(state: ClaimState, outcome: str | None) -> SendClaim:
    return SendClaim(workspace_id=1, kind="checkin", claim_key="1:U0BEN:2026-11-30", state=state, outcome=outcome)


@pytest.mark.parametrize("reason", ["away", "paused", "status_away:OOO", "status_away::palm_tree:"])
def test_the_owners_own_skip_is_told(reason):
    assert away_note(claim(ClaimState.SKIPPED, reason)) == reason


@pytest.mark.parametrize(
    "last_week",
    [
        None,  # no DM last week (a new owner)
        claim(ClaimState.SKIPPED, "stale"),  # our downtime, not theirs
        claim(ClaimState.SKIPPED, None),
        claim(ClaimState.SENT, "sent"),
        claim(ClaimState.FAILED, "user_disabled"),
        claim(ClaimState.CLAIMED, None),
        claim(ClaimState.FAILED, "away"),  # only a skip is a skip
    ],
)
def test_nothing_else_is_told(last_week):
    assert away_note(last_week) is None
