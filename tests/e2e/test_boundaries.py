"""Security and permission boundaries, end to end through signed HTTP requests.

- Only Slack talks to the bot: a slash command, an Events API delivery and an interaction that would each change
  the team are refused with 401 when unsigned, signed with another secret, altered after signing, signed in a
  scheme other than `v0`, or stamped more than five minutes away from now (a replay, or a clock from the future);
  nothing is written and Slack is not called. The same bytes, signed now, do change the team.
- Someone outside a team cannot change its OKRs (menu or forged form), check in a key result they do not own,
  run its triage, sprint pick, reset or settings, act on its backlog, or acknowledge a ripple to another team:
  each refusal is a readable message and nothing is written.
- Only facilitators reset, change settings and close a triage or sprint pick; only admins and leaders change the
  digest settings. A member is refused, and the facilitator or admin doing the same succeeds.
- Two workspaces share one database through OAuth installs. From the second, every `/okr` sub-command (with
  arguments naming the first workspace's teams, objectives, key results, backlog items, ripples, channels and
  cycles) and every button, form, shortcut and event the bot listens to, carrying the first workspace's ids,
  leaves the first workspace's rows exactly as they were, makes no Slack call in the first workspace, and
  shows nothing of it. Two tests keep the probe lists complete as the bot gains commands and listeners.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

import handlers
from bot.ack import Fallbacks
from bot.app import INSTALL_PATH, REDIRECT_PATH
from bot.commands import CATALOGUE, parse
from bot.rituals import drafts as draft_rules
from bot.rituals.people import ensure_person
from bot.sandbox import ApiCall, FakeSlack, HttpResult, SlackDriver
from bot.sandbox.payloads import action, base_interaction, user_of
from bot.web import EVENTS_PATH
from handlers import ROUTES, unknown
from storage.base import Base
from storage.db import Database
from storage.models import (
    CheckIn,
    Cycle,
    DraftState,
    KeyResult,
    Objective,
    RetroAnswer,
    Ripple,
    RippleState,
    Round,
    RoundKind,
    RoundState,
    Team,
    TeamLeader,
    Workspace,
)
from storage.slack_tables import installations, slack_metadata
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.okr_support import (
    add_backlog,
    commit,
    key_result_values,
    list_okrs,
    objective_values,
    overflow_option,
    posted_round,
    reaction_event,
    stored_votes,
    text_value,
)
from tests.e2e.support import (
    assert_clean_error,
    command_form,
    create_team,
    encode_form,
    join_team,
    okr,
    open_settings,
    shown,
    stays,
    wait_until,
)

FORM = "application/x-www-form-urlencoded"
HELPS = "white_check_mark"


# what the bot keeps ---------------------------------------------------------------------------------------------


def fingerprint(db: Database, *, workspace_id: int | None = None, slack_team_id: str | None = None) -> dict:
    """Every row the bot keeps, OAuth stores included, as sorted reprs: any insert, update or delete changes it.
    With `workspace_id`, only that workspace's rows (and its installation's, by `slack_team_id`)."""
    found: dict[str, list[str]] = {}
    with db.read() as session:
        for table in [*Base.metadata.sorted_tables, *slack_metadata.sorted_tables]:
            query = select(table)
            if workspace_id is not None:
                if "workspace_id" in table.c:
                    query = query.where(table.c.workspace_id == workspace_id)
                elif table.name == Workspace.__tablename__:
                    query = query.where(table.c.id == workspace_id)
                elif "team_id" in table.c:
                    query = query.where(table.c.team_id == slack_team_id)
                else:  # OAuth states belong to no workspace
                    continue
            found[table.name] = sorted(repr(tuple(row)) for row in session.execute(query))
    return found


def assert_unchanged(db: Database, before: dict, what: str) -> None:
    """Nothing written since `before` was taken; otherwise, which tables changed."""
    after = fingerprint(db)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"{what} changed {changed}"


def team_row(db: Database, name: str) -> Team:
    with db.read() as session:
        return session.scalars(select(Team).where(Team.name_key == name.casefold())).one()


def kr_ids(db: Database, objective_id: int) -> list[int]:
    with db.read() as session:
        query = select(KeyResult.id).where(KeyResult.objective_id == objective_id).order_by(KeyResult.position)
        return list(session.scalars(query))


def objective_title(db: Database, objective_id: int) -> str:
    with db.read() as session:
        return session.get(Objective, objective_id).title


def cycle_of(db: Database, team: str, number: int = 1) -> Cycle:
    with db.read() as session:
        query = select(Cycle).join(Team, Team.id == Cycle.team_id)
        return session.scalars(query.where(Team.name_key == team.casefold(), Cycle.number == number)).one()


def sign_bytes(body: bytes, *, timestamp: int, secret: str = SIGNING_SECRET, scheme: str = "v0") -> str:
    """Slack's signature of these bytes, in the given scheme (`v0` is the only one Slack uses)."""
    digest = hmac.new(secret.encode(), f"{scheme}:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"{scheme}={digest}"


def send_signed(driver: SlackDriver, fields: dict[str, str]) -> HttpResult:
    """POST a form (a forged interaction) correctly signed now: Slack's signature, the caller's content."""
    body = urlencode(fields).encode()
    return driver.send_raw(body, {"Content-Type": FORM, **driver.sign(body)})


def interaction_base(slack: FakeSlack, kind: str, user: str) -> dict:
    """The fields every interaction payload of `user` carries, in their own workspace."""
    profile = slack.user(user)
    ws = slack.workspace(profile["team_id"])
    return base_interaction(kind, ws, user_of(profile, user, ws), slack.new_trigger_id(user, team_id=ws.team_id))


def forge_click(
    driver: SlackDriver,
    slack: FakeSlack,
    *,
    user: str,
    action_id: str,
    channel: str,
    value: str | None = None,
    selected_option: dict | None = None,
    view: dict | None = None,
) -> tuple[HttpResult, dict]:
    """A block action built by hand: on an ephemeral message in `channel` (with a response_url), or inside the
    modal `view` (no response_url). Returns the answer and the payload sent."""
    payload = interaction_base(slack, "block_actions", user)
    team_id = payload["team"]["id"]
    if view is not None:
        payload.update(container={"type": "view", "view_id": view["id"]}, view=view, state=view.get("state") or {})
    else:
        ts = slack.next_ts()
        payload.update(
            container={"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": True},
            channel={"id": channel, "name": (slack.channel(channel) or {}).get("name", channel)},
            state={"values": {}},
            response_url=slack.new_response_url(channel, user, message_ts=ts, team_id=team_id),
        )
    payload["actions"] = [
        action(action_id=action_id, block_id="forged", element=None, value=value, selected_option=selected_option)
    ]
    return send_signed(driver, {"payload": json.dumps(payload)}), payload


def forged_view(slack: FakeSlack, user: str, *, callback_id: str, metadata: Any, values: dict) -> dict:
    """A modal as Slack would put it into a submission, with whatever metadata and values the sender likes."""
    ws = slack.workspace(slack.user(user)["team_id"])
    return {
        "id": f"V0FORGED{abs(hash((callback_id, user))) % 10_000:04d}",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata if isinstance(metadata, str) else json.dumps(metadata),
        "state": {"values": values},
        "hash": "1700000000.forged",
        "title": {"type": "plain_text", "text": "Form"},
        "blocks": [],
        "team_id": ws.team_id,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        "root_view_id": None,
        "previous_view_id": None,
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
    }


def forge_submission(
    driver: SlackDriver,
    slack: FakeSlack,
    *,
    user: str,
    callback_id: str,
    metadata: Any,
    values: dict,
    kind: str = "view_submission",
) -> tuple[HttpResult, dict]:
    """A view submission (or `view_closed`) built by hand, for a modal the sender never had."""
    payload = interaction_base(slack, kind, user)
    payload["view"] = forged_view(slack, user, callback_id=callback_id, metadata=metadata, values=values)
    if kind == "view_submission":
        payload["response_urls"] = []
    else:
        payload["is_cleared"] = False
        del payload["trigger_id"]
    return send_signed(driver, {"payload": json.dumps(payload)}), payload


def next_reply(slack: FakeSlack, user: str, answered: int) -> str:
    """The text of the first response_url reply to `user` after the `answered` replies they already had."""
    reply = slack.wait_for_response(lambda r: r["user"] == user, count=answered + 1)
    return shown(reply["body"])


def replies_to(slack: FakeSlack, user: str) -> int:
    return len([r for r in slack.responses if r["user"] == user])


def refused_click(driver, slack, *, user: str, channel: str = "C0ROCKET", **click) -> str:
    """A forged click that the bot must refuse in reply to the message clicked: what the person reads."""
    answered = replies_to(slack, user)
    result, _ = forge_click(driver, slack, user=user, channel=channel, **click)
    assert result.status == 200, result.text
    return next_reply(slack, user, answered)


def assert_readable_refusal(text: str, *needles: str, case: str = "") -> None:
    for needle in needles:
        assert needle.casefold() in text.casefold(), f"[{case}] {needle!r} not in {text!r}"
    for marker in ("Traceback", 'File "', "went wrong on the bot's side"):
        assert marker not in text, f"[{case}] {text}"


def modal_error_text(result: HttpResult) -> str:
    """What a refused submission shows: the modal replaced by an explanation, or the errors under fields."""
    body = result.json
    assert result.status == 200 and isinstance(body, dict), (result.status, result.text)
    if body.get("response_action") == "update":
        return shown(body["view"])
    assert body.get("response_action") == "errors", body
    return " ".join(body["errors"].values())


# the team most tests use -------------------------------------------------------------------------------------------


@dataclass
class Rockets:
    team_id: int
    objective_id: int
    kr_ids: list[int]  # KR 1.1 owned by Ben, KR 1.2 by Cleo
    cycle_id: int
    round_ts: list[str] = field(default_factory=list)


def rockets_team(driver, slack, db, *, triage: bool = False) -> Rockets:
    """Rockets in #team-rocket: Ada facilitates, Ben is a member; O1 committed (KR 1.1 Ben's, KR 1.2 Cleo's, who
    is not a member), two inbox items, and with `triage` an open triage round posted in the channel."""
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    objective_id = commit(db)
    add_backlog(db, "Shorter sign-up form", "Dark mode")
    world = Rockets(team_row(db, "Rockets").id, objective_id, kr_ids(db, objective_id), cycle_of(db, "Rockets").id)
    if triage:
        assert "started" in okr(driver, slack, "triage start").text.lower()
        world.round_ts = [ballot.ts for ballot in posted_round(db).items]
    return world


# 1. signatures ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedKind:
    """One kind of request Slack sends, built so that it would change the team if the bot accepted it."""

    name: str
    body: bytes
    content_type: str
    tampered: bytes  # the same request with one value changed after signing


def _request_kinds(slack: FakeSlack, world: Rockets, settings_view_id: str) -> list[SignedKind]:
    command = encode_form(command_form(slack, "team settings timezone=Asia/Tokyo", user="U0ADA"))
    ws = slack.workspace()
    envelope = {
        "token": "sandbox-verification-token",
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": {
            **reaction_event("reaction_added", "U0BEN", "C0ROCKET", world.round_ts[0], HELPS),
            "event_ts": slack.next_ts(),
        },
        "type": "event_callback",
        "event_id": "Ev0BOUNDARY01",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": ws.team_id, "user_id": ws.bot_user_id, "is_bot": True}],
    }
    event = json.dumps(envelope).encode()
    slack.set_view_state(settings_view_id, {"timezone": text_value("America/Chicago")})
    payload = {**interaction_base(slack, "view_submission", "U0ADA"), "response_urls": []}
    payload["view"] = slack.view_payload(settings_view_id)
    submission = encode_form({"payload": json.dumps(payload)})
    return [
        SignedKind("slash command", command, FORM, command.replace(b"Tokyo", b"Seoul")),
        SignedKind("event", event, "application/json", event.replace(b"U0BEN", b"U0ADA")),
        SignedKind("interaction", submission, FORM, submission.replace(b"Chicago", b"Denver")),
    ]


