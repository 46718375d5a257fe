"""Ripples end to end: `/okr ripple` on one line and through its form, the notice in the other team's channel
(Acknowledge, Reply in thread), list / resolve / withdraw, the notice posted exactly once through an outage and
by several sweeping replicas, and the App Home's "Ripples touching your teams".

The world: team Rockets (#team-rocket) has Ada alone, team Growth (#team-growth) has Ben alone (he created it);
Cleo is in neither team. Each team has one committed objective with key results 1.1 and 1.2. Ripples are
declared as Slack sends them: the other team's channel as a `<#C…|name>` mention. On PostgreSQL, two declarations
are also made at the same moment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.delivery.digests import NOTICE_KIND
from bot.sandbox import FakeSlack, SlackDriver
from bot.slack import web_client
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import ClaimState, EventLog, Ripple, RippleKind, RippleState, SendClaim, Team
from tests.e2e.okr_support import commit, key_results, rockets, text_value
from tests.e2e.support import (
    assert_clean_error,
    create_team,
    okr,
    row_counts,
    shown,
    stays,
    submit_with_metadata,
    wait_until,
)
from tests.e2e.test_boundaries import forge_submission, modal_error_text
from tests.e2e.test_checkin_delivery import sweep_as_replicas, sweeper

GROWTH = "<#C0GROWTH|team-growth>"
ROCKET = "<#C0ROCKET|team-rocket>"
NOTE = "Our onboarding change doubles their sign-ups"
NOTICE = re.compile(r"^R\d+: ")  # a notice's fallback text: "R1: Rockets affects Growth"
MINUTE = timedelta(minutes=1)
# the metrics of tests/factories.py's key results 1.1 and 1.2
KR_1 = "Teams active after their first week"
KR_2 = "Median minutes to first dashboard"


# the world ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    rockets: int  # team ids
    growth: int
    rockets_krs: dict[str, int]  # "1.1" → key result id
    growth_krs: dict[str, int]


def two_teams(driver: SlackDriver, slack: FakeSlack, db: Database, *, growth_okrs: bool = True) -> World:
    """Rockets (Ada) and Growth (Ben), each with objective 1 committed (Growth's only if `growth_okrs`)."""
    rockets(driver, slack, members=())
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    ours = {f"1.{kr.position}": kr.id for kr in key_results(db, commit(db, "Rockets"))}
    theirs = {f"1.{kr.position}": kr.id for kr in key_results(db, commit(db, "Growth"))} if growth_okrs else {}
    with db.read() as session:
        ids = {team.name: team.id for team in session.scalars(select(Team))}
    return World(ids["Rockets"], ids["Growth"], ours, theirs)


# reading the state ----------------------------------------------------------------------------------------------


def stored(db: Database) -> list[Ripple]:
    with db.read() as session:
        return list(session.scalars(select(Ripple).order_by(Ripple.number)))


def ripple(db: Database, number: int) -> Ripple:
    with db.read() as session:
        return session.scalars(select(Ripple).where(Ripple.number == number)).one()


def ripple_log(db: Database) -> list[tuple[str, str | None, int | None, dict[str, Any]]]:
    """The event log's ripple entries: (action, actor, team, data), oldest first."""
    with db.read() as session:
        query = select(EventLog).where(EventLog.entity == "ripple").order_by(EventLog.id)
        return [(e.action, e.actor_user_id, e.team_id, e.data) for e in session.scalars(query)]


def notice_claims(db: Database) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind == NOTICE_KIND)))


def notices(slack: FakeSlack, channel: str = "C0GROWTH") -> list[dict]:
    """The ripple notices in a channel: the bot's top-level messages whose fallback text is "R<n>: …"."""
    return [
        m
        for m in slack.messages(channel)
        if NOTICE.match(m.get("text") or "") and m.get("thread_ts") in (None, m["ts"])
    ]


def notice_posts(slack: FakeSlack, channel: str = "C0GROWTH") -> list:
    """chat.postMessage calls Slack accepted that put a ripple notice in `channel` (a duplicate shows here)."""
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == channel and NOTICE.match(c.args.get("text") or "")
    ]


def action_ids(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] for e in b.get("elements", []) if "action_id" in e]


def button_values(message: dict) -> dict[str, str]:
    return {
        e["action_id"]: e.get("value")
        for b in message.get("blocks") or []
        for e in b.get("elements", [])
        if "action_id" in e
    }


def raw(message: dict) -> str:
    """Every string of a message as Slack gets it (escapes included): what could ping."""
    return str(message.get("text")) + str(message.get("blocks"))


def home_text(driver: SlackDriver, slack: FakeSlack, user: str) -> str:
    """Open the App Home and read what it shows once published."""

    def mine(call) -> bool:
        return call.args.get("user_id") == user

    published = len([c for c in slack.calls_to("views.publish") if mine(c)])
    assert driver.open_home(user).status == 200
    slack.wait_for("views.publish", mine, count=published + 1)
    return shown(slack.home(user))


# doing things ---------------------------------------------------------------------------------------------------


def declare(driver: SlackDriver, slack: FakeSlack, typed: str, *, user: str = "U0ADA", channel: str = "C0ROCKET"):
    """`/okr ripple TYPED`: what the person sees."""
    return okr(driver, slack, f"ripple {typed}", user=user, channel=channel)


def declared(driver: SlackDriver, slack: FakeSlack, typed: str, *, user: str = "U0ADA", channel: str = "C0ROCKET"):
    """`/okr ripple TYPED`, which must be accepted: the confirmation."""
    reply = declare(driver, slack, typed, user=user, channel=channel)
    assert reply.ephemeral and ":ocean: Declared *R" in reply.text, reply.text
    return reply


def click(driver: SlackDriver, notice: dict, action_id: str, *, user: str, value: str | None = None):
    """Click a button of `notice` as this copy of the message shows it: a client still showing an old notice can
    click a button the notice no longer has (its value is the old one unless `value` forges another)."""
    value = button_values(notice).get(action_id) if value is None else value
    result = driver.click(
        user=user, action_id=action_id, channel=notice["channel"], ts=notice["ts"], value=value, block_id="ripple"
    )
    assert result.status == 200, result.text
    return result


