"""`/okr vision`: list, add and archive the leaders' vision statements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.commands import ParsedCommand, lookup
from bot.errors import UsageError
from bot.rituals import vision as rituals
from bot.slack import deliver
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.db import Database

if TYPE_CHECKING:
    from handlers.commands import CommandRequest


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    action, _, rest = parsed.args.partition(" ")
    action = action.lower()
    if action in ("", "list"):
        with db.read() as session:
            statements = rituals.list_visions(session, workspace_id=request.workspace_id)
        respond(**ephemeral("vision_list.j2", statements=statements))
    elif action == "add":
        admin = is_workspace_admin(client, request.user_id)
        with db.transaction() as session:
            statement = rituals.publish_vision(
                session,
                workspace_id=request.workspace_id,
                user_id=request.user_id,
                text=rest,
                is_workspace_admin=admin,
                now=now(),
            )
        respond(**ephemeral("vision_published.j2", statement=statement))
    elif action == "archive":
        admin = is_workspace_admin(client, request.user_id)
        with db.transaction() as session:
            statement = rituals.archive_vision(
                session,
                workspace_id=request.workspace_id,
                number_text=rest,
                user_id=request.user_id,
                is_workspace_admin=admin,
                now=now(),
            )
        respond(**ephemeral("vision_archived.j2", statement=statement))
    else:
        raise UsageError(f"`vision {action[:30]}` is not a command.", usage=lookup("vision").usage)


def is_workspace_admin(client: WebClient, user_id: str) -> bool:
    """Slack decides who administers the workspace; if Slack cannot say, assume not."""
    delivery = deliver(client.users_info, user=user_id)
    user = (delivery.response or {}).get("user", {})
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _legacy(route):  # the route's old signature, until it takes the context
    return lambda parsed, ctx: route(parsed, ctx, db=ctx.db, respond=ctx.respond, client=ctx.client)


ROUTES = {"vision": _legacy(route)}
