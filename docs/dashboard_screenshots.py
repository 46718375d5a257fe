"""The README's pictures of the web dashboard: `docs/dashboard-overview.png` and `docs/dashboard-network.png`.

    .venv/bin/python docs/dashboard_screenshots.py

Starts the browser sandbox on a temporary SQLite file (the fake Slack, the real bot and its dashboard), fills its
workspace with a made-up company of twelve teams in week 9 of their cycle (nine weeks of check-ins, a few teams at
risk or off track, one gone silent, two dozen ripples, two of them conflicts), signs in through the fake Slack's
Sign in with Slack page in headless Chromium, and saves both pages 1400 px wide. The clock is pinned, so the pictures
change only when the pages do. Needs Debian's `chromium` and `chromium-driver` (or CHROMIUM and CHROMEDRIVER).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import clock  # noqa: E402
from bot.rituals import schedule  # noqa: E402
from bot.rituals.checkins import CheckInInput, record_checkin  # noqa: E402
from bot.rituals.cycles import current_cycle  # noqa: E402
from bot.rituals.drafts import snapshot  # noqa: E402
from bot.rituals.events import record_event  # noqa: E402
from bot.rituals.people import ensure_person  # noqa: E402
from bot.sandbox.session import Sandbox  # noqa: E402
from bot.sandbox.web.app import SandboxWeb  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web import BackgroundServer  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    CycleState,
    Direction,
    KeyResult,
    Membership,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Ripple,
    RippleKind,
    RippleState,
    Role,
    Team,
    VisionStatement,
    Workspace,
)

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday
CYCLE_START = date(2026, 10, 12)  # a Monday: NOW is in week 9
WEEKS = 9  # a check-in week by week, up to this week
WIDTH = 1400
OUT = ROOT / "docs"

# people of the made-up company, besides the sandbox's ada, ben and cleo: (name, real name, zone)
PEOPLE = [
    ("dana", "Dana Whitlock", "Europe/London"),
    ("eli", "Eli Brandt", "Europe/Berlin"),
    ("farah", "Farah Qadri", "Europe/Paris"),
    ("gus", "Gus Okafor", "America/New_York"),
    ("hana", "Hana Sato", "Asia/Tokyo"),
    ("ivo", "Ivo Marek", "Europe/Prague"),
    ("jun", "Jun Park", "Asia/Seoul"),
    ("kemal", "Kemal Aydin", "Europe/Istanbul"),
    ("lena", "Lena Fischer", "Europe/Berlin"),
    ("mo", "Mo Haddad", "Europe/London"),
    ("nia", "Nia Roberts", "America/Chicago"),
    ("oskar", "Oskar Lind", "Europe/Stockholm"),
    ("priya", "Priya Nair", "Asia/Kolkata"),
]
VISIONS = [
    "A new customer sees their team's progress in the first hour",
    "Nobody at the company waits on another team to ship",
]


@dataclass
class KeyResultPlan:
    metric: str
    unit: str | None
    baseline: float
    target: float
    owner: str  # a sandbox name
    confidences: list[int]  # week by week, oldest first; fewer than WEEKS: the owner stopped checking in
    direction: str = "increase"


@dataclass
class ObjectivePlan:
    title: str
    why: str
    krs: list[KeyResultPlan]
    vision: int | None = None


@dataclass
class TeamPlan:
    name: str
    channel: str
    facilitator: str
    zone: str
    objectives: list[ObjectivePlan]


def on_track() -> list[int]:
    return [8, 8, 7, 8, 8, 7, 8, 8, 8]


def slipping(end: int) -> list[int]:
    """Confident at first, then less so, down to `end`."""
    start = [8, 8, 7, 7, 6]
    rest = WEEKS - len(start)
    return start + [max(end, 6 - round((6 - end) * (i + 1) / rest)) for i in range(rest)]


TEAMS = [
    TeamPlan(
        "Onboarding",
        "team-onboarding",
        "ada",
        "Europe/London",
        [
            ObjectivePlan(
                "New workspaces get value in their first week",
                "Most trials that churn never finish setting up a first team",
                [
                    KeyResultPlan("Workspaces with a team set up on day one", "%", 34, 60, "ben", on_track()),
                    KeyResultPlan(
                        "Median minutes to the first check-in", "min", 190, 45, "dana", on_track(), "decrease"
                    ),
                ],
                vision=1,
            )
        ],
    ),
    TeamPlan(
        "Growth",
        "team-growth",
        "cleo",
        "Europe/Paris",
        [
            ObjectivePlan(
                "Trials turn into paying workspaces",
                "Conversion has been flat for two quarters",
                [
                    KeyResultPlan("Trial-to-paid conversion", "%", 9, 14, "farah", slipping(2)),
                    KeyResultPlan("Notification emails per user per week", None, 2, 4, "cleo", on_track()),
                ],
                vision=1,
            )
        ],
    ),
    TeamPlan(
        "Billing",
        "team-billing",
        "eli",
        "Europe/Berlin",
        [
            ObjectivePlan(
                "Invoices are right the first time",
                "Every wrong invoice costs a support ticket and some trust",
                [
                    KeyResultPlan("Invoices corrected after sending", "%", 4.5, 1, "eli", slipping(5), "decrease"),
                    KeyResultPlan("Plans migrated to the new price book", "%", 0, 100, "ivo", on_track()),
                ],
            )
        ],
    ),
    TeamPlan(
        "Platform",
        "team-platform",
        "gus",
        "America/New_York",
        [
            ObjectivePlan(
                "Deploys are boring",
                "Releases still need a person watching the graphs",
                [
                    KeyResultPlan("Deploys without a rollback", "%", 88, 98, "gus", on_track()),
                    KeyResultPlan("Minutes from merge to production", "min", 55, 15, "oskar", on_track(), "decrease"),
                ],
                vision=2,
            ),
            ObjectivePlan(
                "Teams own their services' alerts",
                "",
                [KeyResultPlan("Services with an on-call owner", "%", 40, 100, "gus", on_track())],
                vision=2,
            ),
        ],
    ),
    TeamPlan(
        "Mobile",
        "team-mobile",
        "hana",
        "Asia/Tokyo",
        [
            ObjectivePlan(
                "The app is worth opening every morning",
                "Daily opens fell after the redesign",
                [
                    KeyResultPlan("Daily active share of weekly users", "%", 31, 45, "hana", slipping(4)),
                    KeyResultPlan("Notification emails per user per week", None, 4, 2, "jun", on_track(), "decrease"),
                    KeyResultPlan("Crash-free sessions", "%", 99.1, 99.8, "jun", on_track()),
                ],
            )
        ],
    ),
    TeamPlan(
        "Search",
        "team-search",
        "jun",
        "Asia/Seoul",
        [
            ObjectivePlan(
                "People find the answer on the first page",
                "",
                [
                    KeyResultPlan("Searches with a click in the top three", "%", 52, 70, "jun", on_track()),
                    KeyResultPlan("p95 search latency", "ms", 900, 300, "kemal", on_track(), "decrease"),
                ],
            )
        ],
    ),
    TeamPlan(
        "Data",
        "team-data",
        "kemal",
        "Europe/Istanbul",
        [
            ObjectivePlan(
                "Every team trusts its numbers",
                "Two teams reported different sign-up counts in the same week",
                [
                    KeyResultPlan("Dashboards fed by the shared models", "%", 20, 80, "kemal", slipping(3)),
                    KeyResultPlan("Nightly loads finished by 07:00", "%", 70, 99, "lena", slipping(2)),
                ],
                vision=2,
            )
        ],
    ),
    TeamPlan(
        "Support",
        "team-support",
        "lena",
        "Europe/Berlin",
        [
            ObjectivePlan(
                "Customers hear back within the hour",
                "",
                [
                    KeyResultPlan("Tickets answered within an hour", "%", 61, 90, "lena", on_track()),
                    KeyResultPlan(
                        "Tickets solved by the help centre", "%", 18, 35, "mo", [7, 7, 8, 7, 7, 7]
                    ),  # silent since
                ],
            )
        ],
    ),
    TeamPlan(
        "Security",
        "team-security",
        "mo",
        "Europe/London",
        [
            ObjectivePlan(
                "Nothing ships with a known critical flaw",
                "",
                [
                    KeyResultPlan(
                        "Critical findings open longer than a week", None, 12, 0, "mo", slipping(5), "decrease"
                    ),
                    KeyResultPlan("Services on single sign-on", "%", 45, 100, "priya", on_track()),
                ],
            )
        ],
    ),
    TeamPlan(
        "Design Systems",
        "team-design-systems",
        "nia",
        "America/Chicago",
        [
            ObjectivePlan(
                "One component library everywhere",
                "",
                [
                    KeyResultPlan("Screens built from shared components", "%", 35, 75, "nia", on_track()),
                    KeyResultPlan("Accessibility issues in the audit", None, 140, 30, "farah", on_track(), "decrease"),
                ],
                vision=1,
            )
        ],
    ),
    TeamPlan(
        "Payments",
        "team-payments",
        "oskar",
        "Europe/Stockholm",
        [
            ObjectivePlan(
                "Paying us works in every market we sell in",
                "",
                [
                    KeyResultPlan("Card payments that succeed first time", "%", 93, 97.5, "oskar", on_track()),
                    KeyResultPlan("Markets with a local payment method", None, 3, 9, "ivo", on_track()),
                ],
            )
        ],
    ),
    TeamPlan(
        "Partnerships",
        "team-partnerships",
        "priya",
        "Asia/Kolkata",
        [
            ObjectivePlan(
                "Partners bring us customers",
                "",
                [
                    KeyResultPlan("Integrations listed in the marketplace", None, 6, 15, "priya", on_track()),
                    KeyResultPlan("New workspaces from partner referrals", "%", 5, 12, "dana", on_track()),
                ],
            )
        ],
    ),
]

# (from team, its KR "O.K", to team, their KR or None, kind, state, note, week declared (1–9))
A, D = RippleKind.AFFECTS, RippleKind.DEPENDS_ON
OPEN, ACK, DONE, GONE = RippleState.OPEN, RippleState.ACKNOWLEDGED, RippleState.RESOLVED, RippleState.WITHDRAWN
RIPPLES = [
    ("Onboarding", "1.1", "Growth", "1.1", A, ACK, "A faster setup should lift conversion; watch the trial cohort", 1),
    ("Growth", "1.1", "Data", "1.1", D, OPEN, "Conversion is read from the shared models; we need them right", 2),
    ("Billing", "1.2", "Payments", None, A, ACK, "New price book changes which plans can pay by invoice", 2),
    ("Platform", "1.2", "Mobile", None, A, DONE, "Faster deploys mean the app's API changes land sooner", 2),
    ("Mobile", "1.1", "Platform", "1.1", D, ACK, "Morning pushes need the notification service to stay up", 2),
    ("Search", "1.2", "Platform", "2.1", D, OPEN, "Latency alerts go to whoever owns the index service", 3),
    ("Support", "1.1", "Onboarding", None, A, ACK, "Setup questions are a third of our tickets", 3),
    ("Data", "1.2", "Platform", "1.1", D, ACK, "Nightly loads run on the batch cluster's deploys", 3),
    ("Security", "1.2", "Onboarding", "1.1", A, OPEN, "SSO setup adds a step on day one for larger customers", 3),
    ("Design Systems", "1.1", "Mobile", "1.1", A, ACK, "The redesign moves to shared components in November", 4),
    ("Payments", "1.1", "Billing", "1.1", A, OPEN, "Failed payments create the corrected invoices", 4),
    ("Partnerships", "1.2", "Growth", "1.1", A, ACK, "Referred workspaces convert differently; count them apart", 4),
    ("Growth", "1.2", "Mobile", "1.2", A, OPEN, "More digest emails: the app's own notifications may overlap", 5),
    ("Billing", "1.1", "Support", "1.1", A, DONE, "Fewer wrong invoices, fewer billing tickets", 5),
    ("Platform", "2.1", "Security", "1.1", A, ACK, "On-call owners are who security findings go to", 5),
    ("Search", "1.1", "Data", None, D, OPEN, "Click-through is measured in the shared models", 5),
    ("Onboarding", "1.2", "Design Systems", "1.1", D, ACK, "The setup screens wait for the new form components", 6),
    ("Support", "1.2", "Search", "1.1", D, OPEN, "Help-centre deflection depends on search finding the article", 6),
    ("Mobile", "1.3", "Platform", None, A, GONE, "Crash reports move to the new pipeline", 6),
    ("Payments", "1.2", "Partnerships", None, A, OPEN, "Local methods open markets partners asked about", 7),
    ("Security", "1.1", "Search", "1.2", A, OPEN, "Patching the index service means a rolling restart", 7),
    ("Data", "1.1", "Growth", "1.1", A, ACK, "Conversion numbers change once Growth reads the shared model", 7),
    ("Design Systems", "1.2", "Support", None, A, OPEN, "Audit fixes change the help centre's screenshots", 8),
    ("Partnerships", "1.1", "Platform", "1.1", D, OPEN, "Marketplace listings need a stable public API", 8),
    ("Onboarding", "1.1", "Data", None, D, OPEN, "Day-one numbers come from the nightly load", 9),
]


def week_start(n: int) -> date:
    """The Monday of the cycle's week `n` (1–13)."""
    return CYCLE_START + timedelta(weeks=n - 1)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def fill(sandbox: Sandbox) -> None:
    """The made-up company, written as the bot's own rituals write it."""
    users = {name: user_id for name, (user_id, _real, _admin) in sandbox.people.items()}
    for name, real_name, zone in PEOPLE:
        user_id = f"U0{name.upper()}"
        sandbox.fake.add_user(user_id, name, real_name=real_name, tz=zone)
        sandbox.people[name] = (user_id, real_name, False)
        users[name] = user_id
    slack_team = sandbox.fake.workspace().team_id
    with sandbox.db.transaction() as session:
        ws = session.scalars(select(Workspace).where(Workspace.slack_team_id == slack_team)).one()
        ws.name = "Lumen Labs"
        visions = []
        for number, text in enumerate(VISIONS, start=1):
            vision = VisionStatement(
                workspace_id=ws.id, number=number, text=text, author_user_id=users["ada"], created_at=at(CYCLE_START)
            )
            session.add(vision)
            visions.append(vision)
        session.flush()
        krs: dict[tuple[str, str], KeyResult] = {}
        teams: dict[str, Team] = {}
        for n, plan in enumerate(TEAMS):
            channel_id = f"C0{plan.channel.removeprefix('team-').replace('-', '').upper()[:9]}"
            sandbox.fake.add_channel(channel_id, plan.channel, members=list(users.values()))
            sandbox.channels[plan.channel] = channel_id
            created = at(CYCLE_START - timedelta(days=30 - n))
            team = Team(
                workspace_id=ws.id,
                name=plan.name,
                name_key=plan.name.casefold(),
                channel_id=channel_id,
                timezone=plan.zone,
                cycle_anchor=CYCLE_START,
                created_by=users[plan.facilitator],
                created_at=created,
            )
            session.add(team)
            session.flush()
            teams[plan.name] = team
            owners = {kr.owner for o in plan.objectives for kr in o.krs} | {plan.facilitator}
            for person in sorted(owners):
                role = Role.FACILITATOR if person == plan.facilitator else Role.MEMBER
                session.add(
                    Membership(
                        workspace_id=ws.id, team_id=team.id, user_id=users[person], role=role, created_at=created
                    )
                )
            session.flush()
            for number, planned in enumerate(plan.objectives, start=1):
                rows = commit(session, team, planned, number, users, visions, now=at(CYCLE_START, 15))
                for position, (kr, row) in enumerate(zip(planned.krs, rows, strict=True), start=1):
                    krs[(plan.name, f"{number}.{position}")] = row
                    check_in(session, ws.id, row, kr, users[kr.owner])
        for number, (source, ours, target, theirs, kind, state, note, week) in enumerate(RIPPLES, start=1):
            declared = at(week_start(week) + timedelta(days=2), 14)
            ripple = Ripple(
                workspace_id=ws.id,
                number=number,
                from_team_id=teams[source].id,
                to_team_id=teams[target].id,
                key_result_id=krs[(source, ours)].id,
                to_key_result_id=krs[(target, theirs)].id if theirs else None,
                kind=kind,
                note=note,
                state=state,
                created_by=users[next(p.facilitator for p in TEAMS if p.name == source)],
                created_at=declared,
                updated_at=declared,
                notice_done_at=declared,
            )
            target_lead = users[next(p.facilitator for p in TEAMS if p.name == target)]
            if state is not OPEN:
                ripple.acknowledged_by, ripple.acknowledged_at = target_lead, declared + timedelta(hours=20)
            if state in (DONE, GONE):
                ripple.closed_by, ripple.closed_at = ripple.created_by, declared + timedelta(days=9)
            session.add(ripple)
        # the names Slack shows, as the bot keeps them from users.list for the people it writes to
        for user_id, real_name, _admin in sandbox.people.values():
            ensure_person(session, workspace_id=ws.id, user_id=user_id, now=at(CYCLE_START)).name = real_name


