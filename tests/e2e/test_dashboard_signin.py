"""Who may see the dashboard, through real HTTP to `okr-bot serve`'s WSGI app and the fake Slack's OpenID pages.

Sign in with Slack lets in only people of an installed workspace, into their own workspace only; a session is a
signed cookie backed by a row that signing out, an uninstall, a deactivation or the admin's switch ends; the login's
state works once, in the browser that started it, and its nonce must come back in the id_token.
"""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bot.rituals.workspaces import mark_uninstalled
from bot.sandbox import SlackDriver
from bot.settings import Mode, Settings
from bot.web import EVENTS_PATH
from storage.models import DashboardSession, EventLog, KeyResult, Person, Team, Workspace
from tests import factories
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.dashboard_support import Browser, query_of
from tests.helpers import ephemerals_to, eventually, flatten

CLIENT_ID, CLIENT_SECRET = "1000.2000", "dashboard-client-secret"


@pytest.fixture
def dashboard(slack, db, database_url):
    settings = sandbox_settings(
        slack, database_url, slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET, public_url=None
    )
    slack.add_workspace("T0SECOND", "Second", "xoxb-second-0000", bot_user_id="U0BOT2", bot_id="B0BOT2")
    slack.add_user("U0DEV", "dev", team_id="T0SECOND")
    running, stop = serve_bot(settings, db)
    yield running
    stop()


def _signed_in(dashboard, slack, user_id: str = "U0BEN") -> Browser:
    browser = Browser(dashboard.url)
    answer = browser.sign_in(slack, user_id)
    assert answer.status == 303, answer.body
    assert answer.location.endswith("/dashboard/")
    return browser


def _said(driver, slack, text: str, *, user: str, channel: str) -> str:
    """What the bot replied to `/okr text`, only that person sees."""
    before = len(ephemerals_to(slack, user))
    driver.command(text, user=user, channel=channel)

    def replied() -> str:
        replies = ephemerals_to(slack, user)
        assert len(replies) > before
        return replies[-1]

    return eventually(replied)


def _assert_in(needle: str, haystack: str) -> None:
    assert needle in haystack, haystack[:300]


def _sessions(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(DashboardSession))


def test_a_page_asks_for_sign_in_then_slack_signs_the_person_in(dashboard, slack, db):
    browser = Browser(dashboard.url)
    asked = browser.get("/dashboard/network?team=3")
    assert asked.status == 303
    assert asked.location == "/dashboard/sign-in?next=" + quote("/dashboard/network?team=3", safe="")
    page = browser.get(asked.location)
    assert page.status == 200 and "Sign in with Slack" in page.body

    authorize = browser.start_sign_in("/dashboard/network?team=3")
    query = query_of(authorize)
    assert authorize.startswith(slack.openid_authorize_url)
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == dashboard.url + "/dashboard/signed-in"
    assert set(query["scope"].split(",")) == {"openid", "profile"}
    assert query["state"] and len(query["nonce"]) >= 32
    [sign_in_cookie] = [c for c in browser.last.set_cookies() if c.startswith("okr_dashboard_sign_in=")]
    assert all(part in sign_in_cookie for part in ("HttpOnly", "SameSite=Lax", "Path=/dashboard", "Max-Age=600"))

    back = browser.get(slack.openid_authorize(authorize, "U0BEN"))
    assert back.status == 303 and back.location == "/dashboard/network?team=3"
    session_cookie = next(c for c in back.set_cookies() if c.startswith("okr_dashboard="))
    assert all(part in session_cookie for part in ("HttpOnly", "SameSite=Lax", "Path=/dashboard"))
    assert "Secure" not in session_cookie  # plain http on the loopback: a browser would not send it back
    assert "okr_dashboard_sign_in" not in browser.cookies  # the sign-in's cookie is spent
    overview = browser.get("/dashboard/")
    assert overview.status == 200
    assert "Signed in as Ben Member" in overview.body
    assert overview.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in overview.headers["Content-Security-Policy"]
    with db.read() as session:
        row = session.scalars(select(DashboardSession)).one()
    assert row.user_id == "U0BEN" and row.token_hash not in session_cookie  # only the token's hash is kept


