"""Weekly check-ins: `/okr checkin`, the DM's buttons, and the check-in modal.

The weekly DM itself is sent by the sweep (bot/sweep.py); here people answer it. Whether they answer in
the DM or in `/okr checkin`'s reply, the message they clicked is redrawn to show what is done.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.commands import ParsedCommand, lookup
from bot.errors import InvalidFields, NotFound, OkrError, UsageError
from bot.numbers import format_number
from bot.render import render_message, render_view
from bot.rituals.checkins import (
    NOTE_LENGTH,
    OwnerWeek,
    check_in_unchanged,
    live_key_result,
    owner_weeks,
    parse_checkin,
    record_checkin,
    require_checker,
)
from bot.slack import deliver
from handlers.errors import reply_for, replying_errors
from handlers.forms import form_fields, tell_if_not_opened
from handlers.middleware import now
from handlers.replies import LoggedRespond, ephemeral
from storage.db import Database
from storage.models import Team

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

log = logging.getLogger(__name__)
CALLBACK = "checkin"
OPEN_ACTION = "checkin_open"
NO_CHANGE_ACTION = "checkin_no_change"
STALE = "This check-in form is out of date. Open it again from your check-in message or with `/okr checkin`."
MESSAGE_BLOCKS = 50  # Slack refuses a message with more blocks


def register(app: App) -> None:
    app.action(OPEN_ACTION)(on_open)
    app.action(NO_CHANGE_ACTION)(on_no_change)
    app.view_submission(CALLBACK)(on_submitted)


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    """`/okr checkin`: the weekly check-in on demand, for every team whose key results you own."""
    if parsed.args.strip():
        raise UsageError("`/okr checkin` takes nothing after it.", usage=lookup("checkin").usage)
    with db.read() as session:
        weeks = owner_weeks(session, workspace_id=request.workspace_id, user_id=request.user_id, now=now())
    if not weeks:
        raise NotFound(
            "You don't own a key result in any team's current cycle, so there is nothing to check in. "
            "Key results get owners when they are drafted (`/okr draft`) or revised from `/okr list`."
        )
    respond(**ephemeral("checkin_dm.j2", **fit_weeks(weeks).template()))


@dataclass(frozen=True)
class FittedWeeks:
    """What of someone's check-in weeks one message can hold (checkin_dm.j2 draws it).

    ``caps``: team id → how many of its key results are shown, for the one team shown in part (it gets no
    "No change on all": that button would check in key results the message does not show).
    """

    weeks: list[OwnerWeek]
    caps: dict[int, int] = field(default_factory=dict)
    more: int = 0
    more_teams: list[Team] = field(default_factory=list)

    def template(self) -> dict[str, Any]:
        return {"weeks": self.weeks, "away_note": None, "caps": self.caps, "more": self.more,
                "more_teams": self.more_teams}  # fmt: skip


def _week_blocks(week: OwnerWeek) -> int:
    """A team in checkin_dm.j2: a header, an intro, one section per key result, and "No change on all"."""
    return 2 + len(week.key_results) + (0 if week.done else 1)


def fit_weeks(weeks: list[OwnerWeek]) -> FittedWeeks:
    """Keep whole teams while they fit in Slack's 50 blocks, then as many key results of the next team as fit;
    what is left out is counted for one "…and N more key results" line.

    Two blocks are always kept back: the closing context block, and the room for that line (checkin_dm.j2's own
    safety cap keeps back the same two, so it never cuts what this lets through).
    """
    room = MESSAGE_BLOCKS - 2
    shown: list[OwnerWeek] = []
    caps: dict[int, int] = {}
    left_out: list[OwnerWeek] = []
    for week in weeks:
        if not left_out and _week_blocks(week) <= room:
            shown.append(week)
            room -= _week_blocks(week)
            continue
        if not left_out and room >= 3:  # a header, the intro, and at least one key result
            caps[week.team.id] = min(room - 2, len(week.key_results))
            shown.append(week)
        left_out.append(week)
    counts = [(week.team, len(week.key_results) - caps.get(week.team.id, 0)) for week in left_out]
    return FittedWeeks(shown, caps, sum(count for _, count in counts), [team for team, count in counts if count])


# opening the modal ----------------------------------------------------------------------------------------


def on_open(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient,
    respond: Respond | None = None,
) -> None:  # fmt: skip
    """Open the modal at once: the trigger works for 3 seconds only."""
    ack()
    user_id, db = body["user"]["id"], context["db"]
    try:
        key_result_id = _id(action.get("value"))
        with db.read() as session:
            kr, objective, team = live_key_result(
                session, workspace_id=context["workspace_id"], key_result_id=key_result_id, now=now()
            )
            require_checker(session, key_result=kr, team=team, user_id=user_id)
        shown = kr.current if kr.current is not None else kr.baseline
        view = render_view(
            "checkin_modal.j2",
            kr=kr,
            objective=objective,
            team=team,
            value=format_number(shown) if shown is not None else "",
            confidence=kr.confidence,
            note_length=NOTE_LENGTH,
            metadata=json.dumps({"kr": kr.id, **_source(body)}),
        )
    except Exception as error:  # the refusal must reach the person, not Bolt
        if respond is not None:
            LoggedRespond(respond)(replace_original=False, **reply_for(error))
        return
    opened = deliver(client.views_open, trigger_id=body.get("trigger_id"), view=view)
    tell_if_not_opened(opened, body=body, respond=respond)


def _source(body: dict[str, Any]) -> dict[str, Any]:
    """Where the button was, so the submission can redraw that message."""
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        return {"response_url": body.get("response_url")}
    return {"channel": container.get("channel_id"), "ts": container.get("message_ts")}


def _id(raw: object) -> int:
    text = str(raw or "")
    if not text.isdigit() or len(text) > 18:
        raise OkrError(STALE)
    return int(text)


# answering ------------------------------------------------------------------------------------------------


def on_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Check and save before the modal closes, so a refusal is shown in it; then redraw the message."""
    user_id, db, workspace_id = body["user"]["id"], context["db"], context["workspace_id"]
    fields = form_fields(view)
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
        key_result_id = _id(metadata.get("kr"))
        answer = parse_checkin(fields.get("value"), fields.get("confidence"), fields.get("note"))
        with db.transaction() as session:
            recorded = record_checkin(
                session, workspace_id=workspace_id, key_result_id=key_result_id, user_id=user_id, answer=answer,
                now=now(),
            )  # fmt: skip
    except InvalidFields as error:
        ack(response_action="errors", errors=error.fields)
        return
    except (OkrError, ValueError, TypeError, AttributeError) as error:
        message = error.message if isinstance(error, OkrError) else STALE
        ack(response_action="update", view=render_view("modal_error.j2", title="Check in", message=message))
        return
    ack()
    owner = recorded.key_result.owner_user_id or user_id
    _redraw(db, client, metadata, workspace_id=workspace_id, user_id=user_id, owner=owner, team=recorded.team)


