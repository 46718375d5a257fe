"""`/okr digest`: a preview only the caller sees, `post` to post it now, and `settings` for where and when the
weekly digest goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.delivery.digests import digest_messages
from bot.errors import NotAllowed, UsageError
from bot.rituals import digest as rules
from bot.slack import Delivery, join_channel, once_only
from handlers.middleware import now
from handlers.replies import ephemeral
from handlers.vision import is_workspace_admin
from storage.db import Database
from storage.models import Workspace

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

PREVIEW_MESSAGES = 4  # a response_url takes five replies; the last says what was left out


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    action, _, rest = parsed.args.partition(" ")
    action = action.lower()
    if action in ("", "preview"):
        _preview(request, db=db, respond=respond)
    elif action == "post":
        _post(request, db=db, respond=respond, client=client)
    elif action == "settings":
        _settings(rest.strip(), request, db=db, respond=respond, client=client)
    else:
        raise UsageError(f"`digest {action[:30]}` is not a command.", usage=lookup("digest").usage)


def _window():
    until = now()
    return until - rules.WEEK, until


def _preview(request: CommandRequest, *, db: Database, respond: Respond) -> None:
    since, until = _window()
    with db.read() as session:
        zone = session.get(Workspace, request.workspace_id).digest_timezone
    built = digest_messages(db, workspace_id=request.workspace_id, since=since, until=until, preview=True, zone=zone)
    for message in built.messages[:PREVIEW_MESSAGES]:
        respond(response_type="ephemeral", **message)
    left = len(built.messages) - PREVIEW_MESSAGES
    if left > 0:
        respond(**ephemeral("digest_preview_more.j2", left=left))


def _post(request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    admin = is_workspace_admin(client, request.user_id)
    with db.read() as session:
        allowed = rules.may_post_digest(
            session, workspace_id=request.workspace_id, user_id=request.user_id, is_workspace_admin=admin
        )
        workspace = session.get(Workspace, request.workspace_id)
    if not allowed:
        raise NotAllowed("Workspace admins, leaders and team facilitators can post the digest; anyone can preview it.")
    channel = workspace.digest_channel_id or request.channel_id
    since, until = _window()
    built = digest_messages(
        db, workspace_id=request.workspace_id, since=since, until=until, zone=workspace.digest_timezone
    )
    # each part once per command: a 5xx is not posted again blindly, the channel is read back first
    poster = once_only(client)
    cause = f"digest_post:{request.workspace_id}:{until.timestamp():.6f}"
    for number, message in enumerate(built.messages, start=1):
        posted = _joining(
            client,
            channel,
            lambda number=number, message=message: delivery.announce(
                poster,
                cause=f"{cause}:{number}",
                channel=channel,
                message=message,
                now=until,
            ),
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
    respond(**ephemeral("digest_posted.j2", channel_id=channel, parts=len(built.messages)))


def _joining(client: WebClient, channel: str, send: Callable[[], Delivery]) -> Delivery:
    """Send, and if the bot is not in the (public) channel, join it and send again."""
    sent = send()
    if not sent.ok and sent.error == "not_in_channel" and join_channel(client, channel):
        sent = send()
    return sent


def _settings(text: str, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    if not text:
        with db.read() as session:
            workspace = session.get(Workspace, request.workspace_id)
            channels = rules.digest_channels(session, workspace=workspace)
        respond(**ephemeral("digest_settings.j2", workspace=workspace, channels=channels, saved=False))
        return
    values = rules.parse_digest_settings(text)
    admin = is_workspace_admin(client, request.user_id)
    with db.transaction() as session:
        workspace = session.get(Workspace, request.workspace_id)
        rules.apply_digest_settings(
            session, workspace=workspace, values=values, user_id=request.user_id, is_workspace_admin=admin, now=now()
        )
        channels = rules.digest_channels(session, workspace=workspace)
    respond(**ephemeral("digest_settings.j2", workspace=workspace, channels=channels, saved=True))


def _legacy(route):  # the route's old signature, until it takes the context
    return lambda parsed, ctx: route(parsed, ctx, db=ctx.db, respond=ctx.respond, client=ctx.client)


ROUTES = {"digest": _legacy(route)}
