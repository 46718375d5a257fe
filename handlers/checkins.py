"""Weekly check-ins: `/okr checkin`, the DM's buttons, and the check-in modal.

The weekly DM itself is sent by the sweep (bot/sweep.py); here people answer it. Whether they answer in
the DM or in `/okr checkin`'s reply, the message they clicked is redrawn to show what is done. The bot finds
that message itself (its record of the DMs it sent, or the reply's response_url kept when the form opened):
a form's metadata only names ids it looks up again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot.commands import ParsedCommand, lookup
from bot.errors import NotFound, OkrError, UsageError
from bot.numbers import format_number
from bot.render import render_message, render_view
from bot.rituals.checkins import (
    NOTE_LENGTH,
    OwnerWeek,
    check_in_unchanged,
    clicked_dm,
    live_key_result,
    owner_weeks,
    parse_checkin,
    record_checkin,
    require_checker,
    sent_dm,
)
from bot.slack import Delivery, deliver
from handlers.context import Context
from handlers.errors import form_answer, message_for, replying_errors
from handlers.forms import form_fields, tell_if_not_opened
from handlers.middleware import now
from handlers.payload import mapping, row_id
from handlers.payload import metadata as form_metadata
from handlers.replies import ephemeral
from storage.models import SendClaim, Team
from storage.origins import keep_origin, take_origin

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


def route(parsed: ParsedCommand, ctx: Context) -> None:
    """`/okr checkin`: the weekly check-in on demand, for every team whose key results you own."""
    if parsed.args.strip():
        raise UsageError("`/okr checkin` takes nothing after it.", usage=lookup("checkin").usage)
    with ctx.read() as session:
        weeks = owner_weeks(session, workspace_id=ctx.workspace_id, user_id=ctx.user_id, now=now())
    if not weeks:
        raise NotFound(
            "You don't own a key result in any team's current cycle, so there is nothing to check in. "
            "Key results get owners when they are drafted (`/okr draft`) or revised from `/okr list`."
        )
    ctx.reply(**ephemeral("checkin_dm.j2", **fit_weeks(weeks).template()))


ROUTES = {"checkin": route}


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
        return {
            "weeks": self.weeks,
            "away_note": None,
            "caps": self.caps,
            "more": self.more,
            "more_teams": self.more_teams,
        }


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


def on_open(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """Open the modal at once: the trigger works for 3 seconds only."""
    ack()
    container = mapping(body, "container")
    try:
        user_id, key_result_id = ctx.user_id, _id(action.get("value"))
        with ctx.read() as session:
            kr, objective, team = live_key_result(
                session, workspace_id=ctx.workspace_id, key_result_id=key_result_id, now=now()
            )
            require_checker(session, key_result=kr, team=team, user_id=user_id)
            dm = None
            if container.get("type") == "message" and not container.get("is_ephemeral"):
                dm = clicked_dm(
                    session,
                    team=team,
                    user_id=user_id,
                    channel_id=container.get("channel_id"),
                    message_ts=container.get("message_ts"),
                    now=now(),
                )
        shown = kr.current if kr.current is not None else kr.baseline
        view = render_view(
            "checkin_modal.j2",
            kr=kr,
            objective=objective,
            team=team,
            value=format_number(shown) if shown is not None else "",
            confidence=kr.confidence,
            note_length=NOTE_LENGTH,
            # ids the bot looks up again, never a place to write to: the submission redraws the DM this names
            # only if it is the submitter's own (`sent_dm`)
            metadata=json.dumps({"kr": kr.id, **({"dm": dm.id} if dm is not None else {})}),
        )
    except Exception as error:  # the refusal must reach the person, not Bolt
        if ctx.respond is not None:
            ctx.respond(replace_original=False, **message_for(error))
        return
    opened = deliver(ctx.client.views_open, trigger_id=ctx.trigger_id, view=view)
    tell_if_not_opened(opened, body=body, respond=ctx.respond)
    if opened.ok and container.get("is_ephemeral"):
        _keep_reply(ctx, body, opened)


def _keep_reply(ctx: Context, body: dict[str, Any], opened: Delivery) -> None:
    """A form opened from `/okr checkin`'s reply redraws that reply once it is saved, so the person sees at once
    what is done and is not offered "Check in" again for it (a fresh reply beside the old one would leave the old
    buttons live). An ephemeral message changes only through the response_url Slack gave with a click on it, and a
    form's submission brings none: the one that came with this click is kept by the bot, under the id Slack gave
    the form, for the 30 minutes Slack honours it. It never goes into the form's metadata."""
    view_id = ((opened.response or {}).get("view") or {}).get("id")
    response_url = body.get("response_url")
    if not isinstance(view_id, str) or not isinstance(response_url, str):
        return
    try:
        with ctx.transaction() as session:
            keep_origin(
                session,
                workspace_id=ctx.workspace_id,
                view_id=view_id,
                user_id=ctx.user_id,
                response_url=response_url,
                now=now(),
            )
    except SQLAlchemyError as error:  # the form is open and saves either way; only the reply's redraw is lost
        log.warning("could not keep where a check-in form was opened from", extra={"error": type(error).__name__})


