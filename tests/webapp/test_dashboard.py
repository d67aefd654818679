"""The dashboard: counts by label, the disagreement rate, counts per model version, predictions per day."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker
from webapp_support import sign_in

from specscan.settings import Settings
from specscan.webapp import inventory, stats
from specscan.webapp.models import utcnow
from specscan.webapp.scoring_client import Classification


def add(db: Session, settings: Settings, model: tuple[str, float, int] | None = None, *,
        classified_at: datetime | None = None, human: str | None = None) -> None:
    """A component, classified as `model` (label, probability, version) at `classified_at`, labelled `human`."""
    component = inventory.create(db, inventory.ComponentFields(description=f"part {uuid.uuid4().hex}"), actor="tina")
    if model is not None:
        label, probability, version = model
        assert inventory.apply(db, component.id, component.description, Classification(
            label=label, probability=probability, model_version=version, request_id=uuid.uuid4().hex),
            settings, actor="tina")
        component.classified_at = classified_at
    if human is not None:
        inventory.set_feedback(db, component.id, human, "", expected_version=component.version, actor="rita")


def noon(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def today() -> date:
    return utcnow().date()


@pytest.fixture
def inventory_of_six(sessions: sessionmaker, settings: Settings, today: date) -> None:
    """Six components: three compliant, two non_compliant, one pending; three reviewed, two of them against
    the model; one in the review queue; classified on days -5, -2 (twice), 0 and -40 (outside the chart)."""
    with sessions.begin() as db:
        add(db, settings, ("compliant", 0.04, 3), classified_at=noon(today - timedelta(days=2)), human="compliant")
        add(db, settings, ("non_compliant", 0.93, 3), classified_at=noon(today - timedelta(days=2), 23),
            human="compliant")
        add(db, settings, ("non_compliant", 0.95, 2), classified_at=noon(today - timedelta(days=5), 0))
        add(db, settings, ("compliant", 0.6, 3), classified_at=noon(today))  # in the review band
        add(db, settings)  # pending
        add(db, settings, ("compliant", 0.1, 2), classified_at=noon(today - timedelta(days=40)),
            human="non_compliant")


def test_counts_by_label_review_and_disagreement(sessions: sessionmaker, inventory_of_six: None) -> None:
    with sessions() as db:
        counts = stats.counts(db)
    assert counts == stats.Counts(total=6, compliant=3, non_compliant=2, pending=1, reviewed=3, both_labelled=3,
                                  disagreements=2, review_queue=1)
    assert counts.disagreement_rate == pytest.approx(2 / 3)


def test_counts_per_model_version_newest_first(sessions: sessionmaker, inventory_of_six: None) -> None:
    with sessions() as db:
        versions = stats.by_model_version(db)
    assert versions == [
        stats.VersionCounts(model_version=3, classified=3, compliant=2, non_compliant=1, reviewed=2, disagreements=1),
        stats.VersionCounts(model_version=2, classified=2, compliant=1, non_compliant=1, reviewed=1, disagreements=1),
    ]


def test_timeline_counts_each_utc_day_of_the_last_30_by_label(sessions: sessionmaker, inventory_of_six: None,
                                                               today: date) -> None:
    with sessions() as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SET TIME ZONE 'America/New_York'"))  # the days stay UTC days whatever the session's zone
        timeline = stats.timeline(db, today=today)
    assert [day.day for day in timeline.days] == [today - timedelta(days=n) for n in range(29, -1, -1)]
    with_data = {(today - day.day).days: (day.compliant, day.non_compliant) for day in timeline.days if day.total}
    assert with_data == {5: (0, 1), 2: (1, 1), 0: (1, 0)}
    assert timeline.total == 4 and timeline.busiest.day == today - timedelta(days=2)


def test_timeline_of_an_earlier_window_counts_the_older_classification(sessions: sessionmaker,
                                                                       inventory_of_six: None, today: date) -> None:
    with sessions() as db:
        timeline = stats.timeline(db, today=today - timedelta(days=35))
    assert [(day.day, day.total) for day in timeline.days if day.total] == [(today - timedelta(days=40), 1)]


def test_the_dashboard_is_three_aggregate_queries(sessions: sessionmaker, inventory_of_six: None) -> None:
    statements: list[str] = []
    with sessions() as db:
        engine = db.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            stats.dashboard(db)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 3 and all("count(" in statement.lower() for statement in statements)


@pytest.mark.parametrize(("peak", "axis_max", "ticks"), [(0, 1, [0, 1]), (1, 1, [0, 1]), (3, 5, [0, 2, 5]),
                                                          (7, 10, [0, 5, 10]), (12, 20, [0, 10, 20]),
                                                          (100, 100, [0, 50, 100])])
def test_the_chart_axis_ends_at_a_round_number_above_the_busiest_day(peak: int, axis_max: int,
                                                                      ticks: list[int]) -> None:
    timeline = stats.Timeline([stats.DayCounts(date(2024, 1, 1), peak, 0), stats.DayCounts(date(2024, 1, 2), 0, 0)])
    assert (timeline.axis_max, timeline.ticks) == (axis_max, ticks)


def tile(page: str, caption: str) -> str:
    """The number on the stat tile whose caption starts with `caption`."""
    match = re.search(r'<div class="stat"><b>([^<]*)</b>\s*<span>(?:<a [^>]*>)?' + re.escape(caption), page)
    assert match, f"no tile {caption!r}"
    return match.group(1)


def test_the_page_shows_the_counts_versions_and_a_bar_group_per_day_with_data(
        client: TestClient, inventory_of_six: None, today: date) -> None:
    sign_in(client, "tina")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert [tile(page.text, caption) for caption in ("components", "compliant", "non_compliant",
                                                     "pending classification", "reviewed by a person",
                                                     "disagreement rate", "in the review queue")] == [
        "6", "3", "2", "1", "3", "66.7%", "1"]
    assert "2 of 3 labelled by both" in page.text
    assert re.search(r'<a href="/components\?model_version=3">v3</a></td>\s*<td class="num">3</td>', page.text)
    chart = page.text[page.text.index("<svg"):page.text.index("</svg>")]
    assert 'role="img"' in chart and "4 in all, 2 compliant and 2 non_compliant" in chart
    assert chart.count('<g class="day">') == 3
    two_days_ago = today - timedelta(days=2)
    assert f"<title>{two_days_ago}: 1 compliant, 1 non_compliant</title>" in chart
    assert "day (UTC)" in chart and "components classified" in chart  # axis labels
    numbers = page.text[page.text.index("<details>"):page.text.index("</details>")]
    assert re.search(rf'<td>{two_days_ago}</td><td class="num">1</td><td class="num">1</td><td class="num">2</td>',
                     numbers)


def test_an_empty_inventory_renders_with_no_rate_and_no_bars(client: TestClient) -> None:
    sign_in(client, "tina")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert tile(page.text, "components") == "0" and tile(page.text, "disagreement rate") == "—"
    assert '<g class="day">' not in page.text and "No components classified in these days." in page.text
    assert "Nothing classified yet." in page.text


def test_the_dashboard_needs_a_signed_in_user(client: TestClient) -> None:
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/dashboard"
