"""`/okr team create|join|leave` and how a command finds its team, through signed HTTP into the real bot."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import EventLog, Membership, Role, Team
from tests.e2e.support import (
    assert_clean_error,
    create_team,
    join_team,
    okr,
    row_counts,
)
from tests.helpers import flatten


def _team(db, name_key: str) -> Team | None:
    with db.transaction() as session:
        return session.scalar(select(Team).where(Team.name_key == name_key))


def _members(db, team_id: int) -> dict[str, Role]:
    with db.transaction() as session:
        rows = session.scalars(select(Membership).where(Membership.team_id == team_id))
        return {m.user_id: m.role for m in rows}


def _log(db, action: str) -> list[EventLog]:
    with db.transaction() as session:
        return list(session.scalars(select(EventLog).where(EventLog.action == action).order_by(EventLog.id)))


# create --------------------------------------------------------------------------------------------------


def test_create_announces_in_channel_and_makes_the_creator_facilitator(driver, slack, db):
    reply = okr(driver, slack, "team create Rockets", user="U0ADA", channel="C0ROCKET")

    assert reply.via == "response_url" and not reply.ephemeral
    assert "<@U0ADA> created the team *Rockets* in this channel" in reply.text
    posted = [m for m in slack.messages("C0ROCKET") if m.get("bot_id")]
    assert len(posted) == 1 and "created the team *Rockets*" in flatten(posted[0])
    assert slack.wait_for("conversations.join").args["channel"] == "C0ROCKET"

    team = _team(db, "rockets")
    assert team is not None
    assert (team.name, team.channel_id, team.created_by) == ("Rockets", "C0ROCKET", "U0ADA")
    assert (team.timezone, team.checkin_weekday, team.checkin_hour, team.max_objectives) == ("UTC", 0, 10, 3)
    assert _members(db, team.id) == {"U0ADA": Role.FACILITATOR}
    [created] = _log(db, "created")
    assert (created.entity, created.entity_id, created.team_id, created.actor_user_id) == (
        "team",
        team.id,
        team.id,
        "U0ADA",
    )
    assert created.data == {"name": "Rockets", "channel_id": "C0ROCKET"}


def test_create_in_a_private_channel_asks_to_be_invited(driver, slack, db):
    reply = okr(driver, slack, "team create Secret Squad", user="U0ADA", channel="G0SECRET")

    assert "created the team *Secret Squad*" in reply.text
    assert "/invite" in reply.text
    assert not slack.wait_for("conversations.join").ok
    assert _team(db, "secret squad").channel_id == "G0SECRET"


def test_create_keeps_odd_but_honest_names_and_normalises_them(driver, slack, db):
    create_team(driver, slack, "👩\u200d💻 Cafe\u0301", channel="C0ROCKET")  # ZWJ emoji, combining accent
    team = _team(db, "👩\u200d💻 café")
    assert team is not None and team.name == "👩\u200d💻 Café"  # stored NFC

    # the precomposed spelling is the same name
    reply = okr(driver, slack, "team create 👩\u200d💻 CAFÉ", channel="C0GROWTH")
    assert_clean_error(reply, "already a team called")

    create_team(driver, slack, "R" * 80, channel="C0GROWTH")  # the longest name allowed
    assert _team(db, "r" * 80).name == "R" * 80


CREATE_REFUSALS = [
    # (case, text, channel, what the reply must say)
    ("same-channel", "team create Other", "C0ROCKET", "already the home of team *Rockets*"),
    ("same-name-any-case", "team create rOCKETS", "C0GROWTH", "already a team called"),
    ("direct-message", "team create Growth", "D0BEN00001", "direct message"),
    ("no-name", "team create", "C0GROWTH", "Give the team a name"),
    ("blank-name", "team create     ", "C0GROWTH", "Give the team a name"),
    ("81-chars", "team create " + "R" * 81, "C0GROWTH", "81 characters"),
    ("mention", "team create <@U1> fans", "C0GROWTH", "can't contain angle brackets"),
    ("bidi-override", "team create Gro\u202ewth", "C0GROWTH", "U+202E"),
    ("zero-width-space", "team create Gro\u200bwth", "C0GROWTH", "U+200B"),
    ("nul", "team create Gro\x00wth", "C0GROWTH", "U+0000"),
    ("punctuation-only", "team create !!! ...", "C0GROWTH", "at least one letter or digit"),
]


def test_create_refused_with_a_clear_reason_and_nothing_written(driver, slack, db):
    create_team(driver, slack, "Rockets", channel="C0ROCKET")
    before = row_counts(db)
    posted_before = {c: len(slack.messages(c)) for c in ("C0ROCKET", "C0GROWTH")}

    for case, text, channel, expected in CREATE_REFUSALS:
        reply = okr(driver, slack, text, user="U0BEN", channel=channel)

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case
        assert {c: len(slack.messages(c)) for c in posted_before} == posted_before, case


# join ----------------------------------------------------------------------------------------------------


def test_join_in_the_team_channel(driver, slack, db):
    create_team(driver, slack, "Rockets")
    reply = okr(driver, slack, "team join", user="U0BEN", channel="C0ROCKET")

    assert not reply.ephemeral
    assert "<@U0BEN> joined the team *Rockets*" in reply.text
    team = _team(db, "rockets")
    assert _members(db, team.id) == {"U0ADA": Role.FACILITATOR, "U0BEN": Role.MEMBER}
    [joined] = _log(db, "joined")
    assert (joined.actor_user_id, joined.team_id, joined.entity) == ("U0BEN", team.id, "membership")


def test_join_by_name_from_another_channel(driver, slack, db):
    create_team(driver, slack, "Rockets")
    reply = okr(driver, slack, "team join rockets", user="U0BEN", channel="C0GENERAL")

    assert "<@U0BEN> joined the team *Rockets*" in reply.text
    assert reply.ephemeral  # #general is not told; the team hears it in its own channel
    post = slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C0ROCKET" and "joined the team *Rockets*" in post.args["text"] + str(post.args)
    assert _members(db, _team(db, "rockets").id)["U0BEN"] is Role.MEMBER


def test_join_refused_and_nothing_written(driver, slack, db):
    create_team(driver, slack, "Rockets")
    before = row_counts(db)

    for case, user, text, channel, expected in [
        ("already-member", "U0ADA", "team join", "C0ROCKET", "already a member of *Rockets*"),
        ("unknown-team", "U0BEN", "team join Nope", "C0GENERAL", "no team called *Nope*"),
        ("no-team-here", "U0BEN", "team join", "C0GENERAL", "This channel has no team"),
        ("bidi-name", "U0BEN", "team join Rock\u202eets", "C0GENERAL", "U+202E"),
    ]:
        reply = okr(driver, slack, text, user=user, channel=channel)

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case


# leave ---------------------------------------------------------------------------------------------------


def test_a_member_leaves(driver, slack, db):
    create_team(driver, slack, "Rockets")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")

    reply = okr(driver, slack, "team leave", user="U0BEN", channel="C0ROCKET")

    assert reply.ephemeral and "You left *Rockets*" in reply.text
    team = _team(db, "rockets")
    assert _members(db, team.id) == {"U0ADA": Role.FACILITATOR}
    [left] = _log(db, "left")
    assert (left.actor_user_id, left.team_id) == ("U0BEN", team.id)


def test_leave_refused_and_nothing_written(driver, slack, db):
    create_team(driver, slack, "Rockets")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    before = row_counts(db)

    for case, user, text, channel, expected in [
        ("last-facilitator", "U0ADA", "team leave", "C0ROCKET", "only facilitator of *Rockets*"),
        ("not-a-member", "U0CLEO", "team leave", "C0ROCKET", "not a member of *Rockets*"),
        ("not-a-member-named", "U0CLEO", "team leave Rockets", "C0GENERAL", "not a member of *Rockets*"),
        ("no-team-at-all", "U0CLEO", "team leave", "C0GENERAL", "not in one yet"),
        ("unknown-team", "U0BEN", "team leave Nope", "C0ROCKET", "no team called *Nope*"),
    ]:
        reply = okr(driver, slack, text, user=user, channel=channel)

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case


def test_a_team_is_never_left_without_a_facilitator(driver, slack, db):
    create_team(driver, slack, "Rockets")
    okr(driver, slack, "team leave", user="U0ADA", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")

    reply = okr(driver, slack, "team settings hour=9", user="U0BEN", channel="C0ROCKET")

    assert "changed the check-in hour" in reply.text, reply.text


# which team a command is about ---------------------------------------------------------------------------


def _two_teams_with_ben(driver, slack) -> None:
    create_team(driver, slack, "Rockets", channel="C0ROCKET")
    create_team(driver, slack, "Growth", channel="C0GROWTH")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0GROWTH")


def test_outside_a_team_channel_a_member_of_one_team_acts_on_it(driver, slack, db):
    create_team(driver, slack, "Rockets")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")

    reply = okr(driver, slack, "team leave", user="U0BEN", channel="C0GENERAL")

    assert "You left *Rockets*" in reply.text
    assert "U0BEN" not in _members(db, _team(db, "rockets").id)


def test_in_a_team_channel_the_channel_decides(driver, slack, db):
    _two_teams_with_ben(driver, slack)
    reply = okr(driver, slack, "team leave", user="U0BEN", channel="C0GROWTH")

    assert "You left *Growth*" in reply.text
    assert "U0BEN" in _members(db, _team(db, "rockets").id)
    assert "U0BEN" not in _members(db, _team(db, "growth").id)


def test_a_member_of_two_teams_picks_one_and_the_command_runs_for_it(driver, slack, db):
    _two_teams_with_ben(driver, slack)
    rockets, growth = _team(db, "rockets"), _team(db, "growth")
    before = row_counts(db)

    picker = okr(driver, slack, "team leave", user="U0BEN", channel="C0GENERAL")

    assert picker.ephemeral and "Which team is `/okr team leave` for?" in picker.text
    buttons = [e for b in picker.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"]: b["text"]["text"] for b in buttons} == {
        f"choose_team:{rockets.id}": "Rockets",
        f"choose_team:{growth.id}": "Growth",
    }
    assert row_counts(db) == before  # asking is not doing
    [shown] = [e for e in slack.ephemerals if e["user"] == "U0BEN" and "Which team" in flatten(e)]

    responses = len(slack.responses)
    result = driver.click(user="U0BEN", action_id=f"choose_team:{growth.id}", channel="C0GENERAL", ts=shown["ts"])

    assert result.status == 200
    done = slack.wait_for_response(lambda r: "You left" in json.dumps(r["body"]), count=1)
    assert "You left *Growth*" in flatten(done["body"])
    assert len(slack.responses) >= responses + 2  # the picker removed, then the answer
    assert not [e for e in slack.ephemerals if e["ts"] == shown["ts"]], "the picker should be gone"
    assert _members(db, rockets.id) == {"U0ADA": Role.FACILITATOR, "U0BEN": Role.MEMBER}
    assert _members(db, growth.id) == {"U0ADA": Role.FACILITATOR}


def test_the_picker_replays_settings_for_the_chosen_team(driver, slack, db):
    create_team(driver, slack, "Rockets", channel="C0ROCKET")
    create_team(driver, slack, "Growth", channel="C0GROWTH")
    growth = _team(db, "growth")

    picker = okr(driver, slack, "team settings hour=7", user="U0ADA", channel="C0GENERAL")
    [shown] = [e for e in slack.ephemerals if "Which team" in flatten(e)]
    assert picker.ephemeral
    driver.click(user="U0ADA", action_id=f"choose_team:{growth.id}", channel="C0GENERAL", ts=shown["ts"])

    saved = slack.wait_for_response(lambda r: "changed the check-in hour" in json.dumps(r["body"]))
    assert "*Growth*" in flatten(saved["body"])
    assert _team(db, "growth").checkin_hour == 7
    assert _team(db, "rockets").checkin_hour == 10


def test_a_command_too_long_to_replay_from_a_button_names_the_team_channels(driver, slack, db):
    create_team(driver, slack, "Rockets", channel="C0ROCKET")
    create_team(driver, slack, "Growth", channel="C0GROWTH")
    text = "team settings " + " ".join(["hour=7"] * 300)  # 2,114 characters: over a button value's 2,000
    before = row_counts(db)

    reply = okr(driver, slack, text, user="U0ADA", channel="C0GENERAL")

    assert reply.ephemeral
    assert "Run it again in the team's channel: <#C0GROWTH>, <#C0ROCKET>" in reply.text
    assert not [b for b in reply.body["blocks"] if b["type"] == "actions"]
    assert row_counts(db) == before


def test_a_picker_button_for_a_team_that_no_longer_exists_is_answered(driver, slack, db):
    _two_teams_with_ben(driver, slack)
    okr(driver, slack, "team join Nope", user="U0BEN", channel="C0GENERAL")  # any ephemeral to click in
    [shown] = [e for e in slack.ephemerals if "Nope" in flatten(e)]
    before = row_counts(db)

    driver.click(
        user="U0BEN",
        action_id="choose_team:999999",
        block_id="forged",
        channel="C0GENERAL",
        ts=shown["ts"],
        value=json.dumps({"team_id": 999999, "text": "team leave"}),
    )

    gone = slack.wait_for_response(lambda r: "no longer exists" in json.dumps(r["body"]))
    assert gone["body"].get("response_type") != "in_channel"
    assert row_counts(db) == before
