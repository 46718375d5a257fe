"""Installing in several workspaces through OAuth, with slack-sdk's stores in our own tables."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select

from bot.app import INSTALL_PATH, REDIRECT_PATH
from bot.rituals.workspaces import purge_workspace
from bot.sandbox import SlackDriver
from bot.web import EVENTS_PATH
from storage.models import EventLog, Team, Workspace
from storage.slack_tables import bots, installations
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.helpers import eventually, flatten


@pytest.fixture
def oauth_bot(slack, db, database_url):
    settings = sandbox_settings(
        slack,
        database_url,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
    )
    slack.add_workspace("T0SECOND", "Second", "xoxb-second-0000", bot_user_id="U0BOT2", bot_id="B0BOT2")
    slack.add_user("U0DEV", "dev", team_id="T0SECOND")
    slack.add_channel("C0PLATFORM", "platform", members=("U0DEV",), team_id="T0SECOND")
    running, stop = serve_bot(settings, db)
    yield running
    stop()


def _install(base_url: str, slack, team_id: str) -> str:
    """Walk the browser side of the install: install page, Slack's consent, redirect back."""
    with urllib.request.urlopen(base_url + INSTALL_PATH) as response:
        page = response.read().decode()
        # the state cookie is marked Secure; a browser on https would send it back, so do the same
        cookie = response.headers["Set-Cookie"].split(";")[0]
    authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page).group(1).replace("&amp;", "&")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    assert authorize.startswith(slack.base_url)
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "reactions:read"}
    code = slack.new_oauth_code(team_id)
    redirect = f"{base_url}{REDIRECT_PATH}?code={code}&state={query['state'][0]}"
    with urllib.request.urlopen(urllib.request.Request(redirect, headers={"Cookie": cookie})) as response:
        return response.read().decode()


def test_install_in_two_workspaces_then_uninstall_one(oauth_bot, slack, db):
    assert "Thank you" in _install(oauth_bot.url, slack, "T0SANDBOX")
    assert "Thank you" in _install(oauth_bot.url, slack, "T0SECOND")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(installations)) == 2

    driver = SlackDriver(slack, bot_url=oauth_bot.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    assert "created the team *Rockets*" in flatten(slack.wait_for_response()["body"])
    driver.command("team create Platform", user="U0DEV", channel="C0PLATFORM", team_id="T0SECOND")
    assert "created the team *Platform*" in flatten(slack.wait_for_response(count=2)["body"])
    # each workspace's calls used its own bot token
    joins = slack.calls_to("conversations.join")
    assert {c.token for c in joins} == {"xoxb-sandbox-0000", "xoxb-second-0000"}

    driver.event({"type": "app_uninstalled"}, team_id="T0SECOND", event_id="Ev0UNINSTALL")
    eventually(lambda: _assert_uninstalled(db, "T0SECOND", remaining=["T0SANDBOX"]))


def _assert_uninstalled(db, team_id: str, *, remaining: list[str]) -> None:
    with db.transaction() as s:
        assert s.execute(select(installations.c.team_id)).scalars().all() == remaining
        assert s.scalar(select(func.count()).select_from(bots).where(bots.c.team_id == team_id)) == 0
        workspace = s.scalars(select(Workspace).where(Workspace.slack_team_id == team_id)).one()
        assert workspace.uninstalled_at is not None
        # the teams' data is kept for a reinstall
        assert s.scalar(select(func.count()).select_from(Team).where(Team.workspace_id == workspace.id)) == 1


def test_a_workspace_without_installation_is_not_served(oauth_bot, slack, db):
    driver = SlackDriver(slack, bot_url=oauth_bot.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 0


def test_revoking_the_bot_token_marks_the_workspace_uninstalled_once(oauth_bot, slack, db):
    _install(oauth_bot.url, slack, "T0SECOND")
    driver = SlackDriver(slack, bot_url=oauth_bot.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    driver.command("team create Platform", user="U0DEV", channel="C0PLATFORM", team_id="T0SECOND")
    slack.wait_for_response()

    driver.event({"type": "tokens_revoked", "tokens": {"oauth": ["U0DEV"]}}, team_id="T0SECOND")
    driver.event({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT2"]}}, team_id="T0SECOND")

    def revoked() -> None:
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(bots).where(bots.c.team_id == "T0SECOND")) == 0
            workspace = s.scalars(select(Workspace).where(Workspace.slack_team_id == "T0SECOND")).one()
            assert workspace.uninstalled_at is not None
            actions = s.scalars(select(EventLog.action).where(EventLog.workspace_id == workspace.id)).all()
            assert actions.count("uninstalled") == 1

    eventually(revoked)


def test_purging_a_workspace_removes_its_tokens_and_its_data(oauth_bot, slack, db):
    _install(oauth_bot.url, slack, "T0SANDBOX")
    _install(oauth_bot.url, slack, "T0SECOND")
    with db.transaction() as s:
        assert purge_workspace(s, slack_team_id="T0SECOND") is True
    with db.transaction() as s:
        assert s.execute(select(installations.c.team_id)).scalars().all() == ["T0SANDBOX"]
        assert s.execute(select(bots.c.team_id)).scalars().all() == ["T0SANDBOX"]
        assert s.scalars(select(Workspace.slack_team_id)).all() == ["T0SANDBOX"]