def test_a_replayed_login_state_is_refused(dashboard, slack, db):
    browser = Browser(dashboard.url)
    authorize = browser.start_sign_in()
    callback = slack.openid_authorize(authorize, "U0BEN")
    started = dict(browser.cookies)
    assert browser.get(callback).status == 303
    # the same redirect again, with the sign-in's cookie as it was (a copied request): the state was used
    replay = Browser(dashboard.url, cookies=started)
    answer = replay.get(callback)
    assert answer.status == 403
    assert "already used or has expired" in answer.body
    assert "okr_dashboard" not in replay.cookies
    # a state from another browser's sign-in is refused too, even unused
    theirs = Browser(dashboard.url)
    their_callback = slack.openid_authorize(theirs.start_sign_in(), "U0CLEO")
    mine = Browser(dashboard.url)
    mine.start_sign_in()
    answer = mine.get(their_callback)
    assert answer.status == 403 and "started in another browser" in answer.body
    # without any sign-in cookie (a link followed in a fresh browser)
    assert Browser(dashboard.url).get(their_callback).status == 403
    assert _sessions(db) == 1


def test_an_id_token_for_another_nonce_is_refused(dashboard, slack, db):
    """Slack puts the nonce of the authorize address in the id_token: an address someone changed (or another
    browser's sign-in answered with this browser's state) does not sign in."""
    browser = Browser(dashboard.url)
    authorize = browser.start_sign_in()
    nonce = query_of(authorize)["nonce"]
    answer = browser.get(slack.openid_authorize(authorize.replace(nonce, "x" * len(nonce)), "U0BEN"))
    assert answer.status == 403 and "did not match" in answer.body
    assert _sessions(db) == 0


def test_a_cancelled_or_tampered_sign_in_signs_nobody_in(dashboard, slack, db):
    browser = Browser(dashboard.url)
    cancelled = browser.get(slack.openid_cancel(browser.start_sign_in()))
    assert cancelled.status == 403 and "cancelled" in cancelled.body
    browser = Browser(dashboard.url)
    callback = slack.openid_authorize(browser.start_sign_in(), "U0BEN")
    forged = callback.replace("code=", "code=x")
    assert browser.get(forged).status == 403  # Slack refuses the code; the state is spent
    assert browser.get(callback).status == 403
    assert _sessions(db) == 0
    browser.start_sign_in()
    for hostile in ("%C3%A9", "%00", "x" * 300, "%E2%80%AE"):
        assert browser.get(f"/dashboard/signed-in?code=c&state={hostile}").status == 403, hostile
    assert _sessions(db) == 0


def test_a_forged_or_expired_session_is_asked_to_sign_in_again(dashboard, slack, db, pinned_clock):
    browser = _signed_in(dashboard, slack)
    assert browser.get("/dashboard/").status == 200
    real = browser.cookies["okr_dashboard"]
    for forged in (real[:-2] + ("AA" if not real.endswith("AA") else "BB"), "x" * 50, "", "a.b.c", "é" * 10):
        other = Browser(dashboard.url, cookies={"okr_dashboard": forged})
        assert other.get("/dashboard/").status == 303, forged
    pinned_clock.tick(timedelta(hours=12, minutes=1))
    answer = browser.get("/dashboard/")
    assert answer.status == 303 and answer.location.startswith("/dashboard/sign-in")


def test_signing_out_ends_the_session_everywhere(dashboard, slack, db):
    browser = _signed_in(dashboard, slack)
    copied = Browser(dashboard.url, cookies=dict(browser.cookies))
    out = browser.post("/dashboard/sign-out")
    assert out.status == 303 and "okr_dashboard" not in browser.cookies
    assert "You are signed out" in browser.get(out.location).body
    assert _sessions(db) == 0
    assert copied.get("/dashboard/").status == 303  # the cookie, still valid as a signature, opens nothing


def test_every_answer_carries_the_security_headers_static_files_too(dashboard, slack):
    for path in ("/dashboard/static/dashboard.css", "/dashboard/sign-in", "/dashboard/nowhere"):
        answer = Browser(dashboard.url).get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"], path
        assert "Strict-Transport-Security" not in answer.headers  # plain http


def test_nothing_on_the_dashboard_can_be_changed(dashboard, slack, db):
    browser = _signed_in(dashboard, slack)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        answer = browser.request(method, "/dashboard/")
        assert answer.status == 405, method
        assert answer.headers["Allow"] in ("GET, HEAD", "HEAD, GET")
    assert browser.get("/dashboard/sign-out").status == 405  # signing out is a POST (SameSite=Lax keeps it local)


