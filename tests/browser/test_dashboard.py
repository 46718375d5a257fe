"""The web dashboard in a real browser: signing in through the fake Slack's OpenID page, the overview's filters, a
team, a key result's chart, a ripple on the network, signing out; and the pages without JavaScript and by keyboard.

Rockets is created through the sandbox's Slack (the real path); the rest of the workspace is written straight into
the sandbox's database, at the suite's pinned instant (Wednesday 2026-12-09): four teams in week 4 of their cycle,
Rockets and Harbour at risk, Growth off track, Platform on track, two open ripples and a resolved one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from bot.rituals.checkins import CheckInInput, record_checkin
from storage.models import KeyResult, Ripple, RippleKind, RippleState, Role, Team, VisionStatement, Workspace
from tests import factories

CYCLE_START = date(2026, 11, 16)  # a Monday: 2026-12-09 is in week 4
WEEKS = [CYCLE_START + timedelta(weeks=n) for n in range(4)]

# team: (channel, objective, key results, each key result's (value, confidence) week by week)
TEAMS = {
    "Rockets": (
        "C0ROCKET",
        "New teams get value in their first week",
        [
            {"metric": "Teams active after week one", "unit": "%", "baseline": 40, "target": 65, "owner": "U0ADA"},
            {
                "metric": "Median minutes to a first check-in",
                "unit": "min",
                "baseline": 300,
                "target": 30,
                "direction": "decrease",
                "owner": "U0BEN",
            },
        ],
        [[(42, 8), (45, 7), (46, 6), (47, 5)], [(260, 8), (200, 8), (150, 8), (120, 8)]],
    ),
    "Growth": (
        "C0GROWTH",
        "Sign-ups turn into paying workspaces",
        [{"metric": "Trials converted", "unit": "%", "baseline": 8, "target": 14, "owner": "U0CLEO"}],
        [[(8, 6), (8, 4), (7, 3), (7, 2)]],
    ),
    "Harbour": (
        "C0HARBOUR",
        "Support answers within the hour",
        [{"metric": "Tickets answered within an hour", "unit": "%", "baseline": 55, "target": 90, "owner": "U0BEN"}],
        [[(58, 7), (60, 6), (61, 5), (63, 4)]],
    ),
    "Platform": (
        "C0PLATFORM",
        "Deploys are boring",
        [{"metric": "Deploys without a rollback", "unit": "%", "baseline": 80, "target": 98, "owner": "U0CLEO"}],
        [[(84, 7), (88, 8), (91, 8), (93, 9)]],
    ),
}
AT_RISK = {"Rockets", "Harbour"}
RIPPLES = [  # R1, R2, R3: (from, to, kind, state, note); each from the first key result of its team
    ("Rockets", "Growth", RippleKind.DEPENDS_ON, RippleState.OPEN, "We need their trial numbers weekly"),
    ("Platform", "Rockets", RippleKind.AFFECTS, RippleState.OPEN, "The new deploy pipeline changes the onboarding"),
    ("Harbour", "Platform", RippleKind.AFFECTS, RippleState.RESOLVED, "Support macros move to the new status page"),
]


def seed(sandbox) -> dict[str, int]:
    """The workspace described above, around Rockets (already created in Slack); team ids by name."""
    team_id = sandbox.fake.workspace().team_id
    ids: dict[str, int] = {}
    with sandbox.db.transaction() as session:
        ws = session.scalars(select(Workspace).where(Workspace.slack_team_id == team_id)).one()
        vision = VisionStatement(
            workspace_id=ws.id, number=1, text="Every team knows by Monday", author_user_id="U0ADA"
        )
        session.add(vision)
        krs = {}
        for name, (channel, title, key_results, weeks) in TEAMS.items():
            team = session.scalar(select(Team).where(Team.workspace_id == ws.id, Team.channel_id == channel))
            if team is None:
                team = factories.team(session, ws, name=name, channel_id=channel)
                factories.member(session, team, "U0ADA", role=Role.FACILITATOR)
            team.cycle_anchor = CYCLE_START
            for user in {kr["owner"] for kr in key_results} - {"U0ADA"}:
                factories.member(session, team, user)
            objective = factories.committed_objective(
                session, team, now=_at(CYCLE_START), title=title, key_results=key_results
            )
            if name == "Rockets":
                objective.vision_id = vision.id
            session.flush()
            rows = list(
                session.scalars(
                    select(KeyResult).where(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
                )
            )
            for kr, values in zip(rows, weeks, strict=True):
                for week, (value, confidence) in zip(WEEKS, values, strict=True):
                    record_checkin(
                        session,
                        workspace_id=ws.id,
                        key_result_id=kr.id,
                        user_id=kr.owner_user_id,
                        answer=CheckInInput(value, confidence, None),
                        now=_at(week + timedelta(days=1)),
                    )
            krs[name] = rows
            ids[name] = team.id
        for number, (source, target, kind, state, note) in enumerate(RIPPLES, start=1):
            session.add(
                Ripple(
                    workspace_id=ws.id,
                    number=number,
                    from_team_id=ids[source],
                    to_team_id=ids[target],
                    key_result_id=krs[source][0].id,
                    to_key_result_id=krs[target][0].id if kind is RippleKind.DEPENDS_ON else None,
                    kind=kind,
                    state=state,
                    note=note,
                    created_by="U0ADA",
                    created_at=_at(WEEKS[2]),
                    notice_done_at=_at(WEEKS[2]),
                    closed_by="U0ADA" if state is RippleState.RESOLVED else None,
                    closed_at=_at(WEEKS[3]) if state is RippleState.RESOLVED else None,
                )
            )
    return ids


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


@pytest.fixture
def workspace(page, sandbox) -> dict[str, int]:
    """Rockets created in the sandbox's Slack, and the rest of the workspace seeded; the browser on the sandbox."""
    page.open("ada", "team-rocket")
    page.type("/okr team create Rockets")
    page.message("created the team")
    return seed(sandbox)


