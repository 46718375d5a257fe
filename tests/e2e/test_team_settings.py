"""`/okr team settings`: typed `key=value` pairs and the settings modal, end to end."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage.models import EventLog, Membership, Role, Team, TeamLeader
from tests.e2e.support import (
    assert_clean_error,
    create_team,
    join_team,
    modal_values,
    okr,
    open_settings,
    row_counts,
    shown,
)


def _rockets(db) -> Team:
    with db.transaction() as session:
        return session.scalars(select(Team).where(Team.name_key == "rockets")).one()


def _roles(db) -> dict[str, tuple[Role | None, bool]]:
    """Each person's team role (None when not a member) and whether the team named them a leader."""
    with db.transaction() as session:
        roles = {m.user_id: m.role for m in session.scalars(select(Membership))}
        leaders = set(session.scalars(select(TeamLeader.user_id)))
    return {user: (roles.get(user), user in leaders) for user in roles.keys() | leaders}


def _settings_log(db) -> list[dict]:
    with db.transaction() as session:
        query = select(EventLog).where(EventLog.action == "settings_changed").order_by(EventLog.id)
        return [e.data for e in session.scalars(query)]


@pytest.fixture
def rockets(driver, slack):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")


# typed key=value -----------------------------------------------------------------------------------------


TYPED = [
    # (typed, field, saved value, how the announcement names it)
    ("timezone=europe/paris", "timezone", "Europe/Paris", "time zone"),
    ("tz=america/NEW_york", "timezone", "America/New_York", "time zone"),
    ("day=tue", "checkin_weekday", 1, "check-in day"),
    ("hour=9:00", "checkin_hour", 9, "check-in hour"),
    ("digest=<#C0GROWTH|team-growth>", "digest_channel_id", "C0GROWTH", "digest channel"),
    ("cycle-start=2027-01-04", "cycle_anchor", date(2027, 1, 4), "cycle start"),
    ("max-objectives=2", "max_objectives", 2, "objective limit"),
]


def test_each_typed_setting_is_saved_normalised_and_announced(driver, slack, db, rockets):
    for count, (text, field, expected, label) in enumerate(TYPED, start=1):
        reply = okr(driver, slack, f"team settings {text}", user="U0ADA", channel="C0ROCKET")

        assert not reply.ephemeral, text
        assert f"<@U0ADA> changed the {label} of *Rockets*" in reply.text, (text, reply.text)
        assert getattr(_rockets(db), field) == expected, text
        log = _settings_log(db)
        assert len(log) == count and log[-1] == {"changed": [field]}, (text, log)


def test_several_settings_at_once(driver, slack, db, rockets):
    reply = okr(
        driver,
        slack,
        "team settings timezone=Asia/Tokyo day=wed hour=14 digest=<#C0GROWTH> cycle-start=2027-01-04 max-objectives=1",
    )

    team = _rockets(db)
    assert (team.timezone, team.checkin_weekday, team.checkin_hour, team.digest_channel_id) == (
        "Asia/Tokyo",
        2,
        14,
        "C0GROWTH",
    )
    assert (team.cycle_anchor, team.max_objectives) == (date(2027, 1, 4), 1)
    assert "Check-ins Wednesday at 14:00 (Asia/Tokyo) · digest <#C0GROWTH>" in reply.text
    [entry] = _settings_log(db)
    assert sorted(entry["changed"]) == sorted(
        ["timezone", "checkin_weekday", "checkin_hour", "digest_channel_id", "cycle_anchor", "max_objectives"]
    )


def test_the_digest_channel_can_be_cleared_and_an_unchanged_value_logs_nothing(driver, slack, db, rockets):
    okr(driver, slack, "team settings digest=<#C0GROWTH|team-growth>")
    assert _rockets(db).digest_channel_id == "C0GROWTH"

    reply = okr(driver, slack, "team settings digest=none")
    assert "changed the digest channel" in reply.text and "digest not set" in reply.text
    assert _rockets(db).digest_channel_id is None

    before = row_counts(db)
    same = okr(driver, slack, "team settings hour=10")  # already 10
    assert "Nothing changed" in same.text
    assert row_counts(db) == before