def _bad_signatures(kind: SignedKind) -> dict[str, tuple[bytes, dict[str, str]]]:
    """What a forger or a replayer can send: the body, and its headers."""
    now = int(time.time())
    body = kind.body

    def signed(timestamp: int, **options: Any) -> dict[str, str]:
        return {
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign_bytes(body, timestamp=timestamp, **options),
        }

    good = signed(now)["X-Slack-Signature"]
    return {
        "unsigned": (body, {}),
        "timestamp without signature": (body, {"X-Slack-Request-Timestamp": str(now)}),
        "signature without timestamp": (body, {"X-Slack-Signature": good}),
        "empty signature": (body, {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": ""}),
        "signed with another secret": (body, signed(now, secret="someone-elses-signing-secret")),
        "body changed after signing": (kind.tampered, signed(now)),
        "signed for another timestamp": (body, {**signed(now - 1), "X-Slack-Request-Timestamp": str(now)}),
        "v1 scheme": (body, signed(now, scheme="v1")),
        "v0 digest labelled v1": (body, {**signed(now), "X-Slack-Signature": "v1=" + good.removeprefix("v0=")}),
        "digest without its scheme": (body, {**signed(now), "X-Slack-Signature": good.removeprefix("v0=")}),
        "truncated signature": (body, {**signed(now), "X-Slack-Signature": good[:35]}),
        "replayed 301 s later": (body, signed(now - 301)),
        "replayed an hour later": (body, signed(now - 3600)),
        "replayed a day later": (body, signed(now - 86_400)),
        # more than a second past the limit: the timestamp is whole seconds and the request takes a moment
        "306 s from the future": (body, signed(now + 306)),
        "an hour from the future": (body, signed(now + 3600)),
    }


def test_requests_not_signed_by_slack_in_the_last_five_minutes_get_401_and_change_nothing(driver, slack, db):
    world = rockets_team(driver, slack, db, triage=True)
    view = open_settings(driver, slack)
    kinds = _request_kinds(slack, world, view["id"])
    before, calls = fingerprint(db), len(slack.calls)
    answered = len(slack.responses)

    for kind in kinds:
        for case, (body, headers) in _bad_signatures(kind).items():
            result = driver.send_raw(body, {"Content-Type": kind.content_type, **headers})

            assert result.status == 401, f"{kind.name}, {case}: {result.status} {result.text[:200]}"
            assert "Rockets" not in result.text, (kind.name, case)

    stays(lambda: fingerprint(db) == before and len(slack.calls) == calls, duration=0.3)
    assert len(slack.responses) == answered
    assert team_row(db, "Rockets").timezone == "UTC" and stored_votes(db) == set()

    # the same bytes, signed now by the right secret, are served: each one would have changed the team
    for kind, effect in zip(
        kinds,
        (
            lambda: team_row(db, "Rockets").timezone == "Asia/Tokyo",
            lambda: stored_votes(db) == {(1, "U0BEN", HELPS)},
            lambda: team_row(db, "Rockets").timezone == "America/Chicago",
        ),
        strict=True,
    ):
        result = driver.send_raw(kind.body, {"Content-Type": kind.content_type, **driver.sign(kind.body)})
        assert result.status == 200, (kind.name, result.text)
        wait_until(effect)


def test_a_driver_signing_as_if_six_minutes_ago_or_ahead_is_refused_for_every_kind_of_request(driver, slack, db, bot):
    world = rockets_team(driver, slack, db, triage=True)
    confirmation = okr(driver, slack, "reset")
    [message] = [e for e in slack.ephemerals if "reset_start" in json.dumps(e["blocks"])]
    view = open_settings(driver, slack)
    url = bot.url + EVENTS_PATH
    skewed = {
        "replayed": SlackDriver(slack, url, SIGNING_SECRET, clock=lambda: time.time() - 306),
        "from the future": SlackDriver(slack, url, SIGNING_SECRET, clock=lambda: time.time() + 306),
    }
    before, calls = fingerprint(db), len(slack.calls)

    for case, sender in skewed.items():
        statuses = {
            "command": sender.command("team settings timezone=Asia/Tokyo", user="U0ADA", channel="C0ROCKET").status,
            "reaction": sender.react("U0BEN", "C0ROCKET", world.round_ts[0], HELPS).status,
            "button": sender.click(user="U0ADA", action_id="reset_start", channel="C0ROCKET", ts=message["ts"]).status,
            "form": sender.submit_view(view["id"], user="U0ADA", values={"timezone": text_value("Asia/Tokyo")}).status,
        }
        assert statuses == dict.fromkeys(statuses, 401), (case, statuses)
        slack.remove_reaction("C0ROCKET", world.round_ts[0], "U0BEN", HELPS)

    stays(lambda: fingerprint(db) == before and len(slack.calls) == calls, duration=0.3)
    assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]]  # the refused submission closed nothing
    assert "Reset cycle 1" in confirmation.text

    # the control: the same driver's requests, stamped now
    assert driver.react("U0BEN", "C0ROCKET", world.round_ts[0], HELPS).status == 200
    assert driver.click(user="U0ADA", action_id="reset_start", channel="C0ROCKET", ts=message["ts"]).status == 200
    wait_until(lambda: stored_votes(db) == {(1, "U0BEN", HELPS)})
    wait_until(lambda: cycle_of(db, "Rockets").reset_started_at is not None)