def one_h1(page) -> str:
    headings = page.driver.find_elements(By.TAG_NAME, "h1")
    assert len(headings) == 1, [h.text for h in headings]
    return headings[0].text


def test_sign_in_filter_to_at_risk_open_a_team_its_chart_and_a_ripple_then_sign_out(page, workspace):
    # the sandbox's Dashboard link (a new tab; here, the same one) asks a stranger to sign in first
    link = page.find("#open-dashboard")
    assert (link.get_attribute("href"), link.get_attribute("target")) == (f"{page.base_url}/dashboard/", "_blank")
    page.driver.get(link.get_attribute("href"))
    assert page.path().startswith("/dashboard/sign-in?next="), page.path()
    assert one_h1(page) == "Sign in to the OKR dashboard"
    page.find("#sign-in-with-slack").click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "a.person"), message="Slack's sign-in page never showed")
    assert "/openid/connect/authorize?" in page.driver.current_url
    people = {a.get_attribute("data-user"): a.text for a in page.driver.find_elements(By.CSS_SELECTOR, "a.person")}
    assert people["U0ADA"].startswith("Continue as Ada"), people
    assert {"U0BEN", "U0CLEO"} <= set(people)
    page.shot("slack-sign-in")
    page.find("a.person[data-user='U0ADA']").click()
    page.wait(lambda d: page.path() == "/dashboard/", message="Slack's redirect did not land on the overview")
    assert "Signed in as Ada" in page.text_of(".signout")
    assert one_h1(page).startswith("Teams")
    assert page.statuses() == {
        "Growth": "off-track",
        "Harbour": "at-risk",
        "Rockets": "at-risk",
        "Platform": "on-track",
    }
    assert list(page.statuses()) == ["Growth", "Harbour", "Rockets", "Platform"]  # what needs attention first
    page.shot("overview")

    # only the teams at risk
    at_risk = page.find(".tabs a[data-show='at-risk']")
    assert at_risk.text == "At risk 2"
    at_risk.click()
    page.wait(lambda d: "show=at-risk" in d.current_url)
    assert set(page.statuses()) == AT_RISK
    assert set(page.statuses().values()) == {"at-risk"}
    assert page.find(".tabs a[aria-current=page]").get_attribute("data-show") == "at-risk"
    rockets = page.find(f"#team-{workspace['Rockets']}")
    kr_statuses = [row.get_attribute("data-status") for row in rockets.find_elements(By.CSS_SELECTOR, "tr.kr")]
    assert kr_statuses == ["at-risk", "on-track"]
    assert "5/10 · at risk" in rockets.find_element(By.CSS_SELECTOR, "tr.kr").text
    page.shot("at-risk")

    # the team, by its heading
    page.click_link("Rockets", rockets.find_element(By.CSS_SELECTOR, "h2"))
    assert page.path() == f"/dashboard/teams/{workspace['Rockets']}"
    assert one_h1(page) == "Rockets"
    krs = page.driver.find_elements(By.CSS_SELECTOR, "section.kr")
    assert [kr.find_element(By.CSS_SELECTOR, "h4").text for kr in krs] == [
        "KR 1.1 · Teams active after week one",
        "KR 1.2 · Median minutes to a first check-in",
    ]
    assert krs[0].find_element(By.CSS_SELECTOR, ".status.at-risk").text.replace(",", "").startswith("at risk")
    assert "confidence 5/10" in krs[0].text, krs[0].text
    page.shot("team")

    # its chart
    page.click_link("KR 1.1", krs[0])
    assert page.path().startswith(f"/dashboard/teams/{workspace['Rockets']}/key-results/")
    assert one_h1(page) == "KR 1.1 · Teams active after week one"
    chart = page.find("figure.chart-large svg[role=img]")
    assert chart.is_displayed() and chart.size["width"] > 300, chart.size
    label = chart.get_attribute("aria-label")
    assert "Teams active after week one" in label, label
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.value")) == 4  # one point a week
    cells = [row.text for row in page.driver.find_elements(By.CSS_SELECTOR, "table.checkins tbody tr")]
    assert len(cells) == 4 and "47 %" in cells[-1] and "5/10, at risk" in cells[-1], cells
    page.shot("chart")

    # the team's ripples on the network: Rockets depends on Growth (R1), Platform affects Rockets (R2)
    page.follow(page.find(f"main a[href='/dashboard/network?team={workspace['Rockets']}']"))
    assert page.path() == f"/dashboard/network?team={workspace['Rockets']}"
    assert one_h1(page) == "Ripple network"
    panel = page.find("#team-panel")
    assert [li.text for li in panel.find_elements(By.CSS_SELECTOR, "ul.ripples li")] == [
        "R1 depends on Growth · open · at risk · conflict",
        "R2 Platform affects Rockets · open",
    ]
    edge = page.find("svg#network a[data-ripple='1']")
    assert (edge.get_attribute("data-from"), edge.get_attribute("data-to")) == (
        str(workspace["Rockets"]),
        str(workspace["Growth"]),
    )
    page.shot("network")

    # an arrow of the picture is a link: from the keyboard, it opens its ripple
    page.driver.execute_script("arguments[0].focus()", edge)
    assert page.focused() == edge
    page.focused().send_keys(Keys.ENTER)
    page.wait(lambda d: "ripple=1" in d.current_url, message="the arrow did not open R1")
    ripple = page.find("#ripple-panel")
    assert ripple.find_element(By.CSS_SELECTOR, "h2").text == "R1 · Rockets depends on Growth"
    assert "We need their trial numbers weekly" in ripple.text
    assert "KR 1.1 Trials converted" in ripple.text and "off track (2/10)" in ripple.text, ripple.text
    conflicts = [li.text for li in ripple.find_elements(By.CSS_SELECTOR, "ul.conflicts li")]
    assert conflicts == ["Rockets depends on Growth KR 1.1 Trials converted, which is off track (R1)."], conflicts
    assert page.find("#ripple-table tr#r1").get_attribute("aria-current") == "true"
    page.shot("ripple")

    # and its row in the table does the same for the other one
    page.click_link("R2", page.find("#ripple-table tr#r2"))
    page.wait(lambda d: "ripple=2" in d.current_url)
    assert page.find("#ripple-panel h2").text == "R2 · Platform affects Rockets"
    assert "The new deploy pipeline changes the onboarding" in page.text_of("#ripple-panel")

    # signing out: the dashboard asks to sign in again
    page.find(".signout button[type=submit]").click()
    page.wait(lambda d: "/dashboard/sign-in" in d.current_url, message="signing out went nowhere")
    assert not page.driver.find_elements(By.CSS_SELECTOR, ".signout")
    page.dashboard("/")
    assert page.path().startswith("/dashboard/sign-in?next="), page.path()
    assert page.find("#sign-in-with-slack").is_displayed()


