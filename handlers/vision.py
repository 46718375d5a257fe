"""`/okr vision`: list, add and archive the leaders' vision statements."""

from __future__ import annotations

from bot.commands import ParsedCommand, lookup
from bot.errors import UsageError
from bot.rituals import vision as rituals
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral


def route(parsed: ParsedCommand, ctx: Context) -> None:
    action, _, rest = parsed.args.partition(" ")
    action = action.lower()
    if action in ("", "list"):
        with ctx.read() as session:
            statements = rituals.list_visions(session, workspace_id=ctx.workspace_id)
        ctx.reply(**ephemeral("vision_list.j2", statements=statements))
    elif action == "add":
        ctx = ctx.asking_admin()  # publish_vision requires a leader (a workspace admin, or one a team names)
        with ctx.transaction() as session:
            statement = rituals.publish_vision(
                session,
                workspace_id=ctx.workspace_id,
                user_id=ctx.user_id,
                text=rest,
                is_workspace_admin=ctx.actor.admin(),
                now=now(),
            )
        ctx.reply(**ephemeral("vision_published.j2", statement=statement))
    elif action == "archive":
        ctx = ctx.asking_admin()  # archive_vision requires its author or a workspace admin
        with ctx.transaction() as session:
            statement = rituals.archive_vision(
                session,
                workspace_id=ctx.workspace_id,
                number_text=rest,
                user_id=ctx.user_id,
                is_workspace_admin=ctx.actor.admin(),
                now=now(),
            )
        ctx.reply(**ephemeral("vision_archived.j2", statement=statement))
    else:
        raise UsageError(f"`vision {action[:30]}` is not a command.", usage=lookup("vision").usage)


ROUTES = {"vision": route}
