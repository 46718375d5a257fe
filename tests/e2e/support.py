"""Steps shared by the end-to-end tests: type a command and read the answer, count rows, poll the database.

A slash command is answered one of two ways: in the HTTP ack (help, parse errors, "coming soon") or,
after an empty ack, through the response_url from the bot's background thread. `okr()` hides the
difference and returns what the person would see, waiting for the answer without sleeping.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from bot.sandbox import FakeSlack, HttpResult, SlackDriver
from bot.sandbox.payloads import base_interaction, user_of
from storage.base import Base
from storage.db import Database
from storage.slack_tables import slack_metadata
from tests.helpers import flatten

STACK_TRACE_MARKERS = ("Traceback", 'File "', "Error:", "Exception")


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    via: str  # "ack" or "response_url"

    @property
    def text(self) -> str:
        """What the person reads: Slack shows `&lt;` `&gt;` `&amp;` as the characters they escape."""
        return shown(self.body)

    @property
    def ephemeral(self) -> bool:
        return self.body.get("response_type") != "in_channel"


def shown(message: dict[str, Any]) -> str:
    return flatten(message).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def okr(driver: SlackDriver, slack: FakeSlack, text: str, *, user: str = "U0ADA", channel: str = "C0ROCKET") -> Reply:
    """Type `/okr text` and return the first thing the bot answers."""
    before = len(slack.responses)
    result = driver.command(text, user=user, channel=channel)
    assert result.status == 200, f"/okr {text[:60]!r} got HTTP {result.status}: {result.text[:300]}"
    body = result.json if isinstance(result.json, dict) else None
    if body and (body.get("text") or body.get("blocks")):
        return Reply(body, "ack")
    response = slack.wait_for_response(count=before + 1)
    return Reply(response["body"], "response_url")


def assert_clean_error(reply: Reply, *needles: str, case: str = "") -> None:
    """An ephemeral answer naming the problem, never a stack trace (`case` labels a failure in a loop)."""
    where = f"[{case}] " if case else ""
    assert reply.ephemeral, f"{where}not ephemeral: {reply.body}"
    for needle in needles:
        assert needle.casefold() in reply.text.casefold(), f"{where}{needle!r} not in {reply.text!r}"
    for marker in STACK_TRACE_MARKERS:
        assert marker not in reply.text, f"{where}{reply.text}"
    assert "went wrong on the bot's side" not in reply.text, f"{where}{reply.text}"


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table the bot owns, OAuth stores included."""
    tables = [*Base.metadata.sorted_tables, *slack_metadata.sorted_tables]
    with db.transaction() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in tables}


def install(driver: SlackDriver, slack: FakeSlack) -> None:
    """One harmless request, so the workspace row exists before a test counts rows."""
    okr(driver, slack, "help")


def create_team(
    driver: SlackDriver, slack: FakeSlack, name: str, *, user: str = "U0ADA", channel: str = "C0ROCKET"
) -> Reply:
    reply = okr(driver, slack, f"team create {name}", user=user, channel=channel)
    assert f"created the team *{unicodedata.normalize('NFC', name)}*" in reply.text, reply.text
    return reply


def join_team(driver: SlackDriver, slack: FakeSlack, *, user: str, channel: str) -> Reply:
    reply = okr(driver, slack, "team join", user=user, channel=channel)
    assert "joined the team" in reply.text, reply.text
    return reply


def wait_until(
    check: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.02, what: str | None = None
) -> Any:
    """Poll `check` until it returns something truthy (for effects with no Slack call to wait on); `what` names it
    in the failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(interval)


def stays(check: Callable[[], Any], *, duration: float = 0.4, interval: float = 0.02) -> None:
    """Assert `check` holds for `duration` (for "nothing more happens" after a background listener)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert check(), f"condition stopped holding: {check}"
        time.sleep(interval)


def open_settings(driver: SlackDriver, slack: FakeSlack, *, user: str = "U0ADA", channel: str = "C0ROCKET") -> dict:
    """`/okr team settings` with no values: the modal the bot opened, as Slack returned it to the bot."""
    opened = len(slack.calls_to("views.open"))
    result = driver.command("team settings", user=user, channel=channel)
    assert result.status == 200 and not result.body, result.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    return call.response["view"]