def accessible_name(page, element) -> str:
    """What a screen reader calls a control: its labels, else its aria-label, else its text."""
    return page.driver.execute_script(
        "const e = arguments[0];"
        "const labels = e.labels ? [...e.labels].map(l => l.textContent).join(' ') : '';"
        "return (labels || e.getAttribute('aria-label') || e.textContent || '').trim();",
        element,
    )


def test_without_javascript_the_filters_and_the_ripple_table_still_work(page, workspace):
    page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        page.dashboard("/")
        page.sign_in_to_dashboard("U0BEN")
        # the filters are plain links, the teams server-drawn tables
        assert not page.driver.find_elements(By.CSS_SELECTOR, "main script, main [onclick]")
        for link in page.driver.find_elements(By.CSS_SELECTOR, ".tabs a, .sorts a"):
            assert link.get_attribute("href").startswith(page.base_url + "/dashboard/"), link.get_attribute("href")
        assert len(page.driver.find_elements(By.CSS_SELECTOR, "section.team table.okrs tbody tr.kr")) == 5
        page.follow(page.find(".tabs a[data-show='at-risk']"))
        assert set(page.statuses()) == AT_RISK
        # the network without its script: no zoom buttons (the script adds them), but every ripple is in the table
        page.follow(page.find("nav a[href='/dashboard/network']"))
        assert not page.driver.find_elements(By.CSS_SELECTOR, ".zoom button"), "the page's script ran"
        rows = page.driver.find_elements(By.CSS_SELECTOR, "#ripple-table tbody tr")
        assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == ["R1", "R2"]
        cells = [cell.text for cell in rows[0].find_elements(By.CSS_SELECTOR, "th, td")]
        assert cells[:5] == ["R1", "Rockets", "Growth", "depends on", "open"], cells
        assert cells[-2:] == ["at risk", "weak dependency"], cells
        page.follow(rows[1].find_element(By.CSS_SELECTOR, "th a"))
        assert page.find("#ripple-panel h2").text == "R2 · Platform affects Rockets"
    finally:
        page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    page.driver.refresh()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".zoom button"), message="the network's script never ran")