def refusal(driver: SlackDriver, slack: FakeSlack, notice: dict, action_id: str, *, user: str, value=None) -> str:
    """Click a notice's button and return the ephemeral answer (the notice itself is left as it was)."""
    before = len(slack.responses)
    click(driver, notice, action_id, user=user, value=value)
    body = slack.wait_for_response(count=before + 1)["body"]
    assert body.get("response_type") != "in_channel" and not body.get("replace_original"), body
    return shown(body)


def open_view(slack: FakeSlack, start) -> dict:
    """Do `start()` and return the modal the bot opened."""
    opened = len(slack.calls_to("views.open"))
    start()
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    return call.response["view"]


def open_declare_form(driver: SlackDriver, slack: FakeSlack, *, user: str = "U0ADA", channel: str = "C0ROCKET"):
    def start() -> None:
        result = driver.command("ripple", user=user, channel=channel)
        assert result.status == 200 and not result.body, result.text

    return open_view(slack, start)


def option(value: str | None) -> dict | None:
    return None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}


def form_values(
    *,
    kr: str | None = "1.2",
    kind: str = "affects",
    channel: str | None = "C0GROWTH",
    their: str | None = None,
    note: str | None = NOTE,
) -> dict:
    """`state.values` as Slack builds them from the declare form."""
    return {
        "key_result": {"value": {"type": "static_select", "selected_option": option(kr)}},
        "kind": {"value": {"type": "radio_buttons", "selected_option": option(kind)}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": channel}},
        "their_key_result": text_value(their),
        "note": text_value(note),
    }


def submit(driver: SlackDriver, view: dict, values: dict, *, user: str = "U0ADA") -> dict | None:
    """Submit a form; the bot's answer (None when the form closes)."""
    result = driver.submit_view(view["id"], user=user, values=values)
    assert result.status == 200, result.text
    return result.json if result.body else None


def sweep_now(slack: FakeSlack, database_url: str, db: Database, when: datetime) -> Counter:
    return sweeper(slack, database_url, db).run(when)


# 1. declaring on one line ---------------------------------------------------------------------------------------


def test_a_ripple_declared_on_one_line_is_stored_and_told_once(driver, slack, db):
    world = two_teams(driver, slack, db)

    reply = declared(driver, slack, f"affects {GROWTH} 1.2 {NOTE}")

    assert reply.ephemeral and reply.via == "response_url"
    assert f":ocean: Declared *R1* · *Rockets* KR 1.2 {KR_2} affects *Growth*." in reply.text, reply.text
    assert NOTE in reply.text and "<#C0GROWTH> is told" in reply.text and "/okr ripple withdraw 1" in reply.text
    [r1] = stored(db)
    assert (r1.number, r1.kind, r1.state, r1.from_team_id, r1.to_team_id) == (
        1,
        RippleKind.AFFECTS,
        RippleState.OPEN,
        world.rockets,
        world.growth,
    )
    assert (r1.key_result_id, r1.to_key_result_id, r1.note, r1.created_by) == (
        world.rockets_krs["1.2"],
        None,
        NOTE,
        "U0ADA",
    )
    assert r1.acknowledged_by is None and r1.closed_by is None

    [notice] = notices(slack)
    assert len(notice_posts(slack)) == 1 and notices(slack, "C0ROCKET") == []
    assert notice["text"] == "R1: Rockets affects Growth"
    assert f"*R1* · *Rockets* KR 1.2 {KR_2} affects *Growth*" in shown(notice)
    assert f"<@U0ADA>: {NOTE}" in shown(notice) and "R1 is open, not acknowledged yet" in shown(notice)
    assert button_values(notice) == {"ripple_ack": str(r1.id), "ripple_reply_open": str(r1.id)}
    assert (r1.notice_channel_id, r1.notice_ts) == ("C0GROWTH", notice["ts"]) and r1.notice_done_at is not None
    [claim] = notice_claims(db)
    assert (claim.claim_key, claim.state, claim.message_ts) == (str(r1.id), ClaimState.SENT, notice["ts"])
    assert ripple_log(db) == [
        (
            "declared",
            "U0ADA",
            world.rockets,
            {"number": 1, "kind": "affects", "to_team_id": world.growth, "key_result_id": world.rockets_krs["1.2"]},
        ),
    ]
    stays(lambda: len(notice_posts(slack)) == 1)


def test_depends_on_their_key_result_and_numbers_run_across_the_workspace(driver, slack, db):
    world = two_teams(driver, slack, db)

    first = declared(driver, slack, f"depends {GROWTH} 1.2 their 1.1 We need their sign-up numbers weekly")
    second = declared(driver, slack, f"{GROWTH} KR 1.1 Fewer support tickets for them")
    third = declared(
        driver, slack, f"depends on {ROCKET} 1.2 on 1.2 Their dashboard speed", user="U0BEN", channel="C0GROWTH"
    )

    assert f"*R1* · *Rockets* KR 1.2 {KR_2} depends on *Growth* (KR 1.1 {KR_1})" in first.text, first.text
    assert "*R2* · *Rockets* KR 1.1" in second.text and "affects *Growth*" in second.text
    assert f"*R3* · *Growth* KR 1.2 {KR_2} depends on *Rockets* (KR 1.2 {KR_2})" in third.text, third.text
    r1, r2, r3 = stored(db)
    assert [(r.number, r.kind, r.from_team_id, r.to_team_id) for r in (r1, r2, r3)] == [
        (1, RippleKind.DEPENDS_ON, world.rockets, world.growth),
        (2, RippleKind.AFFECTS, world.rockets, world.growth),
        (3, RippleKind.DEPENDS_ON, world.growth, world.rockets),
    ]
    assert (r1.key_result_id, r1.to_key_result_id) == (world.rockets_krs["1.2"], world.growth_krs["1.1"])
    assert (r2.key_result_id, r2.to_key_result_id) == (world.rockets_krs["1.1"], None)
    assert (r3.key_result_id, r3.to_key_result_id) == (world.growth_krs["1.2"], world.rockets_krs["1.2"])
    assert (r1.note, r3.created_by) == ("We need their sign-up numbers weekly", "U0BEN")

    growth_notices, rocket_notices = notices(slack), notices(slack, "C0ROCKET")
    assert [n["text"] for n in growth_notices] == ["R1: Rockets depends on Growth", "R2: Rockets affects Growth"]
    assert [n["text"] for n in rocket_notices] == ["R3: Growth depends on Rockets"]
    assert f"(KR 1.1 {KR_1})" in shown(growth_notices[0])
    assert [a for a, *_ in ripple_log(db)] == ["declared"] * 3
    assert [(actor, team) for _, actor, team, _ in ripple_log(db)] == [
        ("U0ADA", world.rockets),
        ("U0ADA", world.rockets),
        ("U0BEN", world.growth),
    ]


def test_what_a_note_says_cannot_ping_the_other_channel(driver, slack, db):
    two_teams(driver, slack, db)
    note = "Heads up <!channel> & <!here>: <b>big</b> change"

    reply = declared(driver, slack, f"{GROWTH} 1.2 {note}")

    assert ripple(db, 1).note == note
    [notice] = notices(slack)
    for message in (notice, reply.body):
        assert "<!channel>" not in raw(message) and "<!here>" not in raw(message), raw(message)
    assert "&lt;!channel&gt; &amp; &lt;!here&gt;: &lt;b&gt;big&lt;/b&gt; change" in raw(notice)
    assert note in shown(notice)  # shown as typed
    listed = okr(driver, slack, "ripple list", user="U0BEN", channel="C0GROWTH")
    assert "<!channel>" not in raw(listed.body) and note in listed.text


# 2. declaring through the form ------------------------------------------------------------------------------


def test_the_form_declares_a_ripple(driver, slack, db):
    world = two_teams(driver, slack, db)
    view = open_declare_form(driver, slack)

    assert view["callback_id"] == "ripple_declare"
    [menu] = [b["element"] for b in view["blocks"] if b.get("block_id") == "key_result"]
    assert [o["value"] for o in menu["options"]] == ["1.1", "1.2"]
    assert [o["text"]["text"] for o in menu["options"]] == [f"1.1 {KR_1}", f"1.2 {KR_2}"]

    answer = submit(driver, view, form_values(kind="depends_on", their=" 1.2 ", note="Line one\nline two"))

    assert answer is None and slack.open_views("U0ADA") == []
    [r1] = stored(db)
    assert (r1.number, r1.kind, r1.from_team_id, r1.to_team_id, r1.created_by) == (
        1,
        RippleKind.DEPENDS_ON,
        world.rockets,
        world.growth,
        "U0ADA",
    )
    assert (r1.key_result_id, r1.to_key_result_id, r1.note) == (
        world.rockets_krs["1.2"],
        world.growth_krs["1.2"],
        "Line one\nline two",
    )
    confirmation = wait_until(lambda: [e for e in slack.ephemerals if e["user"] == "U0ADA" and "Declared" in shown(e)])
    [confirmation] = confirmation
    assert confirmation["channel"] == "C0ROCKET" and confirmation["source"] == "chat.postEphemeral"
    assert f"Declared *R1* · *Rockets* KR 1.2 {KR_2} depends on *Growth* (KR 1.2 {KR_2})" in shown(confirmation)
    [notice] = wait_until(lambda: notices(slack))
    assert notice["text"] == "R1: Rockets depends on Growth" and "Line one\nline two" in shown(notice)
    assert set(action_ids(notice)) == {"ripple_ack", "ripple_reply_open"}
    assert [a for a, *_ in ripple_log(db)] == ["declared"]
    stays(lambda: len(notice_posts(slack)) == 1)


FORM_MISTAKES = [  # (case, what differs from a good form, {field: what its error says})
    ("unknown-kr", {"kr": "9.9"}, {"key_result": "There is no live key result 9.9 this cycle"}),
    ("no-kr", {"kr": None}, {"key_result": "Pick one of your key results"}),
    ("no-channel", {"channel": None}, {"channel": "Pick the other team's channel"}),
    (
        "nothing-picked",
        {"kr": None, "channel": None},
        {"key_result": "Pick one of your key results", "channel": "Pick the other team's channel"},
    ),
    ("forged-kind", {"kind": "sideways"}, {"kind": "affects the other team or depends on it"}),
    ("not-a-team", {"channel": "C0GENERAL"}, {"channel": "<#C0GENERAL> is not a team's channel"}),
    ("own-channel", {"channel": "C0ROCKET"}, {"channel": "this team's own channel"}),
    ("their-kr-garbage", {"their": "abc"}, {"their_key_result": "`abc` is not a key result number"}),
    ("their-kr-unknown", {"their": "7.7"}, {"their_key_result": "There is no live key result 7.7"}),
    ("empty-note", {"note": "   "}, {"note": "The note is empty"}),
    ("no-note", {"note": None}, {"note": "The note is empty"}),
    ("501-note", {"note": "n" * 501}, {"note": "The note is 501 characters long; the limit is 500"}),
    ("bidi-note", {"note": "Grow\u202e fast"}, {"note": "U+202E"}),
    ("two-at-once", {"kr": "9.9", "note": ""}, {"key_result": "9.9", "note": "empty"}),
]


def test_the_form_names_the_field_in_error_and_writes_nothing(driver, slack, db):
    two_teams(driver, slack, db)
    view = open_declare_form(driver, slack)
    before, posted = row_counts(db), len(slack.calls_to("chat.postMessage"))

    for case, mistake, errors in FORM_MISTAKES:
        answer = submit(driver, view, form_values(**mistake))

        assert answer is not None and answer["response_action"] == "errors", (case, answer)
        assert set(answer["errors"]) == set(errors), (case, answer)
        for field, needle in errors.items():
            assert needle in answer["errors"][field], (case, answer)
        assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]], case  # open, to be corrected
        assert row_counts(db) == before, case
    stays(lambda: len(slack.calls_to("chat.postMessage")) == posted, duration=0.2)

    corrected = submit(driver, view, form_values())  # the same form, put right

    assert corrected is None and [r.number for r in stored(db)] == [1]
    wait_until(lambda: len(notice_posts(slack)) == 1)