def modal_values(
    *,
    timezone: str = "UTC",
    weekday: int = 0,
    hour: int = 10,
    digest: str | None = None,
    cycle_start: str = "2027-01-04",
    max_objectives: int = 3,
    facilitators: tuple[str, ...] = ("U0ADA",),
    leaders: tuple[str, ...] = (),
) -> dict:
    """`state.values` as Slack builds them from the settings modal's elements."""

    def option(value: int) -> dict:
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}

    return {
        "timezone": {"value": {"type": "plain_text_input", "value": timezone}},
        "checkin_weekday": {"value": {"type": "static_select", "selected_option": option(weekday)}},
        "checkin_hour": {"value": {"type": "static_select", "selected_option": option(hour)}},
        "digest_channel_id": {"value": {"type": "conversations_select", "selected_conversation": digest}},
        "cycle_anchor": {"value": {"type": "datepicker", "selected_date": cycle_start}},
        "max_objectives": {"value": {"type": "static_select", "selected_option": option(max_objectives)}},
        "facilitators": {"value": {"type": "multi_users_select", "selected_users": list(facilitators)}},
        "leaders": {"value": {"type": "multi_users_select", "selected_users": list(leaders)}},
    }


def name_leaders(
    driver: SlackDriver, slack: FakeSlack, *leaders: str, user: str = "U0ADA", channel: str = "C0ROCKET"
) -> None:
    """A facilitator names the team's leaders in the settings modal and saves it."""
    view = open_settings(driver, slack, user=user, channel=channel)
    posted = len(slack.calls_to("chat.postMessage"))
    result = driver.submit_view(view["id"], user=user, values=modal_values(facilitators=(user,), leaders=leaders))
    assert result.status == 200 and not result.body, result.text
    slack.wait_for("chat.postMessage", count=posted + 1)


def command_form(slack: FakeSlack, text: str, *, user: str = "U0ADA", channel: str = "C0ROCKET") -> dict[str, str]:
    """The form fields Slack POSTs for `/okr text`, for tests that build the request bytes themselves."""
    workspace = slack.workspace()
    return {
        "token": "sandbox-verification-token",
        "team_id": workspace.team_id,
        "team_domain": workspace.domain,
        "channel_id": channel,
        "channel_name": (slack.channel(channel) or {}).get("name", "directmessage"),
        "user_id": user,
        "user_name": slack.user(user)["name"],
        "command": "/okr",
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": slack.new_response_url(channel, user),
        "trigger_id": slack.new_trigger_id(user),
    }


def encode_form(fields: dict[str, str]) -> bytes:
    """URL-encode like Slack, letting a lone surrogate through as the bytes it would be (surrogatepass)."""
    return urlencode(fields, errors="surrogatepass").encode("ascii")


def submit_with_metadata(
    driver: SlackDriver, slack: FakeSlack, view_id: str, *, user: str, values: dict, metadata: Any
) -> HttpResult:
    """Submit the modal `view_id` that `user` has open, its `private_metadata` replaced by `metadata`: what a
    sender able to edit the hidden metadata would send (Slack lets nobody do so; the bot must not count on it)."""
    slack.set_view_state(view_id, values)
    view = {
        **slack.view_payload(view_id),
        "private_metadata": metadata if isinstance(metadata, str) else json.dumps(metadata),
    }
    profile = slack.user(user)
    ws = slack.workspace(profile["team_id"])
    payload = base_interaction("view_submission", ws, user_of(profile, user, ws), slack.new_trigger_id(user))
    payload.update(view=view, response_urls=[])
    body = encode_form({"payload": json.dumps(payload)})
    return driver.send_raw(body, {"Content-Type": "application/x-www-form-urlencoded", **driver.sign(body)})


# what a bot process logged (JSON lines on stderr) ----------------------------------------------------------------


def log_records(err: str, message: str | None = None) -> list[dict[str, Any]]:
    """The JSON log records in a process's stderr (those with `message`, when given); other lines are skipped."""
    records = []
    for line in err.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and (message is None or record.get("message") == message):
            records.append(record)
    return records


def logged_errors(err: str) -> list[str]:
    """The error lines a process logged, as `logger: message` (a clean stop leaves none)."""
    errors = [r for r in log_records(err) if r.get("level") in ("error", "critical")]
    return [f"{r.get('logger')}: {r.get('message')}" for r in errors]
