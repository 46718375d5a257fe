"""Team settings as typed (`key=value`) and as submitted from the modal, validated the same way."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import InvalidFields, UsageError
from bot.rituals.people import DEFAULT_AWAY_WORDS
from bot.rituals.team_settings import SettingsChange, parse_settings_text, validate_settings


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("timezone=europe/paris", SettingsChange(timezone="Europe/Paris")),
        ("tz=UTC", SettingsChange(timezone="UTC")),
        (
            "TIMEZONE=America/Argentina/Buenos_Aires",
            SettingsChange(timezone="America/Argentina/Buenos_Aires"),
        ),
        ("day=tue", SettingsChange(checkin_weekday=1)),
        ("day=MONDAY", SettingsChange(checkin_weekday=0)),
        ("checkin-day=sun", SettingsChange(checkin_weekday=6)),
        ("day=6", SettingsChange(checkin_weekday=6)),
        ("hour=9:00", SettingsChange(checkin_hour=9)),
        ("hour=09", SettingsChange(checkin_hour=9)),
        ("checkin-hour=23", SettingsChange(checkin_hour=23)),
        ("hour=0", SettingsChange(checkin_hour=0)),
        ("digest=<#C0GROWTH|team-growth>", SettingsChange(digest_channel_id="C0GROWTH")),
        ("digest=<#C0GROWTH>", SettingsChange(digest_channel_id="C0GROWTH")),
        ("digest-channel=G0SECRET", SettingsChange(digest_channel_id="G0SECRET")),
        ("digest=none", SettingsChange(clear_digest_channel=True)),
        ("digest=OFF", SettingsChange(clear_digest_channel=True)),
        ("digest=", SettingsChange(clear_digest_channel=True)),
        ("cycle-start=2027-01-04", SettingsChange(cycle_anchor=date(2027, 1, 4))),
        ("cycle=2000-01-01", SettingsChange(cycle_anchor=date(2000, 1, 1))),
        ("max-objectives=1", SettingsChange(max_objectives=1)),
        ("max-objectives=5", SettingsChange(max_objectives=5)),
        ("", SettingsChange()),
        (
            "timezone=Asia/Tokyo day=wed hour=14 digest=<#C0X1> cycle-start=2027-01-04 max-objectives=2",
            SettingsChange(
                timezone="Asia/Tokyo",
                checkin_weekday=2,
                checkin_hour=14,
                digest_channel_id="C0X1",
                cycle_anchor=date(2027, 1, 4),
                max_objectives=2,
            ),
        ),
        ('timezone="Europe/Paris"', SettingsChange(timezone="Europe/Paris")),
        ("checkins=paused", SettingsChange(checkins_paused=True)),
        ("checkins=ON", SettingsChange(checkins_paused=False)),
        ("check-ins=Paused", SettingsChange(checkins_paused=True)),
        ("reminder=24h", SettingsChange(reminder_hours=24)),
        ("reminder=24", SettingsChange(reminder_hours=24)),
        ("reminder=1H", SettingsChange(reminder_hours=1)),
        ("reminder-hours=72", SettingsChange(reminder_hours=72)),
        ('reminder="12 h"', SettingsChange(reminder_hours=12)),
        ('away-words="OOO, vacation, :palm_tree:"', SettingsChange(away_words="OOO, vacation, :palm_tree:")),
        ("away-words=OOO,vacation", SettingsChange(away_words="OOO, vacation")),
        (
            "AWAY-WORDS=\u201cout  of office ,:Palm_Tree:,\u201d",
            SettingsChange(away_words="out of office, :palm_tree:"),
        ),
        ('away-words="OOO, ooo, Vacation, vacation,"', SettingsChange(away_words="OOO, Vacation")),
        ('away-words="congé, 🌴, can\'t talk"', SettingsChange(away_words="congé, 🌴, can't talk")),
        ("away-words=default", SettingsChange(reset_away_words=True)),
        ("away-words=DEFAULTS", SettingsChange(reset_away_words=True)),
        ('away-words="' + ", ".join(DEFAULT_AWAY_WORDS) + '"', SettingsChange(reset_away_words=True)),
        ('away-words="' + ", ".join(["w" * 40] * 1) + '"', SettingsChange(away_words="w" * 40)),
        ("hour=8 hour=9", SettingsChange(checkin_hour=9)),  # the last one typed wins
        ("triage-close=48h", SettingsChange(triage_hours=48)),
        ("triage-close=48", SettingsChange(triage_hours=48)),
        ("triage-close=1", SettingsChange(triage_hours=1)),
        ("triage-close=336H", SettingsChange(triage_hours=336)),
        ('triage-close="12 hours"', SettingsChange(triage_hours=12)),
        ("triage-close=1hour", SettingsChange(triage_hours=1)),
        ("triage-close=2d", SettingsChange(triage_hours=48)),
        ("triage-close=14D", SettingsChange(triage_hours=336)),
        ('triage-close="3 days"', SettingsChange(triage_hours=72)),
        ("triage-close=1day", SettingsChange(triage_hours=24)),
        ("triage-close=3 days", SettingsChange(triage_hours=72)),  # the unit typed without quotes
        ("triage-close=36 h sprint-size=4", SettingsChange(triage_hours=36, sprint_size=4)),
        ("triage-hours=24", SettingsChange(triage_hours=24)),
        ("TRIAGE-DEADLINE=1d", SettingsChange(triage_hours=24)),
        ("triage-close=off", SettingsChange(close_triage_by_hand=True)),
        ("triage-close=Manual", SettingsChange(close_triage_by_hand=True)),
        ("triage-close=NEVER", SettingsChange(close_triage_by_hand=True)),
        ("triage-close=off triage-close=2d", SettingsChange(triage_hours=48)),  # the last one typed wins
        ("sprint-size=7", SettingsChange(sprint_size=7)),
        ("sprint-size=1", SettingsChange(sprint_size=1)),
        ("sprint=50", SettingsChange(sprint_size=50)),
        ("sprint-size=05", SettingsChange(sprint_size=5)),
    ],
)
def test_typed_settings(text, change):
    assert parse_settings_text(text) == change


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timezone=Mars/Olympus", "`Mars/Olympus` is not a time zone I know"),
        ("timezone=", "`` is not a time zone"),
        ("timezone=+02:00", "`+02:00` is not a time zone"),
        ("day=someday", "`someday` is not a day of the week"),
        ("day=mo", "`mo` is not a day of the week"),
        ("day=7", "`7` is not a day of the week"),
        ("day=", "`` is not a day of the week"),
        ("hour=24", "`24` is not an hour"),
        ("hour=9:30", "`9:30` is not an hour"),
        ("hour=9am", "`9am` is not an hour"),
        ("hour=٩", "`٩` is not an hour"),
        ("hour=", "`` is not an hour"),
        ("digest=#general", "`#general` is not a channel"),
        ("digest=<@U0BEN>", "`<@U0BEN>` is not a channel"),
        ("digest=<#c0lower>", "is not a channel"),
        ("digest=D0DIRECT", "`D0DIRECT` is not a channel"),
        ("cycle-start=2027-13-01", "`2027-13-01` is not a date"),
        ("cycle-start=04/01/2027", "`04/01/2027` is not a date"),
        ("cycle-start=1999-12-31", "between the years 2000 and 2100"),
        ("cycle-start=2101-01-01", "between the years 2000 and 2100"),
        ("max-objectives=0", "number from 1 to 5"),
        ("max-objectives=6", "number from 1 to 5"),
        ("max-objectives=-1", "number from 1 to 5"),
        ("max-objectives=²", "number from 1 to 5"),
        ("max-objectives=three", "number from 1 to 5"),
        ("checkins=maybe", "`maybe` is not a check-in setting; use `checkins=on`, or `checkins=paused`"),
        ("checkins=off", "`off` is not a check-in setting"),
        ("checkins=", "`` is not a check-in setting"),
        ("reminder=0", "`0` is not a reminder delay; use a whole number of hours from 1 to 72"),
        ("reminder=73h", "`73h` is not a reminder delay"),
        ("reminder=1.5", "`1.5` is not a reminder delay"),
        ("reminder=-4", "`-4` is not a reminder delay"),
        ("reminder=24m", "`24m` is not a reminder delay"),
        ("reminder=٢٤", "`٢٤` is not a reminder delay"),
        ("reminder=100", "`100` is not a reminder delay"),
        ("reminder=", "`` is not a reminder delay"),
        ("away-words=", "Give the away words separated by commas"),
        ("away-words=,,", "Give the away words separated by commas"),
        ('away-words=":palm tree:"', "`:palm tree:` is not an emoji name"),
        ('away-words=":🌴:"', "is not an emoji name"),
        ('away-words="OOO, --"', "`--` is not a word"),
        ("away-words=" + "w" * 41, "is 41 characters long; each word may have at most 40"),
        ("away-words=" + ",".join(f"w{i}" for i in range(21)), "That is 21 away words; a team may have at most 20"),
        ("away-words=" + ",".join(f"{i:02d}" + "w" * 36 for i in range(13)), "together they may have at most 500"),
        ('away-words="OOO\u200b, vacation"', "invisible or control character (U+200B)"),
        ("triage-close=0", "`0` is not a triage deadline; use a whole number of hours from 1 to 336"),
        ("triage-close=337", "`337` is not a triage deadline"),
        ("triage-close=337h", "`337h` is not a triage deadline"),
        (
            "triage-close=15d",
            "`15d` is not a triage deadline; use a whole number of hours from 1 to 336 (like 48 or 48h), "
            "of days from 1 to 14 (like 2d or 3 days), or `off` to have a facilitator close triage and sprint picks.",
        ),
        ("triage-close=0d", "`0d` is not a triage deadline"),
        ("triage-close=1.5d", "`1.5d` is not a triage deadline"),
        ("triage-close=-4", "`-4` is not a triage deadline"),
        ("triage-close=48m", "`48m` is not a triage deadline"),
        ("triage-close=2w", "`2w` is not a triage deadline"),
        ("triage-close=٤٨", "`٤٨` is not a triage deadline"),
        ("triage-close=soon", "`soon` is not a triage deadline"),
        ("triage-close=none", "`none` is not a triage deadline"),
        ("triage-close=", "`` is not a triage deadline"),
        ("sprint-size=0", "`0` is not a sprint size; use a whole number of items from 1 to 50, like 5."),
        ("sprint-size=51", "`51` is not a sprint size"),
        ("sprint-size=-1", "`-1` is not a sprint size"),
        ("sprint-size=2.5", "`2.5` is not a sprint size"),
        ("sprint-size=five", "`five` is not a sprint size"),
        ("sprint-size=²", "`²` is not a sprint size"),
        ("sprint-size=off", "`off` is not a sprint size"),
        ("sprint=", "`` is not a sprint size"),
    ],
)
def test_bad_values_are_named(text, message):
    with pytest.raises(UsageError) as caught:
        parse_settings_text(text)
    assert message in caught.value.message
    assert caught.value.usage.startswith("/okr team settings timezone=Europe/Paris")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=blue", "I don't know the setting `colour=blue`"),
        ("timezone", "Give `timezone` a value after `=`"),
        ("=9", "I don't know the setting `=9`"),
        ("leaders=U0BEN", "I don't know the setting `leaders=U0BEN`"),
        ("x" * 100 + "=1", "I don't know the setting `" + "x" * 40 + "`"),
        ('timezone="Europe/Paris', "Unbalanced quotes"),
        ("away-words=out of office", "Put away words that contain spaces in quotes"),
        ("triage-close", "Give `triage-close` a value after `=`"),
        ("sprint", "Give `sprint` a value after `=`"),
        ("triage-close=off days", "I don't know the setting `days`"),  # a unit only follows a number
        ("triage-close=3 days days", "I don't know the setting `days`"),
        ("sprint-size=5 items", "I don't know the setting `items`"),
    ],
)
def test_unknown_keys_and_bad_quoting(text, message):
    with pytest.raises(UsageError) as caught:
        parse_settings_text(text)
    assert message in caught.value.message


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(UsageError) as caught:
        parse_settings_text("hour=25 day=someday max-objectives=9 timezone=Europe/Paris")
    lines = caught.value.message.splitlines()
    assert len(lines) == 3
    assert any("`25` is not an hour" in line for line in lines)
    assert any("`someday`" in line for line in lines)
    assert any("1 to 5" in line for line in lines)


# the modal's values --------------------------------------------------------------------------------------


def test_modal_values_with_people():
    change = validate_settings(
        {
            "timezone": "asia/tokyo",
            "checkin_weekday": "3",
            "checkin_hour": "14",
            "digest_channel_id": "C0GROWTH",
            "cycle_anchor": "2027-01-04",
            "max_objectives": "2",
        },
        people={"facilitators": ["U0ADA", "U0BEN", "U0ADA"], "leaders": []},
    )
    assert change == SettingsChange(
        timezone="Asia/Tokyo",
        checkin_weekday=3,
        checkin_hour=14,
        digest_channel_id="C0GROWTH",
        cycle_anchor=date(2027, 1, 4),
        max_objectives=2,
        facilitators=("U0ADA", "U0BEN"),
        leaders=(),
    )


def test_fields_left_out_are_left_as_they_are():
    assert validate_settings({"timezone": None, "checkin_hour": " 7 "}) == SettingsChange(checkin_hour=7)


def test_modal_errors_are_keyed_by_block_id():
    with pytest.raises(InvalidFields) as caught:
        validate_settings(
            {"timezone": "Nowhere/Town", "checkin_hour": "99", "cycle_anchor": "2027-01-04"},
            people={"facilitators": [], "leaders": ["U0CLEO"]},
        )
    assert set(caught.value.fields) == {"timezone", "checkin_hour", "facilitators"}
    assert "at least one facilitator" in caught.value.fields["facilitators"]
    assert "Nowhere/Town" in caught.value.fields["timezone"]


def test_leaving_the_facilitators_out_is_not_removing_them():
    assert validate_settings({}, people={"leaders": ["U0CLEO"]}) == SettingsChange(leaders=("U0CLEO",))


def test_the_modal_s_new_fields():
    change = validate_settings({"checkins_paused": "paused", "reminder_hours": "12", "away_words": "OOO, :palm_tree:"})
    assert change == SettingsChange(checkins_paused=True, reminder_hours=12, away_words="OOO, :palm_tree:")


def test_the_defaults_as_the_modal_shows_them_keep_following_the_defaults():
    assert validate_settings({"away_words": ", ".join(DEFAULT_AWAY_WORDS)}) == SettingsChange(reset_away_words=True)


def test_new_fields_errors_are_keyed_by_block_id():
    with pytest.raises(InvalidFields) as caught:
        validate_settings({"checkins_paused": "sometimes", "reminder_hours": "0", "away_words": ":bad emoji:"})
    assert set(caught.value.fields) == {"checkins_paused", "reminder_hours", "away_words"}
    assert "1 to 72" in caught.value.fields["reminder_hours"]


def test_the_modal_s_triage_and_sprint_fields():
    assert validate_settings({"triage_hours": " 72h ", "sprint_size": "7"}) == SettingsChange(
        triage_hours=72, sprint_size=7
    )
    assert validate_settings({"triage_hours": "3 days"}) == SettingsChange(triage_hours=72)
    assert validate_settings({"triage_hours": "Off"}) == SettingsChange(close_triage_by_hand=True)


def test_triage_and_sprint_errors_are_keyed_by_block_id():
    with pytest.raises(InvalidFields) as caught:
        validate_settings({"triage_hours": "400h", "sprint_size": "51", "reminder_hours": "24"})
    assert set(caught.value.fields) == {"triage_hours", "sprint_size"}
    assert "from 1 to 336" in caught.value.fields["triage_hours"] and "`off`" in caught.value.fields["triage_hours"]
    assert "from 1 to 50" in caught.value.fields["sprint_size"]


def test_the_usage_names_the_triage_and_sprint_settings():
    with pytest.raises(UsageError) as caught:
        parse_settings_text("sprint-size=0")
    assert "triage-close=48h|off sprint-size=5" in caught.value.usage
