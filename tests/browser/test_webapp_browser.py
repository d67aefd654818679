"""The technician web app in a real browser: Debian's Chromium driving `specscan app` over `specscan serve`.

One app and one scoring service serve the whole file; each test signs in afresh. The test that stops the
scoring service is last.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_support import PASSWORD, REVIEWER, TECHNICIAN, Scoring, Screenshot
from playwright.sync_api import Page, expect

from specscan.data.generator import generate

pytestmark = pytest.mark.browser
A_LABEL = re.compile(r"^(compliant|non_compliant)$")
SAVED = re.compile(r"/components/(\d+)\?saved=1$")


def sign_in(page: Page, username: str = TECHNICIAN) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/components$"))


def add_component(page: Page, description: str, part_number: str) -> str:
    """Fills in the form by its labels and saves; returns the new component's id."""
    page.goto("/components/new")
    page.get_by_label("Description").fill(description)
    page.get_by_label("Part number").fill(part_number)
    page.get_by_label("Supplier").fill("Kontakt GmbH")
    page.get_by_label("Category").fill("electrical")
    page.get_by_role("button", name="Save and classify").click()
    expect(page).to_have_url(SAVED)
    return SAVED.search(page.url).group(1)


def model_label(page: Page) -> str:
    badge = page.locator("#prediction .badge.big")
    expect(badge).to_have_text(A_LABEL)
    return badge.inner_text()