INVALID = [
    # (typed, what the reply must name); every value is checked in tests/unit/test_team_settings_parsing.py
    ("timezone=Mars/Olympus", "`Mars/Olympus` is not a time zone"),
    ("day=someday", "`someday` is not a day of the week"),
    ("hour=24", "`24` is not an hour"),
    ("hour=9:30", "`9:30` is not an hour"),
    ("digest=#general", "`#general` is not a channel"),
    ("cycle-start=2027-13-01", "`2027-13-01` is not a date"),
    ("max-objectives=6", "number from 1 to 5"),
    ("colour=blue", "I don't know the setting `colour=blue`"),
    ('timezone="Europe/Paris', "Unbalanced quotes"),
]


def test_an_invalid_setting_is_named_with_the_usage_and_nothing_is_saved(driver, slack, db, rockets):
    before = row_counts(db)

    for text, expected in INVALID:
        reply = okr(driver, slack, f"team settings {text}")

        assert_clean_error(reply, expected, "Usage: `/okr team settings timezone=Europe/Paris", case=text)
        assert row_counts(db) == before, text
    team = _rockets(db)
    assert (team.timezone, team.checkin_weekday, team.checkin_hour, team.max_objectives) == ("UTC", 0, 10, 3)
    assert (team.digest_channel_id, team.cycle_anchor) == (None, team.created_at.date())


def test_a_key_typed_without_a_value_asks_for_the_value(driver, slack, db, rockets):
    before = row_counts(db)

    reply = okr(driver, slack, "team settings timezone")

    assert_clean_error(reply, "Give `timezone` a value after `=`", "Usage: `/okr team settings timezone=")
    assert row_counts(db) == before
    assert slack.calls_to("views.open") == []


def test_every_bad_value_is_reported_at_once_and_good_ones_are_not_saved(driver, slack, db, rockets):
    before = row_counts(db)

    reply = okr(driver, slack, "team settings hour=25 day=someday timezone=Europe/Paris")

    assert_clean_error(reply, "`25` is not an hour", "`someday` is not a day of the week")
    assert row_counts(db) == before
    assert _rockets(db).timezone == "UTC"


def test_only_a_facilitator_changes_settings(driver, slack, db, rockets):
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    before = row_counts(db)

    for case, user, channel, expected in [
        ("member", "U0BEN", "C0ROCKET", "Only a facilitator of *Rockets*"),
        ("outsider", "U0CLEO", "C0ROCKET", "not a member of *Rockets*"),
        ("no-team-anywhere", "U0CLEO", "C0GENERAL", "not in one yet"),
    ]:
        reply = okr(driver, slack, "team settings hour=7", user=user, channel=channel)

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case
    assert _rockets(db).checkin_hour == 10


# the modal -----------------------------------------------------------------------------------------------


def _element(view: dict, block_id: str) -> dict:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return block["element"]


def test_the_modal_opens_with_the_current_values(driver, slack, db, rockets):
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    okr(
        driver,
        slack,
        "team settings timezone=europe/paris day=tue hour=9 digest=<#C0GROWTH> max-objectives=2",
    )

    view = open_settings(driver, slack)

    assert view["callback_id"] == "team_settings"
    assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]]
    assert "Settings of *Rockets*" in shown(view)
    assert _element(view, "timezone")["initial_value"] == "Europe/Paris"
    assert _element(view, "checkin_weekday")["initial_option"]["value"] == "1"
    assert _element(view, "checkin_hour")["initial_option"]["value"] == "9"
    assert _element(view, "digest_channel_id")["initial_conversation"] == "C0GROWTH"
    assert _element(view, "cycle_anchor")["initial_date"] == _rockets(db).cycle_anchor.isoformat()
    assert _element(view, "max_objectives")["initial_option"]["value"] == "2"
    assert _element(view, "facilitators")["initial_users"] == ["U0ADA"]
    assert "initial_users" not in _element(view, "leaders")


def test_a_member_who_is_not_facilitator_gets_no_modal(driver, slack, db, rockets):
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")

    reply = okr(driver, slack, "team settings", user="U0BEN", channel="C0ROCKET")

    assert_clean_error(reply, "Only a facilitator of *Rockets*")
    assert slack.calls_to("views.open") == []