def commit(
    session, team: Team, planned: ObjectivePlan, number: int, users, visions, *, now: datetime
) -> list[KeyResult]:
    """What committing a draft writes: the objective, its key results at their baseline, version 1, the event."""
    cycle = current_cycle(session, team=team, now=now)
    cycle.state = CycleState.ACTIVE
    lead = users[next(p.facilitator for p in TEAMS if p.name == team.name)]
    objective = Objective(
        workspace_id=team.workspace_id,
        cycle_id=cycle.id,
        number=number,
        title=planned.title,
        why=planned.why or None,
        vision_id=visions[planned.vision - 1].id if planned.vision else None,
        state=ObjectiveState.COMMITTED,
        version=1,
        owner_user_id=lead,
        author_user_id=lead,
        created_at=now,
        updated_at=now,
    )
    session.add(objective)
    session.flush()
    rows = [
        KeyResult(
            workspace_id=team.workspace_id,
            objective_id=objective.id,
            position=position,
            metric=kr.metric,
            unit=kr.unit,
            baseline=kr.baseline,
            target=kr.target,
            current=kr.baseline,
            direction=Direction(kr.direction),
            owner_user_id=users[kr.owner],
            created_at=now,
            updated_at=now,
        )
        for position, kr in enumerate(planned.krs, start=1)
    ]
    session.add_all(rows)
    session.flush()
    session.add(
        ObjectiveVersion(
            workspace_id=team.workspace_id,
            objective_id=objective.id,
            version=1,
            change="committed",
            actor_user_id=lead,
            snapshot=snapshot(objective, rows),
            created_at=now,
        )
    )
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="objective",
        entity_id=objective.id,
        action="committed",
        actor=lead,
        now=now,
        data={"cycle": cycle.number, "number": number, "key_results": len(rows)},
    )
    session.flush()
    schedule.refresh_team(session, team=team, now=now)
    return rows


