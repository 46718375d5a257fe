"""`/okr dashboard [on | off]`: the link to the web dashboard (bot/dashboard/), and a workspace admin's switch."""

from __future__ import annotations

from bot.commands import ParsedCommand, lookup
from bot.dashboard import links
from bot.errors import UsageError
from bot.rituals.workspaces import set_dashboard
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.models import Workspace

SWITCHES = {"on": True, "off": False}


def dashboard(parsed: ParsedCommand, ctx: Context) -> None:
    """No argument: where the dashboard is, or why there is none. `on`/`off`: admins turn it on or off."""
    word = parsed.args.strip().lower()
    if word and word not in SWITCHES:
        raise UsageError(
            f"`/okr dashboard` takes `on`, `off` or nothing, not `{word[:30]}`.", usage=lookup("dashboard").usage
        )
    if not word:
        with ctx.read() as session:
            enabled = session.get_one(Workspace, ctx.workspace_id).dashboard_enabled
        changed = None
    else:
        asked = ctx.asking_admin()
        with asked.transaction() as session:
            workspace = session.get_one(Workspace, ctx.workspace_id, with_for_update=True)
            enabled = SWITCHES[word]
            changed = set_dashboard(session, workspace=workspace, enabled=enabled, actor=asked.actor, now=now())
    ctx.reply(**ephemeral("dashboard.j2", links=links.links(enabled=enabled), enabled=enabled, changed=changed))


ROUTES = {"dashboard": dashboard}
