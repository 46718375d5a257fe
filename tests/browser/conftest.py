"""The browser sandbox driven by a real headless Chromium (Debian's `chromium` and `chromium-driver`).

Each test gets a fresh sandbox (a migrated SQLite database, the fake Slack, the real bot behind signed HTTP, and the
page's server) and a new browser tab; one Chromium serves the whole run of a test process. Without Chromium or its
driver on the machine the tests are skipped and the summary says so in red; `.ci/run` installs both. Screenshots
taken along the way are kept under the run's temporary directory (`browser-screenshots`), as the summary says.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from bot.sandbox.session import Sandbox
from bot.sandbox.web.app import SandboxWeb
from bot.web import BackgroundServer
from tests.browser.page import Page
from tests.helpers import running_sandbox

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
BROWSER_MISSING = (
    "no Chromium or ChromeDriver found (apt-get install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER): "
    "the browser tests were skipped"
)


def pytest_terminal_summary(terminalreporter, config) -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        terminalreporter.write_sep("!", "Browser tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(BROWSER_MISSING, red=True)
        return
    base = config._tmp_path_factory.getbasetemp()
    shots = sorted(base.glob("**/browser-screenshots"))
    if shots:
        terminalreporter.write_line(f"browser screenshots: {', '.join(str(p) for p in shots)}")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(BROWSER_MISSING)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        "--lang=en-GB",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def sandbox(sqlite_url: str) -> Iterator[Sandbox]:
    with running_sandbox(sqlite_url, quiet=0.1) as sandbox:
        yield sandbox


@pytest.fixture
def page(browser, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, request) -> Iterator[Page]:
    server = BackgroundServer(SandboxWeb(sandbox), threads=8)
    shots = tmp_path_factory.getbasetemp() / "browser-screenshots"
    shots.mkdir(exist_ok=True)
    page = Page(browser, f"http://127.0.0.1:{server.port}", shots, request.node.name)
    sandbox.serve_page_at(page.base_url)
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        page.shot("failed")
    browser.get("about:blank")
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
