"""Components through the web app: create, classify on save, edit, feedback, pending and retry."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from webapp_support import ScriptedScoring, sign_in

from specscan.settings import Settings
from specscan.webapp import inventory
from specscan.webapp.models import AuditEntry, Component, utcnow

BRASS = "Connector housing, 3.2% Pb in brass contacts"


def create(client: TestClient, csrf: str, description: str, **fields: str):
    return client.post("/components", data={"csrf_token": csrf, "description": description, **fields},
                       follow_redirects=False)


def component_id(response) -> int:
    return int(re.search(r"/components/(\d+)", response.headers["location"]).group(1))


def test_saving_a_component_classifies_it_and_shows_label_probability_version_and_request_id(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring) -> None:
    csrf = sign_in(client, "tina")
    response = create(client, csrf, BRASS, part_number="CN-100", supplier="Acme", category="connectors")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    with sessions() as db:
        component = db.get(Component, component_id(response))
    assert component.status == "classified" and component.model_label == "non_compliant"
    assert component.request_id and component.model_version == 3
    for shown in ("non_compliant", "0.930", "v3", component.request_id, "CN-100"):
        assert shown in page.text
    assert '<mark class="pos4"' in page.text  # the words that pushed the decision are highlighted


def test_scoring_service_down_saves_the_component_as_pending_and_the_retry_classifies_it(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    scoring.down = True
    response = create(client, csrf, "Brake pad set, copper-free")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "classification pending" in page.text and "connection refused" in page.text
    assert inventory.classify_pending(sessions, scoring, settings) == 0  # still down: nothing lost, nothing done
    scoring.down = False
    assert inventory.classify_pending(sessions, scoring, settings, now=utcnow() + timedelta(hours=1)) == 1
    with sessions() as db:
        component = db.get(Component, component_id(response))
    expected = scoring.score(["Brake pad set, copper-free"])[0]  # what the scripted service answers for it
    assert (component.status, component.model_label, component.probability, component.model_version) == \
        ("classified", expected.label, expected.probability, scoring.model_version) == \
        ("classified", "compliant", 0.04, 3)
    assert component.request_id and component.last_error is None
    page = client.get(response.headers["location"])
    assert "classification pending" not in page.text
    assert '<span class="badge big compliant">compliant</span>' in page.text and "0.040" in page.text


def test_editing_the_description_reclassifies_and_a_stale_version_is_refused(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    cid = component_id(create(client, csrf, "Brake pad set, copper-free"))
    with sessions() as db:
        version = db.get(Component, cid).version
    edited = client.post(f"/components/{cid}", data={"csrf_token": csrf, "version": version,
                                                      "description": "Brake pad set with lead filler"},
                         follow_redirects=False)
    assert edited.status_code == 303
    with sessions() as db:
        component = db.get(Component, cid)
        assert component.model_label == "non_compliant" and component.version == version + 1
    stale = client.post(f"/components/{cid}", data={"csrf_token": csrf, "version": version,
                                                     "description": "Something else"})
    assert stale.status_code == 409
    assert "was changed by tina" in stale.text and "Something else" in stale.text  # their input is kept
    with sessions() as db:
        assert db.get(Component, cid).description == "Brake pad set with lead filler"


def test_feedback_is_stored_as_ground_truth_linked_to_the_request_id_and_audited(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    cid = component_id(create(client, csrf, BRASS))
    with sessions() as db:
        component = db.get(Component, cid)
    response = client.post(f"/components/{cid}/feedback", data={
        "csrf_token": csrf, "version": component.version, "label": "compliant",
        "reason": "lead in copper alloy up to 4% is exempt"}, follow_redirects=False)
    assert response.status_code == 303
    with sessions() as db:
        after = db.get(Component, cid)
        assert after.human_label == "compliant" and after.feedback_request_id == component.request_id
        assert after.disagrees
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.correct")).one()
        assert entry.actor == "tina" and entry.before["human_label"] is None
        assert entry.after["human_label"] == "compliant"
    listing = client.get("/components?disagree=yes")
    assert BRASS in listing.text and "disagrees" in listing.text


def test_bad_input_gets_a_message_per_field_and_nothing_is_written(client: TestClient, sessions: sessionmaker,
                                                                   settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    too_long = create(client, csrf, "x" * (settings.max_text_chars + 1))
    empty = create(client, csrf, "   ")
    assert too_long.status_code == 422 and "the most is 1000" in too_long.text
    assert empty.status_code == 422 and "Description is empty or only whitespace" in empty.text
    with sessions() as db:
        assert db.scalar(select(Component.id)) is None


def test_descriptions_are_html_escaped(client: TestClient) -> None:
    csrf = sign_in(client, "tina")
    response = create(client, csrf, "<script>alert(1)</script> lead seal")
    page = client.get(response.headers["location"])
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_filters_offer_each_category_supplier_and_model_version_once(client: TestClient) -> None:
    csrf = sign_in(client, "tina")
    for supplier, category in (("Acme", "brake"), ("Brembo", "brake"), ("Acme", "wiring"), ("", "")):
        create(client, csrf, f"{category} part from {supplier}", supplier=supplier, category=category)
    page = client.get("/components").text
    assert re.findall(r'<option value="([^"]+)"', page) == [
        "compliant", "non_compliant", "pending", "compliant", "non_compliant", "none", "brake", "wiring", "Acme",
        "Brembo", "low", "high", "3"]


def test_times_read_back_in_utc_whatever_the_database_sessions_time_zone(database_url: str,
                                                                          sessions: sessionmaker) -> None:
    from specscan.webapp.database import create_database_engine, session_factory
    from specscan.webapp.models import utcnow

    if database_url.startswith("postgresql"):
        database_url += "%20-ctimezone%3DEurope/Berlin"
    before = utcnow()
    with session_factory(create_database_engine(database_url)).begin() as db:
        component = inventory.create(db, inventory.ComponentFields(description="Brake disc"), actor="tina")
        cid = component.id
    with session_factory(create_database_engine(database_url))() as db:
        created = db.get(Component, cid).created_at
    assert created.utcoffset().total_seconds() == 0  # shown as "… UTC" on every page
    assert abs((created - before).total_seconds()) < 60


def test_an_explanation_the_service_can_no_longer_give_is_said_so_once_not_asked_for_again(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    scoring.down = True
    cid = component_id(create(client, csrf, "Brake disc, lead balance weight"))
    scoring.down = False
    inventory.classify_pending(sessions, scoring, settings, now=utcnow() + timedelta(hours=1))  # no words
    scoring.model_version = 4  # the service moved on
    page = client.get(f"/components/{cid}").text
    assert f'hx-get="/components/{cid}/explanation"' in page  # the page asks once ...
    fragment = client.get(f"/components/{cid}/explanation").text
    assert "hx-get" not in fragment and "another model" in fragment  # ... and the answer does not ask again


def test_a_reviewer_sees_the_components_history_a_technician_does_not(client: TestClient,
                                                                       sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    cid = component_id(create(client, csrf, BRASS))
    with sessions() as db:
        version = db.get(Component, cid).version
    client.post(f"/components/{cid}/feedback", data={"csrf_token": csrf, "version": version, "label": "compliant"})
    assert "History" not in client.get(f"/components/{cid}").text
    reviewer = TestClient(client.app)
    sign_in(reviewer, "rita")
    page = reviewer.get(f"/components/{cid}").text
    assert "History" in page and "component.correct" in page and "component.classify" in page
    assert re.search(r"<code>human_label</code>:\s*<del>—</del> →\s*<ins>compliant</ins>", page)


def test_a_filter_change_from_the_page_gets_only_the_results(client: TestClient) -> None:
    csrf = sign_in(client, "tina")
    create(client, csrf, BRASS, category="connectors")
    fragment = client.get("/components?category=connectors", headers={"HX-Request": "true"}).text
    assert 'id="results"' in fragment
    assert "<html" not in fragment and 'name="q"' not in fragment and BRASS in fragment
