"""`/okr team settings`: typed `key=value` pairs and the settings modal, end to end."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.rituals.people import DEFAULT_AWAY_WORDS
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
    ("checkins=paused", "checkins_paused", True, "check-in pause"),
    ("reminder=48h", "reminder_hours", 48, "reminder delay"),
    ('away-words="OOO, vacation, :Palm_Tree:"', "away_words", "OOO, vacation, :palm_tree:", "away words"),
    ("triage-close=3d", "triage_hours", 72, "triage deadline"),
    ("sprint-size=7", "sprint_size", 7, "sprint size"),
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
    ("checkins=maybe", "`maybe` is not a check-in setting; use `checkins=on`, or `checkins=paused`"),
    ("reminder=0", "`0` is not a reminder delay; use a whole number of hours from 1 to 72"),
    ("reminder=73h", "`73h` is not a reminder delay"),
    ("reminder=1.5", "`1.5` is not a reminder delay"),
    ("away-words=", "Give the away words separated by commas"),
    ('away-words=":palm tree:"', "`:palm tree:` is not an emoji name"),
    ("away-words=" + "w" * 41, "each word may have at most 40"),
    ("away-words=" + ",".join(f"w{i}" for i in range(21)), "at most 20"),
    ("away-words=" + ",".join(f"{i:02d}" + "w" * 36 for i in range(13)), "together they may have at most 500"),
    ("away-words=out of office", "Put away words that contain spaces in quotes"),
    ("triage-close=0", "`0` is not a triage deadline; use a whole number of hours from 1 to 336"),
    ("triage-close=337h", "`337h` is not a triage deadline"),
    ("triage-close=15d", "of days from 1 to 14 (like 2d or 3 days), or `off`"),
    ("triage-close=soon", "`soon` is not a triage deadline"),
    ("triage-close=", "`` is not a triage deadline"),
    ("sprint-size=0", "`0` is not a sprint size; use a whole number of items from 1 to 50"),
    ("sprint-size=51", "`51` is not a sprint size"),
    ("sprint=2.5", "`2.5` is not a sprint size"),
    ("triage-close", "Give `triage-close` a value after `=`"),
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
    assert (team.checkins_paused, team.reminder_hours, team.away_words) == (False, 24, None)
    assert (team.triage_hours, team.sprint_size) == (48, 5)


def test_pausing_check_ins_is_announced_until_they_are_back_on(driver, slack, db, rockets):
    paused = okr(driver, slack, "team settings checkins=paused")

    assert "changed the check-in pause of *Rockets*" in paused.text
    assert "Check-ins are *paused*: no check-in DMs, reminders or summaries" in paused.text
    assert _rockets(db).checkins_paused is True

    again = okr(driver, slack, "team settings checkins=PAUSED")
    assert "Nothing changed" in again.text and "Check-ins are *paused*" in again.text

    on = okr(driver, slack, "team settings check-ins=on")
    assert "changed the check-in pause" in on.text and "paused" not in on.text.replace("check-in pause", "")
    assert _rockets(db).checkins_paused is False
    assert _settings_log(db) == [{"changed": ["checkins_paused"]}, {"changed": ["checkins_paused"]}]


def test_the_reminder_delay_takes_hours_with_or_without_h(driver, slack, db, rockets):
    reply = okr(driver, slack, "team settings reminder=12")
    assert "changed the reminder delay" in reply.text and "reminder 12h after an unanswered check-in" in reply.text
    assert _rockets(db).reminder_hours == 12

    before = row_counts(db)
    same = okr(driver, slack, "team settings reminder=12h")
    assert "Nothing changed" in same.text
    assert row_counts(db) == before


def test_away_words_are_shown_and_go_back_to_the_defaults(driver, slack, db, rockets):
    first = okr(driver, slack, "team settings timezone=utc")  # nothing set yet: the defaults are shown
    assert "Away words in a Slack status: OOO, out of office, vacation" in first.text
    assert "(the defaults)" in first.text

    custom = okr(driver, slack, "team settings away-words=\u201cCongé, <script>, :palm_tree:\u201d")
    assert "changed the away words" in custom.text
    assert "Away words in a Slack status: Congé, <script>, :palm_tree:" in custom.text
    assert "(the defaults)" not in custom.text
    assert _rockets(db).away_words == "Congé, <script>, :palm_tree:"

    reset = okr(driver, slack, "team settings away-words=default")
    assert "changed the away words" in reset.text and "(the defaults)" in reset.text
    assert _rockets(db).away_words is None

    before = row_counts(db)
    typed_defaults = okr(driver, slack, 'team settings away-words="' + ", ".join(DEFAULT_AWAY_WORDS) + '"')
    assert "Nothing changed" in typed_defaults.text
    assert row_counts(db) == before and _rockets(db).away_words is None
    assert [entry["changed"] for entry in _settings_log(db)] == [["away_words"], ["away_words"]]


def test_the_triage_deadline_and_sprint_size_are_saved_and_shown_in_words(driver, slack, db, rockets):
    first = okr(driver, slack, "team settings timezone=utc")  # nothing set yet: the defaults are shown
    assert "triage and sprint picks close themselves 48 hours after they start" in first.text
    assert "a sprint pick takes 5 items" in first.text

    hours = okr(driver, slack, "team settings triage-close=72h sprint-size=7")
    assert "changed the triage deadline, sprint size of *Rockets*" in hours.text
    assert "triage and sprint picks close themselves 72 hours after they start" in hours.text
    assert "a sprint pick takes 7 items" in hours.text
    assert (_rockets(db).triage_hours, _rockets(db).sprint_size) == (72, 7)

    manual = okr(driver, slack, "team settings triage-close=off")
    assert "changed the triage deadline of *Rockets*" in manual.text
    assert "a facilitator closes triage and sprint picks" in manual.text and "close themselves" not in manual.text
    assert _rockets(db).triage_hours is None

    before = row_counts(db)
    for text in ("triage-close=never", "triage-deadline=MANUAL", "sprint=7"):  # as they already are
        same = okr(driver, slack, f"team settings {text}")
        assert "Nothing changed" in same.text and "a facilitator closes triage and sprint picks" in same.text, text
        assert row_counts(db) == before, text

    days = okr(driver, slack, "team settings triage-hours=3 days")  # the unit typed without quotes
    assert "triage and sprint picks close themselves 72 hours after they start" in days.text
    one = okr(driver, slack, 'team settings triage-close="1 day" sprint=1')
    assert "close themselves 24 hours after they start" in one.text and "a sprint pick takes 1 item" in one.text
    assert (_rockets(db).triage_hours, _rockets(db).sprint_size) == (24, 1)
    hour = okr(driver, slack, "team settings triage-close=1")
    assert "close themselves 1 hour after they start" in hour.text
    assert [entry["changed"] for entry in _settings_log(db)] == [
        ["triage_hours", "sprint_size"],
        ["triage_hours"],
        ["triage_hours"],
        ["triage_hours", "sprint_size"],
        ["triage_hours"],
    ]


def test_a_bad_triage_or_sprint_setting_saves_none_of_the_good_ones(driver, slack, db, rockets):
    before = row_counts(db)

    for text, expected in [
        ("triage-close=off sprint-size=51 checkins=paused", ["`51` is not a sprint size"]),
        ("sprint-size=9 triage-close=15d", ["`15d` is not a triage deadline"]),
        ("triage-close=400 sprint=0", ["`400` is not a triage deadline", "`0` is not a sprint size"]),
        ("triage-close=off days", ["I don't know the setting `days`"]),
    ]:
        reply = okr(driver, slack, f"team settings {text}")

        assert_clean_error(reply, *expected, "triage-close=48h|off sprint-size=5", case=text)
        assert row_counts(db) == before, text
    team = _rockets(db)
    assert (team.triage_hours, team.sprint_size, team.checkins_paused) == (48, 5, False)


def test_a_bad_new_setting_saves_none_of_the_good_ones(driver, slack, db, rockets):
    before = row_counts(db)

    reply = okr(driver, slack, 'team settings checkins=paused reminder=99 away-words="OOO, :bad emoji:"')

    assert_clean_error(reply, "`99` is not a reminder delay", "`:bad emoji:` is not an emoji name")
    assert row_counts(db) == before
    team = _rockets(db)
    assert (team.checkins_paused, team.reminder_hours, team.away_words) == (False, 24, None)


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


def _values(
    *,
    checkins: str = "on",
    reminder: str = "24",
    away_words: str | None = None,
    triage: str = "48h",
    sprint: str = "5",
    **base,
) -> dict:
    """The modal's state with its check-in and backlog fields too (`None` away words: the field left empty)."""
    return modal_values(**base) | {
        "checkins_paused": {"value": {"type": "radio_buttons", "selected_option": {"value": checkins}}},
        "reminder_hours": {"value": {"type": "number_input", "value": reminder}},
        "away_words": {"value": {"type": "plain_text_input", "value": away_words}},
        "triage_hours": {"value": {"type": "plain_text_input", "value": triage}},
        "sprint_size": {"value": {"type": "number_input", "value": sprint}},
    }


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
    assert _element(view, "checkins_paused")["initial_option"]["value"] == "on"
    assert _element(view, "reminder_hours")["initial_value"] == "24"
    assert _element(view, "away_words")["initial_value"] == ", ".join(DEFAULT_AWAY_WORDS)
    assert _element(view, "triage_hours")["initial_value"] == "48h"
    assert _element(view, "sprint_size")["initial_value"] == "5"


