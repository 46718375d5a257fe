"""`/okr digest`: a preview only the caller sees, `post` to post it now, and `settings` for where and when the
weekly digest goes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from slack_sdk import WebClient

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.delivery.digests import digest_messages
from bot.errors import UsageError
from bot.rituals import digest as rules
from bot.rituals.access import Need
from bot.slack import Delivery, join_channel, once_only
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.models import Workspace

PREVIEW_MESSAGES = 4  # a response_url takes five replies; the last says what was left out


def route(parsed: ParsedCommand, ctx: Context) -> None:
    action, _, rest = parsed.args.partition(" ")
    action = action.lower()
    if action in ("", "preview"):
        _preview(ctx)
    elif action == "post":
        _post(ctx)
    elif action == "settings":
        _settings(rest.strip(), ctx)
    else:
        raise UsageError(f"`digest {action[:30]}` is not a command.", usage=lookup("digest").usage)


ROUTES = {"digest": route}


def _window() -> tuple[datetime, datetime]:
    until = now()
    return until - rules.WEEK, until


def _preview(ctx: Context) -> None:
    since, until = _window()
    with ctx.read() as session:
        zone = session.get_one(Workspace, ctx.workspace_id).digest_timezone
    built = digest_messages(ctx.db, workspace_id=ctx.workspace_id, since=since, until=until, preview=True, zone=zone)
    for message in built.messages[:PREVIEW_MESSAGES]:
        ctx.reply(response_type="ephemeral", **message)
    left = len(built.messages) - PREVIEW_MESSAGES
    if left > 0:
        ctx.reply(**ephemeral("digest_preview_more.j2", left=left))


def _post(ctx: Context) -> None:
    ctx = ctx.asking_admin()
    with ctx.read() as session:
        ctx.require(session, Need.LEADER_OR_FACILITATOR, doing="post the digest; anyone can preview it")
        workspace = session.get_one(Workspace, ctx.workspace_id)
    channel = workspace.digest_channel_id or ctx.channel_id
    since, until = _window()
    built = digest_messages(
        ctx.db, workspace_id=ctx.workspace_id, since=since, until=until, zone=workspace.digest_timezone
    )
    # each part once per command: a 5xx is not posted again blindly, the channel is read back first
    client = ctx.client
    poster = once_only(client)
    cause = f"digest_post:{ctx.workspace_id}:{until.timestamp():.6f}"
    for number, message in enumerate(built.messages, start=1):
        posted = _joining(
            client,
            channel,
            partial(delivery.announce, poster, cause=f"{cause}:{number}", channel=channel, message=message, now=until),
        )
        if not posted.ok:
            done = f" after {number - 1} of {len(built.messages)} messages" if number > 1 else ""
            raise UsageError(
                f"Slack would not post the digest in <#{channel}> ({posted.error}){done}. Is the bot in it?"
            )
    if built.picture is not None:
        picture = {"content": built.picture, "filename": "ripples.png", "title": "Ripples between teams"}
        _joining(
            client,
            channel,
            lambda: delivery.announce_files(
                poster,
                cause=f"{cause}:picture",
                channel=channel,
                files=[picture],
                now=until,
                comment="The ripple network: teams, and the ripples they declared.",
            ),
        )
    ctx.reply(**ephemeral("digest_posted.j2", channel_id=channel, parts=len(built.messages)))


def _joining(client: WebClient, channel: str, send: Callable[[], Delivery]) -> Delivery:
    """Send, and if the bot is not in the (public) channel, join it and send again."""
    sent = send()
    if not sent.ok and sent.error == "not_in_channel" and join_channel(client, channel):
        sent = send()
    return sent


def _settings(text: str, ctx: Context) -> None:
    if not text:
        with ctx.read() as session:
            workspace = session.get_one(Workspace, ctx.workspace_id)
            channels = rules.digest_channels(session, workspace=workspace)
        ctx.reply(**ephemeral("digest_settings.j2", workspace=workspace, channels=channels, saved=False))
        return
    values = rules.parse_digest_settings(text)
    ctx = ctx.asking_admin()  # apply_digest_settings requires a leader (a workspace admin, or one a team names)
    with ctx.transaction() as session:
        workspace = session.get_one(Workspace, ctx.workspace_id)
        rules.apply_digest_settings(
            session,
            workspace=workspace,
            values=values,
            user_id=ctx.user_id,
            is_workspace_admin=ctx.actor.admin(),
            now=now(),
        )
        channels = rules.digest_channels(session, workspace=workspace)
    ctx.reply(**ephemeral("digest_settings.j2", workspace=workspace, channels=channels, saved=True))
