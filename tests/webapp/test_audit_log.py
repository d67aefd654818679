"""The audit log page: reviewers and admins read every change, newest first, filtered and paginated."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker
from webapp_support import other_browser, sign_in

from specscan.webapp import inventory
from specscan.webapp.models import AuditEntry, Component

BRASS = "Connector housing, 3.2% Pb in brass contacts"


def table(page: str) -> str:
    """The page's list of entries (the filter form above it names every action too)."""
    return page[page.index("<tbody>"):page.index("</tbody>")]


def rows(page: str) -> list[str]:
    return re.findall(r"<tr>.*?</tr>", table(page), re.DOTALL)


def corrected_component(client: TestClient, sessions: sessionmaker) -> int:
    """A component created by tina, classified non_compliant, corrected by tina to compliant."""
    csrf = sign_in(client, "tina")
    created = client.post("/components", data={"csrf_token": csrf, "description": BRASS}, follow_redirects=False)
    cid = int(created.headers["location"].split("/")[2].split("?")[0])
    with sessions() as db:
        version = db.get(Component, cid).version
    client.post(f"/components/{cid}/feedback", data={"csrf_token": csrf, "version": version, "label": "compliant",
                                                     "reason": "brass exemption"}, follow_redirects=False)
    return cid


def test_a_technician_may_not_read_the_log(client: TestClient) -> None:
    sign_in(client, "tina")
    response = client.get("/audit")
    assert response.status_code == 403 and "needs the reviewer role" in response.text


def test_a_reviewer_sees_the_correction_with_its_before_and_after(client: TestClient,
                                                                  sessions: sessionmaker) -> None:
    cid = corrected_component(client, sessions)
    reviewer = other_browser(client)  # her own browser: signing in ends the browser's previous session, audited
    sign_in(reviewer, "rita")
    page = reviewer.get("/audit")
    assert page.status_code == 200
    latest_two = rows(page.text)[:2]  # newest first: rita's log-in, then the correction
    assert "user.login" in latest_two[0] and "<td>rita</td>" in latest_two[0]
    newest = latest_two[1]
    assert "component.correct" in newest and "<td>tina</td>" in newest
    assert f'<a href="/components/{cid}">component {cid}</a>' in newest
    assert re.search(r"<code>human_label</code>:\s*<del>—</del> →\s*<ins>compliant</ins>", newest)
    assert re.search(r"<code>feedback_reason</code>:\s*<del>—</del> →\s*<ins>brass exemption</ins>", newest)
    assert "<code>description</code>" not in newest  # unchanged keys are left out
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.search(r'<td class="nowrap">([^<]+)</td>',
                                                                       newest).group(1))


def test_an_admin_reads_the_log_too(client: TestClient) -> None:
    sign_in(client, "ada")
    page = client.get("/audit")
    assert page.status_code == 200 and "user.login" in table(page.text)


def test_filters_by_actor_action_and_entity_id_narrow_the_list(client: TestClient, sessions: sessionmaker) -> None:
    cid = corrected_component(client, sessions)
    sign_in(client, "rita")
    everything = rows(client.get("/audit").text)
    by_tina = rows(client.get("/audit?actor=tina").text)
    corrections = rows(client.get("/audit?action=component.correct").text)
    of_component = rows(client.get(f"/audit?entity=component&entity_id={cid}").text)
    assert 0 < len(by_tina) < len(everything) and all("<td>tina</td>" in row for row in by_tina)
    assert len(corrections) == 1 and "component.correct" in corrections[0]
    assert [re.search(r"component\.\w+", row).group() for row in of_component] == [
        "component.correct", "component.classify", "component.create"]
    assert "No entries match." in client.get("/audit?actor=nobody").text
    assert '<option selected>component.correct</option>' in client.get("/audit?action=component.correct").text


def test_a_date_range_keeps_the_entries_of_those_utc_days(client: TestClient, sessions: sessionmaker) -> None:
    with sessions.begin() as db:
        first, second, third = db.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[:3]
        for entry_id, at in ((first, datetime(2024, 3, 1, 0, 0, tzinfo=UTC)),
                             (second, datetime(2024, 3, 2, 23, 59, 59, tzinfo=UTC)),
                             (third, datetime(2024, 3, 3, 0, 0, tzinfo=UTC))):
            db.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(at=at))
    sign_in(client, "rita")
    shown = rows(client.get("/audit?from=2024-03-01&to=2024-03-02").text)
    assert [re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row).group() for row in shown] == [
        "2024-03-02 23:59:59", "2024-03-01 00:00:00"]
    assert len(rows(client.get("/audit?from=2024-03-03").text)) > 1
    assert len(rows(client.get("/audit?to=2024-03-01").text)) == 1


def test_a_bad_date_or_an_inverted_range_is_a_400_naming_the_parameter(client: TestClient) -> None:
    sign_in(client, "rita")
    bad_date = client.get("/audit?from=yesterday")
    inverted = client.get("/audit?from=2024-03-02&to=2024-03-01")
    bad_page = client.get("/audit?page=0")
    assert bad_date.status_code == 400 and "from:" in bad_date.text
    assert inverted.status_code == 400 and "to: Value error, is before from" in inverted.text
    assert bad_page.status_code == 400 and "page:" in bad_page.text


def test_changed_values_are_html_escaped_and_long_ones_shortened(client: TestClient, sessions: sessionmaker) -> None:
    with sessions.begin() as db:
        component = inventory.create(db, inventory.ComponentFields(description="Plain washer"), actor="tina")
        inventory.update(db, component.id, inventory.ComponentFields(description="<script>alert(1)</script> washer",
                                                                     supplier="A" * 100),
                         expected_version=component.version, actor="tina")
    sign_in(client, "rita")
    newest = rows(client.get("/audit?action=component.update").text)[0]
    assert "<script>" not in newest and "&lt;script&gt;alert(1)&lt;/script&gt; washer" in newest
    assert "<del>Plain washer</del>" in newest
    assert re.search(r"<code>supplier</code>:\s*<del>&#34;&#34;</del> →\s*<ins>A{79}…</ins>", newest)
    creation = rows(client.get("/audit?action=component.create").text)[0]
    assert re.search(r"<code>description</code>:\s*<ins>Plain washer</ins>", creation)
    assert "<code>supplier</code>" not in creation  # a creation lists the values given, not the blank ones


def test_fifty_entries_a_page_newest_first_with_a_link_to_older_ones(client: TestClient,
                                                                     sessions: sessionmaker) -> None:
    with sessions.begin() as db:
        for n in range(60):
            inventory.create(db, inventory.ComponentFields(description=f"washer {n}"), actor="tina")
    sign_in(client, "rita")
    first = client.get("/audit?actor=tina")
    assert len(rows(first.text)) == 50 and 'href="/audit?actor=tina&amp;page=2" rel="next"' in first.text
    second = client.get("/audit?actor=tina&page=2")
    assert len(rows(second.text)) == 10 and 'rel="next"' not in second.text
    assert 'href="/audit?actor=tina" rel="prev"' in second.text
    with sessions() as db:
        newest = db.scalars(select(AuditEntry.entity_id).where(AuditEntry.actor == "tina")
                            .order_by(AuditEntry.id.desc())).first()
    assert f'href="/components/{newest}"' in rows(first.text)[0]
