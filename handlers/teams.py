"""Routes for `/okr team create|join|leave|settings`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.errors import OkrError, UsageError
from bot.render import render_message, render_view
from bot.rituals import teams as rituals
from bot.rituals.people import away_words
from bot.rituals.reset import anchor_shown, calendar_in_use
from bot.rituals.team_settings import KEYS, apply_settings, leaders_of, parse_settings_text
from bot.slack import deliver, once_only
from handlers.middleware import now
from handlers.replies import ephemeral, in_channel
from storage.db import Database
from storage.models import Membership, Role, Team

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

SETTINGS_CALLBACK = "team_settings"


def create(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    if not parsed.args:
        raise UsageError("Give the team a name.", usage=lookup("team create").usage)
    with db.transaction() as session:
        moment = now()
        team = rituals.create_team(
            session,
            workspace_id=request.workspace_id,
            name=parsed.args,
            channel_id=request.channel_id,
            user_id=request.user_id,
            today=moment.date(),
            now=moment,
        )
    # the bot has to be in the channel to see triage reactions; private channels need an /invite
    joined = deliver(client.conversations_join, channel=request.channel_id)
    respond(**in_channel("team_created.j2", team=team, user_id=request.user_id, bot_in_channel=joined.ok))


def join(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    moment = now()
    with db.transaction() as session:
        team = _team_to_join(session, request=request, name=parsed.args)
        member = rituals.join_team(session, team=team, user_id=request.user_id, now=moment)
    facilitator = member.role is Role.FACILITATOR
    message = {"team": team, "user_id": request.user_id, "facilitator": facilitator}
    if request.channel_id == team.channel_id:
        respond(**in_channel("team_joined.j2", **message))
        return
    # joined from elsewhere: the team hears it in its own channel (once per membership), the person gets a
    # confirmation
    delivery.announce(
        once_only(client),
        cause=f"team_joined:{member.id}:{moment.timestamp():.6f}",
        channel=team.channel_id,
        message=render_message("team_joined.j2", **message),
        now=moment,
    )
    respond(**ephemeral("team_joined.j2", **message))


def leave(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    with db.transaction() as session:
        team = _resolve(session, request, name=parsed.args or None)
        rituals.leave_team(session, team=team, user_id=request.user_id, now=now())
    respond(**ephemeral("team_left.j2", team=team))


def settings(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    """Typed `key=value` pairs are applied at once; otherwise the settings modal opens."""
    typed = "=" in parsed.args or parsed.args.lower() in KEYS
    if typed:
        change = parse_settings_text(parsed.args)
        with db.transaction() as session:
            team = _resolve(session, request, name=None)
            rituals.require_facilitator(session, team=team, user_id=request.user_id)
            changed = apply_settings(session, team=team, change=change, user_id=request.user_id, now=now())
        respond(response_type="in_channel", **settings_saved(team, user_id=request.user_id, changed=changed))
        return
    with db.read() as session:  # the trigger_id dies 3 s after the command: read, then open at once
        team = _resolve(session, request, name=parsed.args or None)
        rituals.require_facilitator(session, team=team, user_id=request.user_id)
        view = settings_modal(
            team,
            rituals.members_of(session, team=team),
            leaders_of(session, team=team),
            channel_id=request.channel_id,
            anchor=anchor_shown(session, team=team, now=now()),
            in_use=calendar_in_use(session, team=team),
        )
    opened = deliver(client.views_open, trigger_id=request.trigger_id, view=view)
    if not opened.ok:
        # a trigger works once and for 3 seconds; Slack may also be having a moment
        raise OkrError(f"Slack would not open the settings form ({opened.error}). Please run the command again.")


def settings_modal(
    team: Team, members: list[Membership], leaders: list[str], *, channel_id: str, anchor, in_use: bool
) -> dict:
    return render_view(
        "team_settings_modal.j2",
        team=team,
        anchor=anchor,
        anchor_in_use=in_use,
        facilitators=[m.user_id for m in members if m.role is Role.FACILITATOR],
        leaders=leaders,
        away_words=", ".join(away_words(team)),
        metadata=json.dumps({"team_id": team.id, "channel_id": channel_id}),
        callback_id=SETTINGS_CALLBACK,
    )


def settings_saved(team: Team, *, user_id: str, changed: list[str]) -> dict:
    """The team's settings after a change, as the team channel sees them."""
    words = away_words(team)
    return render_message("team_settings_saved.j2", team=team, user_id=user_id, changed=changed, away_words=words)


def _resolve(session, request: CommandRequest, *, name: str | None) -> Team:
    return rituals.resolve_team(
        session,
        workspace_id=request.workspace_id,
        channel_id=request.channel_id,
        user_id=request.user_id,
        name=name,
        team_id=request.team_id,
    )


def _team_to_join(session, *, request: CommandRequest, name: str) -> Team:
    """Joining needs a definite team: the one named, or this channel's; never a guess."""
    if name or request.team_id is not None:
        return _resolve(session, request, name=name or None)
    team = rituals.team_for_channel(session, workspace_id=request.workspace_id, channel_id=request.channel_id)
    if team is None:
        raise UsageError("This channel has no team. Name the team you want to join.", usage=lookup("team join").usage)
    return team


def _legacy(route):  # the route's old signature, until it takes the context
    return lambda parsed, ctx: route(parsed, ctx, db=ctx.db, respond=ctx.respond, client=ctx.client)


ROUTES = {
    "team create": _legacy(create),
    "team join": _legacy(join),
    "team leave": _legacy(leave),
    "team settings": _legacy(settings),
}
