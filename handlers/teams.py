"""Routes for `/okr team create|join|leave|settings`."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy.orm import Session

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.errors import OkrError, UsageError
from bot.render import render_message, render_view
from bot.rituals import teams as rituals
from bot.rituals.access import Need
from bot.rituals.people import away_words
from bot.rituals.reset import anchor_shown, calendar_in_use
from bot.rituals.team_settings import KEYS, apply_settings, leaders_of, parse_settings_text
from bot.slack import deliver, once_only
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral, in_channel
from storage.models import Membership, Role, Team

SETTINGS_CALLBACK = "team_settings"


def create(parsed: ParsedCommand, ctx: Context) -> None:
    if not parsed.args:
        raise UsageError("Give the team a name.", usage=lookup("team create").usage)
    with ctx.transaction() as session:
        moment = now()
        team = rituals.create_team(
            session,
            workspace_id=ctx.workspace_id,
            name=parsed.args,
            channel_id=ctx.channel_id,
            user_id=ctx.user_id,
            today=moment.date(),
            now=moment,
        )
    # the bot has to be in the channel to see triage reactions; private channels need an /invite
    joined = deliver(ctx.client.conversations_join, channel=ctx.channel_id)
    ctx.reply(**in_channel("team_created.j2", team=team, user_id=ctx.user_id, bot_in_channel=joined.ok))


def join(parsed: ParsedCommand, ctx: Context) -> None:
    moment = now()
    with ctx.transaction() as session:
        team = _team_to_join(session, ctx, name=parsed.args)
        member = rituals.join_team(session, team=team, user_id=ctx.user_id, now=moment)
    facilitator = member.role is Role.FACILITATOR
    message = {"team": team, "user_id": ctx.user_id, "facilitator": facilitator}
    if ctx.channel_id == team.channel_id:
        ctx.reply(**in_channel("team_joined.j2", **message))
        return
    # joined from elsewhere: the team hears it in its own channel (once per membership), the person gets a
    # confirmation
    delivery.announce(
        once_only(ctx.client),
        cause=f"team_joined:{member.id}:{moment.timestamp():.6f}",
        channel=team.channel_id,
        message=render_message("team_joined.j2", **message),
        now=moment,
    )
    ctx.reply(**ephemeral("team_joined.j2", **message))


def leave(parsed: ParsedCommand, ctx: Context) -> None:
    with ctx.transaction() as session:
        team = ctx.team(session, need=None, name=parsed.args or None)  # leave_team requires a member, under its lock
        rituals.leave_team(session, team=team, user_id=ctx.user_id, now=now())
    ctx.reply(**ephemeral("team_left.j2", team=team))


def settings(parsed: ParsedCommand, ctx: Context) -> None:
    """Typed `key=value` pairs are applied at once; otherwise the settings modal opens."""
    typed = "=" in parsed.args or parsed.args.lower() in KEYS
    if typed:
        change = parse_settings_text(parsed.args)
        with ctx.transaction() as session:
            team = ctx.team(session, need=Need.FACILITATOR)
            changed = apply_settings(session, team=team, change=change, user_id=ctx.user_id, now=now())
        ctx.reply(response_type="in_channel", **settings_saved(team, user_id=ctx.user_id, changed=changed))
        return
    with ctx.read() as session:  # the trigger_id dies 3 s after the command: read, then open at once
        team = ctx.team(session, need=Need.FACILITATOR, name=parsed.args or None)
        view = settings_modal(
            team,
            rituals.members_of(session, team=team),
            leaders_of(session, team=team),
            channel_id=ctx.channel_id,
            anchor=anchor_shown(session, team=team, now=now()),
            in_use=calendar_in_use(session, team=team),
        )
    opened = deliver(ctx.client.views_open, trigger_id=ctx.trigger_id, view=view)
    if not opened.ok:
        # a trigger works once and for 3 seconds; Slack may also be having a moment
        raise OkrError(f"Slack would not open the settings form ({opened.error}). Please run the command again.")


ROUTES = {"team create": create, "team join": join, "team leave": leave, "team settings": settings}


def settings_modal(
    team: Team, members: list[Membership], leaders: list[str], *, channel_id: str, anchor: date, in_use: bool
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


def _team_to_join(session: Session, ctx: Context, *, name: str) -> Team:
    """Joining needs a definite team: the one named, or this channel's; never a guess. Anyone may join."""
    if name or ctx.team_id is not None:
        return ctx.team(session, need=None, name=name or None)
    team = rituals.team_for_channel(session, workspace_id=ctx.workspace_id, channel_id=ctx.channel_id)
    if team is None:
        raise UsageError("This channel has no team. Name the team you want to join.", usage=lookup("team join").usage)
    return team