def _id(raw: object) -> int:
    return row_id(raw, stale=STALE)


# answering ------------------------------------------------------------------------------------------------


def on_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    """Check and save before the modal closes, so a refusal is shown in it; then redraw the message it came from."""
    workspace_id = ctx.workspace_id
    fields = form_fields(view)
    try:
        user_id, metadata = ctx.user_id, form_metadata(view, stale=STALE)
        key_result_id = _id(metadata.get("kr"))
        answer = parse_checkin(fields.get("value"), fields.get("confidence"), fields.get("note"))
        with ctx.transaction() as session:  # record_checkin requires the owner or a facilitator
            recorded = record_checkin(
                session,
                workspace_id=workspace_id,
                key_result_id=key_result_id,
                user_id=user_id,
                answer=answer,
                now=now(),
            )
    except OkrError as error:  # a field's mistake under it, any other refusal in place of the form
        ack(**form_answer(error, view, title="Check in"))
        return
    ack()
    # Where the form came from is found by the bot, never taken from the metadata: the reply kept when the form
    # was opened (this person's, under this form's id), or the check-in DM the metadata names if it is this
    # person's own DM in the key result's team. Anything else is not redrawn.
    view_id, dm_id = view.get("id"), metadata.get("dm")
    try:
        with ctx.transaction() as session:
            response_url = None
            if isinstance(view_id, str):
                response_url = take_origin(
                    session, workspace_id=workspace_id, view_id=view_id, user_id=user_id, now=now()
                )
            dm = None
            if response_url is None and type(dm_id) is int and 0 < dm_id < 2**31:
                dm = sent_dm(session, workspace_id=workspace_id, claim_id=dm_id, team=recorded.team, user_id=user_id)
    except SQLAlchemyError as error:  # the check-in is saved; only the redraw is lost
        log.warning("could not find the check-in message to redraw", extra={"error": type(error).__name__})
        return
    target = Redraw(response_url=response_url) if response_url else Redraw.dm(dm)
    _redraw(ctx, target, team=recorded.team)


def on_no_change(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """Check in every key result of the team that has no check-in this week, at its current value and confidence."""
    ack()
    container = mapping(body, "container")
    with replying_errors(ctx.respond):
        user_id, team_id = ctx.user_id, _id(action.get("value"))
        with ctx.transaction() as session:
            week, missing = check_in_unchanged(
                session, workspace_id=ctx.workspace_id, user_id=user_id, team_id=team_id, now=now()
            )
        if container.get("is_ephemeral"):  # `/okr checkin`'s reply, through the response_url of this very click
            target = Redraw(response_url=body.get("response_url"))
        else:  # a check-in DM: the one the bot sent this person for this team, if that is what was clicked
            with ctx.read() as session:
                dm = clicked_dm(
                    session,
                    team=week.team,
                    user_id=user_id,
                    channel_id=container.get("channel_id"),
                    message_ts=container.get("message_ts"),
                    now=now(),
                )
            target = Redraw.dm(dm)
        _redraw(ctx, target, team=week.team)
        if missing and ctx.respond is not None:
            asked = [i for i in week.key_results if i.status.key_result.id not in week.this_week]
            others = len(asked) > len(missing)  # some were checked in as unchanged
            ctx.respond(replace_original=False, **ephemeral("checkin_needs_value.j2", missing=missing, others=others))


@dataclass(frozen=True)
class Redraw:
    """The message to show again: `/okr checkin`'s reply (a response_url Slack gave with a request about it), or a
    check-in DM (from the bot's own record of it). Neither: nothing is redrawn."""

    response_url: str | None = None
    channel: str | None = None
    ts: str | None = None

    @classmethod
    def dm(cls, claim: SendClaim | None) -> Redraw:
        return cls() if claim is None else cls(channel=claim.channel_id, ts=claim.message_ts)


def _redraw(ctx: Context, target: Redraw, *, team: Team) -> None:
    """Show the message again with what is now done. A message that cannot be redrawn is only logged: the
    check-in itself is saved."""
    if not target.response_url and not (target.channel and target.ts):
        return
    workspace_id, user_id = ctx.workspace_id, ctx.user_id
    with ctx.read() as session:
        if target.response_url:  # `/okr checkin`'s reply: every team of the person who asked
            weeks = owner_weeks(session, workspace_id=workspace_id, user_id=user_id, now=now())
        else:  # their DM of one team
            weeks = owner_weeks(session, workspace_id=workspace_id, user_id=user_id, now=now(), team_id=team.id)
    if not weeks:
        return
    message = render_message("checkin_dm.j2", **fit_weeks(weeks).template())
    if target.response_url:
        try:
            answer = WebhookClient(target.response_url).send(replace_original=True, **message)
        except OSError as error:
            log.warning("could not redraw the check-in reply", extra={"error": type(error).__name__})
            return
        if answer.status_code != 200:
            log.warning("could not redraw the check-in reply", extra={"status": answer.status_code})
    else:
        deliver(ctx.client.chat_update, channel=target.channel, ts=target.ts, **message)