def test_the_form_is_refused_to_a_non_member_and_to_a_team_without_key_results(driver, slack, db):
    two_teams(driver, slack, db, growth_okrs=False)
    before = row_counts(db)

    outsider = okr(driver, slack, "ripple", user="U0CLEO", channel="C0ROCKET")
    empty = okr(driver, slack, "ripple", user="U0BEN", channel="C0GROWTH")

    assert_clean_error(outsider, "You are not a member of *Rockets*")
    assert_clean_error(empty, "*Growth* has no live key results this cycle", "/okr draft")
    assert slack.calls_to("views.open") == [] and row_counts(db) == before


# 3. bad one-line input --------------------------------------------------------------------------------------


BAD_LINES = [  # (case, typed after `/okr ripple`, who, where, what the answer must say); Growth has no OKRs
    ("no-channel", "affects 1.2 Their sign-ups", "U0ADA", "C0ROCKET", ["Name the other team by its channel"]),
    ("no-kr", f"affects {GROWTH} Their sign-ups", "U0ADA", "C0ROCKET", ["Say which of your key results"]),
    ("no-note", f"affects {GROWTH} 1.2", "U0ADA", "C0ROCKET", ["Add a short note"]),
    (
        "unknown-kr",
        f"{GROWTH} 9.9 Their sign-ups",
        "U0ADA",
        "C0ROCKET",
        ["There is no live key result 9.9 this cycle", "1.1, 1.2"],
    ),
    (
        "unknown-their-kr",
        f"{GROWTH} 1.2 their 8.1 Their sign-ups",
        "U0ADA",
        "C0ROCKET",
        ["There is no live key result 8.1"],
    ),
    (
        "not-a-team",
        "<#C0GENERAL|general> 1.2 Their sign-ups",
        "U0ADA",
        "C0ROCKET",
        ["<#C0GENERAL> is not a team's channel"],
    ),
    ("own-channel", f"{ROCKET} 1.2 Their sign-ups", "U0ADA", "C0ROCKET", ["this team's own channel"]),
    (
        "two-problems",
        "<#C0GENERAL|general> 9.9 Their sign-ups",
        "U0ADA",
        "C0ROCKET",
        ["There is no live key result 9.9", "is not a team's channel"],
    ),
    (
        "501-note",
        f"{GROWTH} 1.2 " + "n" * 501,
        "U0ADA",
        "C0ROCKET",
        ["The note is 501 characters long; the limit is 500"],
    ),
    ("bidi", f"{GROWTH} 1.2 Grow\u202e fast", "U0ADA", "C0ROCKET", ["U+202E"]),
    ("non-member", f"{GROWTH} 1.2 Their sign-ups", "U0CLEO", "C0ROCKET", ["You are not a member of *Rockets*"]),
    ("no-team-at-all", f"{GROWTH} 1.2 Their sign-ups", "U0CLEO", "C0GENERAL", ["you are not in one yet"]),
    (
        "no-live-krs",
        f"{ROCKET} 1.1 Their sign-ups",
        "U0BEN",
        "C0GROWTH",
        ["There is no live key result 1.1 this cycle", "none yet"],
    ),
]