def on_no_change(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient,
    respond: Respond | None = None,
) -> None:  # fmt: skip
    """Check in every key result of the team that has no check-in this week, at its current value and confidence."""
    ack()
    user_id, db, workspace_id = body["user"]["id"], context["db"], context["workspace_id"]
    respond = LoggedRespond(respond) if respond is not None else None
    with replying_errors(respond):
        team_id = _id(action.get("value"))
        with db.transaction() as session:
            week, missing = check_in_unchanged(
                session, workspace_id=workspace_id, user_id=user_id, team_id=team_id, now=now()
            )
        _redraw(db, client, _source(body), workspace_id=workspace_id, user_id=user_id, owner=user_id, team=week.team)
        if missing and respond is not None:
            asked = [i for i in week.key_results if i.status.key_result.id not in week.this_week]
            others = len(asked) > len(missing)  # some were checked in as unchanged
            respond(replace_original=False, **ephemeral("checkin_needs_value.j2", missing=missing, others=others))


def _redraw(db: Database, client: WebClient, source: dict[str, Any], *, workspace_id, user_id, owner, team) -> None:
    """Show the clicked message again with what is now done. A message that cannot be redrawn is only logged:
    the check-in itself is saved."""
    with db.read() as session:
        if source.get("response_url"):  # `/okr checkin`'s reply: every team of the person who asked
            weeks = owner_weeks(session, workspace_id=workspace_id, user_id=user_id, now=now())
        else:
            weeks = owner_weeks(session, workspace_id=workspace_id, user_id=owner, now=now(), team_id=team.id)
    if not weeks:
        return
    message = render_message("checkin_dm.j2", **fit_weeks(weeks).template())
    if source.get("response_url"):
        try:
            answer = WebhookClient(source["response_url"]).send(replace_original=True, **message)
        except OSError as error:
            log.warning("could not redraw the check-in reply", extra={"error": type(error).__name__})
            return
        if answer.status_code != 200:
            log.warning("could not redraw the check-in reply", extra={"status": answer.status_code})
    elif source.get("channel") and source.get("ts"):
        deliver(client.chat_update, channel=source["channel"], ts=source["ts"], **message)