def reload_until(page: Page, url: str, check: Callable[[], None], timeout: float = 30) -> None:
    """Loads `url` again until `check` (auto-waiting expects) passes: for pages that do not update themselves."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_a_technician_signs_in_with_the_right_password_and_out_again(page: Page, screenshot: Screenshot) -> None:
    page.goto("/components")
    expect(page).to_have_url(re.compile(r"/login\?next=/components$"))
    screenshot(page, "login.png")
    page.get_by_label("Username").fill(TECHNICIAN)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/components$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Components")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/components")
    expect(page).to_have_url(re.compile(r"/login\?next=/components$"))


def test_a_new_component_shows_its_label_probability_model_version_request_id_and_highlights(page: Page) -> None:
    sign_in(page)
    add_component(page, "Wiring harness connector, tin-plated brass contacts, Pb 2.8 % in the brass", "WH-2801")
    prediction = page.locator("#prediction")
    expect(prediction.locator(".badge.big")).to_have_text(A_LABEL)
    expect(prediction).to_contain_text(re.compile(r"P\(non_compliant\) = [01]\.\d{3}"))
    expect(prediction).to_contain_text(re.compile(r"Model version\s*compliance-classifier v1"))
    expect(prediction.locator("dt:text-is('Request id') + dd")).to_have_text(re.compile(r"^\S{8,}$"))
    expect(page.locator("#explanation .explained mark").first).to_be_visible()


def test_a_correction_is_shown_as_a_disagreement_listed_by_the_filter_and_audited(
        page: Page, screenshot: Screenshot) -> None:
    sign_in(page)
    agreed = add_component(page, "Wiring harness connector, PA66 housing, tin-plated brass contacts", "WH-0001")
    page.get_by_role("button", name=f"Confirm {model_label(page)}").click()
    expect(page.get_by_role("region", name="Technician's label")).to_contain_text(f"by {TECHNICIAN}")

    corrected = add_component(page, "Wiring harness connector, brass contacts, Pb 3.5 % in the brass", "WH-3501")
    other = "compliant" if model_label(page) == "non_compliant" else "non_compliant"
    page.get_by_label("Reason (optional)").fill("lead content is within the brass exemption")
    page.get_by_role("button", name=f"Correct to {other}").click()
    feedback = page.get_by_role("region", name="Technician's label")
    expect(feedback).to_contain_text(f"Labelled {other} by {TECHNICIAN}")
    expect(feedback).to_contain_text("disagrees with the model")
    expect(page.locator("#explanation .explained mark").first).to_be_visible()
    screenshot(page, "component.png")

    page.goto("/components")
    page.get_by_label("Disagreements only").check()
    expect(page).to_have_url(re.compile(r"disagree=yes"))
    results = page.locator("#results tbody")
    expect(results.get_by_role("link", name="WH-3501")).to_be_visible()
    expect(results.get_by_role("link", name="WH-0001")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, REVIEWER)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("component.correct")
    page.get_by_role("button", name="Filter").click()
    entries = page.locator("table.audit tbody tr")
    entry = entries.filter(has=page.get_by_role("link", name=f"component {corrected}", exact=True))
    expect(entry.get_by_role("cell")).to_have_text([re.compile(r"\d"), TECHNICIAN, "component.correct",
                                                    f"component {corrected}", re.compile("human_label")])
    expect(entries.filter(has=page.get_by_role("link", name=f"component {agreed}", exact=True))).to_have_count(0)


def test_a_csv_import_reports_bad_rows_classifies_the_others_and_the_export_holds_them(
        page: Page, screenshot: Screenshot, tmp_path: Path) -> None:
    examples = generate(revision="R1", rows=60, seed=11).drop_duplicates("text").head(18)
    good = [{"text": r.text, "label": r.label, "part_number": f"IMP-{n:03d}", "supplier": "Importer AG",
             "category": r.category} for n, r in enumerate(examples.itertuples(), start=1)]
    empty = {**good[0], "text": "", "part_number": "IMP-EMPTY"}
    too_long = {**good[0], "text": "Brake caliper bracket, cast iron EN-GJS-400. " * 30, "part_number": "IMP-LONG"}
    rows = [*good[:3], empty, *good[3:13], too_long, *good[13:]]  # the bad ones are data rows 4 and 15
    upload = tmp_path / "components.csv"
    with upload.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(good[0]))
        writer.writeheader()
        writer.writerows(rows)

    sign_in(page)
    page.get_by_role("link", name="Import / export").click()
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.get_by_role("region", name="Imported components.csv")
    expect(report).to_contain_text("18 components queued for classification")
    expect(report.locator("tbody tr td:first-child")).to_have_text(["4", "15"])
    screenshot(page, "import-report.png")

    def all_imported_are_classified() -> None:
        expect(page.locator("#results .count")).to_contain_text("18 components", timeout=2000)
        expect(page.locator("#results tbody .badge:text-is('pending')")).to_have_count(0, timeout=2000)

    reload_until(page, "/components?q=IMP-", all_imported_are_classified)
    page.goto("/components")
    screenshot(page, "components.png")

    page.goto("/transfer")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export labelled CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("text,label")
    labelled = {(row["text"], row["label"]) for row in csv.DictReader(io.StringIO(exported))}
    assert {(row["text"].strip(), row["label"]) for row in good} <= labelled


def test_the_new_component_form_can_be_filled_and_sent_from_the_keyboard(page: Page) -> None:
    sign_in(page)
    page.goto("/components/new")
    page.get_by_label("Description").focus()
    page.keyboard.type("Front brake pad set, low-metallic, copper-free, E-marked to UN ECE R90")
    for label, value in (("Part number", "BP-9001"), ("Supplier", "Bremsen AG"), ("Category", "brake")):
        page.keyboard.press("Tab")
        expect(page.get_by_label(label)).to_be_focused()
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    expect(page).to_have_url(SAVED)
    expect(page.get_by_role("heading", level=1)).to_have_text("BP-9001")
    expect(page.get_by_text("Bremsen AG")).to_be_visible()


def test_the_dashboard_shows_count_tiles_and_a_chart_of_predictions_per_day(
        page: Page, screenshot: Screenshot) -> None:
    sign_in(page)
    add_component(page, "LED tail lamp assembly, 12 V, 4.2 W, E-mark application pending", "TL-0042")
    model_label(page)
    page.get_by_role("link", name="Dashboard").click()
    tiles = page.get_by_role("region", name="Counts")
    components = tiles.locator(".stat", has=page.get_by_role("link", name="components", exact=True))
    expect(components.locator("b")).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    chart = page.get_by_role("img", name=re.compile(r"^Components classified per UTC day"))
    expect(chart.locator("g.day rect").first).to_be_visible()
    screenshot(page, "dashboard.png")


def test_a_component_saved_while_scoring_is_down_is_classified_in_place_once_it_is_back(
        page: Page, scoring: Scoring, screenshot: Screenshot) -> None:
    sign_in(page)
    scoring.server.stop()
    stopped = time.monotonic()
    try:
        add_component(page, "Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)", "CS-0004")
        prediction = page.locator("#prediction")
        expect(prediction).to_contain_text("classification pending")
        screenshot(page, "pending.png")
        page.evaluate("window.sameDocument = true")
    finally:
        scoring.start_again()  # on the same port, which the app calls
    # the retries back off (1 s, 2 s, 4 s, ...), so the next one comes at most about one outage after the return
    outage = time.monotonic() - stopped
    expect(prediction.locator(".badge.big")).to_have_text(A_LABEL, timeout=(20 + outage) * 1000)
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded: the panel should update in place"