def test_another_workspaces_teams_are_not_found(dashboard, slack, db):
    with db.transaction() as session:
        other = factories.workspace(session, slack_team_id="T0OTHER")
        theirs = factories.team(session, other, name="Their team")
        objective = factories.committed_objective(
            session, theirs, key_results=[{"metric": "m", "baseline": 0, "target": 10, "owner": "U0X"}]
        )
        kr_id = session.scalars(select(KeyResult.id).where(KeyResult.objective_id == objective.id)).one()
        team_id = theirs.id
    browser = _signed_in(dashboard, slack)
    for path in (
        f"/dashboard/teams/{team_id}",
        f"/dashboard/teams/{team_id}/key-results/{kr_id}",
        f"/dashboard/teams/{team_id}/cycles/1.csv",
        f"/dashboard/teams/{team_id}/cycles/1.json",
        "/dashboard/teams/99999999",
        "/dashboard/teams/99999999999999999999",  # past what the database's integers hold: still just not found
        "/dashboard/teams/0",
        "/dashboard/teams/-1",
        f"/dashboard/teams/{team_id}/key-results/99999999999999",
        f"/dashboard/teams/{team_id}/cycles/99999999999999.csv",
        "/dashboard/teams/abc",
        "/dashboard/nowhere",
    ):
        answer = browser.get(path)
        assert answer.status == 404, path
        assert "Their team" not in answer.body
    assert "Their team" not in browser.get("/dashboard/").body
    assert "Their team" not in browser.get(f"/dashboard/network?team={team_id}").body
    for query in ("team=99999999999999", "ripple=99999999999999", "team=-1", "ripple=1e9", "team=%00"):
        answer = browser.get(f"/dashboard/network?{query}")
        assert answer.status == 200 and "<h1>Ripple network</h1>" in answer.body, query


def test_only_people_of_an_installed_workspace_get_in(dashboard, slack, db):
    # a person of a workspace the bot was never installed in
    browser = Browser(dashboard.url)
    authorize = browser.start_sign_in() + "&team=T0SECOND"
    answer = browser.get(slack.openid_authorize(authorize, "U0DEV"))
    assert answer.status == 403 and "not installed in Second" in answer.body
    assert _sessions(db) == 0


def test_an_uninstall_ends_every_session_and_refuses_new_ones(dashboard, slack, db):
    browser = _signed_in(dashboard, slack)
    with db.transaction() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack.workspace().team_id)).one()
        mark_uninstalled(session, workspace=workspace, reason="app_uninstalled", now=factories.NOW)
    assert _sessions(db) == 0
    assert browser.get("/dashboard/").status == 303
    answer = Browser(dashboard.url).sign_in(slack, "U0ADA")
    assert answer.status == 403 and "not installed" in answer.body


def test_a_person_slack_deactivates_is_signed_out_at_their_next_page(dashboard, slack, db, driver):
    """Someone the bot never wrote to signs in (the sign-in makes them known), then leaves the company: Slack's
    `user_change` saying so ends their session."""
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Person).where(Person.user_id == "U0CLEO")) == 0
    browser = _signed_in(dashboard, slack, "U0CLEO")
    assert browser.get("/dashboard/").status == 200
    slack.set_user_deleted("U0CLEO")
    driver.event({"type": "user_change", "user": slack.user("U0CLEO")}, event_id="Ev0CLEOLEFT")
    eventually(lambda: _assert_in("/dashboard/sign-in", browser.get("/dashboard/").location))
    refused = Browser(dashboard.url).sign_in(slack, "U0ADA")  # the others are unaffected
    assert refused.status == 303