def test_bad_one_line_declarations_are_refused_and_write_nothing(driver, slack, db):
    two_teams(driver, slack, db, growth_okrs=False)
    before, posted = row_counts(db), len(slack.calls_to("chat.postMessage"))

    for case, typed, user, channel, expected in BAD_LINES:
        reply = declare(driver, slack, typed, user=user, channel=channel)

        assert_clean_error(reply, *expected, case=case)
        assert row_counts(db) == before, case
        assert len(slack.calls_to("chat.postMessage")) == posted, case
    assert notices(slack) == [] and notices(slack, "C0ROCKET") == []


def test_list_takes_only_all_and_numbers_must_be_numbers(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    before = row_counts(db)

    for case, typed, expected in [
        ("list-what", "ripple list everything", "`/okr ripple list` takes only `all`"),
        ("resolve-abc", "ripple resolve abc", "Give the ripple's number"),
        ("resolve-nothing", "ripple resolve", "Give the ripple's number"),
        ("withdraw-huge", "ripple withdraw 99999999999", "Give the ripple's number"),
        ("resolve-99", "ripple resolve 99", "There is no ripple R99"),
        ("withdraw-r99", "ripple withdraw R99", "There is no ripple R99"),
    ]:
        reply = okr(driver, slack, typed, user="U0ADA")

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case
    assert ripple(db, 1).state is RippleState.OPEN


# 4. duplicates ----------------------------------------------------------------------------------------------


def test_a_duplicate_of_a_live_ripple_is_refused_until_it_is_resolved(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"affects {GROWTH} 1.2 {NOTE}")
    before = row_counts(db)

    again = declare(driver, slack, f"{GROWTH} 1.2 Same thing, other words")

    assert_clean_error(again, "R1 already says that", "resolve it first")
    assert row_counts(db) == before and len(notices(slack)) == 1

    # acknowledged is still live; another kind, or naming their key result, is another ripple
    click(driver, notices(slack)[0], "ripple_ack", user="U0BEN")
    wait_until(lambda: ripple(db, 1).state is RippleState.ACKNOWLEDGED)
    assert_clean_error(declare(driver, slack, f"affects {GROWTH} 1.2 Again"), "R1 already says that")
    declared(driver, slack, f"depends {GROWTH} 1.2 We need them")
    declared(driver, slack, f"affects {GROWTH} 1.2 their 1.1 Their activation")
    assert_clean_error(declare(driver, slack, f"{GROWTH} 1.2 their 1.1 Again"), "R3 already says that")

    assert okr(driver, slack, "ripple resolve 1").text.startswith(":white_check_mark:")
    anew = declared(driver, slack, f"affects {GROWTH} 1.2 {NOTE}, again")

    assert "*R4* · *Rockets* KR 1.2" in anew.text
    assert [(r.number, r.state) for r in stored(db)] == [
        (1, RippleState.RESOLVED),
        (2, RippleState.OPEN),
        (3, RippleState.OPEN),
        (4, RippleState.OPEN),
    ]
    assert [n["text"] for n in notices(slack)] == [
        "R1: Rockets affects Growth",
        "R2: Rockets depends on Growth",
        "R3: Rockets affects Growth",
        "R4: Rockets affects Growth",
    ]


# 5. acknowledge ---------------------------------------------------------------------------------------------


def test_a_member_of_the_touched_team_acknowledges_once(driver, slack, db):
    world = two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    updates = len(slack.calls_to("chat.update"))

    click(driver, notice, "ripple_ack", user="U0BEN")

    r1 = wait_until(lambda: (r := ripple(db, 1)).state is RippleState.ACKNOWLEDGED and r)
    assert (r1.acknowledged_by, r1.closed_by) == ("U0BEN", None) and r1.acknowledged_at is not None
    call = slack.wait_for("chat.update", count=updates + 1)
    assert (call.args["channel"], call.args["ts"]) == ("C0GROWTH", notice["ts"])
    [redrawn] = notices(slack)
    assert redrawn["ts"] == notice["ts"] and action_ids(redrawn) == ["ripple_reply_open"]
    assert "R1 is acknowledged by <@U0BEN>" in shown(redrawn)
    assert ripple_log(db)[-1] == ("acknowledged", "U0BEN", world.growth, {"number": 1})
    before = row_counts(db)

    again = refusal(driver, slack, notice, "ripple_ack", user="U0BEN")  # a client still showing the button

    assert "R1 was already acknowledged by <@U0BEN>" in again
    assert row_counts(db) == before and ripple(db, 1).acknowledged_at == r1.acknowledged_at
    assert len(notice_posts(slack)) == 1


def test_only_the_touched_team_acknowledges_and_forged_buttons_are_refused(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    before, updates = row_counts(db), len(slack.calls_to("chat.update"))

    for case, user, value, expected in [
        ("declarer", "U0ADA", None, "Only a member of *Growth* can acknowledge R1"),
        ("outsider", "U0CLEO", None, "Only a member of *Growth* can acknowledge R1"),
        ("garbage", "U0BEN", "abc", "This form is out of date"),
        ("negative", "U0BEN", "-1", "This form is out of date"),
        ("unknown", "U0BEN", "987654", "That ripple no longer exists"),
        ("empty", "U0BEN", "", "This form is out of date"),
    ]:
        answer = refusal(driver, slack, notice, "ripple_ack", user=user, value=value)

        assert expected in answer, (case, answer)
        assert "went wrong" not in answer and "Traceback" not in answer, (case, answer)
        assert row_counts(db) == before, case
    r1 = ripple(db, 1)
    assert (r1.state, r1.acknowledged_by) == (RippleState.OPEN, None)
    assert len(slack.calls_to("chat.update")) == updates and action_ids(notices(slack)[0])[0] == "ripple_ack"

    for case, value, expected in [("garbage", "abc", "out of date"), ("unknown", "987654", "no longer exists")]:
        answer = refusal(driver, slack, notice, "ripple_reply_open", user="U0BEN", value=value)
        assert expected in answer, (case, answer)
    assert slack.open_views("U0BEN") == []


# 6. reply in thread -----------------------------------------------------------------------------------------


def test_a_reply_goes_in_the_notices_thread_and_to_the_declaring_team(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    before = row_counts(db)

    view = open_view(slack, lambda: click(driver, notice, "ripple_reply_open", user="U0BEN"))

    assert view["callback_id"] == "ripple_reply" and view["title"]["text"] == "Reply to R1"
    assert NOTE in shown(view)
    posted = len(slack.calls_to("chat.postMessage"))
    for case, typed, expected in [
        ("empty", "  ", "The reply is empty"),
        ("none", None, "The reply is empty"),
        ("1001", "r" * 1001, "1,001 characters long; the limit is 1,000"),
    ]:
        answer = submit(driver, view, {"reply": text_value(typed)}, user="U0BEN")
        assert answer == {"response_action": "errors", "errors": {"reply": answer["errors"]["reply"]}}, case
        assert expected in answer["errors"]["reply"], (case, answer)
    assert len(slack.calls_to("chat.postMessage")) == posted

    answer = submit(driver, view, {"reply": text_value("We can send them on Mondays <!here>")}, user="U0BEN")

    assert answer is None and slack.open_views("U0BEN") == []
    in_thread = slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == notice["ts"])
    to_rockets = slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == "C0ROCKET")
    assert in_thread.ok and in_thread.args["channel"] == "C0GROWTH" and to_rockets.ok
    assert "thread_ts" not in to_rockets.args
    [reply] = [m for m in slack.messages("C0GROWTH") if m["ts"] != m.get("thread_ts") and m.get("thread_ts")]
    assert reply["thread_ts"] == notice["ts"] and slack.message("C0GROWTH", notice["ts"])["reply_count"] == 1
    [told] = [m for m in slack.messages("C0ROCKET") if "on *R1*" in shown(m)]
    for message in (reply, told):
        assert ":speech_balloon: <@U0BEN> on *R1* (Rockets → Growth):\nWe can send them on Mondays <!here>" in shown(
            message
        )
        assert "<!here>" not in raw(message)
    assert row_counts(db) == before  # nothing is stored but the posts
    stays(lambda: len(slack.calls_to("chat.postMessage")) == posted + 2)


def replies_by(slack: FakeSlack, user: str) -> list:
    """The replies Slack accepted from the bot on `user`'s behalf: in a notice's thread, or to the declaring team."""
    return [c for c in slack.calls_to("chat.postMessage") if c.ok and f"<@{user}> on *R" in shown(c.args)]


def test_only_members_of_either_team_reply_to_a_ripple(driver, slack, db):
    """Cleo is in neither team: "Reply in thread" would post in Rockets' channel, which may be private."""
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    r1 = ripple(db, 1)
    before, posted, opened = row_counts(db), len(slack.calls_to("chat.postMessage")), len(slack.calls_to("views.open"))
    refused = "Only members of *Rockets* or *Growth* can reply to R1."

    assert refused in refusal(driver, slack, notice, "ripple_reply_open", user="U0CLEO")
    result, _ = forge_submission(
        driver,
        slack,
        user="U0CLEO",
        callback_id="ripple_reply",
        metadata=str(r1.id),
        values={"reply": text_value("Posted in your channel anyway")},
    )
    assert refused in modal_error_text(result)
    stays(lambda: len(slack.calls_to("chat.postMessage")) == posted)
    assert len(slack.calls_to("views.open")) == opened and slack.open_views("U0CLEO") == []
    assert row_counts(db) == before and replies_by(slack, "U0CLEO") == []

    # a member of the team told (Ben) and of the team that declared it (Ada) both reply
    for user in ("U0BEN", "U0ADA"):
        view = open_view(slack, lambda user=user: click(driver, notice, "ripple_reply_open", user=user))
        assert submit(driver, view, {"reply": text_value(f"Noted, says {user}")}, user=user) is None
        wait_until(lambda user=user: len(replies_by(slack, user)) == 2)
        assert {c.args["channel"] for c in replies_by(slack, user)} == {"C0GROWTH", "C0ROCKET"}

    # a form opened by a member who has left the team since is refused when sent
    view = open_view(slack, lambda: click(driver, notice, "ripple_reply_open", user="U0ADA"))
    okr(driver, slack, "team leave", user="U0ADA")
    answer = submit(driver, view, {"reply": text_value("Gone but still replying")}, user="U0ADA")
    assert answer is not None and refused in shown(answer["view"])
    stays(lambda: len(replies_by(slack, "U0ADA")) == 2)


def test_the_declare_forms_confirmation_goes_to_the_declaring_team_whatever_its_metadata_names(driver, slack, db):
    two_teams(driver, slack, db)
    view = open_declare_form(driver, slack)
    assert json.loads(view["private_metadata"]) == {"team_id": ripple_team_id(db, "Rockets")}
    forged = {**json.loads(view["private_metadata"]), "channel_id": "C0GENERAL"}

    result = submit_with_metadata(driver, slack, view["id"], user="U0ADA", values=form_values(), metadata=forged)

    assert result.status == 200 and not result.body, result.text
    [confirmation] = wait_until(lambda: [e for e in slack.ephemerals if "Declared *R1*" in shown(e)])
    assert confirmation["channel"] == "C0ROCKET" and confirmation["user"] == "U0ADA"
    stays(lambda: [c.args["channel"] for c in slack.calls_to("chat.postEphemeral")] == ["C0ROCKET"])


def ripple_team_id(db: Database, name: str) -> int:
    with db.read() as session:
        return session.scalars(select(Team.id).where(Team.name == name)).one()


# 7. list, resolve, withdraw ---------------------------------------------------------------------------------


def test_list_shows_live_ripples_and_all_shows_closed_ones(driver, slack, db):
    two_teams(driver, slack, db)
    empty = okr(driver, slack, "ripple list")
    assert empty.ephemeral and "No open ripples from or to *Rockets*" in empty.text
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    declared(driver, slack, f"depends {GROWTH} 1.1 their 1.2 Their dashboard")
    declared(driver, slack, f"{ROCKET} 1.1 Growth's campaign brings them teams", user="U0BEN", channel="C0GROWTH")
    okr(driver, slack, "ripple withdraw 2")

    mine = okr(driver, slack, "ripple list")
    theirs = okr(driver, slack, "ripple list", user="U0BEN", channel="C0GROWTH")
    everything = okr(driver, slack, "ripple LIST all")

    assert mine.ephemeral and "Ripples of Rockets" in mine.text
    assert "*R3* · *Growth*" in mine.text and "*R1* · *Rockets*" in mine.text and "*R2*" not in mine.text
    assert mine.text.index("*R3*") < mine.text.index("*R1*")  # newest first
    assert NOTE in mine.text and "open, not acknowledged yet · declared by <@U0ADA>" in mine.text
    assert "`/okr ripple list all` includes closed ones" in mine.text
    assert "Ripples of Growth" in theirs.text and "*R1*" in theirs.text and "*R3*" in theirs.text
    assert "*R2* · *Rockets*" in everything.text and "withdrawn by <@U0ADA>" in everything.text
    assert "*R3*" in everything.text and "*R1*" in everything.text


def test_either_team_resolves_and_the_notice_is_redrawn(driver, slack, db):
    world = two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    before, updates = row_counts(db), len(slack.calls_to("chat.update"))

    outsider = okr(driver, slack, "ripple resolve 1", user="U0CLEO", channel="C0GENERAL")
    not_theirs = okr(driver, slack, "ripple withdraw 1", user="U0BEN", channel="C0GROWTH")

    assert_clean_error(outsider, "Only members of *Rockets* or *Growth* can resolve R1")
    assert_clean_error(not_theirs, "Only a member of *Rockets* can withdraw R1, which it declared")
    assert row_counts(db) == before and ripple(db, 1).state is RippleState.OPEN
    assert len(slack.calls_to("chat.update")) == updates

    resolved = okr(driver, slack, "ripple resolve R1", user="U0BEN", channel="C0GROWTH")

    assert not resolved.ephemeral
    assert f":white_check_mark: <@U0BEN> resolved *R1* · *Rockets* KR 1.2 {KR_2} affects *Growth*." in resolved.text
    r1 = ripple(db, 1)
    assert (r1.state, r1.closed_by, r1.acknowledged_by) == (RippleState.RESOLVED, "U0BEN", None)
    assert r1.closed_at is not None
    assert ripple_log(db)[-1] == ("resolved", "U0BEN", world.growth, {"number": 1})
    call = slack.wait_for("chat.update", count=updates + 1)
    assert (call.args["channel"], call.args["ts"]) == ("C0GROWTH", notice["ts"])
    [redrawn] = notices(slack)
    assert action_ids(redrawn) == [] and "R1 is resolved by <@U0BEN>" in shown(redrawn)
    after = row_counts(db)

    for user, channel, typed in [
        ("U0BEN", "C0GROWTH", "resolve 1"),
        ("U0ADA", "C0ROCKET", "resolve 1"),
        ("U0ADA", "C0ROCKET", "withdraw 1"),
    ]:
        again = okr(driver, slack, f"ripple {typed}", user=user, channel=channel)
        assert_clean_error(again, "R1 was already resolved by <@U0BEN>", case=f"{user} {typed}")
    late = refusal(driver, slack, notice, "ripple_ack", user="U0BEN")  # the old notice, still on someone's screen
    assert "R1 was already resolved by <@U0BEN>" in late
    assert row_counts(db) == after and len(slack.calls_to("chat.update")) == updates + 1


def test_the_declaring_team_withdraws_an_acknowledged_ripple(driver, slack, db):
    world = two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    click(driver, notice, "ripple_ack", user="U0BEN")
    wait_until(lambda: ripple(db, 1).state is RippleState.ACKNOWLEDGED)
    slack.wait_for("chat.update")  # the notice redrawn as acknowledged
    updates = len(slack.calls_to("chat.update"))

    withdrawn = okr(driver, slack, "ripple withdraw 1", user="U0ADA", channel="C0GENERAL")

    assert not withdrawn.ephemeral and withdrawn.text.startswith(":white_check_mark: <@U0ADA> ")
    assert f"*R1* · *Rockets* KR 1.2 {KR_2} affects *Growth*." in withdrawn.text
    r1 = ripple(db, 1)
    assert (r1.state, r1.closed_by, r1.acknowledged_by) == (RippleState.WITHDRAWN, "U0ADA", "U0BEN")
    assert ripple_log(db)[-1] == ("withdrawn", "U0ADA", world.rockets, {"number": 1})
    slack.wait_for("chat.update", count=updates + 1)
    [redrawn] = notices(slack)
    assert action_ids(redrawn) == [] and "R1 is withdrawn by <@U0ADA>" in shown(redrawn)


# a withdrawal is announced with the verb: "@Ada withdrew *R1*" (and a resolution "@Ada resolved *R1*")
def test_the_channel_reads_who_withdrew_a_ripple(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    withdrawn = okr(driver, slack, "ripple withdraw 1")

    assert withdrawn.text.startswith(":white_check_mark: <@U0ADA> withdrew *R1* · *Rockets*"), withdrawn.text


# 8. the notice exactly once ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "times"),
    [(200, 1), (500, 1)],  # Slack answers internal_error; or a 5xx, never sent again at once (it may have gone out)
    ids=["internal_error", "http-500"],
)
def test_a_notice_slack_did_not_take_is_posted_once_by_the_sweep(driver, slack, db, database_url, status, times):
    two_teams(driver, slack, db)
    slack.fail_next("chat.postMessage", "internal_error", status=status, times=times)

    reply = declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    assert "*R1*" in reply.text and "the bot tries again within a few minutes" in reply.text
    assert len([c for c in slack.calls_to("chat.postMessage") if not c.ok]) == times
    r1 = ripple(db, 1)
    assert (r1.state, r1.notice_done_at, r1.notice_ts) == (RippleState.OPEN, None, None)
    assert notices(slack) == [] and notice_posts(slack) == []
    [claim] = notice_claims(db)
    assert claim.state is ClaimState.CLAIMED  # given back: the next sweep takes it over
    now = datetime.now(UTC)

    first = sweep_now(slack, database_url, db, now)

    assert first["notice"] == 1 and first["error"] == 0, first
    [notice] = notices(slack)
    assert len(notice_posts(slack)) == 1 and set(action_ids(notice)) == {"ripple_ack", "ripple_reply_open"}
    r1 = ripple(db, 1)
    assert (r1.notice_channel_id, r1.notice_ts) == ("C0GROWTH", notice["ts"]) and r1.notice_done_at is not None
    [claim] = notice_claims(db)
    assert (claim.state, claim.message_ts) == (ClaimState.SENT, notice["ts"])

    second = sweep_now(slack, database_url, db, now + MINUTE)

    assert second["notice"] == 0 and second["error"] == 0, second
    assert len(notice_posts(slack)) == 1 and len(notices(slack)) == 1

    click(driver, notice, "ripple_ack", user="U0BEN")  # the late notice works like any other
    wait_until(lambda: ripple(db, 1).acknowledged_by == "U0BEN")


def test_the_declarer_hears_when_slack_refuses_the_notice_for_good(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    slack.fail_next("chat.postMessage", "is_archived")

    reply = declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    assert "Slack refused the notice for <#C0GROWTH> (is_archived)" in reply.text and "is told" not in reply.text
    r1 = ripple(db, 1)
    assert r1.notice_done_at is not None and r1.notice_ts is None  # refused for good: the sweep does not retry
    assert sweep_now(slack, database_url, db, datetime.now(UTC))["notice"] == 0 and notices(slack) == []


def test_a_ripple_withdrawn_before_its_notice_went_out_is_never_announced(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    slack.fail_next("chat.postMessage", "internal_error")
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    assert ripple(db, 1).notice_done_at is None
    okr(driver, slack, "ripple withdraw 1")
    wait_until(lambda: ripple(db, 1).state is RippleState.WITHDRAWN)

    report = sweep_now(slack, database_url, db, datetime.now(UTC))

    assert report["settled"] == 1 and report["notice"] == 0, report
    assert notices(slack) == [] and notice_posts(slack) == []
    r1 = ripple(db, 1)
    assert r1.notice_done_at is not None and r1.notice_ts is None
    assert sweep_now(slack, database_url, db, datetime.now(UTC) + MINUTE)["settled"] == 0


def test_replicas_sweeping_at_once_post_a_pending_notice_once(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    slack.fail_next("chat.postMessage", "internal_error")
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    declared(driver, slack, f"depends {GROWTH} 1.1 Their numbers")  # told at once: nothing left for the sweep
    assert [r.notice_ts is None for r in stored(db)] == [True, False]
    now = datetime.now(UTC)

    reports = sweep_as_replicas(slack, database_url, now, count=4)

    total = sum(reports, Counter())
    assert total["notice"] >= 1 and total["error"] == 0, reports
    assert [n["text"] for n in notices(slack)] == ["R2: Rockets depends on Growth", "R1: Rockets affects Growth"]
    assert len(notice_posts(slack)) == 2
    r1 = ripple(db, 1)
    assert r1.notice_ts == notices(slack)[1]["ts"] and r1.notice_done_at is not None
    assert [c.state for c in notice_claims(db)] == [ClaimState.SENT, ClaimState.SENT]

    again = sweep_now(slack, database_url, db, now + MINUTE)

    assert again["notice"] == 0, again
    assert len(notice_posts(slack)) == 2


def test_a_notice_slack_posted_without_answering_is_found_not_posted_again(driver, slack, db):
    two_teams(driver, slack, db)
    with db.transaction() as session:  # the held post must be the notice's, not a first check-in DM's
        for team in session.scalars(select(Team)):
            team.checkins_paused = True
    slack.fail_next("chat.postMessage", "internal_error")  # the notice is left to the sweep
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    impatient = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, timeout=1, resend=False)
    sweep = Sweeper(db, lambda _workspace: impatient, worker="impatient")
    slack.hold_next("chat.postMessage", 3)  # Slack posts it; its answer comes after the client gave up
    now = datetime.now(UTC)

    first = sweep.run(now)

    assert first["retry"] == 1 and first["notice"] == 0, first
    [notice] = notices(slack)
    r1 = ripple(db, 1)
    assert (r1.notice_done_at, r1.notice_ts) == (None, None)
    [claim] = notice_claims(db)
    assert claim.state is ClaimState.CLAIMED  # the outcome is unknown: kept for a taker, not released

    second = sweep.run(now + MINUTE)

    assert second["notice"] == 1, second
    assert len(notice_posts(slack)) == 1 and len(notices(slack)) == 1  # found in the history, not posted again
    assert slack.calls_to("conversations.history"), "the taker did not look before posting"
    r1 = ripple(db, 1)
    assert (r1.notice_channel_id, r1.notice_ts) == ("C0GROWTH", notice["ts"]) and r1.notice_done_at is not None
    [claim] = notice_claims(db)
    assert (claim.state, claim.message_ts) == (ClaimState.SENT, notice["ts"])
    assert sweep.run(now + 2 * MINUTE)["notice"] == 0 and len(notice_posts(slack)) == 1


# a public team channel the bot has left is joined, and the notice posted there, as the digest and triage rounds do
def test_the_notice_reaches_a_public_team_channel_the_bot_has_left(driver, slack, db):
    two_teams(driver, slack, db)
    slack.add_channel("C0GROWTH", "team-growth", members=("U0ADA", "U0BEN"), bot_is_member=False)  # removed

    reply = declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    assert "<#C0GROWTH> is told" in reply.text
    [notice] = notices(slack)
    assert len(notice_posts(slack)) == 1 and "U0BOT" in slack.channel("C0GROWTH")["members"]
    r1 = ripple(db, 1)
    assert (r1.notice_channel_id, r1.notice_ts) == ("C0GROWTH", notice["ts"])


# 9. the App Home ----------------------------------------------------------------------------------------------


def test_the_app_home_lists_live_ripples_touching_your_teams(driver, slack, db):
    two_teams(driver, slack, db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    ben = home_text(driver, slack, "U0BEN")
    ada = home_text(driver, slack, "U0ADA")
    cleo = home_text(driver, slack, "U0CLEO")

    line = f"*R1* · *Rockets* KR 1.2 {KR_2} affects *Growth* · open, not acknowledged yet"
    assert "Ripples touching your teams" in ben and line in ben, ben
    assert "Ripples touching your teams" in ada and line in ada
    assert "Ripples touching your teams" not in cleo and "R1" not in cleo

    okr(driver, slack, "ripple resolve 1", user="U0BEN", channel="C0GROWTH")

    after = home_text(driver, slack, "U0BEN")
    assert "Ripples touching your teams" not in after and "*R1*" not in after, after


# 10. two declarations at the same moment (PostgreSQL: on SQLite writers queue at BEGIN) ---------------------


@contextmanager
def commits_held(database_url: str) -> Iterator[None]:
    """Hold the event log's write lock from another connection: a declaration then waits just before it commits,
    its ripple inserted but not yet visible to anyone else, while the next one runs beside it."""
    holder = Database(database_url)
    try:
        with holder.transaction() as session:
            session.execute(text("LOCK TABLE event_log IN EXCLUSIVE MODE"))
            yield
    finally:
        holder.dispose()


def waiting_for_locks(db: Database) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    with db.read() as session:
        return session.scalar(text(query))


def declare_side_by_side(driver, slack, db, database_url, *declarations: tuple[str, str, str]) -> list[str]:
    """Type each (text, user, channel) while the ones before wait to commit; what the people were told."""
    before = len(slack.responses)
    with commits_held(database_url):
        for count, (typed, user, channel) in enumerate(declarations, start=1):
            result = driver.command(f"ripple {typed}", user=user, channel=channel)
            assert result.status == 200 and not result.body, result.text
            wait_until(lambda count=count: waiting_for_locks(db) >= count or len(slack.responses) > before)
    slack.wait_for_response(count=before + len(declarations))
    return sorted(shown(r["body"]) for r in slack.responses[before:])


@pytest.mark.postgres
def test_declarations_at_the_same_moment_each_get_their_own_number(driver, slack, db, database_url):
    world = two_teams(driver, slack, db)

    told = declare_side_by_side(
        driver,
        slack,
        db,
        database_url,
        (f"{GROWTH} 1.2 {NOTE}", "U0ADA", "C0ROCKET"),
        (f"depends {ROCKET} 1.1 Their dashboard speed", "U0BEN", "C0GROWTH"),
    )

    assert [t[:22] for t in told] == [":ocean: Declared *R1* ", ":ocean: Declared *R2* "], told
    assert [(r.number, r.from_team_id) for r in stored(db)] == [(1, world.rockets), (2, world.growth)]
    assert [n["text"] for n in notices(slack)] == ["R1: Rockets affects Growth"]
    assert [n["text"] for n in notices(slack, "C0ROCKET")] == ["R2: Growth depends on Rockets"]


# A regression test: before cfec7f1 (which added `lock_team` to ripples.declare()), the duplicate check read and
# then inserted with no lock, and on PostgreSQL both of these passed it: R1 and R2 stored, two notices posted.
@pytest.mark.postgres
def test_the_same_ripple_declared_twice_at_once_is_stored_once(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    line = (f"affects {GROWTH} 1.2 {NOTE}", "U0ADA", "C0ROCKET")

    told = declare_side_by_side(driver, slack, db, database_url, line, line)

    assert [(r.number, r.state) for r in stored(db)] == [(1, RippleState.OPEN)]
    assert len(notices(slack)) == 1 and len(notice_posts(slack)) == 1
    assert ":ocean: Declared *R1*" in told[0] and "R1 already says that" in told[1], told
