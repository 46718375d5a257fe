"""`/okr ripple`: declare how a key result touches another team (form or one line), list, resolve, withdraw;
and the notice's buttons in the other team's channel: acknowledge, reply in thread."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.delivery.digests import News
from bot.errors import InvalidFields, OkrError, UsageError
from bot.render import render_message, render_view
from bot.rituals import ripples
from bot.rituals.access import Need
from bot.slack import deliver, once_only
from bot.text import clean
from handlers import payload
from handlers.context import Context
from handlers.errors import replying_errors
from handlers.forms import STALE, checked, form_fields, number_of, open_form
from handlers.middleware import now
from handlers.replies import ephemeral, ephemeral_in, error_reply
from storage.models import Ripple, RippleKind

log = logging.getLogger(__name__)
REPLY_LIMIT = 1000
SAVED_NOT_TOLD = (
    "Your ripple is saved, but the other team could not be told just now; the bot tries again within a few "
    "minutes. `/okr ripple list` shows it."
)
_KIND_VALUES = {kind.value: kind for kind in RippleKind}


def register(app: App) -> None:
    app.view_submission("ripple_declare")(on_declared)
    app.action("ripple_ack")(on_acknowledge)
    app.action("ripple_reply_open")(on_open_reply)
    app.view_submission("ripple_reply")(on_reply)


def route(parsed: ParsedCommand, ctx: Context) -> None:
    action, _, rest = parsed.args.partition(" ")
    usage = lookup("ripple").usage
    if not action:
        _open_declare_form(ctx)
    elif action.lower() == "list":
        if rest.strip().lower() not in ("", "all"):
            raise UsageError("`/okr ripple list` takes only `all` after it.", usage=usage)
        with ctx.read() as session:
            team = ctx.team(session, need=None)  # anyone may read a team's ripples
            found, total = ripples.team_ripples(session, team=team, everything=bool(rest.strip()))
        ctx.reply(**ephemeral("ripple_list.j2", team=team, lines=found, total=total, everything=bool(rest.strip())))
    elif action.lower() in ("resolve", "withdraw"):
        number = ripples.parse_number(rest, usage=f"/okr ripple {action.lower()} NUMBER")
        with ctx.transaction() as session:  # close requires a member of either team (to withdraw, the declaring one)
            ripple = ripples.close(
                session,
                workspace_id=ctx.workspace_id,
                number=number,
                user_id=ctx.user_id,
                withdraw=action.lower() == "withdraw",
                now=now(),
            )
            line = ripples.line_of(session, ripple)
        ctx.reply(response_type="in_channel", **render_message("ripple_closed.j2", line=line, user_id=ctx.user_id))
        _news(ctx).redraw_notice(line)
    else:
        typed = ripples.parse_ripple_text(parsed.args)
        with ctx.transaction() as session:
            team = ctx.team(session, need=None)  # declare requires a member of the declaring team
            try:
                ripple = ripples.declare(
                    session,
                    team=team,
                    user_id=ctx.user_id,
                    kind=typed.kind,
                    key_result=typed.key_result,
                    to_channel_id=typed.channel_id,
                    their_key_result=typed.their_key_result,
                    note=typed.note,
                    now=now(),
                )
            except InvalidFields as error:  # typed on one line: the problems, one per line
                raise UsageError("\n".join(error.fields.values()), usage=usage) from None
            ripple_id = ripple.id
        _announce(ctx, ripple_id, ctx.reply)


ROUTES = {"ripple": route}


def _news(ctx: Context) -> News:
    return News(ctx.db, lambda _workspace: ctx.client)


def _open_declare_form(ctx: Context) -> None:
    with ctx.read() as session:  # the trigger works for 3 seconds: read, then open at once
        team = ctx.team(session, need=Need.MEMBER)
        options = ripples.key_result_options(session, team=team, now=now())
    if not options:
        raise UsageError(
            f"*{team.name}* has no live key results this cycle. A ripple starts from one of them: commit OKRs with "
            "`/okr draft` first."
        )
    metadata = json.dumps({"team_id": team.id})
    view = render_view("ripple_modal.j2", team=team, options=options, metadata=metadata, note_limit=ripples.NOTE_LIMIT)
    opened = deliver(ctx.client.views_open, trigger_id=ctx.trigger_id, view=view)
    if not opened.ok:
        raise OkrError(f"Slack would not open the form ({opened.error}). Please run `/okr ripple` again.")


def on_declared(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    def save() -> tuple[int, str]:
        user_id, metadata = ctx.user_id, payload.metadata(view, stale=STALE)
        fields = form_fields(view)
        kind = _KIND_VALUES.get(fields.get("kind") or "affects")
        key_result, channel = fields.get("key_result"), fields.get("channel")
        missing = {
            block: message
            for block, message, absent in (
                ("key_result", "Pick one of your key results.", not key_result),
                ("kind", "Say whether it affects the other team or depends on it.", kind is None),
                ("channel", "Pick the other team's channel.", not channel),
            )
            if absent
        }
        if missing or kind is None or not key_result or not channel:  # (each of these is named in `missing`)
            raise InvalidFields(missing)
        with ctx.transaction() as session:
            team_id = number_of(metadata.get("team_id"))
            team = ctx.team(session, need=None, team_id=team_id)  # declare requires a member of the declaring team
            ripple = ripples.declare(
                session,
                team=team,
                user_id=user_id,
                kind=kind,
                key_result=key_result,
                to_channel_id=channel,
                their_key_result=(fields.get("their_key_result") or "").strip(),
                note=fields.get("note") or "",
                now=now(),
            )
            return ripple.id, team.channel_id

    saved = checked(ack, "Declare a ripple", save)
    if saved is None:
        return
    ack()
    ripple_id, team_channel = saved  # the confirmation goes to the declaring team's channel, never one the form names
    _announce(ctx, ripple_id, ephemeral_in(ctx.client, channel=team_channel, user=ctx.user_id))


def _announce(ctx: Context, ripple_id: int, reply: Callable[..., Any]) -> None:
    """Tell the other team (once, claimed), then the person who declared it how that went."""
    try:
        news = _news(ctx)
        news.notice(ripple_id, now())
        told, error = news.notice_outcome(ripple_id)
        with ctx.read() as session:
            line = ripples.line_of(session, session.get_one(Ripple, ripple_id))
    except Exception:  # the ripple is saved, and the sweep will tell the other team: say so, not "nothing saved"
        log.exception("could not announce a ripple", extra={"ripple": ripple_id})
        reply(**error_reply(OkrError(SAVED_NOT_TOLD)))
        return
    reply(**ephemeral("ripple_declared.j2", line=line, told=told, error=error))


def on_acknowledge(ack: Ack, action: dict[str, Any], ctx: Context) -> None:
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        with ctx.transaction() as session:  # acknowledge requires a member of the team the ripple touches
            ripple_id = number_of(action.get("value"))
            ripple = ripples.acknowledge(
                session, workspace_id=ctx.workspace_id, ripple_id=ripple_id, user_id=user_id, now=now()
            )
            line = ripples.line_of(session, ripple)
        _news(ctx).redraw_notice(line)


def on_open_reply(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()

    def build() -> dict:
        with ctx.read() as session:  # reply_line requires a member of either team
            line = ripples.reply_line(
                session,
                workspace_id=ctx.workspace_id,
                ripple_id=number_of(action.get("value")),
                user_id=ctx.user_id,
            )
        return render_view("ripple_reply_modal.j2", line=line, limit=REPLY_LIMIT)

    open_form(body, ctx.respond, ctx.client, "Reply", build)


def on_reply(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    """The reply goes in the notice's thread and to the declaring team's channel; nothing is stored but the posts.
    Members of either team reply (`ripples.reply_line`), checked again here as the form may outlive a membership."""

    def check():
        with ctx.read() as session:  # the form names only the ripple: where the reply goes comes from its row
            line = ripples.reply_line(
                session,
                workspace_id=ctx.workspace_id,
                ripple_id=number_of(view.get("private_metadata")),
                user_id=ctx.user_id,
            )
        text = form_fields(view).get("reply") or ""
        try:
            text = clean(text, what="The reply", max_length=REPLY_LIMIT, multiline=True)
        except UsageError as error:
            raise InvalidFields({"reply": error.message}) from None
        return line, text

    answer = checked(ack, "Reply", check)
    if answer is None:
        return
    ack()
    line, text = answer
    user_id = ctx.user_id
    message = render_message("ripple_reply.j2", line=line, user_id=user_id, text=text)
    ripple, moment = line.ripple, now()
    poster = once_only(ctx.client)
    reply = f"{ripple.id}:{user_id}:{moment.timestamp():.6f}"  # once per form sent, in each of the two places
    if ripple.notice_channel_id and ripple.notice_ts:
        delivery.announce(
            poster,
            cause=f"ripple_reply:{reply}",
            channel=ripple.notice_channel_id,
            message=message,
            now=moment,
            thread_ts=ripple.notice_ts,
        )
    sent = delivery.announce(
        poster, cause=f"ripple_reply_told:{reply}", channel=line.from_team.channel_id, message=message, now=moment
    )
    if not sent.ok:
        log.warning("could not tell the declaring team about a reply", extra={"error": sent.error})
