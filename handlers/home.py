"""The App Home tab: your teams, their settings, and the leaders' vision statements."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.commands import CATALOGUE
from bot.render import render_view
from bot.rituals import teams as rituals
from bot.rituals.vision import list_visions
from bot.slack import deliver

HOME_TEAMS = 20  # beyond this the tab would pass Slack's 100-block limit; the rest are counted
HOME_VISIONS = 10


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id = event["user"]
    with context["db"].read() as session:
        memberships = rituals.memberships_of(session, workspace_id=context["workspace_id"], user_id=user_id)
        leading = rituals.teams_led_by(session, workspace_id=context["workspace_id"], user_id=user_id)
        visions = list_visions(session, workspace_id=context["workspace_id"])
    view = render_view(
        "home.j2",
        memberships=memberships[:HOME_TEAMS],
        more_teams=max(0, len(memberships) - HOME_TEAMS),
        leading=leading,
        visions=visions[-HOME_VISIONS:],
        commands=CATALOGUE,
    )
    deliver(client.views_publish, user_id=user_id, view=view)