def test_the_modal_shows_a_paused_team_its_reminder_and_its_own_away_words(driver, slack, db, rockets):
    okr(driver, slack, 'team settings checkins=paused reminder=6h away-words="OOO, :palm_tree:"')

    view = open_settings(driver, slack)

    paused = _element(view, "checkins_paused")
    assert paused["type"] == "radio_buttons"
    assert paused["initial_option"] in paused["options"] and paused["initial_option"]["value"] == "paused"
    assert [o["value"] for o in paused["options"]] == ["on", "paused"]
    assert _element(view, "reminder_hours")["type"] == "number_input"
    assert _element(view, "reminder_hours")["initial_value"] == "6"
    assert _element(view, "away_words")["initial_value"] == "OOO, :palm_tree:"


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
    assert_clean_error(refused, "Only leaders can write vision statements")

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


def test_the_modal_saves_the_check_in_settings(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    values = _values(checkins="paused", reminder="12", away_words="out of office ,  :Airplane:, OOO")

    result = driver.submit_view(view["id"], user="U0ADA", values=values)

    assert result.status == 200 and not result.body
    post = slack.wait_for("chat.postMessage")
    assert "check-in pause, reminder delay, away words" in shown(post.args)
    assert "Check-ins are *paused*" in shown(post.args)
    team = _rockets(db)
    assert (team.checkins_paused, team.reminder_hours, team.away_words) == (True, 12, "out of office, :airplane:, OOO")
    [entry] = _settings_log(db)
    assert {"checkins_paused", "reminder_hours", "away_words"} <= set(entry["changed"])


def test_emptying_the_away_words_in_the_modal_goes_back_to_the_defaults(driver, slack, db, rockets):
    okr(driver, slack, 'team settings away-words="OOO, :palm_tree:"')
    view = open_settings(driver, slack)

    driver.submit_view(view["id"], user="U0ADA", values=_values(away_words="  "))

    post = slack.wait_for("chat.postMessage")
    assert "away words of *Rockets*" in shown(post.args) and "(the defaults)" in shown(post.args)
    assert _rockets(db).away_words is None


def test_the_modal_submitted_as_it_opened_changes_nothing(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    before = row_counts(db)
    anchor = _rockets(db).cycle_anchor.isoformat()
    values = _values(cycle_start=anchor, reminder="24", away_words=_element(view, "away_words")["initial_value"])

    driver.submit_view(view["id"], user="U0ADA", values=values)

    post = slack.wait_for("chat.postMessage")
    assert "Nothing changed" in shown(post.args)
    assert row_counts(db) == before and _rockets(db).away_words is None


def test_bad_check_in_settings_in_the_modal_are_answered_next_to_their_field(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    before = row_counts(db)

    for change, block, message in [
        ({"checkins": "sometimes"}, "checkins_paused", "not a check-in setting"),
        ({"reminder": "0"}, "reminder_hours", "from 1 to 72"),
        ({"reminder": "73"}, "reminder_hours", "from 1 to 72"),
        ({"reminder": "2.5"}, "reminder_hours", "from 1 to 72"),
        ({"away_words": "OOO, :bad emoji:"}, "away_words", "`:bad emoji:` is not an emoji name"),
        ({"away_words": ", ".join(f"w{i}" for i in range(21))}, "away_words", "at most 20"),
        ({"away_words": "x" * 41}, "away_words", "at most 40"),
        ({"away_words": "OOO, \u202evacation"}, "away_words", "invisible or control character"),
    ]:
        result = driver.submit_view(view["id"], user="U0ADA", values=_values(hour=7, **change))

        assert result.status == 200, block
        assert result.json["response_action"] == "errors", (block, result.json)
        assert list(result.json["errors"]) == [block], (block, result.json)
        assert message in result.json["errors"][block], (block, result.json)
        assert row_counts(db) == before, block
    team = _rockets(db)
    assert (team.checkin_hour, team.checkins_paused, team.reminder_hours, team.away_words) == (10, False, 24, None)
    assert slack.calls_to("chat.postMessage") == []


def test_the_modal_shows_the_triage_deadline_and_sprint_size(driver, slack, db, rockets):
    okr(driver, slack, "team settings triage-close=3d sprint-size=8")
    view = open_settings(driver, slack)
    triage, sprint = _element(view, "triage_hours"), _element(view, "sprint_size")
    assert (triage["type"], triage["initial_value"]) == ("plain_text_input", "72h")
    assert (sprint["type"], sprint["initial_value"]) == ("number_input", "8")
    assert (sprint["min_value"], sprint["max_value"]) == ("1", "50")
    driver.close_view(view["id"], user="U0ADA")

    okr(driver, slack, "team settings triage-close=off")
    assert _element(open_settings(driver, slack), "triage_hours")["initial_value"] == "off"


def test_the_modal_saves_the_triage_deadline_and_sprint_size(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    anchor = _rockets(db).cycle_anchor.isoformat()
    away = _element(view, "away_words")["initial_value"]

    result = driver.submit_view(
        view["id"], user="U0ADA", values=_values(cycle_start=anchor, away_words=away, triage="4 days", sprint="12")
    )

    assert result.status == 200 and not result.body
    post = slack.wait_for("chat.postMessage")
    assert "changed the triage deadline, sprint size of *Rockets*" in shown(post.args)
    assert "triage and sprint picks close themselves 96 hours after they start" in shown(post.args)
    assert "a sprint pick takes 12 items" in shown(post.args)
    assert (_rockets(db).triage_hours, _rockets(db).sprint_size) == (96, 12)
    assert _settings_log(db) == [{"changed": ["triage_hours", "sprint_size"]}]

    view = open_settings(driver, slack)
    driver.submit_view(view["id"], user="U0ADA", values=_values(cycle_start=anchor, away_words=away, triage="Off"))

    post = slack.wait_for("chat.postMessage", count=2)
    assert "a facilitator closes triage and sprint picks" in shown(post.args)
    assert "a sprint pick takes 5 items" in shown(post.args)
    assert (_rockets(db).triage_hours, _rockets(db).sprint_size) == (None, 5)
    assert _settings_log(db)[-1] == {"changed": ["sprint_size", "triage_hours"]}


def test_bad_triage_and_sprint_settings_in_the_modal_are_answered_next_to_their_field(driver, slack, db, rockets):
    view = open_settings(driver, slack)
    inputs = {b.get("block_id") for b in view["blocks"] if b["type"] == "input"}
    before = row_counts(db)

    for change, block, message in [
        ({"triage": "0"}, "triage_hours", "from 1 to 336"),
        ({"triage": "337h"}, "triage_hours", "`337h` is not a triage deadline"),
        ({"triage": "15 days"}, "triage_hours", "of days from 1 to 14"),
        ({"triage": "sometime"}, "triage_hours", "or `off` to have a facilitator close triage and sprint picks"),
        ({"sprint": "0"}, "sprint_size", "from 1 to 50"),
        ({"sprint": "51"}, "sprint_size", "from 1 to 50"),
        ({"sprint": "2.5"}, "sprint_size", "`2.5` is not a sprint size"),
    ]:
        result = driver.submit_view(view["id"], user="U0ADA", values=_values(hour=7, checkins="paused", **change))

        assert result.status == 200, block
        assert result.json["response_action"] == "errors", (block, result.json)
        assert list(result.json["errors"]) == [block] and block in inputs, (block, result.json)
        assert message in result.json["errors"][block], (block, result.json)
        assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]]
        assert row_counts(db) == before, block
    team = _rockets(db)
    assert (team.checkin_hour, team.checkins_paused, team.triage_hours, team.sprint_size) == (10, False, 48, 5)
    assert slack.calls_to("chat.postMessage") == []
