"""Every dashboard page through real HTTP to `okr-bot serve`'s WSGI app, signed in through the fake Slack: what it
shows, that it reads a fixed number of SQL statements per request whatever the size of the workspace (the session
check included), the cycle files it serves, and gzip for large pages."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.rituals import export as export_rules
from storage.models import CheckIn, KeyResult, Person, Ripple, RippleKind, Team, Workspace
from tests import factories
from tests.conftest import sandbox_settings, serve_bot
from tests.e2e.dashboard_support import Browser
from tests.helpers import StatementCounter, eventually

KRS = [{"metric": f"Metric {n}", "baseline": 0, "target": 100, "owner": "U0BEN"} for n in range(1, 4)]
PAGES = (
    "/dashboard/",
    "/dashboard/?show=at-risk&sort=name",
    "/dashboard/teams/{team}",
    "/dashboard/teams/{team}/key-results/{kr}",
    "/dashboard/network",
    "/dashboard/network?team={team}",
    "/dashboard/network?ripple=1&all=1",
    "/dashboard/teams/{team}/cycles/1.csv",
)


@pytest.fixture
def served(slack, db, database_url):
    settings = sandbox_settings(slack, database_url, slack_client_id="1.2", slack_client_secret="secret")
    running, stop = serve_bot(settings, db)
    yield running
    stop()


def _grow(db, slack, teams: int, *, first: int = 0) -> dict[str, int]:
    """`teams` more teams in the sandbox workspace, each with an objective of three key results, eight weeks of
    check-ins (the first team's last ones at risk), and a ripple to the team before it."""
    made: dict[str, int] = {}
    with db.transaction() as session:
        ws = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack.workspace().team_id)).one()
        previous = None
        for n in range(first, first + teams):
            team = factories.team(session, ws, name=f"Team <b>{n}</b>" if n == 0 else f"Team {n}")
            objective = factories.committed_objective(session, team, key_results=KRS)
            krs = session.scalars(select(KeyResult).where(KeyResult.objective_id == objective.id)).all()
            for kr in krs:
                for week in range(8):
                    confidence = 4 if n == 0 and week >= 6 else 8
                    session.add(
                        CheckIn(
                            workspace_id=ws.id,
                            key_result_id=kr.id,
                            week_start=date(2026, 9, 28) + timedelta(weeks=week),
                            value=10 * week,
                            confidence=confidence,
                            author_user_id="U0BEN",
                        )
                    )
            if previous is not None:
                number = len(session.scalars(select(Ripple.id).where(Ripple.workspace_id == ws.id)).all()) + 1
                session.add(
                    Ripple(
                        workspace_id=ws.id,
                        number=number,
                        from_team_id=team.id,
                        to_team_id=previous[0],
                        key_result_id=krs[0].id,
                        kind=RippleKind.DEPENDS_ON if n % 2 else RippleKind.AFFECTS,
                        note="notes <script>alert(1)</script>",
                        created_by="U0BEN",
                    )
                )
            previous = (team.id, krs[0].id)
            made.setdefault("team", team.id)
            made.setdefault("kr", krs[0].id)
    return made


def _statements(db, browser: Browser, path: str) -> int:
    with StatementCounter(db.engine) as counter:
        answer = browser.get(path)
    assert answer.status == 200, (path, answer.status, answer.body[:500])
    return len(counter.queries)


def test_each_page_reads_the_same_number_of_statements_for_two_teams_or_twenty(served, slack, db):
    first = _grow(db, slack, 2)
    browser = Browser(served.url)
    assert browser.sign_in(slack, "U0BEN").status == 303
    small = {page: _statements(db, browser, page.format(**first)) for page in PAGES}
    _grow(db, slack, 18, first=2)
    large = {page: _statements(db, browser, page.format(**first)) for page in PAGES}
    assert small == large
    assert max(large.values()) <= 15  # the session's check, then the page's fixed reads


