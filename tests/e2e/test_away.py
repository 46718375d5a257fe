"""`/okr away`: mark yourself away (no check-ins or reminders up to and including a day), show it, clear it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from storage.models import EventLog, Person
from tests.e2e.support import assert_clean_error, create_team, install, join_team, okr, row_counts

USAGE = "Usage: `/okr away [YYYY-MM-DD | today | tomorrow | WEEKDAY | off]`"
# far from UTC, so that "today" in the team's zone is often another day than in UTC
KIRITIMATI = "Pacific/Kiritimati"
BEN_ZONE = "America/New_York"  # Ben's time zone in the fake Slack


def _today(zone: str = "UTC") -> date:
    return datetime.now(ZoneInfo(zone)).date()


def _away_until(db, user: str) -> date | None:
    with db.transaction() as session:
        person = session.scalars(select(Person).where(Person.user_id == user)).one_or_none()
        return person.away_until if person else None


def _stored_zone(db, user: str) -> str | None:
    with db.transaction() as session:
        person = session.scalars(select(Person).where(Person.user_id == user)).one_or_none()
        return person.timezone if person else None


def _away_log(db) -> list[tuple[str, str, dict]]:
    with db.transaction() as session:
        query = select(EventLog).where(EventLog.entity == "person").order_by(EventLog.id)
        return [(e.action, e.actor_user_id, e.data) for e in session.scalars(query)]


@pytest.fixture
def kiritimati(driver, slack, db):
    """Ada's team lives in Pacific/Kiritimati (UTC+14)."""
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    okr(driver, slack, f"team settings timezone={KIRITIMATI}", user="U0ADA", channel="C0ROCKET")


def test_away_is_set_shown_and_cleared_from_a_direct_message(driver, slack, db):
    until = _today() + timedelta(days=10)

    shown_before = okr(driver, slack, "away", user="U0BEN", channel="D0BEN00001")
    assert shown_before.ephemeral
    assert "You're not marked away" in shown_before.text and "`/okr away [YYYY-MM-DD" in shown_before.text

    reply = okr(driver, slack, f"away {until.isoformat()}", user="U0BEN", channel="D0BEN00001")

    assert reply.ephemeral and "is coming soon" not in reply.text
    assert f"You're away until *{until.strftime('%A')} {until.day} {until.strftime('%B %Y')}*" in reply.text
    assert f"({until.isoformat()}), that day included" in reply.text
    assert f"Days are in {BEN_ZONE}, your time zone in Slack (your check-in DMs follow it too)." in reply.text
    assert _away_until(db, "U0BEN") == until and _stored_zone(db, "U0BEN") == BEN_ZONE
    [entry] = _away_log(db)
    assert entry == ("away_set", "U0BEN", {"until": until.isoformat(), "timezone": BEN_ZONE, "previous": None})

    shown = okr(driver, slack, "away", user="U0BEN", channel="C0GENERAL")
    assert shown.ephemeral and f"You're away until *{until.strftime('%A')}" in shown.text

    cleared = okr(driver, slack, "away off", user="U0BEN", channel="C0GENERAL")
    assert cleared.ephemeral and "Welcome back!" in cleared.text and until.isoformat() in cleared.text
    assert _away_until(db, "U0BEN") is None
    assert _away_log(db)[-1] == ("away_cleared", "U0BEN", {"was_until": until.isoformat()})

    shown_after = okr(driver, slack, "away", user="U0BEN", channel="D0BEN00001")
    assert "You're not marked away" in shown_after.text


def test_days_are_read_in_the_team_s_time_zone_when_slack_does_not_say_where_someone_is(driver, slack, db, kiritimati):
    slack.fail_next("users.info", "fatal_error", times=5)
    today = _today(KIRITIMATI)
    days_to_friday = (4 - today.weekday() - 1) % 7 + 1
    for typed, expected in [
        ("today", today),
        ("tomorrow", today + timedelta(days=1)),
        ("Friday", today + timedelta(days=days_to_friday)),
        ("until fri", today + timedelta(days=days_to_friday)),
        (f"until {today + timedelta(days=365)}", today + timedelta(days=365)),
    ]:
        reply = okr(driver, slack, f"away {typed}", user="U0ADA", channel="C0GENERAL")

        assert f"({expected.isoformat()}), that day included" in reply.text, (typed, reply.text)
        assert f"Days are in {KIRITIMATI}, your team's time zone: Slack did not tell me yours." in reply.text, typed
        assert _away_until(db, "U0ADA") == expected, typed
    assert _stored_zone(db, "U0ADA") is None


def test_someone_slack_cannot_place_in_teams_with_different_time_zones_gets_utc(driver, slack, db, kiritimati):
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    join_team(driver, slack, user="U0ADA", channel="C0GROWTH")
    slack.fail_next("users.info", "fatal_error")

    reply = okr(driver, slack, "away today", user="U0ADA", channel="C0ROCKET")

    assert f"({_today().isoformat()}), that day included" in reply.text
    assert (
        "Days are in UTC: Slack did not tell me your time zone, and you are in no team or in teams with different "
        "time zones." in reply.text
    )