def test_submitting_the_modal_saves_and_tells_the_team_channel(driver, slack, db, rockets):
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    view = open_settings(driver, slack)
    values = modal_values(
        timezone="asia/tokyo",
        weekday=3,
        hour=14,
        digest="C0GROWTH",
        cycle_start="2027-01-04",
        max_objectives=2,
        facilitators=("U0ADA", "U0BEN"),
        leaders=("U0CLEO",),
    )

    result = driver.submit_view(view["id"], user="U0ADA", values=values)

    assert result.status == 200 and not result.body  # the modal closes
    assert slack.open_views("U0ADA") == []
    post = slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C0ROCKET"
    assert "<@U0ADA> changed the" in shown(post.args) and "*Rockets*" in shown(post.args)
    team = _rockets(db)
    assert (team.timezone, team.checkin_weekday, team.checkin_hour, team.digest_channel_id) == (
        "Asia/Tokyo",
        3,
        14,
        "C0GROWTH",
    )
    assert (team.cycle_anchor, team.max_objectives) == (date(2027, 1, 4), 2)
    roles = _roles(db)
    assert roles["U0ADA"] == (Role.FACILITATOR, False)
    assert roles["U0BEN"] == (Role.FACILITATOR, False)
    assert roles["U0CLEO"] == (None, True)  # a leader, not made a member by it
    [entry] = _settings_log(db)
    assert {"timezone", "facilitators", "leaders"} <= set(entry["changed"])


def test_an_invalid_modal_is_answered_next_to_the_field_and_nothing_saved(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    inputs = {b.get("block_id") for b in view["blocks"] if b["type"] == "input"}
    before = row_counts(db)

    for change, block, message in [
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
        ({"facilitators": ()}, "facilitators", "at least one facilitator"),
        ({"cycle_start": "1999-12-31"}, "cycle_anchor", "between the years"),
    ]:
        result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(hour=7, **change))

        assert result.status == 200, block
        assert result.json["response_action"] == "errors", (block, result.json)
        assert list(result.json["errors"]) == [block] and block in inputs
        assert message in result.json["errors"][block]
        assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]]  # still open, showing the error
        assert row_counts(db) == before, block
    assert _rockets(db).checkin_hour == 10
    assert slack.calls_to("chat.postMessage") == []


def test_a_modal_submitted_after_losing_the_facilitator_role_is_refused(driver, slack, db, rockets):
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    okr(driver, slack, "team settings hour=8")
    view = open_settings(driver, slack)
    # while the modal is open, the facilitator role moves to Ben (written straight to the database)
    with db.transaction() as session:
        for member in session.scalars(select(Membership)):
            member.role = Role.FACILITATOR if member.user_id == "U0BEN" else Role.MEMBER
    before = row_counts(db)

    result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(hour=7))

    assert result.status == 200 and result.json["response_action"] == "update"
    assert "Only a facilitator of *Rockets*" in shown(result.json["view"])
    assert row_counts(db) == before
    assert _rockets(db).checkin_hour == 8


def test_a_leader_named_in_the_modal_may_then_publish_vision(driver, slack, db, rockets):
    refused = okr(driver, slack, "vision add Customers talk to us in one place", user="U0CLEO", channel="C0ROCKET")
    assert_clean_error(refused, "written by leaders")

    view = open_settings(driver, slack)
    driver.submit_view(view["id"], user="U0ADA", values=modal_values(leaders=("U0CLEO",)))
    slack.wait_for("chat.postMessage")
    assert _roles(db)["U0CLEO"] == (None, True)

    published = okr(driver, slack, "vision add Customers talk to us in one place", user="U0CLEO", channel="C0ROCKET")
    assert "Published vision statement *1*" in published.text


def test_a_facilitator_cannot_name_themselves_a_leader(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    before = row_counts(db)

    result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(leaders=("U0ADA",)))

    assert result.json["response_action"] == "update"
    assert "can't name yourself a leader" in shown(result.json["view"])
    assert row_counts(db) == before
