"""Weekly check-ins end to end: the sweep sends DMs through the sandbox, owners answer through signed requests.

Ben is in New York and Cleo in Tokyo; the team checks in on Mondays at 10:00, which is 10:00 for each of
them. Time is frozen (and ticking) so the bot, the sweeps and the test agree on what day it is.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlalchemy import select

from bot.scheduler import client_for
from bot.sweep import Sweeper
from storage.models import (
    CheckIn,
    ClaimState,
    EventLog,
    FormOrigin,
    KeyResult,
    KeyResultState,
    Schedule,
    SendClaim,
    Team,
    Workspace,
)
from tests import factories
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import commit, latest_ephemeral, rockets
from tests.e2e.support import (
    assert_clean_error,
    join_team,
    okr,
    row_counts,
    shown,
    stays,
    submit_with_metadata,
    wait_until,
)
from tests.e2e.test_boundaries import (
    assert_readable_refusal,
    checkin_values,
    forge_click,
    forge_submission,
    forged_view,
    interaction_base,
    modal_error_text,
    refused_click,
    send_signed,
)

pytestmark = pytest.mark.usefixtures("bot")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sweep(slack, db, database_url):
    """One sweep at the given instant, with the clients `okr-bot serve` would use."""
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker="test").run


def dm_messages(slack, user: str) -> list[dict]:
    return slack.messages(slack.dm_channel_id(user))


def top_level(messages: list[dict]) -> list[dict]:
    return [m for m in messages if not m.get("thread_ts") or m.get("thread_ts") == m["ts"]]


def key_results(db) -> dict[str, KeyResult]:
    with db.read() as session:
        return {kr.owner_user_id: kr for kr in session.scalars(select(KeyResult))}


def key_results_of(db, owner: str) -> list[KeyResult]:
    with db.read() as session:
        return list(session.scalars(select(KeyResult).where(KeyResult.owner_user_id == owner).order_by(KeyResult.id)))


def check_in(driver, slack, *, user: str, message: dict, channel: str, value: str, confidence: str, note=None):
    button = next(
        b["accessory"] for b in message["blocks"] if b.get("accessory", {}).get("action_id") == "checkin_open"
    )
    driver.click(user=user, action_id="checkin_open", value=button["value"], channel=channel, ts=message["ts"])
    view = wait_until(lambda: (slack.open_views(user) or [None])[-1])
    values = {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {"confidence": {"type": "static_select", "selected_option": {"value": confidence}}},
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
    return driver.submit_view(view["id"], user=user, values=values)


def test_a_week_of_check_ins_in_two_time_zones(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:  # Sunday
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        assert sweep(at("2026-11-29 12:00")) == {}
        # 20:00 UTC Sunday is Monday 10:00 somewhere (UTC+14): the bot learns each owner's zone, and waits
        assert sweep(at("2026-11-29 20:00")) == {"waiting": 2}
        assert sweep(at("2026-11-30 00:59")) == {}

        clock.move_to("2026-11-30 01:00:30")  # 10:00 in Tokyo
        assert sweep(at("2026-11-30 01:00")) == {"sent": 1}
        assert sweep(at("2026-11-30 01:01")) == {}
        (cleo_dm,) = dm_messages(slack, "U0CLEO")
        assert "Rockets" in cleo_dm["text"]
        assert dm_messages(slack, "U0BEN") == []

        clock.move_to("2026-11-30 15:00:30")  # 10:00 in New York
        assert sweep(at("2026-11-30 15:00")) == {"sent": 1}
        (ben_dm,) = dm_messages(slack, "U0BEN")

        reply = check_in(
            driver,
            slack,
            user="U0CLEO",
            message=cleo_dm,
            channel=slack.dm_channel_id("U0CLEO"),
            value="24",
            confidence="6",
            note="Onboarding emails shipped",
        )
        assert reply.status == 200
        cleo_kr = key_results(db)["U0CLEO"]
        assert cleo_kr.current == 24 and cleo_kr.confidence == 6
        redrawn = wait_until(
            lambda: (
                slack.message(slack.dm_channel_id("U0CLEO"), cleo_dm["ts"]).get("edited")
                and slack.message(slack.dm_channel_id("U0CLEO"), cleo_dm["ts"])
            )
        )
        assert "All checked in" in str(redrawn["blocks"])

        # a day later: Ben gets one reminder in his DM's thread, Cleo none
        clock.move_to("2026-12-01 15:00:30")
        assert sweep(at("2026-12-01 15:00")) == {"reminded": 1, "no_reminder:done": 1}
        assert sweep(at("2026-12-01 15:05")) == {}
        ben_messages = dm_messages(slack, "U0BEN")
        assert len(ben_messages) == 2 and ben_messages[1]["thread_ts"] == ben_dm["ts"]
        assert len(dm_messages(slack, "U0CLEO")) == 1

        # Wednesday 10:00 in the team's zone (UTC): the summary and its chart in the team channel
        clock.move_to("2026-12-02 10:00:30")
        assert sweep(at("2026-12-02 10:00")) == {"summary": 1}
        posted = slack.messages("C0ROCKET")
        summary = next(m for m in posted if "check-in" in m["text"].lower())
        assert "U0CLEO" in str(summary["blocks"])
        (chart,) = [u for u in slack.uploads if u["channel_id"] == "C0ROCKET"]
        assert chart["content"].startswith(b"\x89PNG")
        assert sweep(at("2026-12-02 10:05")) == {}

    with db.read() as session:
        claims = {(c.kind, c.state) for c in session.scalars(select(SendClaim))}
        (checkin,) = session.scalars(select(CheckIn)).all()
        logged = session.scalars(select(EventLog).where(EventLog.action == "checked_in")).all()
    assert claims == {
        ("checkin", ClaimState.SENT),
        ("checkin_reminder", ClaimState.SENT),
        ("checkin_summary", ClaimState.SENT),
        ("checkin_chart", ClaimState.SENT),
    }
    assert (checkin.value, checkin.confidence, checkin.note) == (24, 6, "Onboarding emails shipped")
    assert checkin.week_start.isoformat() == "2026-11-30"
    assert len(logged) == 1


def checkin_reply(driver, slack, *, user: str, channel: str = "C0ROCKET") -> dict:
    """`/okr checkin`, and the ephemeral message it left (with its ts, for clicking)."""
    before = len(slack.responses)
    result = driver.command("checkin", user=user, channel=channel)
    assert result.status == 200 and not result.body, result.text
    slack.wait_for_response(count=before + 1)
    return latest_ephemeral(slack, user)


def modal_values(value, confidence, note=None) -> dict:
    return {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {
            "confidence": {"type": "static_select", "selected_option": {"value": confidence} if confidence else None}
        },
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }


def open_checkin(driver, slack, db, *, user: str, message: dict, channel: str, kr_id: int) -> dict:
    opened = len(slack.calls_to("views.open"))
    driver.click(user=user, action_id="checkin_open", value=str(kr_id), channel=channel, ts=message["ts"])
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    view = call.response["view"]
    if any(e["ts"] == message["ts"] for e in slack.ephemerals):  # the bot keeps the reply's response_url next
        wait_until(lambda: form_origin(db, view["id"]))
    return view


def form_origin(db, view_id: str) -> FormOrigin | None:
    with db.read() as session:
        return session.scalars(select(FormOrigin).where(FormOrigin.view_id == view_id)).one_or_none()


def test_checkin_on_demand_records_this_week_and_a_second_one_replaces_it(driver, slack, db):
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(db)
    ben_kr = key_results(db)["U0BEN"]
    reply = checkin_reply(driver, slack, user="U0BEN")
    assert "Check in" in shown(reply) and "Teams active after their first week" in shown(reply)
    assert "Median minutes" not in shown(reply)  # Cleo's key result, not Ben's

    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr.id)
    assert "(%)" in str(view["blocks"])  # the unit is shown with the value
    driver.submit_view(view["id"], user="U0BEN", values=modal_values("26", "7", "First cohort"))
    wait_until(lambda: key_results(db)["U0BEN"].current == 26)
    redrawn = wait_until(lambda: "All checked in" in shown(slack.responses[-1]["body"]) and slack.responses[-1])
    assert redrawn["body"].get("replace_original") is True

    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr.id)
    driver.submit_view(view["id"], user="U0BEN", values=modal_values("28.5", "8"))
    wait_until(lambda: key_results(db)["U0BEN"].current == 28.5)
    with db.read() as session:
        (only,) = session.scalars(select(CheckIn)).all()
        entries = session.scalars(select(EventLog).where(EventLog.action == "checked_in").order_by(EventLog.id)).all()
    assert (only.value, only.confidence, only.note) == (28.5, 8, None)
    assert len(entries) == 2
    assert entries[1].data["replaced"]["value"] == 26 and entries[1].data["replaced"]["note"] == "First cohort"


@pytest.mark.parametrize(
    ("value", "confidence", "note", "block", "needle"),
    [
        ("forty", "7", None, "value", "without words"),
        ("", "7", None, "value", "number"),
        ("1" * 60, "7", None, "value", "too long"),
        ("1e400", "7", None, "value", "number"),
        ("42", None, None, "confidence", "1 (off track) to 10"),
        ("42", "11", None, "confidence", "1 (off track) to 10"),
        ("42", "²", None, "confidence", "1 (off track) to 10"),  # a digit to str.isdigit, not a number
        ("42", "7", "x" * 1001, "note", "limit is 1,000"),
        ("42", "7", "bad \x00 byte", "note", "note"),
    ],
)
def test_a_bad_answer_shows_in_the_modal_and_saves_nothing(driver, slack, db, value, confidence, note, block, needle):
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    ben_kr = key_results(db)["U0BEN"]
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr.id)
    before = row_counts(db)
    result = driver.submit_view(view["id"], user="U0BEN", values=modal_values(value, confidence, note))
    assert result.json["response_action"] == "errors"
    assert needle.casefold() in result.json["errors"][block].casefold(), result.json
    assert row_counts(db) == before
    assert key_results(db)["U0BEN"].current == ben_kr.current


@freeze_time("2026-12-07 12:00:00", tick=True)  # a cycle begun on its check-in day: a week later is the next week
def test_no_change_on_all_checks_in_what_has_a_confidence_and_names_the_rest(driver, slack, db):
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(
        db,
        key_results=[
            {"metric": "Weekly active teams", "baseline": 10, "target": 40, "owner": "U0BEN"},
            {"metric": "Activation rate", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
        ],
    )
    first = sorted(key_results_of(db, "U0BEN"), key=lambda kr: kr.position)[0]
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=first.id)
    driver.submit_view(view["id"], user="U0BEN", values=modal_values("12", "6"))
    wait_until(lambda: key_results_of(db, "U0BEN")[0].current == 12 or key_results_of(db, "U0BEN")[1].current == 12)

    # next week: "No change on all" repeats KR 1 (value and confidence known); KR 2 never had a confidence
    with freeze_time(datetime.now(UTC) + timedelta(days=7), tick=True):
        reply = checkin_reply(driver, slack, user="U0BEN")
        before = len(slack.responses)
        driver.click(
            user="U0BEN",
            action_id="checkin_no_change",
            value=reply["blocks"][-2]["elements"][0]["value"],
            channel="C0ROCKET",
            ts=reply["ts"],
        )
        # the answer naming what needs a real check-in (other replies, e.g. redraws, may come in any order)
        told = wait_until(
            lambda: next(
                (r for r in slack.responses[before:] if "no value or confidence yet" in shown(r["body"])), None
            )
        )
    with db.read() as session:
        weeks = sorted((c.key_result_id, c.value, c.confidence) for c in session.scalars(select(CheckIn)))
    assert weeks == [(first.id, 12, 6), (first.id, 12, 6)]
    assert "Activation rate" in shown(told["body"]) and "no value or confidence yet" in shown(told["body"])
    assert "I checked in the others as unchanged" in shown(told["body"])


def test_who_may_check_in_and_what(driver, slack, db):
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    cleo_kr = key_results(db)["U0CLEO"]  # Cleo owns it but is not a member; Ben is a member
    # Ada owns nothing: /okr checkin says so
    ada_reply = checkin_reply(driver, slack, user="U0ADA")
    assert "nothing to check in" in shown(ada_reply)
    # someone in no team, owning nothing, is refused a key result by id, and nothing is written
    slack.add_user("U0DAN", "dan", tz="Europe/Paris")
    slack.add_channel("C0ROCKET", "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", "U0DAN"))
    cleo_reply = checkin_reply(driver, slack, user="U0CLEO")
    before, replies = row_counts(db), len(slack.responses)
    driver.click(user="U0DAN", action_id="checkin_open", value=str(cleo_kr.id), channel="C0ROCKET", ts=cleo_reply["ts"])
    refusal = slack.wait_for_response(count=replies + 1)
    assert "Only the key result's owner (<@U0CLEO>) or a facilitator of *Rockets*" in shown(refusal["body"])
    assert row_counts(db) == before
    # a key result dropped after the DM went out takes no check-in
    with db.transaction() as session:
        session.get(KeyResult, cleo_kr.id).state = KeyResultState.DROPPED
    driver.click(
        user="U0CLEO", action_id="checkin_open", value=str(cleo_kr.id), channel="C0ROCKET", ts=cleo_reply["ts"]
    )
    dropped = wait_until(lambda: "dropped" in shown(slack.responses[-1]["body"]) and slack.responses[-1])
    assert "takes no more check-ins" in shown(dropped["body"])
    # a forged button value is a clear refusal, not a crash
    driver.click(
        user="U0CLEO", action_id="checkin_open", value="12345678901234567890", channel="C0ROCKET", ts=cleo_reply["ts"]
    )
    stale = wait_until(lambda: "out of date" in shown(slack.responses[-1]["body"]) and slack.responses[-1])
    assert stale
    assert row_counts(db) == before


def test_changing_the_check_in_time_moves_every_planned_dm_and_the_summary(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:  # Sunday
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        assert sweep(at("2026-11-29 20:00")) == {"waiting": 2}  # zones learnt: Monday 10:00 local for each
        reply = okr(driver, slack, "team settings day=tuesday hour=9 timezone=Europe/Paris")
        assert "changed the time zone, check-in day, check-in hour" in reply.text, reply.text
        with db.read() as session:
            due = {(row.kind.value, row.user_id): row.due_at for row in session.scalars(select(Schedule))}
        assert due == {
            ("checkin", "U0CLEO"): at("2026-12-01 00:00"),  # Tuesday 09:00 in Tokyo
            ("checkin", "U0BEN"): at("2026-12-01 14:00"),  # Tuesday 09:00 in New York
            ("summary", ""): at("2026-12-03 08:00"),  # Thursday 09:00 in Paris
        }
        clock.move_to("2026-11-30 15:00:30")
        assert sweep(at("2026-11-30 15:00")) == {}  # Monday 10:00 in New York is no longer the time
        clock.move_to("2026-12-01 14:00:30")
        assert sweep(at("2026-12-01 14:00")) == {"sent": 2}


def test_a_settings_change_keeps_this_weeks_unsent_dms(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:  # Sunday
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        assert sweep(at("2026-11-29 20:00")) == {"waiting": 2}
        # no sweep ran on Monday (downtime); a facilitator changes the reminder delay in the afternoon
        clock.move_to("2026-11-30 16:00:00")
        okr(driver, slack, "team settings reminder=12h")
        assert sweep(at("2026-11-30 16:00")) == {"sent": 2}  # this week's DMs still go out, late, once
        assert sweep(at("2026-11-30 16:01")) == {}


def test_a_new_cycle_without_okrs_gets_no_dm_and_no_empty_summary(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        before = len(slack.messages("C0ROCKET"))
        # cycle 2 started on Sunday 2027-02-28 and nobody has committed its OKRs yet; it is Wednesday, the
        # summary's day (no sweep ran since: the weeks missed are recorded stale)
        clock.move_to("2027-03-03 12:00:00")
        report = sweep(at("2027-03-03 12:00"))
        assert report["no_key_results"] == 3 and report["sent"] == 0 and report["summary"] == 0, report
        assert len(slack.messages("C0ROCKET")) == before
        assert dm_messages(slack, "U0BEN") == dm_messages(slack, "U0CLEO") == []
        with db.read() as session:
            assert session.scalars(select(Schedule)).all() == []
        commit(db)  # committing again plans the DMs and the summary again
        with db.read() as session:
            assert len(session.scalars(select(Schedule)).all()) == 3


def test_checkin_for_many_teams_fits_in_one_message_and_says_what_is_left_out(driver, slack, db):
    """Ben owns 8 key results in each of 6 teams: 66 blocks drawn in full, Slack takes 50 at most. Whole teams
    come first (by name); the fifth shows what still fits, without "No change on all" (it would check in key
    results the message does not show); the rest is counted in one line."""
    rockets(driver, slack, members=("U0BEN",))
    owned = [{"metric": f"Metric {n}", "baseline": 10, "target": 20, "owner": "U0BEN"} for n in range(8)]
    with db.transaction() as session:
        workspace = session.scalars(select(Team).where(Team.name_key == "rockets")).one().workspace_id
        for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo"):
            factories.team(session, session.get(Workspace, workspace), name=name)
    for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Rockets"):
        commit(db, name, key_results=owned[:5])
        commit(db, name, title="Teams come back every week", key_results=owned[5:])

    reply = checkin_reply(driver, slack, user="U0BEN")

    blocks = reply["blocks"]
    assert len(blocks) <= 50
    headers = [b["text"]["text"].split(" · ")[0] for b in blocks if b["type"] == "header"]
    assert headers == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    buttons = [b for b in blocks if b.get("accessory", {}).get("action_id") == "checkin_open"]
    assert len(buttons) == 4 * 8 + 2
    assert sum(b["type"] == "actions" for b in blocks) == 4  # none for Echo, shown in part
    assert "…and 14 more key results (Echo, Rockets) that don't fit in one message." in shown(reply)
    assert "weekly check-in DM" in shown(reply)

    # checking one in redraws the reply, and the redrawn one fits too
    first = int(buttons[0]["accessory"]["value"])
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=first)
    replies = len(slack.responses)
    driver.submit_view(view["id"], user="U0BEN", values=modal_values("12", "7"))
    redrawn = slack.wait_for_response(count=replies + 1)["body"]
    assert redrawn.get("replace_original") is True and len(redrawn["blocks"]) <= 50
    assert "…and 14 more key results" in shown(redrawn) and ":white_check_mark: *KR" in shown(redrawn)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("checkin now", "`/okr checkin` takes nothing after it"),
        ("checkin " + "x" * 4000, "at most 4,000"),
        ("checkin \u202eevil", "invisible or control character"),
    ],
)
def test_checkin_takes_nothing_after_it_and_says_so(driver, slack, db, text, needle):
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    before = row_counts(db)
    reply = okr(driver, slack, text, user="U0BEN")
    assert_clean_error(reply, needle)
    assert row_counts(db) == before


# who may check in, and which message a check-in redraws -----------------------------------------------------


def test_only_the_owner_and_the_teams_facilitators_check_in_a_key_result(driver, slack, db):
    """Ada facilitates Rockets; Ben and Cleo are members owning KR 1.1 and KR 1.2; Dan is a member owning none."""
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(db)
    slack.add_user("U0DAN", "dan", tz="Europe/Paris")
    join_team(driver, slack, user="U0DAN", channel="C0ROCKET")
    ben_kr, cleo_kr = key_results(db)["U0BEN"].id, key_results(db)["U0CLEO"].id
    current = key_results(db)["U0BEN"].current
    with db.read() as session:
        team_id = session.scalars(select(Team.id)).one()
    before, opened = row_counts(db), len(slack.calls_to("views.open"))
    refused = "Only the key result's owner (<@U0BEN>) or a facilitator of *Rockets* can check it in."

    # Cleo, a member, on Ben's key result: its button, and the form sent without ever being opened
    text = refused_click(driver, slack, user="U0CLEO", action_id="checkin_open", value=str(ben_kr))
    assert_readable_refusal(text, refused)
    result, _ = forge_submission(
        driver, slack, user="U0CLEO", callback_id="checkin", metadata={"kr": ben_kr}, values=checkin_values("99")
    )
    assert_readable_refusal(modal_error_text(result), refused)
    # "No change on all" checks in only the clicker's own key results: Dan owns none in Rockets
    text = refused_click(driver, slack, user="U0DAN", action_id="checkin_no_change", value=str(team_id))
    assert_readable_refusal(text, "You no longer own a live key result in that team")
    stays(lambda: row_counts(db) == before, duration=0.3)
    assert len(slack.calls_to("views.open")) == opened
    assert key_results(db)["U0BEN"].current == current != 99

    # the owner, from `/okr checkin`; and Ada, a facilitator who owns nothing, for Cleo
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr)
    assert driver.submit_view(view["id"], user="U0BEN", values=modal_values("26", "7")).body == b""
    result, _ = forge_click(
        driver, slack, user="U0ADA", action_id="checkin_open", channel="C0ROCKET", value=str(cleo_kr)
    )
    assert result.status == 200
    view = wait_until(lambda: (slack.open_views("U0ADA") or [None])[-1])
    assert driver.submit_view(view["id"], user="U0ADA", values=modal_values("25", "4", "Cleo is away")).body == b""
    with db.read() as session:
        done = {(c.key_result_id, c.value, c.confidence, c.author_user_id) for c in session.scalars(select(CheckIn))}
    assert done == {(ben_kr, 26, 7, "U0BEN"), (cleo_kr, 25, 4, "U0ADA")}
    assert key_results(db)["U0CLEO"].current == 25


def bot_message(slack, channel: str, text: str) -> dict:
    """A message the bot posted in `channel` (one it could later update)."""
    client = WebClient(token=slack.workspace().bot_token, base_url=slack.api_url)
    posted = client.chat_postMessage(channel=channel, text=text)
    return slack.message(channel, posted["ts"])


def checkin_claims(db) -> dict[str, SendClaim]:
    """The check-in DMs the sweep sent, by owner."""
    with db.read() as session:
        sent = session.scalars(select(SendClaim).where(SendClaim.kind == "checkin"))
        return {claim.claim_key.split(":")[1]: claim for claim in sent}


def test_a_check_in_redraws_only_the_persons_own_dm_whatever_the_forms_metadata_names(driver, slack, db, sweep):
    """A form names only ids the bot looks up: a channel and ts, or another person's DM, in its metadata are
    never updated; the DM the form was opened from is, when it is the submitter's own."""
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:  # Sunday
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        assert sweep(at("2026-11-29 20:00")) == {"waiting": 2}
        clock.move_to("2026-11-30 15:00:30")  # 10:00 in New York: both DMs are due
        assert sweep(at("2026-11-30 15:00")) == {"sent": 2}
        ben_channel, cleo_channel = slack.dm_channel_id("U0BEN"), slack.dm_channel_id("U0CLEO")
        (ben_dm,), (cleo_dm,) = dm_messages(slack, "U0BEN"), dm_messages(slack, "U0CLEO")
        notice = bot_message(slack, "C0GROWTH", "R1: Beta affects Alpha")  # another team's message
        ben_kr, claims = key_results(db)["U0BEN"].id, checkin_claims(db)
        untouched = [(cleo_channel, cleo_dm), ("C0GROWTH", notice)]
        updates, answers = len(slack.calls_to("chat.update")), len(slack.calls_to("response_url"))

        # forms Ben never opened, naming Cleo's DM (by channel and ts, or by its send) or the other team's message
        forged = [
            {"kr": ben_kr, "channel": cleo_channel, "ts": cleo_dm["ts"]},
            {"kr": ben_kr, "channel": "C0GROWTH", "ts": notice["ts"]},
            {"kr": ben_kr, "dm": claims["U0CLEO"].id},
        ]
        for n, metadata in enumerate(forged):
            result, _ = forge_submission(
                driver,
                slack,
                user="U0BEN",
                callback_id="checkin",
                metadata=metadata,
                values=checkin_values(str(30 + n)),
            )
            assert result.status == 200 and not result.body, result.text
            wait_until(lambda n=n: key_results(db)["U0BEN"].current == 30 + n)
        stays(lambda: len(slack.calls_to("chat.update")) == updates)

        # Ben's own form, opened from his DM, with the same targets added to its metadata: his DM is redrawn
        view = open_checkin(driver, slack, db, user="U0BEN", message=ben_dm, channel=ben_channel, kr_id=ben_kr)
        metadata = json.loads(view["private_metadata"])
        assert metadata == {"kr": ben_kr, "dm": claims["U0BEN"].id}
        result = submit_with_metadata(
            driver,
            slack,
            view["id"],
            user="U0BEN",
            values=checkin_values("40"),
            metadata={
                **metadata,
                "channel": "C0GROWTH",
                "ts": notice["ts"],
                "response_url": slack.new_response_url("C0GROWTH", "U0BEN", message_ts=notice["ts"]),
            },
        )
        assert result.status == 200 and not result.body, result.text
        slack.wait_for("chat.update", count=updates + 1)
        [update] = slack.calls_to("chat.update")[updates:]
        assert (update.args["channel"], update.args["ts"]) == (ben_channel, ben_dm["ts"])
        assert "checked in 40, 7/10" in shown(slack.message(ben_channel, ben_dm["ts"]))
        # and Cleo, submitting a form that names Ben's DM, changes nothing of his
        result, _ = forge_submission(
            driver,
            slack,
            user="U0CLEO",
            callback_id="checkin",
            metadata={"kr": key_results(db)["U0CLEO"].id, "dm": claims["U0BEN"].id},
            values=checkin_values("20"),
        )
        assert result.status == 200 and not result.body, result.text
        wait_until(lambda: key_results(db)["U0CLEO"].current == 20)
        stays(lambda: len(slack.calls_to("chat.update")) == updates + 1)
        assert len(slack.calls_to("response_url")) == answers
        for channel, message in untouched:
            assert slack.message(channel, message["ts"]) == message, channel