def test_today_is_today_where_the_person_is_not_where_their_team_is(driver, slack, db):
    """Sunday 20:00 in UTC (the Rockets' zone) is already Monday 05:00 in Tokyo, where Cleo is."""
    with freeze_time("2026-11-29 20:00:00", tick=True):
        create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
        join_team(driver, slack, user="U0CLEO", channel="C0ROCKET")
        asked = len(slack.calls_to("users.info"))

        shown = okr(driver, slack, "away", user="U0CLEO", channel="C0ROCKET")
        assert "You're not marked away" in shown.text and "Days are in Asia/Tokyo" in shown.text
        assert _stored_zone(db, "U0CLEO") is None  # a look writes nothing

        for typed, expected in [("today", date(2026, 11, 30)), ("tomorrow", date(2026, 12, 1))]:
            reply = okr(driver, slack, f"away {typed}", user="U0CLEO", channel="C0ROCKET")

            assert f"({expected.isoformat()}), that day included" in reply.text, (typed, reply.text)
            assert "Days are in Asia/Tokyo, your time zone in Slack (your check-in DMs follow it too)." in reply.text
            assert _away_until(db, "U0CLEO") == expected, typed
        past = okr(driver, slack, "away 2026-11-29", user="U0CLEO", channel="C0ROCKET")

    assert_clean_error(past, "2026-11-29 is in the past (today is 2026-11-30)")
    assert _stored_zone(db, "U0CLEO") == "Asia/Tokyo"  # kept from the first change: Slack is not asked again
    assert len(slack.calls_to("users.info")) == asked + 2
    assert _away_log(db)[0][2] == {"until": "2026-11-30", "timezone": "Asia/Tokyo", "previous": None}


def test_setting_the_same_day_again_writes_nothing_and_a_new_day_replaces_it(driver, slack, db):
    first, second = _today() + timedelta(days=3), _today() + timedelta(days=5)
    okr(driver, slack, f"away {first}", user="U0ADA", channel="C0GENERAL")
    before = row_counts(db)

    again = okr(driver, slack, f"away {first}", user="U0ADA", channel="C0GENERAL")
    assert f"({first.isoformat()})" in again.text
    assert row_counts(db) == before

    okr(driver, slack, f"away {second}", user="U0ADA", channel="C0GENERAL")
    assert _away_until(db, "U0ADA") == second
    assert [(action, data["until"], data["previous"]) for action, _, data in _away_log(db)] == [
        ("away_set", first.isoformat(), None),
        ("away_set", second.isoformat(), first.isoformat()),
    ]


def test_back_when_not_away_changes_nothing(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    for text in ("away off", "away BACK"):
        reply = okr(driver, slack, text, user="U0CLEO", channel="C0GENERAL")

        assert reply.ephemeral and "You weren't marked away, so nothing changed" in reply.text, text
        assert row_counts(db) == before, text


def test_bad_input_is_refused_and_nothing_is_written(driver, slack, db):
    today = _today("America/New_York")  # Ben's zone in Slack: "yesterday" is his, not UTC's
    kept = today + timedelta(days=7)
    okr(driver, slack, f"away {kept}", user="U0BEN", channel="C0GENERAL")
    before = row_counts(db)

    for text, expected in [
        (f"away {today - timedelta(days=1)}", "is in the past"),
        (f"away {today + timedelta(days=366)}", "more than 365 days ahead"),
        ("away 2027-02-30", "`2027-02-30` is not a real date"),
        ("away 24/12/2026", "`24/12/2026` is not a day I understand"),
        ("away next week", "`next week` is not a day I understand"),
        ("away off please", "is not a day I understand"),
        ("away <@U0ADA>", "`<@U0ADA>` is not a day I understand"),
        ("away ２０２６-１２-２４", "is not a day I understand"),
        ("away 🏖️", "is not a day I understand"),
        ("away " + "x" * 3995, "is not a day I understand"),  # 4,000 characters in all
        ("away " + "x" * 3996, "`/okr` takes at most 4,000"),
        (f"away {kept}\u202e", "invisible or control character (U+202E)"),
        (f"away {kept}\u200b", "invisible or control character (U+200B)"),
    ]:
        reply = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")

        assert_clean_error(reply, expected, case=text[:40])
        if "4,000" not in expected and "invisible" not in expected:
            assert USAGE in reply.text, (text[:40], reply.text)
        assert row_counts(db) == before, text[:40]
        assert _away_until(db, "U0BEN") == kept, text[:40]
    assert len(_away_log(db)) == 1


def test_help_explains_away_and_it_is_no_longer_coming_soon(driver, slack, db):
    reply = okr(driver, slack, "help away", user="U0ADA", channel="C0GENERAL")

    assert "`/okr away [YYYY-MM-DD | today | tomorrow | WEEKDAY | off]`" in reply.text
    assert "`friday` is the next Friday" in reply.text and "coming soon" not in reply.text
    overview = okr(driver, slack, "help", user="U0ADA", channel="C0GENERAL")
    assert "/okr away [YYYY-MM-DD" in overview.text