# 2. someone outside the team ----------------------------------------------------------------------------------------

EVE = "U0EVE"  # in the workspace and in #team-rocket, but in no team
NOT_A_MEMBER = "You are not a member of *Rockets*"


def outsider(slack: FakeSlack) -> None:
    slack.add_user(EVE, "eve", real_name="Eve Outsider", tz="Europe/Paris")
    slack.add_channel("C0ROCKET", "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO", EVE))


def checkin_values(value: str, confidence: str = "7") -> dict:
    return {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {"confidence": {"type": "static_select", "selected_option": {"value": confidence}}},
        "note": {"note": {"type": "plain_text_input", "value": None}},
    }


def change_forms(world: Rockets) -> dict[str, tuple[dict, dict]]:
    """The four change forms as a sender could fill them: (private_metadata, state.values)."""
    objective, kr = world.objective_id, world.kr_ids[0]
    return {
        "revise_objective": ({"kind": "revise_objective", "id": objective}, objective_values(title="Taken over")),
        "drop_objective": ({"kind": "drop_objective", "id": objective}, {"reason": text_value("Not ours anyway")}),
        "revise_kr": (
            {"kind": "revise_kr", "id": kr},
            key_result_values(metric="Taken over", baseline="1", target="2", owner="U0BEN"),
        ),
        "drop_kr": ({"kind": "drop_kr", "id": kr}, {"reason": text_value("Not ours anyway")}),
    }


def test_someone_outside_the_team_cannot_change_its_okrs_or_check_in_a_key_result_they_do_not_own(driver, slack, db):
    world = rockets_team(driver, slack, db)
    outsider(slack)
    ben_kr, cleo_kr = world.kr_ids
    menus = list_okrs(driver, slack, user="U0BEN")  # a member's list, with the ⋯ menus
    before, opened, posted = fingerprint(db), len(slack.calls_to("views.open")), len(slack.calls_to("chat.postMessage"))

    # the ⋯ menu, used by someone Slack would never show it to
    for kind, target in (
        ("revise_objective", world.objective_id),
        ("drop_objective", world.objective_id),
        ("revise_kr", ben_kr),
        ("drop_kr", cleo_kr),
    ):
        _, option = overflow_option(menus["blocks"], f"{kind}:{target}")
        text = refused_click(driver, slack, user=EVE, action_id="okr_menu", selected_option=option)
        assert_readable_refusal(text, NOT_A_MEMBER, "/okr team join Rockets", case=kind)
    assert_unchanged(db, before, "the ⋯ menu")

    # the change forms, submitted without ever being opened
    for kind, (metadata, values) in change_forms(world).items():
        result, _ = forge_submission(
            driver, slack, user=EVE, callback_id="okr_change", metadata=metadata, values=values
        )
        assert_readable_refusal(modal_error_text(result), NOT_A_MEMBER, case=kind)
    assert_unchanged(db, before, "the change forms")

    # a key result Eve does not own, by the button and by the form; and "No change on all" for the team
    for kr in (ben_kr, cleo_kr):
        text = refused_click(driver, slack, user=EVE, action_id="checkin_open", value=str(kr))
        assert_readable_refusal(text, "Only the key result's owner (<@U0", ") or a facilitator of *Rockets* can check")
        result, _ = forge_submission(
            driver, slack, user=EVE, callback_id="checkin", metadata={"kr": kr}, values=checkin_values("99")
        )
        assert_readable_refusal(modal_error_text(result), "Only the key result's owner (<@U0", "or a facilitator of")
    text = refused_click(driver, slack, user=EVE, action_id="checkin_no_change", value=str(world.team_id))
    assert_readable_refusal(text, "You no longer own a live key result in that team")

    stays(lambda: fingerprint(db) == before, duration=0.3)
    assert len(slack.calls_to("views.open")) == opened and len(slack.calls_to("chat.postMessage")) == posted

    # the control: the same forged payloads from a member, and from the owner of a key result, are served
    metadata, values = change_forms(world)["revise_objective"]
    result, _ = forge_submission(
        driver, slack, user="U0BEN", callback_id="okr_change", metadata=metadata, values=values
    )
    assert result.status == 200 and not result.body, result.text
    for user, kr in (("U0BEN", ben_kr), ("U0CLEO", cleo_kr)):  # Cleo owns KR 1.2 without being a member
        result, _ = forge_submission(
            driver, slack, user=user, callback_id="checkin", metadata={"kr": kr}, values=checkin_values("30")
        )
        assert result.status == 200 and not result.body, (user, result.text)

    def served() -> bool:
        with db.read() as session:
            title = session.get(Objective, world.objective_id).title
            checked = set(session.scalars(select(CheckIn.key_result_id)))
        return title == "Taken over" and checked == {ben_kr, cleo_kr}

    wait_until(served)


def shared_draft(db: Database, team: str, *, author: str, title: str) -> int:
    """A draft with two key results, shared for review, as the drafting flow leaves it."""
    with db.transaction() as session:
        row = session.scalars(select(Team).where(Team.name_key == team.casefold())).one()
        draft = draft_rules.start_draft(session, team=row, user_id=author, title=title, now=datetime.now(UTC))
        draft.content = {
            **draft.content,
            "key_results": [
                {
                    "metric": f"{title}: first metric",
                    "unit": "%",
                    "baseline": "40",
                    "target": "60",
                    "direction": "increase",
                    "owner": author,
                },
                {
                    "metric": f"{title}: second metric",
                    "unit": "",
                    "baseline": "12",
                    "target": "6",
                    "direction": "decrease",
                    "owner": author,
                },
            ],
        }
        draft.state = DraftState.SHARED
        session.flush()
        return draft.id


def growth_with_a_ripple(driver, slack, db) -> int:
    """Growth in #team-growth (Ben facilitates) with O1, and R1: Rockets' KR 1.1 affects Growth. R1's id."""
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    commit(
        db,
        "Growth",
        title="Growth funnel converts",
        key_results=[
            {"metric": "Weekly sign-ups", "baseline": 100, "target": 200, "owner": "U0BEN"},
            {"metric": "Trial conversion", "unit": "%", "baseline": 5, "target": 9, "owner": "U0BEN"},
        ],
    )
    declared = okr(driver, slack, "ripple <#C0GROWTH|team-growth> 1.1 Twice the sign-ups reach them")
    assert "Declared" in declared.text, declared.text
    with db.read() as session:
        return session.scalars(select(Ripple.id).where(Ripple.number == 1)).one()