def check_in(session, workspace_id: int, row: KeyResult, kr: KeyResultPlan, owner: str) -> None:
    """The owner's weekly check-ins, each on the Tuesday of its week: the value moves the way the confidence says
    (about a thirteenth of the way a week when confident, less when at risk, hardly at all when off track), with a
    little unevenness from week to week."""
    share = 0.0
    for week, confidence in enumerate(kr.confidences, start=1):
        step = 0.07 if confidence >= 7 else 0.035 if confidence >= 4 else 0.005
        share = min(1.0, share + step * (0.7 + 0.15 * ((week * 7 + row.position * 3) % 5)))
        value = round(kr.baseline + (kr.target - kr.baseline) * share, 1)
        record_checkin(
            session,
            workspace_id=workspace_id,
            key_result_id=row.id,
            user_id=owner,
            answer=CheckInInput(value, confidence, None),
            now=at(week_start(week) + timedelta(days=1), 9 + week % 5),
        )


# the browser ---------------------------------------------------------------------------------------------------


def chrome() -> webdriver.Chrome:
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not binary or not driver_path:
        sys.exit("No Chromium or ChromeDriver found: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WIDTH},1000",
        "--lang=en-GB",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def sign_in(driver, base_url: str) -> None:
    """Through the pages a person sees: the dashboard asks, Slack's page lists people, Ada continues."""
    wait = WebDriverWait(driver, 20)
    driver.get(f"{base_url}/dashboard/")
    wait.until(lambda d: d.find_element(By.ID, "sign-in-with-slack")).click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "a.person[data-user='U0ADA']")).click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".signout"))


