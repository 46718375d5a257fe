"""The App Home tab: final scores a closing cycle waits for from you, your teams with their OKRs, backlog and
open votes, the key results you own, your drafts, the ripples touching your teams, and the vision.

Everything is read in a fixed number of queries, however many teams and OKRs there are, and every list
is capped so the tab stays within Slack's 100 blocks (the rest are counted, not dropped silently).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.commands import CATALOGUE
from bot.dashboard.links import for_workspace as dashboard_links
from bot.render import render_view
from bot.rituals import teams as rituals
from bot.rituals.backlog import backlogs_of_teams
from bot.rituals.drafts import resumable_drafts
from bot.rituals.okrs import current_okrs_of_teams, owned_key_results
from bot.rituals.reset import scoring_for
from bot.rituals.ripples import live_ripples_of_teams
from bot.rituals.vision import list_visions
from bot.slack import deliver
from handlers.context import Context
from handlers.middleware import now

# at most 2 blocks per team, 1 per key result or draft: with the headers, 80 of the 100 blocks Slack allows
HOME_TEAMS = 20
HOME_KEY_RESULTS = 10
HOME_DRAFTS = 5
HOME_VISIONS = 10
HOME_SCORING = 3  # cycles being scored that ask you for final scores (one per team at most)


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any], ctx: Context) -> None:
    user_id = ctx.acting
    if event.get("tab", "home") != "home" or user_id is None:
        return  # another tab, or no one Slack would name: there is no Home tab to draw
    workspace_id, moment = ctx.workspace_id, now()
    with ctx.read() as session:
        memberships = rituals.memberships_of(session, workspace_id=workspace_id, user_id=user_id)
        shown = memberships[:HOME_TEAMS]
        okrs = current_okrs_of_teams(session, teams=[team for team, _ in shown], now=moment)
        backlogs = backlogs_of_teams(session, team_ids=[team.id for team, _ in shown])
        leading = rituals.teams_led_by(session, workspace_id=workspace_id, user_id=user_id)
        owned = owned_key_results(session, workspace_id=workspace_id, user_id=user_id, now=moment)
        drafts = resumable_drafts(session, workspace_id=workspace_id, user_id=user_id)
        visions = list_visions(session, workspace_id=workspace_id)
        scoring = scoring_for(session, workspace_id=workspace_id, user_id=user_id)
        team_ids = [team.id for team, _ in memberships]
        ripples = live_ripples_of_teams(session, workspace_id=workspace_id, team_ids=team_ids)
        to = dashboard_links(session, workspace_id=workspace_id)
    member_of = {team.id for team, _ in memberships}
    view = render_view(
        "home.j2",
        memberships=shown,
        more_teams=len(memberships) - len(shown),
        okrs=okrs,
        backlogs=backlogs,
        leading=leading,
        owned=owned[:HOME_KEY_RESULTS],
        more_owned=max(0, len(owned) - HOME_KEY_RESULTS),
        member_of=member_of,
        drafts=drafts[:HOME_DRAFTS],
        more_drafts=max(0, len(drafts) - HOME_DRAFTS),
        visions=visions[-HOME_VISIONS:],
        commands=CATALOGUE,
        scoring=scoring[:HOME_SCORING],
        ripples=ripples,
        links=to,
    )
    deliver(ctx.client.views_publish, user_id=user_id, view=view)