def test_an_admin_turns_the_dashboard_off_and_everyone_is_signed_out(dashboard, slack, db, driver):
    browser = _signed_in(dashboard, slack)
    unclear = _said(driver, slack, "dashboard sideways", user="U0ADA", channel="C0GENERAL")
    assert "takes `on`, `off` or nothing, not `sideways`" in unclear
    # this server has no PUBLIC_URL: the link cannot be given, and the reply says what is missing
    assert "PUBLIC_URL" in _said(driver, slack, "dashboard", user="U0BEN", channel="C0GENERAL")
    refused = _said(driver, slack, "dashboard off", user="U0BEN", channel="C0GENERAL")
    assert "Only workspace admins" in refused
    assert browser.get("/dashboard/").status == 200
    done = _said(driver, slack, "dashboard off", user="U0ADA", channel="C0GENERAL")
    assert "now off" in done
    assert browser.get("/dashboard/").status == 303
    answer = Browser(dashboard.url).sign_in(slack, "U0BEN")
    assert answer.status == 403 and "turned the dashboard off" in answer.body
    assert "turned off" in _said(driver, slack, "dashboard", user="U0BEN", channel="C0GENERAL")
    assert "now on" in _said(driver, slack, "dashboard on", user="U0ADA", channel="C0GENERAL")
    assert _signed_in(dashboard, slack).get("/dashboard/").status == 200
    with db.read() as session:
        actions = session.scalars(select(EventLog.action).where(EventLog.entity == "workspace")).all()
    assert actions.count("dashboard_off") == 1 and actions.count("dashboard_on") == 1


def test_after_sign_in_the_browser_goes_to_a_dashboard_page_only(dashboard, slack):
    for next_path in ("https://evil.example/", "//evil.example/", "/slack/events", "/dashboard/\\evil"):
        browser = Browser(dashboard.url)
        answer = browser.sign_in(slack, "U0BEN", next_path=quote(next_path, safe=""))
        assert answer.status == 303 and answer.location == "/dashboard/", next_path


@pytest.fixture
def public(slack, db, database_url):
    """The bot behind a proxy that ends TLS, at the address PUBLIC_URL names."""
    settings = sandbox_settings(
        slack,
        database_url,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        public_url="https://okr.example.com",
    )
    running, stop = serve_bot(settings, db)
    yield running
    stop()


def test_cookies_are_secure_when_people_reach_the_dashboard_over_https(public):
    browser = Browser(public.url)
    authorize = browser.start_sign_in()
    assert query_of(authorize)["redirect_uri"] == "https://okr.example.com/dashboard/signed-in"
    assert all("Secure" in c for c in browser.last.set_cookies())
    assert browser.last.headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_client_credentials_the_dashboard_says_how_to_set_it_up(bot):
    answer = Browser(bot.url).get("/dashboard/")
    assert answer.status == 503
    assert "SLACK_CLIENT_ID" in answer.body and "/dashboard/signed-in" in answer.body


def test_slack_links_to_the_dashboard_only_when_it_has_an_address(public, slack, db):
    driver = SlackDriver(slack, bot_url=public.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")

    def created() -> int:
        with db.read() as session:
            found = session.scalar(select(Team.id).where(Team.name == "Rockets"))
        assert found is not None
        return found

    team_id = eventually(created)
    listed = _said(driver, slack, "list", user="U0BEN", channel="C0ROCKET")
    assert f"https://okr.example.com/dashboard/teams/{team_id}" in listed
    linked = _said(driver, slack, "dashboard", user="U0BEN", channel="C0GENERAL")
    assert "https://okr.example.com/dashboard/" in linked
    driver.open_home("U0BEN")
    eventually(lambda: _assert_in("https://okr.example.com/dashboard/", flatten(slack.home("U0BEN") or {})))
    preview = _said(driver, slack, "digest", user="U0BEN", channel="C0ROCKET")
    assert "https://okr.example.com/dashboard/" in preview
    assert "now off" in _said(driver, slack, "dashboard off", user="U0ADA", channel="C0GENERAL")
    assert "okr.example.com" not in _said(driver, slack, "list", user="U0BEN", channel="C0ROCKET")


def test_a_single_workspace_bot_with_sign_in_credentials_in_its_environment_stays_a_single_workspace_bot(
    slack, db, database_url, monkeypatch
):
    """SLACK_CLIENT_ID and SLACK_CLIENT_SECRET next to SLACK_BOT_TOKEN, as the README sets them for the dashboard:
    Bolt must not turn them into its own OAuth flow (its install page, an installation store without this bot)."""
    environment = {
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.mode is Mode.SINGLE_WORKSPACE and settings.dashboard_sign_in
    running, stop = serve_bot(settings, db)
    try:
        driver = SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
        assert "/okr draft" in _said(driver, slack, "help", user="U0BEN", channel="C0GENERAL")
        assert Browser(running.url).get("/slack/install").status == 404
        assert Browser(running.url).sign_in(slack, "U0BEN").status == 303
        assert os.environ["SLACK_CLIENT_ID"] == CLIENT_ID  # put back once the app was built
    finally:
        stop()
