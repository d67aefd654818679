"""Browser-test fixtures: one scoring service and one web app per session, and Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    REVIEWER,
    TECHNICIAN,
    Scoring,
    Screenshot,
    WebApp,
    start_scoring,
    start_web_app,
    tail,
)
from playwright.sync_api import Browser, Page, sync_playwright
from unrun import cannot_run


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a browser Playwright downloads). Module-scoped: Playwright's sync
    API keeps an event loop running in this thread while it is open, which `asyncio.run` elsewhere refuses."""
    if not CHROMIUM.exists():
        cannot_run("BROWSER TESTS", f"{CHROMIUM} is missing: they need Debian's Chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def scoring(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scoring]:
    """The scoring service over the tests' tiny model, or over SPECSCAN_BROWSER_MODEL_HOME (a SPECSCAN_HOME
    with a champion, e.g. the one `make run` trains: the docs' screenshots show the real model)."""
    model_home = os.environ.get("SPECSCAN_BROWSER_MODEL_HOME")
    home = Path(model_home).resolve() if model_home else request.getfixturevalue("registered_home")
    service = start_scoring(home, tmp_path_factory.mktemp("browser-scoring"))
    yield service
    service.server.stop()


@pytest.fixture(scope="session")
def web(scoring: Scoring, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The web app, with the bootstrapped admin, a technician and a reviewer."""
    app = start_web_app(tmp_path_factory.mktemp("browser-app"), scoring)
    try:
        app.add_user(TECHNICIAN, "technician")
        app.add_user(REVIEWER, "reviewer")
        yield app
    finally:
        app.stop()


@pytest.fixture
def page(chromium: Browser, web: WebApp) -> Iterator[Page]:
    """A fresh browser context (no cookies) at 1280x800, relative URLs on the web app."""
    context = chromium.new_context(base_url=web.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshot(pytestconfig: pytest.Config) -> Screenshot:
    """Saves a full-page PNG under SPECSCAN_SCREENSHOT_DIR (for docs/img); does nothing when it is unset.

    Session-scoped so that it reads the variable before `_isolated_environment` removes it."""
    value = os.environ.get("SPECSCAN_SCREENSHOT_DIR")
    folder = (pytestconfig.invocation_params.dir / value).resolve() if value else None

    def save(page: Page, name: str) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / name, full_page=True)

    return save


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """A failed browser test shows the end of the web app's and the scoring service's logs."""
    report: pytest.TestReport = yield
    funcargs = getattr(item, "funcargs", {})
    if report.failed and "web" in funcargs:
        report.sections.append(("specscan app log", tail(funcargs["web"].log)))
    if report.failed and "scoring" in funcargs:
        report.sections.append(("specscan serve log", tail(funcargs["scoring"].server.log)))
    return report