def save(driver, path: Path, *, cut_after: str | None = None, most: int = 1500) -> None:
    """The page `WIDTH` wide and as tall as it is, at most `most` pixels: cut below the last `cut_after` element
    that fits, when given."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if height > most and cut_after:
        bottoms = driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.getBoundingClientRect().bottom)", cut_after
        )
        height = max((b for b in bottoms if b + 24 <= most), default=most) + 24
    metrics = {"width": WIDTH, "height": int(min(height, most)), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"saved {path.relative_to(ROOT)} ({WIDTH}×{metrics['height']})")


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    clock.set_now(NOW)
    with tempfile.TemporaryDirectory(prefix="okr-dashboard-shots-") as tmp:
        url = f"sqlite:///{tmp}/okr.db"
        upgrade(url)
        sandbox = Sandbox(Settings(database_url=make_url(url), scheduler=False), background=False, quiet=0.1).start()
        sandbox.dashboard.wall = clock.now  # sign-in and sessions at the pinned instant, as the fake Slack signs them
        server = BackgroundServer(SandboxWeb(sandbox), threads=8)
        base_url = f"http://127.0.0.1:{server.port}"
        sandbox.serve_page_at(base_url)
        driver = chrome()
        try:
            fill(sandbox)
            sign_in(driver, base_url)
            driver.get(f"{base_url}/dashboard/")
            save(driver, OUT / "dashboard-overview.png", cut_after="section.team")
            driver.get(f"{base_url}/dashboard/network")
            save(driver, OUT / "dashboard-network.png", cut_after=".network-layout")
        finally:
            driver.quit()
            server.stop()
            sandbox.stop()
            clock.reset()
    return 0


if __name__ == "__main__":
    sys.exit(main())
