"""Slack's `user_change` events: someone the bot writes to changed their time zone or status, or left.

What the event says is kept before the ack (`before_ack`), so the next check-in DM goes out at the team's hour in
the new zone (planned earlier at once after a move east: bot/delivery/people.py `replan_moved`; after a move west
the sweep waits for the later hour) and is sent (or skipped, for an away status) on the new status without asking
Slack again. Only people the bot already writes to are kept: a workspace's every profile change is not stored. A
redelivered event writes the same thing again, which changes nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.rituals.people import Profile, remember_profiles, zones_of
from bot.rituals.schedule import replan_moved
from handlers.context import Context
from handlers.middleware import before_ack, nothing_after_ack, now


def register(app: App) -> None:
    app.event("user_change", middleware=[before_ack(remember_change)])(nothing_after_ack)


def remember_change(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    user = event.get("user")
    profile = Profile.of(user) if isinstance(user, dict) else None
    ctx: Context = context["ctx"]
    if profile is None:
        return
    workspace_id = ctx.workspace_id
    with ctx.transaction() as session:
        before = zones_of(session, workspace_id=workspace_id, user_ids=[profile.user_id])
        remember_profiles(session, workspace_id=workspace_id, profiles=[profile], now=now())
        replan_moved(session, workspace_id=workspace_id, zones_before=before)