def test_someone_outside_the_team_cannot_run_its_rituals_or_acknowledge_a_ripple_to_another_team(driver, slack, db):
    world = rockets_team(driver, slack, db, triage=True)
    ripple_id = growth_with_a_ripple(driver, slack, db)
    draft_id = shared_draft(db, "Rockets", author="U0BEN", title="Next: retention")
    outsider(slack)
    before, opened, posted = fingerprint(db), len(slack.calls_to("views.open")), len(slack.calls_to("chat.postMessage"))

    commands = {
        "team settings": NOT_A_MEMBER,
        "team settings timezone=Asia/Tokyo": NOT_A_MEMBER,
        "team leave": NOT_A_MEMBER,
        "triage start": NOT_A_MEMBER,
        "triage close": NOT_A_MEMBER,
        "sprint start": NOT_A_MEMBER,
        "sprint close 3": NOT_A_MEMBER,
        "reset": NOT_A_MEMBER,
        "draft": NOT_A_MEMBER,
        "draft Our objective now": NOT_A_MEMBER,
        "backlog add Eve's idea": NOT_A_MEMBER,
        "backlog done 1": NOT_A_MEMBER,
        "backlog restore 2": NOT_A_MEMBER,
        "idea Eve's idea 1.1": NOT_A_MEMBER,
        "ripple": NOT_A_MEMBER,
        "ripple <#C0GROWTH|team-growth> 1.2 Eve says so": NOT_A_MEMBER,
        "ripple resolve R1": "Only members of *Rockets* or *Growth* can resolve R1",
        "ripple withdraw R1": "Only a member of *Rockets* can withdraw R1, which it declared",
        "digest post": "Only workspace admins, leaders and team facilitators can post the digest",
        "digest settings day=tuesday": "Only leaders can set where and when the digest goes",
        "vision add Eve's vision": "Only leaders can write vision statements",
    }
    for text, needle in commands.items():
        assert_clean_error(okr(driver, slack, text, user=EVE), needle, case=text)
    assert_unchanged(db, before, "commands")

    buttons = {
        ("ripple_ack", str(ripple_id)): "Only a member of *Growth* can acknowledge R1",
        ("reset_start", f"{world.team_id}:1"): NOT_A_MEMBER,
        ("reset_close_scoring", str(world.cycle_id)): NOT_A_MEMBER,
        ("carry_forward_open", str(world.cycle_id)): NOT_A_MEMBER,
        ("retro_answer_open", str(world.cycle_id)): NOT_A_MEMBER,
        ("cycle_draft", str(world.team_id)): NOT_A_MEMBER,
        ("draft_commit", str(draft_id)): NOT_A_MEMBER,
        ("draft_edit", str(draft_id)): NOT_A_MEMBER,
        ("draft_discard", str(draft_id)): "Only <@U0BEN>, who wrote it, or a facilitator can discard this draft",
    }
    for (action_id, value), needle in buttons.items():
        text = refused_click(driver, slack, user=EVE, action_id=action_id, value=value)
        assert_readable_refusal(text, needle, case=action_id)
    assert_unchanged(db, before, "buttons")

    with db.read() as session:
        version = draft_rules.load_draft(session, workspace_id=team_row(db, "Rockets").workspace_id, draft_id=draft_id)[
            0
        ].version
    forms = {
        "team_settings": ({"team_id": world.team_id, "channel_id": "C0ROCKET"}, {"timezone": text_value("Asia/Tokyo")}),
        "ripple_declare": (
            {"team_id": world.team_id, "channel_id": "C0ROCKET"},
            {
                "key_result": {"value": {"type": "static_select", "selected_option": {"value": "1.2"}}},
                "kind": {"value": {"type": "static_select", "selected_option": {"value": "affects"}}},
                "channel": {"value": {"type": "conversations_select", "selected_conversation": "C0GROWTH"}},
                "note": text_value("Eve says so"),
            },
        ),
        "carry_forward": (
            {"cycle": world.cycle_id},
            {
                f"objective:{world.objective_id}": {
                    "value": {"type": "checkboxes", "selected_options": [{"value": "all"}]}
                }
            },
        ),
        "draft_objective": ({"d": draft_id, "v": version}, {"title": text_value("Eve's objective")}),
        "draft_review": ({"d": draft_id, "v": version}, {}),
    }
    for callback_id, (metadata, values) in forms.items():
        result, _ = forge_submission(driver, slack, user=EVE, callback_id=callback_id, metadata=metadata, values=values)
        assert_readable_refusal(modal_error_text(result), NOT_A_MEMBER, case=callback_id)
    assert_unchanged(db, before, "forms")

    stays(lambda: fingerprint(db) == before, duration=0.3)
    assert len(slack.calls_to("views.open")) == opened and len(slack.calls_to("chat.postMessage")) == posted
    with db.read() as session:
        assert session.get(Ripple, ripple_id).state is RippleState.OPEN


# 3. facilitators, admins and leaders ---------------------------------------------------------------------------------

ONLY_FACILITATORS = "Only a facilitator of *Rockets* can do that."


def leaders_of_rockets(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(TeamLeader.user_id).where(TeamLeader.team_id == team_row(db, "Rockets").id)))


def test_only_a_facilitator_resets_changes_settings_or_closes_a_round_and_only_admins_set_the_digest(driver, slack, db):
    world = rockets_team(driver, slack, db, triage=True)
    before, opened = fingerprint(db), len(slack.calls_to("views.open"))

    commands = {
        "reset": ONLY_FACILITATORS,
        "team settings": ONLY_FACILITATORS,
        "team settings timezone=Asia/Tokyo": ONLY_FACILITATORS,
        "triage close": ONLY_FACILITATORS,
        "sprint close 2": ONLY_FACILITATORS,
        "digest settings day=tuesday hour=8": "Only leaders can set where and when the digest goes",
        "digest post": "Only workspace admins, leaders and team facilitators can post the digest",
    }
    for text, needle in commands.items():
        assert_clean_error(okr(driver, slack, text, user="U0BEN"), needle, case=text)
    assert_unchanged(db, before, "commands")
    for action_id, value in (
        ("reset_start", f"{world.team_id}:1"),
        ("reset_close_scoring", str(world.cycle_id)),
        ("carry_forward_open", str(world.cycle_id)),
    ):
        text = refused_click(driver, slack, user="U0BEN", action_id=action_id, value=value)
        assert_readable_refusal(text, ONLY_FACILITATORS, case=action_id)
    assert_unchanged(db, before, "buttons")
    settings = ({"team_id": world.team_id, "channel_id": "C0ROCKET"}, {"timezone": text_value("Asia/Tokyo")})
    result, _ = forge_submission(
        driver, slack, user="U0BEN", callback_id="team_settings", metadata=settings[0], values=settings[1]
    )
    assert_readable_refusal(modal_error_text(result), ONLY_FACILITATORS)
    stays(lambda: fingerprint(db) == before, duration=0.3)
    assert len(slack.calls_to("views.open")) == opened
    assert cycle_of(db, "Rockets").reset_started_at is None

    # the facilitator (and workspace admin) doing the same is served
    saved = okr(driver, slack, "team settings timezone=Asia/Tokyo")
    assert not saved.ephemeral and "<@U0ADA> changed the time zone of *Rockets*" in saved.text, saved.text
    result, _ = forge_submission(
        driver,
        slack,
        user="U0ADA",
        callback_id="team_settings",
        metadata=settings[0],
        values={"timezone": text_value("Europe/Paris")},
    )
    assert result.status == 200 and not result.body, result.text
    wait_until(lambda: team_row(db, "Rockets").timezone == "Europe/Paris")
    okr(driver, slack, "triage close")
    with db.read() as session:
        assert [kind for (kind,) in session.execute(select(Round.kind).where(Round.state == RoundState.CLOSED))] == [
            RoundKind.TRIAGE
        ]
    assert okr(driver, slack, "digest settings day=tuesday hour=8").ephemeral
    assert "Posted this week's digest" in okr(driver, slack, "digest post").text
    # a leader the team names sets the digest too
    leaders = {"leaders": {"value": {"type": "multi_users_select", "selected_users": ["U0BEN"]}}}
    result, _ = forge_submission(
        driver, slack, user="U0ADA", callback_id="team_settings", metadata=settings[0], values=leaders
    )
    assert result.status == 200 and not result.body, result.text
    wait_until(lambda: leaders_of_rockets(db) == ["U0BEN"])
    assert "Saved" in okr(driver, slack, "digest settings hour=7", user="U0BEN").text
    with db.read() as session:
        workspace = session.get(Workspace, team_row(db, "Rockets").workspace_id)
        assert (workspace.digest_weekday, workspace.digest_hour) == (1, 7)
    answered = replies_to(slack, "U0ADA")
    forge_click(driver, slack, user="U0ADA", channel="C0ROCKET", action_id="reset_start", value=f"{world.team_id}:1")
    assert "has started" in next_reply(slack, "U0ADA", answered)
    forge_click(
        driver, slack, user="U0ADA", channel="C0ROCKET", action_id="reset_close_scoring", value=str(world.cycle_id)
    )
    wait_until(lambda: cycle_of(db, "Rockets").closed_at is not None)