def test_the_pages_show_the_workspace_and_escape_what_people_typed(served, slack, db):
    made = _grow(db, slack, 3)
    browser = Browser(served.url)
    browser.sign_in(slack, "U0ADA")
    overview = browser.get("/dashboard/").body
    assert "Team &lt;b&gt;0&lt;/b&gt;" in overview and "<b>0</b>" not in overview
    assert 'data-status="at-risk"' in overview
    assert overview.index("Team &lt;b&gt;0") < overview.index("Team 1")  # what needs attention comes first
    at_risk = browser.get("/dashboard/?show=at-risk").body
    assert "Team &lt;b&gt;0" in at_risk and 'id="team-' in at_risk and "Team 2<" not in at_risk
    team = browser.get(f"/dashboard/teams/{made['team']}").body
    assert 'role="img"' in team and "Metric 1" in team
    assert f"/dashboard/teams/{made['team']}/key-results/{made['kr']}" in team
    focused = browser.get(f"/dashboard/network?team={made['team']}").body
    assert 'id="network"' in focused and 'id="team-panel"' in focused
    chosen = browser.get("/dashboard/network?ripple=1").body
    assert 'id="ripple-panel"' in chosen
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chosen and "<script>alert" not in chosen


def test_the_cycle_files_are_what_okr_export_sends(served, slack, db):
    made = _grow(db, slack, 1)
    browser = Browser(served.url)
    browser.sign_in(slack, "U0CLEO")
    csv_answer = browser.get(f"/dashboard/teams/{made['team']}/cycles/1.csv")
    json_answer = browser.get(f"/dashboard/teams/{made['team']}/cycles/1.json")
    with db.read() as session:
        team = session.get_one(Team, made["team"])
        found = export_rules.read_cycle(session, team=team, number=1, now=factories.NOW)
        expected = {f.filename: f.content for f in export_rules.files(found)}
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["Content-Disposition"]
    [csv_name] = [name for name in expected if name.endswith(".csv")]
    [json_name] = [name for name in expected if name.endswith(".json")]
    assert csv_name in csv_answer.headers["Content-Disposition"]
    assert csv_answer.body.encode("utf-8") == expected[csv_name]
    served_json, expected_json = json.loads(json_answer.body), json.loads(expected[json_name])
    served_json.pop("exported_at"), expected_json.pop("exported_at")  # the moment each was made
    assert served_json == expected_json
    assert browser.get(f"/dashboard/teams/{made['team']}/cycles/99.csv").status == 404


def test_a_large_page_is_gzipped_for_a_browser_that_takes_it(served, slack, db):
    _grow(db, slack, 12)
    browser = Browser(served.url)
    browser.sign_in(slack, "U0BEN")
    plain = browser.get("/dashboard/")
    assert "Content-Encoding" not in plain.headers
    raw = _raw(served.url, "/dashboard/", browser.cookies)
    assert raw[0]["Content-Encoding"] == "gzip" and "Accept-Encoding" in raw[0]["Vary"]
    assert gzip.decompress(raw[1]).decode() == plain.body


def _raw(base_url: str, path: str, cookies: dict[str, str]) -> tuple[dict[str, str], bytes]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection.request("GET", path, headers={"Accept-Encoding": "gzip", "Cookie": cookie})
    response = connection.getresponse()
    try:
        return dict(response.headers), response.read()
    finally:
        connection.close()


def test_people_are_named_as_slack_shows_them_once_slack_has_said(served, slack, db, driver):
    made = _grow(db, slack, 1)
    with db.transaction() as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slack_team_id == slack.workspace().team_id))
        session.add(Person(workspace_id=workspace_id, user_id="U0BEN"))  # an owner the bot writes to
    browser = Browser(served.url)
    browser.sign_in(slack, "U0ADA")
    assert '<span class="user">U0BEN</span>' in browser.get(f"/dashboard/teams/{made['team']}").body
    user = {**slack.user("U0BEN"), "profile": {"display_name": "Benny <3", "real_name": "Ben Member"}}
    driver.event({"type": "user_change", "user": user}, event_id="Ev0BENNAME")

    def named() -> None:
        page = browser.get(f"/dashboard/teams/{made['team']}").body
        assert '<span class="user" title="U0BEN">Benny &lt;3</span>' in page

    eventually(named)