class Hook:
    """A local HTTP server standing in for any URL a sender might put in a form: it records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.requests.append(("POST", self.path, self.rfile.read(int(self.headers["Content-Length"] or 0))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/actions/T0SANDBOX/1/forged"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.stop()


def test_a_response_url_in_a_forms_metadata_is_never_called(driver, slack, db, hook):
    """The reply of `/okr checkin` is redrawn through the response_url Slack gave with the click that opened the
    form, kept by the bot; a response_url in the metadata is never requested, from a forged form or a real one."""
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    ben_kr = key_results(db)["U0BEN"].id
    forged = {"kr": ben_kr, "response_url": hook.url}
    result, _ = forge_submission(
        driver, slack, user="U0BEN", callback_id="checkin", metadata=forged, values=checkin_values("24")
    )
    assert result.status == 200 and not result.body, result.text
    wait_until(lambda: key_results(db)["U0BEN"].current == 24)
    stays(lambda: hook.requests == [])

    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr)
    metadata = json.loads(view["private_metadata"])
    assert metadata == {"kr": ben_kr}  # nothing but the key result: the reply's response_url stays with the bot
    replies = len(slack.responses)
    result = submit_with_metadata(
        driver,
        slack,
        view["id"],
        user="U0BEN",
        values=checkin_values("26"),
        metadata={**metadata, "response_url": hook.url},
    )
    assert result.status == 200 and not result.body, result.text
    redrawn = slack.wait_for_response(count=replies + 1)
    assert redrawn["body"].get("replace_original") is True and "checked in 26, 7/10" in shown(redrawn["body"])
    assert "checked in 26, 7/10" in shown(ephemeral_at(slack, reply["ts"]))  # the reply itself, redrawn
    stays(lambda: hook.requests == [], duration=0.5)
    assert key_results(db)["U0BEN"].current == 26


def ephemeral_at(slack, ts: str) -> dict:
    [message] = [e for e in slack.ephemerals if e["ts"] == ts]
    return message


def test_a_kept_reply_is_redrawn_for_its_own_person_once_and_within_30_minutes(driver, slack, db, pinned_clock):
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(db)
    ben_kr, cleo_kr = key_results(db)["U0BEN"].id, key_results(db)["U0CLEO"].id
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr)
    with db.read() as session:
        assert [(o.view_id, o.user_id) for o in session.scalars(select(FormOrigin))] == [(view["id"], "U0BEN")]
    replies = len(slack.calls_to("response_url"))

    # Cleo sends a form bearing the id of Ben's: her check-in is saved, Ben's reply is not hers to redraw
    payload_view = {
        **forged_view(slack, "U0CLEO", callback_id="checkin", metadata={"kr": cleo_kr}, values=checkin_values("20")),
        "id": view["id"],
    }
    payload = {**interaction_base(slack, "view_submission", "U0CLEO"), "view": payload_view, "response_urls": []}
    assert send_signed(driver, {"payload": json.dumps(payload)}).status == 200
    wait_until(lambda: key_results(db)["U0CLEO"].current == 20)
    stays(lambda: len(slack.calls_to("response_url")) == replies)

    # 31 minutes on, Slack would refuse the response_url: the check-in is saved, the reply left as it is
    pinned_clock.tick(timedelta(minutes=31))
    assert driver.submit_view(view["id"], user="U0BEN", values=modal_values("26", "7")).body == b""
    wait_until(lambda: key_results(db)["U0BEN"].current == 26)
    stays(lambda: len(slack.calls_to("response_url")) == replies)  # not even tried
    with db.read() as session:
        assert session.scalars(select(FormOrigin)).all() == []

    # within the 30 minutes it is redrawn, once: the kept response_url is gone once used
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=ben_kr)
    replies = len(slack.responses)
    pinned_clock.tick(timedelta(minutes=29))
    assert driver.submit_view(view["id"], user="U0BEN", values=modal_values("27", "7")).body == b""
    slack.wait_for_response(count=replies + 1)
    assert "checked in 27, 7/10" in shown(ephemeral_at(slack, reply["ts"]))
    with db.read() as session:
        assert session.scalars(select(FormOrigin)).all() == []