# 4. two workspaces in one database ----------------------------------------------------------------------------------

FIRST, SECOND = "T0SANDBOX", "T0SECOND"
DEV = "U0DEV"  # an admin of the second workspace, facilitator of its teams Platform and Infra
# what only the first workspace knows: every text it holds carries "Zeta", and these are its people
FIRST_SECRETS = re.compile(r"zeta|U0ADA|U0BEN|U0CLEO", flags=re.IGNORECASE)
# names of the first workspace's teams and channels: the second may type them, and be answered about what it typed
FIRST_NAMES = ("Rockets", "Growth", "C0ROCKET", "C0GROWTH")
REPLY_METHODS = frozenset(
    {"response_url", "views.open", "views.update", "views.push", "views.publish", "chat.postEphemeral"}
)


def install(base_url: str, slack: FakeSlack, team_id: str) -> str:
    """The browser side of an OAuth install: the install page, Slack's consent, the redirect back."""
    with urllib.request.urlopen(base_url + INSTALL_PATH) as response:
        page = response.read().decode()
        cookie = response.headers["Set-Cookie"].split(";")[0]  # Secure: a browser on https sends it back
    authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page).group(1).replace("&amp;", "&")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)["state"][0]
    redirect = f"{base_url}{REDIRECT_PATH}?code={slack.new_oauth_code(team_id)}&state={state}"
    with urllib.request.urlopen(urllib.request.Request(redirect, headers={"Cookie": cookie})) as response:
        return response.read().decode()


@pytest.fixture
def two_workspaces(slack, db, database_url):
    """The bot installed through OAuth in the sandbox workspace and in a second one, serving both from `db`."""
    settings = sandbox_settings(
        slack, database_url, slack_bot_token=None, slack_client_id="111.222", slack_client_secret="client-secret"
    )
    slack.add_workspace(SECOND, "Second", "xoxb-second-0000", bot_user_id="U0BOT2", bot_id="B0BOT2")
    slack.add_user(DEV, "dev", real_name="Dev Admin", is_admin=True, team_id=SECOND)
    for channel, name in (("C0PLATFORM", "platform"), ("C0INFRA", "infra"), ("C0SPARE", "spare")):
        slack.add_channel(channel, name, members=(DEV,), team_id=SECOND)
    running, stop = serve_bot(settings, db)
    for team_id in (FIRST, SECOND):
        assert "Thank you" in install(running.url, slack, team_id)
    yield SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    stop()


@dataclass
class FirstWorkspace:
    """The ids of what the first workspace holds, as its buttons and forms carry them."""

    workspace_id: int
    rockets: int
    growth: int
    objective: int  # Rockets' O1
    krs: list[int]
    growth_objective: int
    cycle: int  # Rockets' cycle 1, running
    closed: int  # Growth's cycle 1, closed by hand, with its retro in #team-growth
    retro_ts: str
    ripple: int
    draft: int
    draft_version: int
    round_ts: list[str]
    created_ts: str