def test_one_heading_labelled_controls_and_the_keyboard(page, workspace):
    page.dashboard("/")
    page.sign_in_to_dashboard()
    pages = ["/", f"/teams/{workspace['Rockets']}", f"/network?team={workspace['Rockets']}", "/network?ripple=1"]
    for path in pages:
        page.dashboard(path)
        one_h1(page)
        for control in page.driver.find_elements(By.CSS_SELECTOR, "select, input:not([type=hidden]), button"):
            assert accessible_name(page, control), (path, control.get_attribute("outerHTML"))
        for nav in page.driver.find_elements(By.TAG_NAME, "nav"):
            assert nav.get_attribute("aria-label"), (path, nav.get_attribute("outerHTML")[:200])
        for table in page.driver.find_elements(By.CSS_SELECTOR, "main table"):
            assert table.find_elements(By.CSS_SELECTOR, "thead th[scope=col]"), (path, table.get_attribute("id"))

    # by keyboard, on the overview: the skip link first, then on through the filters to every team
    page.dashboard("/")
    assert page.find("label[for='vision-filter']").text == "Vision statement"
    page.find("body").send_keys(Keys.TAB)
    assert page.focused().text == "Skip to the content"
    reached: list[str] = []
    for _ in range(30):
        page.focused().send_keys(Keys.TAB)
        focused = page.focused()
        reached.append(focused.get_attribute("data-show") or focused.text.strip())
    assert reached.index("all") < reached.index("at-risk") < reached.index("Growth") < reached.index("Platform"), (
        reached
    )
    # Enter on a filter follows it, as a click would; then the first team is a Tab or so away
    for _ in range(30):
        if page.focused().get_attribute("data-show") == "at-risk":
            break
        page.focused().send_keys(Keys.SHIFT, Keys.TAB)
    page.focused().send_keys(Keys.ENTER)
    page.wait(lambda d: "show=at-risk" in d.current_url)
    assert set(page.statuses()) == AT_RISK
    for _ in range(30):
        page.focused().send_keys(Keys.TAB)
        if page.focused().text == "Harbour":
            break
    else:
        raise AssertionError("Tab never reached Harbour's heading")
    page.focused().send_keys(Keys.ENTER)
    page.wait(lambda d: page.path() == f"/dashboard/teams/{workspace['Harbour']}")
    assert one_h1(page) == "Harbour"


def test_resolved_ripples_are_shown_on_asking(page, workspace):
    page.dashboard("/network")
    page.sign_in_to_dashboard()
    assert page.path() == "/dashboard/network"  # back where the person was going
    shown = [th.text for th in page.driver.find_elements(By.CSS_SELECTOR, "#ripple-table tbody th")]
    assert shown == ["R1", "R2"]  # the live ones
    page.follow(page.find("a[data-toggle=all]"))
    rows = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.CSS_SELECTOR, "td.state").text
        for row in page.driver.find_elements(By.CSS_SELECTOR, "#ripple-table tbody tr")
    }
    assert rows == {"R1": "open", "R2": "open", "R3": "resolved"}, rows
    assert page.find("a[data-toggle=all]").text == "Show only the live ripples"


def test_the_dashboard_reads_the_sandbox_clock(page, workspace):
    said = page.time("checkin")  # on to Monday's check-in DMs, in the sandbox's page
    assert "Monday" in said, said
    page.dashboard("/")
    page.sign_in_to_dashboard()
    assert "As of 2026-12-14 " in page.text_of("footer"), page.text_of("footer")  # not the suite's Wednesday
    metas = [meta.text for meta in page.driver.find_elements(By.CSS_SELECTOR, "section.team .team-meta")]
    assert len(metas) == 4 and all("week 5 of 13" in meta for meta in metas), metas