def first_workspace(driver: SlackDriver, slack: FakeSlack, db: Database) -> FirstWorkspace:
    """Rockets (Ada, Ben) and Growth (Ben) with committed OKRs (Rockets' O1 revised once), a backlog, a check-in,
    an open triage, a vision statement, ripple R1 from Rockets to Growth, a shared draft, and Growth's cycle 1
    closed by hand with its retro; every text in it says "Zeta"."""
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    created_ts = slack.messages("C0ROCKET")[-1]["ts"]
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    objective = commit(
        db,
        "Rockets",
        title="Zeta onboarding feels effortless",
        key_results=[
            {"metric": "Zeta activation rate", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
            {
                "metric": "Zeta minutes to first value",
                "unit": "min",
                "baseline": 30,
                "target": 10,
                "direction": "decrease",
                "owner": "U0CLEO",
            },
        ],
    )
    growth_objective = commit(
        db,
        "Growth",
        title="Zeta funnel converts",
        author="U0BEN",
        key_results=[
            {"metric": "Zeta weekly sign-ups", "baseline": 100, "target": 200, "owner": "U0BEN"},
            {"metric": "Zeta trial conversion", "unit": "%", "baseline": 5, "target": 9, "owner": "U0BEN"},
        ],
    )
    krs = kr_ids(db, objective)
    revised, _ = forge_submission(
        driver,
        slack,
        user="U0ADA",
        callback_id="okr_change",
        metadata={"kind": "revise_objective", "id": objective},
        values=objective_values(title="Zeta onboarding feels easy", reason="Zeta: sharper"),
    )
    assert revised.status == 200 and not revised.body, revised.text
    add_backlog(db, "Zeta shorter sign-up form", "Zeta dark mode", "Zeta audit log")
    add_backlog(db, "Zeta referral programme", team_name="Growth")
    with db.transaction() as session:
        kr = session.get(KeyResult, krs[0])
        session.add(
            CheckIn(
                workspace_id=kr.workspace_id,
                key_result_id=kr.id,
                week_start=datetime.now(UTC).date(),
                value=24,
                confidence=7,
                note="Zeta check-in note",
                author_user_id="U0BEN",
                created_at=datetime.now(UTC),
            )
        )
        kr.current, kr.confidence = 24, 7
    assert "Zeta" in okr(driver, slack, "vision add Zeta: every team ships weekly").text
    declared = okr(driver, slack, "ripple <#C0GROWTH|team-growth> 1.1 Zeta: twice the sign-ups reach them")
    assert "Declared" in declared.text, declared.text
    assert "started" in okr(driver, slack, "triage start").text.lower()
    posted = posted_round(db)
    closed = close_cycle_by_hand(driver, slack, db, team="Growth", user="U0BEN", channel="C0GROWTH")
    draft = shared_draft(db, "Rockets", author="U0BEN", title="Zeta next quarter")
    wait_until(lambda: objective_title(db, objective) == "Zeta onboarding feels easy")
    rockets, growth = team_row(db, "Rockets"), team_row(db, "Growth")
    with db.read() as session:
        ripple = session.scalars(select(Ripple.id).where(Ripple.workspace_id == rockets.workspace_id)).one()
        version = draft_rules.load_draft(session, workspace_id=rockets.workspace_id, draft_id=draft)[0].version
    return FirstWorkspace(
        rockets.workspace_id,
        rockets.id,
        growth.id,
        objective,
        krs,
        growth_objective,
        cycle_of(db, "Rockets").id,
        closed.id,
        closed.retro_ts,
        ripple,
        draft,
        version,
        [ballot.ts for ballot in posted.items],
        created_ts,
    )


def close_cycle_by_hand(driver, slack, db, *, team: str, user: str, channel: str) -> Cycle:
    """A facilitator's `/okr reset`, confirmed, then scoring closed from `/okr reset` again: cycle 1 closes and its
    retro is posted."""
    for action_id, done in (
        ("reset_start", lambda c: c.reset_started_at),
        ("reset_close_scoring", lambda c: c.retro_ts),
    ):
        okr(driver, slack, "reset", user=user, channel=channel)
        # the reply comes through the command's response_url, possibly after the previous click's own reply

        def offered(action_id: str = action_id) -> dict | None:
            shown = [e for e in slack.ephemerals if e["user"] == user and action_id in json.dumps(e["blocks"])]
            return shown[-1] if shown else None

        message = wait_until(offered)
        assert driver.click(user=user, action_id=action_id, channel=channel, ts=message["ts"]).status == 200
        wait_until(lambda done=done: done(cycle_of(db, team)))
    return cycle_of(db, team)


def second_workspace(driver: SlackDriver, slack: FakeSlack, db: Database) -> None:
    """Platform (in #platform) and Infra (in #infra), both Dev's, Platform with OKRs and an inbox of its own."""
    create_team(driver, slack, "Platform", user=DEV, channel="C0PLATFORM")
    create_team(driver, slack, "Infra", user=DEV, channel="C0INFRA")
    commit(
        db,
        "Platform",
        title="Platform stays up",
        author=DEV,
        key_results=[
            {"metric": "Platform uptime", "unit": "%", "baseline": 99, "target": 99.9, "owner": DEV},
            {"metric": "Platform deploys per week", "baseline": 2, "target": 10, "owner": DEV},
        ],
    )
    add_backlog(db, "Platform runbook", "Platform status page", team_name="Platform", user=DEV)


# every sub-command of /okr, with arguments naming the first workspace's things, as the second workspace types them
COMMAND_PROBES: dict[str, list[str]] = {
    "help": ["help", "help ripple"],
    "team create": ["team create Rockets"],  # in a team's channel: refused; a new team's name is tried last
    "team join": ["team join Rockets", "team join Growth", "team join"],
    "team leave": ["team leave Rockets"],
    "team settings": ["team settings Rockets", "team settings", "team settings timezone=Asia/Tokyo"],
    "vision": ["vision", "vision archive 1", "vision add Our own direction"],
    "draft": ["draft", "draft Take over their onboarding"],
    "list": ["list", "list Rockets", "status Growth"],
    "history": ["history", "history 1"],
    "export": ["export", "export 1"],
    "away": ["away", "away today", "away tomorrow", "away off"],
    "dashboard": ["dashboard", "dashboard off", "dashboard on"],
    "checkin": ["checkin"],
    "backlog": [
        "backlog",
        "backlog 1.1",
        "backlog inbox",
        "backlog notnow",
        "backlog done 3",
        "backlog restore 2",
        "backlog add Copy their roadmap",
        "backlog import",
    ],
    "idea": ["idea Copy their dark mode 1.1"],
    "triage": ["triage start", "triage close"],
    "sprint": ["sprint start", "sprint close 3"],
    "reset": ["reset"],
    "ripple": [
        "ripple",
        "ripple list",
        "ripple list all",
        "ripple resolve R1",
        "ripple withdraw 1",
        "ripple affects <#C0GROWTH|team-growth> 1.1 We need their numbers",
        "ripple depends <#C0ROCKET|team-rocket> 1.1 their 1.2 We need their numbers",
    ],
    # last: from here on the second workspace's digest goes to the first workspace's channel id
    "digest": [
        "digest",
        "digest post",
        "digest settings",
        "digest settings channel=<#C0ROCKET|team-rocket> day=monday",
    ],
}


def option(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def select_value(value: str) -> dict:
    return {"value": {"type": "static_select", "selected_option": option(value)}}


def draft_in_view(a: FirstWorkspace) -> dict:
    """The first workspace's shared draft, as the drafting modal would carry it."""
    return forged_view_for(DEV, callback_id="draft_key_results", metadata={"d": a.draft, "v": a.draft_version})


def forged_view_for(user: str, *, callback_id: str, metadata: dict) -> dict:
    return {
        "id": "V0FORGEDDRAFT",
        "type": "modal",
        "callback_id": callback_id,
        "hash": "1.x",
        "private_metadata": json.dumps(metadata),
        "state": {"values": {}},
        "blocks": [],
    }


@dataclass(frozen=True)
class Forged:
    """A button, form, event or shortcut as the second workspace could send it, carrying the first's ids.

    `id` is what the bot's listener matches (action_id, callback_id, event type, shortcut callback_id); `build`
    gives the click's arguments, the form's (metadata, values), the event, or the shortcut's (channel, ts)."""

    kind: str
    id: str
    build: Callable[[FirstWorkspace], Any]
    replies: bool = True


# commands run again for the team picked from the team picker: the button carries the team's id
PICKED = [
    "list",
    "team join",
    "team settings timezone=Asia/Tokyo",
    "backlog add Copy their roadmap",
    "triage close",
    "reset",
    "ripple resolve R1",
    "export 1",
    "draft",
]
RIPPLE_FORM = {
    "key_result": select_value("1.1"),
    "kind": select_value("affects"),
    "channel": {"value": {"type": "conversations_select", "selected_conversation": "C0GROWTH"}},
    "note": text_value("We need their numbers"),
}
FORGED: list[Forged] = [
    *[
        Forged(
            "action",
            "choose_team:1",
            lambda a, text=text: {
                "action_id": f"choose_team:{a.rockets}",
                "value": json.dumps({"team_id": a.rockets, "text": text}),
            },
        )
        for text in PICKED
    ],
    Forged(
        "action",
        "choose_team:1",
        lambda a: {
            "action_id": f"choose_team:{a.growth}",
            "value": json.dumps({"team_id": a.growth, "text": "ripple list"}),
        },
    ),
    Forged("action", "okr_menu", lambda a: {"selected_option": option(f"revise_objective:{a.objective}")}),
    Forged("action", "okr_menu", lambda a: {"selected_option": option(f"drop_objective:{a.objective}")}),
    Forged("action", "okr_menu", lambda a: {"selected_option": option(f"revise_kr:{a.krs[0]}")}),
    Forged("action", "okr_menu", lambda a: {"selected_option": option(f"drop_kr:{a.krs[1]}")}),
    Forged("action", "checkin_open", lambda a: {"value": str(a.krs[0])}),
    Forged("action", "checkin_no_change", lambda a: {"value": str(a.rockets)}),
    Forged("action", "draft_goto", lambda a: {"value": "objective", "view": draft_in_view(a)}),
    Forged("action", "draft_kr_add", lambda a: {"view": draft_in_view(a)}),
    Forged("action", "draft_kr_edit:0", lambda a: {"view": draft_in_view(a)}),
    Forged("action", "draft_kr_remove:0", lambda a: {"view": draft_in_view(a)}),
    Forged("action", "draft_commit", lambda a: {"value": str(a.draft)}),
    Forged("action", "draft_edit", lambda a: {"value": str(a.draft)}),
    Forged("action", "draft_discard", lambda a: {"value": str(a.draft)}),
    Forged("action", "draft_resume", lambda a: {"value": str(a.draft)}),
    Forged("action", "reset_start", lambda a: {"value": f"{a.rockets}:1"}),
    Forged("action", "reset_cancel", lambda a: {"value": "cancel"}, replies=False),  # it only deletes the message
    Forged("action", "reset_close_scoring", lambda a: {"value": str(a.cycle)}),
    Forged("action", "final_scores_open", lambda a: {"value": str(a.cycle)}),
    Forged("action", "retro_answer_open", lambda a: {"value": str(a.closed)}),
    Forged("action", "carry_forward_open", lambda a: {"value": str(a.closed)}),
    Forged("action", "cycle_draft", lambda a: {"value": str(a.rockets)}),
    Forged("action", "ripple_ack", lambda a: {"value": str(a.ripple)}),
    Forged("action", "ripple_reply_open", lambda a: {"value": str(a.ripple)}),
    Forged(
        "view_submission",
        "team_settings",
        lambda a: ({"team_id": a.rockets, "channel_id": "C0ROCKET"}, {"timezone": text_value("Asia/Tokyo")}),
    ),
    Forged(
        "view_submission",
        "okr_change",
        lambda a: ({"kind": "revise_objective", "id": a.objective}, objective_values(title="Taken over")),
    ),
    Forged(
        "view_submission",
        "okr_change",
        lambda a: ({"kind": "drop_objective", "id": a.objective}, {"reason": text_value("Taken over")}),
    ),
    Forged(
        "view_submission",
        "okr_change",
        lambda a: (
            {"kind": "revise_kr", "id": a.krs[0]},
            key_result_values(metric="Taken over", baseline="1", target="2"),
        ),
    ),
    Forged(
        "view_submission",
        "okr_change",
        lambda a: ({"kind": "drop_kr", "id": a.krs[1]}, {"reason": text_value("Taken over")}),
    ),
    Forged(
        "view_submission",
        "draft_objective",
        lambda a: ({"d": a.draft, "v": a.draft_version}, {"title": text_value("Taken over")}),
    ),
    Forged("view_submission", "draft_key_results", lambda a: ({"d": a.draft, "v": a.draft_version}, {})),
    Forged(
        "view_submission",
        "draft_key_result",
        lambda a: (
            {"d": a.draft, "v": a.draft_version, "i": 0, "p": 0},
            {"metric": text_value("Taken over"), "baseline": text_value("1"), "target": text_value("2")},
        ),
    ),
    Forged("view_submission", "draft_review", lambda a: ({"d": a.draft, "v": a.draft_version}, {})),
    Forged("view_submission", "checkin", lambda a: ({"kr": a.krs[0]}, checkin_values("99"))),
    Forged("view_submission", "final_scores", lambda a: ({"cycle": a.cycle}, {f"score:{a.krs[0]}": text_value("1")})),
    Forged("view_submission", "retro_answer", lambda a: ({"cycle": a.closed}, {"prompt:1": text_value("Taken over")})),
    Forged(
        "view_submission",
        "carry_forward",
        lambda a: (
            {"cycle": a.closed},
            {f"objective:{a.growth_objective}": {"value": {"type": "checkboxes", "selected_options": [option("all")]}}},
        ),
    ),
    Forged(
        "view_submission", "ripple_declare", lambda a: ({"team_id": a.rockets, "channel_id": "C0ROCKET"}, RIPPLE_FORM)
    ),
    Forged("view_submission", "ripple_reply", lambda a: (str(a.ripple), {"reply": text_value("Taken over")})),
    Forged(
        "view_closed",
        "draft_objective",
        lambda a: ({"d": a.draft, "v": a.draft_version}, {"title": text_value("Taken over")}),
        replies=False,
    ),
    Forged(
        "view_closed",
        "draft_key_result",
        lambda a: ({"d": a.draft, "v": a.draft_version, "i": 0, "p": 1}, {"metric": text_value("Taken over")}),
        replies=False,
    ),
    Forged(
        "event",
        "reaction_added",
        lambda a: reaction_event("reaction_added", DEV, "C0ROCKET", a.round_ts[0], HELPS),
        replies=False,
    ),
    Forged(
        "event",
        "reaction_added",
        lambda a: reaction_event("reaction_added", DEV, "C0ROCKET", a.round_ts[1], "one"),
        replies=False,
    ),
    Forged(
        "event",
        "reaction_removed",
        lambda a: reaction_event("reaction_removed", DEV, "C0ROCKET", a.round_ts[0], HELPS),
        replies=False,
    ),
    Forged(
        "event",
        "message",
        lambda a: {
            "type": "message",
            "channel": "C0GROWTH",
            "user": DEV,
            "text": "2. Taken over",
            "ts": "1799999999.000100",
            "thread_ts": a.retro_ts,
        },
        replies=False,
    ),
    Forged(
        "event",
        "app_home_opened",
        lambda a: {"type": "app_home_opened", "user": DEV, "tab": "home", "channel": "D0SECOND"},
    ),
    # a profile change told by the second workspace, about someone of the first: the first's people stay as they are
    Forged(
        "event",
        "user_change",
        lambda a: {
            "type": "user_change",
            "user": {
                "id": "U0BEN",
                "tz": "Pacific/Kiritimati",
                "deleted": True,
                "profile": {"status_text": "Taken over", "status_emoji": ":palm_tree:"},
            },
        },
        replies=False,
    ),
    Forged("shortcut", "add_to_backlog", lambda a: ("C0ROCKET", a.created_ts)),
    # last: the second workspace goes away, and the first stays installed
    Forged(
        "event",
        "tokens_revoked",
        lambda a: {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADA"], "bot": ["U0BOT"]}},
        replies=False,
    ),
    Forged("event", "app_uninstalled", lambda a: {"type": "app_uninstalled"}, replies=False),
]


def quiet(slack: FakeSlack, *, still: float = 0.3, timeout: float = 5.0) -> None:
    """Wait until the bot has made no Slack call for `still` seconds."""
    deadline, count, since = time.monotonic() + timeout, len(slack.calls), time.monotonic()
    while time.monotonic() - since < still:
        assert time.monotonic() < deadline, "the bot kept calling Slack"
        time.sleep(0.05)
        if len(slack.calls) != count:
            count, since = len(slack.calls), time.monotonic()


def is_reply(call: ApiCall) -> bool:
    """Something the second workspace's person reads (a response_url that only deletes the original is not)."""
    if call.team_id != SECOND or call.method not in REPLY_METHODS:
        return False
    return call.method != "response_url" or bool(call.args.get("text") or call.args.get("blocks"))


class Boundary:
    """Sends the second workspace's requests and checks, for each, what it was shown and what it touched."""

    def __init__(self, driver: SlackDriver, slack: FakeSlack, first: FirstWorkspace) -> None:
        self.driver, self.slack, self.first = driver, slack, first
        self.start = len(slack.calls)

    def probe(self, label: str, send: Callable[[], tuple[HttpResult, str]], *, replies: bool = True) -> str:
        """Run one request; `send` returns the answer and everything the request itself carried."""
        calls, uploads = len(self.slack.calls), len(self.slack.uploads)
        result, carried = send()
        assert result.status == 200, (label, result.status, result.text[:300])
        if replies and not result.body:
            wait_until(lambda: any(is_reply(c) for c in self.slack.calls[calls:]))
        new = self.slack.calls[calls:]
        elsewhere = [c.describe() for c in new if c.team_id != SECOND]
        assert not elsewhere, f"[{label}] the bot called Slack outside the second workspace: {elsewhere}"
        seen = "\n".join(
            [
                result.text,
                *(json.dumps(c.args, ensure_ascii=False, default=str) for c in new),
                *(bytes(u["content"] or b"").decode("utf-8", "replace") for u in self.slack.uploads[uploads:]),
            ]
        )
        leaked = FIRST_SECRETS.findall(seen)
        assert not leaked, f"[{label}] shown to the second workspace: {leaked} in {seen[:1500]}"
        for name in FIRST_NAMES:  # a name is only said back to whoever typed it
            if name.casefold() in seen.casefold():
                assert name.casefold() in carried.casefold(), f"[{label}] {name!r} shown unasked: {seen[:1500]}"
        return seen

    def command(self, text: str, channel: str) -> str:
        def send() -> tuple[HttpResult, str]:
            return self.driver.command(text, user=DEV, channel=channel), f"{text} {channel}"

        return self.probe(f"/okr {text} in {channel}", send)

    def forged(self, forged: Forged) -> str:
        built = forged.build(self.first)

        def send() -> tuple[HttpResult, str]:
            if forged.kind == "action":
                kwargs = {"action_id": forged.id, **built}
                result, payload = forge_click(self.driver, self.slack, user=DEV, channel="C0PLATFORM", **kwargs)
                return result, json.dumps(payload)
            if forged.kind in ("view_submission", "view_closed"):
                metadata, values = built
                result, payload = forge_submission(
                    self.driver,
                    self.slack,
                    user=DEV,
                    callback_id=forged.id,
                    metadata=metadata,
                    values=values,
                    kind=forged.kind,
                )
                return result, json.dumps(payload)
            if forged.kind == "event":
                return self.driver.event(built, team_id=SECOND), json.dumps(built)
            channel, ts = built
            message = self.slack.message(channel, ts)
            result = self.driver.message_shortcut(forged.id, user=DEV, channel=channel, ts=ts)
            return result, json.dumps(message) + channel

        return self.probe(f"{forged.kind} {forged.id}", send, replies=forged.replies)

    def nothing_seen(self) -> None:
        """Everything the second workspace was shown since the probes began, late answers included."""
        seen = [json.dumps(c.args, ensure_ascii=False, default=str) for c in self.slack.calls[self.start :]]
        assert all(c.team_id == SECOND for c in self.slack.calls[self.start :])
        leaked = FIRST_SECRETS.findall("\n".join(seen))
        assert not leaked, leaked


def uninstalled(db: Database, slack_team_id: str) -> int | None:
    """The workspace's id once it is marked uninstalled and its installation is gone."""
    with db.read() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack_team_id)).one()
        installed = session.scalar(select(installations.c.id).where(installations.c.team_id == slack_team_id))
    return workspace.id if workspace.uninstalled_at is not None and installed is None else None


def rows_pointing_across(db: Database, *, source: int, target: int) -> list[str]:
    """Rows of workspace `source` whose foreign keys name a row of workspace `target`."""
    tables = [t for t in Base.metadata.sorted_tables if "workspace_id" in t.c]
    found = []
    with db.read() as session:
        ids = {
            t.name: set(session.scalars(select(t.c.id).where(t.c.workspace_id == target)))
            for t in tables
            if "id" in t.c
        }
        for table in tables:
            for column in table.c:
                for key in column.foreign_keys:
                    theirs = ids.get(key.column.table.name)
                    if key.column.name != "id" or not theirs:
                        continue
                    query = select(column).where(table.c.workspace_id == source, column.in_(theirs))
                    found += [f"{table.name}.{column.name}={value}" for value in session.scalars(query)]
    return found


def test_a_second_workspace_sees_and_changes_nothing_of_the_first_whatever_it_sends(two_workspaces, slack, db):
    driver = two_workspaces
    first = first_workspace(driver, slack, db)
    second_workspace(driver, slack, db)
    quiet(slack)  # the triage's posts are out
    with db.transaction() as session:  # someone the first workspace's bot writes to: a user_change probe names him
        ensure_person(
            session, workspace_id=first.workspace_id, user_id="U0BEN", now=datetime.now(UTC)
        ).timezone = "America/New_York"
    before = fingerprint(db, workspace_id=first.workspace_id, slack_team_id=FIRST)
    votes = stored_votes(db)
    boundary = Boundary(driver, slack, first)

    for texts in COMMAND_PROBES.values():
        for text in texts:
            boundary.command(text, "C0PLATFORM")
    # typed in the first workspace's channel, shared with the second: the channel is no team of the second's
    for text in ("team join", "team settings", "list", "backlog", "draft", "ripple list"):
        boundary.command(text, "C0ROCKET")
    for text in (t for texts in COMMAND_PROBES.values() for t in texts if "<#" in t):
        boundary.command(text, "C0ROCKET")
    lifecycle = [f for f in FORGED if f.id in ("tokens_revoked", "app_uninstalled")]
    for forged in FORGED:
        if forged not in lifecycle:
            boundary.forged(forged)

    # the second workspace's own team in the shared channel, and a team of the same name as the first's, are its own
    created = boundary.command("team create Moonshot", "C0ROCKET")
    assert "created the team *Moonshot*" in created, created
    created = boundary.command("team create Rockets", "C0SPARE")
    assert "created the team *Rockets*" in created, created
    assert "Zeta" not in boundary.command("list Rockets", "C0PLATFORM")
    for forged in lifecycle:
        boundary.forged(forged)

    second = wait_until(lambda: uninstalled(db, SECOND))  # the second workspace's own uninstall did happen
    stays(lambda: fingerprint(db, workspace_id=first.workspace_id, slack_team_id=FIRST) == before, duration=0.5)
    boundary.nothing_seen()
    assert rows_pointing_across(db, source=second, target=first.workspace_id) == []
    assert stored_votes(db) == votes

    # the control: the same forged payloads, sent from the first workspace by its members, are served
    result, _ = forge_click(
        driver, slack, user="U0BEN", channel="C0GROWTH", action_id="ripple_ack", value=str(first.ripple)
    )
    assert result.status == 200
    result, _ = forge_submission(
        driver,
        slack,
        user="U0ADA",
        callback_id="okr_change",
        metadata={"kind": "revise_objective", "id": first.objective},
        values=objective_values(title="Zeta onboarding, revised"),
    )
    assert result.status == 200 and not result.body, result.text

    reply = {
        "type": "message",
        "channel": "C0GROWTH",
        "user": "U0BEN",
        "text": "2. Zeta: stop guessing",
        "ts": "1799999999.000200",
        "thread_ts": first.retro_ts,
    }
    assert driver.event(reply).status == 200

    def served() -> bool:
        with db.read() as session:
            ripple = session.get(Ripple, first.ripple)
            title = session.get(Objective, first.objective).title
            answers = list(session.scalars(select(RetroAnswer.user_id).where(RetroAnswer.cycle_id == first.closed)))
        return ripple.state is RippleState.ACKNOWLEDGED and title == "Zeta onboarding, revised" and answers == ["U0BEN"]

    wait_until(served)
    assert FIRST_SECRETS.search(okr(driver, slack, "list").text)  # what the first workspace sees, the check sees


# the probe lists stay complete ----------------------------------------------------------------------------------------


def test_the_cross_workspace_probes_try_every_sub_command_and_every_keyword_of_its_usage():
    for route, texts in COMMAND_PROBES.items():
        assert {parse(text).name for text in texts} == {route}, route
    missing = (set(ROUTES) | {c.name for c in CATALOGUE}) - set(COMMAND_PROBES)
    assert not missing, f"/okr sub-commands no cross-workspace probe tries: {sorted(missing)}"
    for command in CATALOGUE:
        usage = command.usage.removeprefix(f"/okr {command.name}")
        usage = re.sub(r"\S*=\S*", " ", re.sub(r'"[^"]*"', " ", usage))  # settings and examples, not keywords
        keywords = set(re.findall(r"(?<![\w#-])[a-z]+(?![\w-])", usage))
        tried = {word.casefold() for text in COMMAND_PROBES[command.name] for word in re.findall(r"[\w-]+", text)}
        assert keywords <= tried, f"`{command.usage}`: no probe says {sorted(keywords - tried)}"


class ListenerCatalogue:
    """Stands in for Bolt's App while `handlers.register` runs, writing down what the bot listens to."""

    installation_store = None

    def __init__(self) -> None:
        self.listeners: list[tuple[str, Any]] = []

    def _listen(self, kind: str, constraint: Any) -> Callable:
        self.listeners.append((kind, constraint))
        return lambda listener: listener

    def action(self, constraint: Any) -> Callable:
        return self._listen("action", constraint)

    def view_submission(self, constraint: Any) -> Callable:
        return self._listen("view_submission", constraint)

    def view_closed(self, constraint: Any) -> Callable:
        return self._listen("view_closed", constraint)

    def event(self, constraint: Any, middleware: Any = None) -> Callable:
        return self._listen("event", constraint)

    def shortcut(self, constraint: Any) -> Callable:
        return self._listen("shortcut", constraint)

    def options(self, constraint: Any) -> Callable:
        return self._listen("options", constraint)

    def command(self, constraint: Any) -> Callable:
        return self._listen("command", constraint)

    def use(self, middleware: Callable) -> None:
        pass

    def error(self, handler: Callable) -> None:
        pass


def test_the_cross_workspace_probes_reach_every_button_form_event_and_shortcut_the_bot_listens_to():
    catalogue = ListenerCatalogue()
    handlers.register(catalogue, db=None, fallbacks=Fallbacks(notices=None))
    assert ("command", "/okr") in catalogue.listeners and len(catalogue.listeners) > 40

    def reached(kind: str, constraint: Any) -> bool:
        if constraint is unknown.ANYTHING:  # the listeners of last resort: they answer "out of date", write nothing
            return True
        if kind == "command":
            return constraint == "/okr" and bool(COMMAND_PROBES)
        matches = constraint.search if isinstance(constraint, re.Pattern) else constraint.__eq__
        return any(forged.kind == kind and matches(forged.id) for forged in FORGED)

    missing = [(kind, getattr(c, "pattern", c)) for kind, c in catalogue.listeners if not reached(kind, c)]
    assert not missing, f"listeners no cross-workspace probe reaches: {missing}"
