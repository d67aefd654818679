"""The scoring app in-process (Starlette's TestClient) over a fake model: when a revoked key stops, what /explain
may cost, whose request id a prediction is collected under, what a failed reload tells, and who may read /metrics,
/openapi.json and /docs (the security review's informational notes).

The fake predictor scores a text as len(text)/100, so these tests need no trained model; the batcher, collector
(SQLite), key store and HTTP plumbing are the real ones.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import ANY as ANY_TEXT

import numpy as np
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from specscan.cli.main import app as cli
from specscan.errors import RegistryError
from specscan.scoring.apikeys import ApiKeyStore
from specscan.scoring.app import create_app
from specscan.scoring.collector import Collector
from specscan.scoring.served_model import ModelSource, ServedModel
from specscan.settings import Settings

NAME = "compliance-classifier"
TEXT = "Cable sheathing, PVC with lead stabiliser"


class FakePredictor:
    """Scores len(text)/100 (capped at 1), encoding a text as its length; predict_ids (the explanation's call)
    counts its rows and, once `gate` is set to an Event, waits for it."""

    def __init__(self) -> None:
        self.manifest = SimpleNamespace(labels=("compliant", "non_compliant"), threshold=0.5)
        self.explained_rows: list[int] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([min(len(t) / 100, 1.0) for t in texts], dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[len(t)] for t in texts], dtype=np.int64)

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        self.explained_rows.append(len(ids))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        return np.minimum(ids[:, 0] / 100, 1.0).astype(np.float32)


def _service(settings: Settings, reference: str, predictor: Any | None = None) -> TestClient:
    source = ModelSource(settings, reference)
    model = ServedModel(NAME, 1, predictor or FakePredictor())  # type: ignore[arg-type]
    application = create_app(settings, source, model, keys=ApiKeyStore(settings.resolved_api_keys_file),
                              collector=Collector(settings.resolved_collect_url))
    return TestClient(application)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def key(home: Path) -> str:
    """A scorer key that exists before the service starts."""
    return ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("scorer")[0]


@pytest.fixture()
def bundle_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bundle"
    path.mkdir()
    return path


@pytest.fixture(params=["registry-polling-off", "bundle-directory"])
def client(request: pytest.FixtureRequest, home: Path, bundle_dir: Path, key: str) -> Iterator[TestClient]:
    """A running service with no registry poller: polling turned off, or a bundle directory (never polled)."""
    if request.param == "registry-polling-off":
        settings = Settings(home=home, reload_interval=0)
        reference = f"models:/{NAME}@champion"
    else:
        settings = Settings(home=home)  # the default 30 s interval, but a directory is never polled
        reference = str(bundle_dir)
    with _service(settings, reference) as running:
        yield running


# --- F2: revocation ----------------------------------------------------------------------------------------------


def test_a_key_revoked_with_the_cli_is_refused_within_one_second(client: TestClient, home: Path, key: str) -> None:
    assert client.post("/score", json=[TEXT], headers=_auth(key)).status_code == 200

    revoked = CliRunner().invoke(cli, ["apikey", "revoke", key.split("_")[1]], env={"SPECSCAN_HOME": str(home)})
    assert revoked.exit_code == 0, revoked.output
    time.sleep(1.0)

    response = client.post("/score", json=[TEXT], headers=_auth(key))
    assert response.status_code == 401 and response.json()["error"] == "invalid API key"


def test_a_key_created_while_the_service_runs_is_accepted_within_one_second(
        client: TestClient, home: Path, key: str) -> None:
    assert client.post("/score", json=[TEXT], headers=_auth(key)).status_code == 200

    new, _ = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("scorer")
    time.sleep(1.0)

    assert client.post("/score", json=[TEXT], headers=_auth(new)).status_code == 200


# --- F11: what /explain may cost -----------------------------------------------------------------------------


def test_explain_attributes_only_the_first_explain_max_words_words(home: Path, bundle_dir: Path, key: str) -> None:
    predictor = FakePredictor()
    text = "one two three four five six seven eight"
    with _service(Settings(home=home, explain_max_words=5), str(bundle_dir), predictor) as client:
        response = client.post("/explain", json={"text": text}, headers=_auth(key))

    assert response.status_code == 200, response.text
    body = response.json()
    assert [w["text"] for w in body["words"]] == ["one", "two", "three", "four", "five"]
    assert body["words_truncated"] is True
    assert predictor.explained_rows == [1 + 5]  # the text and one variant per explained word, not 1 + 8


def test_explain_attributes_every_word_of_a_text_within_the_cap(home: Path, bundle_dir: Path, key: str) -> None:
    with _service(Settings(home=home, explain_max_words=5), str(bundle_dir)) as client:
        body = client.post("/explain", json={"text": "lead in PVC"}, headers=_auth(key)).json()

    assert [w["text"] for w in body["words"]] == ["lead", "in", "PVC"] and body["words_truncated"] is False


def test_the_default_cap_is_64_words(home: Path, bundle_dir: Path, key: str) -> None:
    with _service(Settings(home=home), str(bundle_dir)) as client:
        body = client.post("/explain", json={"text": " ".join(["a"] * 400)}, headers=_auth(key)).json()

    assert len(body["words"]) == 64 and body["words_truncated"] is True


def test_explain_beyond_the_per_key_concurrency_is_a_429_with_retry_after(
        home: Path, bundle_dir: Path, key: str) -> None:
    other = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("scorer")[0]
    predictor = FakePredictor()
    predictor.gate = threading.Event()
    settings = Settings(home=home, explain_concurrency=1, explain_threads=2)
    with _service(settings, str(bundle_dir), predictor) as client, ThreadPoolExecutor(3) as pool:
        try:
            first = pool.submit(client.post, "/explain", json={"text": TEXT}, headers=_auth(key))
            assert predictor.entered.wait(10), "the first explanation never started"

            second = pool.submit(client.post, "/explain", json={"text": TEXT}, headers=_auth(key)).result(10)
            assert second.status_code == 429, second.text
            assert second.headers["retry-after"] == "1"
            assert second.json()["error"] == "at most 1 /explain request at a time per API key; retry when one is done"
            assert client.post("/score", json=[TEXT], headers=_auth(key)).status_code == 200  # /score is not limited
            another_key = pool.submit(client.post, "/explain", json={"text": TEXT}, headers=_auth(other))
        finally:
            predictor.gate.set()
        assert first.result(10).status_code == 200
        assert another_key.result(10).status_code == 200  # the limit is per key
        assert client.post("/explain", json={"text": TEXT}, headers=_auth(key)).status_code == 200  # slot freed


# --- F12: request ids ----------------------------------------------------------------------------------------------


def _collected(home: Path) -> list[dict[str, Any]]:
    collector = Collector(Settings(home=home).resolved_collect_url)
    try:
        return [row for table in collector.read() for row in table.to_pylist()]
    finally:
        collector.close()


def test_two_callers_sending_the_same_x_request_id_get_distinct_request_ids(
        home: Path, bundle_dir: Path, key: str) -> None:
    other = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("scorer")[0]
    with _service(Settings(home=home), str(bundle_dir)) as client:
        answers = [client.post("/score", json=[TEXT], headers={**_auth(k), "X-Request-ID": "order-42"})
                   for k in (key, other)]

    ids = [a.json()["request_id"] for a in answers]
    assert ids[0] != ids[1] and "order-42" not in ids
    assert [a.headers["x-request-id"] for a in answers] == ids
    assert [a.headers["x-client-request-id"] for a in answers] == ["order-42", "order-42"]
    rows = _collected(home)
    assert sorted((r["request_id"], r["client_request_id"], r["caller"]) for r in rows) == sorted(
        (rid, "order-42", k.split("_")[1]) for rid, k in zip(ids, (key, other), strict=True))


def test_a_caller_cannot_have_its_predictions_collected_under_another_requests_id(
        home: Path, bundle_dir: Path, key: str) -> None:
    attacker = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("scorer")[0]
    with _service(Settings(home=home), str(bundle_dir)) as client:
        genuine = client.post("/explain", json={"text": TEXT}, headers=_auth(key)).json()["request_id"]
        forged = client.post("/score", json=["forged label"], headers={**_auth(attacker), "X-Request-ID": genuine})

    assert forged.status_code == 200 and forged.json()["request_id"] != genuine
    joined = [r for r in _collected(home) if r["request_id"] == genuine]  # what the web app's label joins on
    assert [(r["text"], r["caller"]) for r in joined] == [(TEXT, key.split("_")[1])]


@pytest.mark.parametrize("given", ["", "x" * 65, "has space", "semi;colon", "caf\u00e9"])
def test_an_unusable_x_request_id_is_neither_kept_nor_echoed(home: Path, bundle_dir: Path, key: str,
                                                            given: str) -> None:
    with _service(Settings(home=home), str(bundle_dir)) as client:
        response = client.post("/score", json=[TEXT], headers={**_auth(key), "X-Request-ID": given.encode()})

    assert response.status_code == 200 and "x-client-request-id" not in response.headers
    assert [r["client_request_id"] for r in _collected(home)] == [None]


# --- a failed reload -------------------------------------------------------------------------------------------


class UnreachableRegistry(ModelSource):
    """A registry reference whose tracking store cannot be reached."""

    def current_version(self) -> int:
        raise RegistryError("resolving the alias failed at http://mlflow.internal:5000: "
                            "connection refused")


def test_a_failed_reload_answers_a_generic_503_and_logs_the_reason(
        home: Path, caplog: pytest.LogCaptureFixture) -> None:
    admin = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("admin")[0]
    settings = Settings(home=home, reload_interval=0)
    application = create_app(settings, UnreachableRegistry(settings, f"models:/{NAME}@champion"),
                             ServedModel(NAME, 1, FakePredictor()),  # type: ignore[arg-type]
                             keys=ApiKeyStore(settings.resolved_api_keys_file),
                             collector=Collector(settings.resolved_collect_url))
    with TestClient(application) as client:
        response = client.post("/admin/reload", headers=_auth(admin))

    assert response.status_code == 503
    assert response.json()["error"] == "reload failed, still serving version 1; the service log has the reason"
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "reload failed" in r.getMessage()]
    assert len(logged) == 1 and "mlflow.internal" in logged[0].getMessage()
    assert logged[0].__dict__["request_id"] == response.json()["request_id"]


# --- the API's documentation -----------------------------------------------------------------------------------

DOCUMENTATION_PAGES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_openapi_documents_every_endpoint_with_each_of_its_methods(home: Path, bundle_dir: Path) -> None:
    with _service(Settings(home=home, docs_access="public"), str(bundle_dir)) as service:
        routes = {(route.path, method.lower()) for route in iter_route_contexts(service.app.routes)
                  if route.path not in DOCUMENTATION_PAGES for method in route.methods or () if method != "HEAD"}
        document = service.get("/openapi.json").json()
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert len(routes) >= 12 and ("/explain", "post") in routes and ("/ping", "get") in routes
    assert routes == documented
    undescribed = [(path, method) for path, method in sorted(routes)
                   if not document["paths"][path][method].get("description")]
    assert undescribed == []  # each handler's docstring is its operation's text


# --- what the service shows without a key: /metrics, /openapi.json, /docs, slash redirects --------------------


@pytest.fixture()
def admin_key(home: Path) -> str:
    return ApiKeyStore(Settings(home=home).resolved_api_keys_file).create("admin")[0]


def _exposed(client: TestClient, path: str, keys: dict[str, str]) -> dict[str, int]:
    """The status of GET `path` without a key and with each of `keys` (name: key)."""
    return {"none": client.get(path).status_code,
            **{name: client.get(path, headers=_auth(k)).status_code for name, k in keys.items()}}


def test_by_default_metrics_are_public_and_the_api_docs_are_off(home: Path, bundle_dir: Path) -> None:
    with _service(Settings(home=home), str(bundle_dir)) as client:
        assert client.get("/metrics").status_code == 200
        assert {path: client.get(path).status_code for path in ("/openapi.json", "/docs", "/redoc")} == {
            "/openapi.json": 404, "/docs": 404, "/redoc": 404}


@pytest.mark.parametrize(("access", "expected"), [
    ("off", {"none": 404, "scorer": 404, "admin": 404}),
    ("public", {"none": 200, "scorer": 200, "admin": 200}),
    ("scorer", {"none": 401, "scorer": 200, "admin": 200}),
    ("admin", {"none": 401, "scorer": 403, "admin": 200}),
])
def test_metrics_access_decides_who_reads_metrics(home: Path, bundle_dir: Path, key: str, admin_key: str,
                                                 access: str, expected: dict[str, int]) -> None:
    with _service(Settings(home=home, metrics_access=access), str(bundle_dir)) as client:
        assert _exposed(client, "/metrics", {"scorer": key, "admin": admin_key}) == expected


@pytest.mark.parametrize(("access", "openapi", "docs"), [
    ("off", {"none": 404, "scorer": 404, "admin": 404}, 404),
    ("public", {"none": 200, "scorer": 200, "admin": 200}, 200),
    ("scorer", {"none": 401, "scorer": 200, "admin": 200}, 404),  # a browser cannot send a key for the page
    ("admin", {"none": 401, "scorer": 403, "admin": 200}, 404),
])
def test_docs_access_decides_who_reads_the_openapi_document_and_only_public_serves_the_page(
        home: Path, bundle_dir: Path, key: str, admin_key: str, access: str, openapi: dict[str, int],
        docs: int) -> None:
    with _service(Settings(home=home, docs_access=access), str(bundle_dir)) as client:
        assert _exposed(client, "/openapi.json", {"scorer": key, "admin": admin_key}) == openapi
        assert client.get("/docs").status_code == docs
        assert client.get("/redoc").status_code == 404


def test_the_docs_page_loads_a_pinned_swagger_ui_bound_to_its_hashes(home: Path, bundle_dir: Path) -> None:
    with _service(Settings(home=home, docs_access="public"), str(bundle_dir)) as client:
        page = client.get("/docs").text

    loaded = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"[^>]*>', page)
    assert sorted(loaded) == [f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/{name}"
                              for name in ("swagger-ui-bundle.js", "swagger-ui.css")]
    for tag in re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="[^"]+"[^>]*>', page):
        assert re.search(r'integrity="sha384-[A-Za-z0-9+/]{64}"', tag) and 'crossorigin="anonymous"' in tag, tag
    assert "url: \"/openapi.json\"" in page


def test_the_openapi_document_names_the_bearer_scheme_exactly_on_the_routes_that_refuse_a_request_without_a_key(
        home: Path, bundle_dir: Path) -> None:
    with _service(Settings(home=home, docs_access="public", metrics_access="scorer"), str(bundle_dir)) as client:
        document = client.get("/openapi.json").json()
        assert document["components"]["securitySchemes"]["bearer"] == {
            "type": "http", "scheme": "bearer", "description": ANY_TEXT}
        declared, refused = set(), set()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if operation.get("security") == [{"bearer": []}]:
                    declared.add((method, path))
                status = client.request(method, path.replace("{model_name}", NAME)).status_code
                if status == 401:
                    refused.add((method, path))

    assert declared == refused == {("post", "/score"), ("post", "/explain"), ("post", "/invocations"),
                                   ("post", "/v2/models/{model_name}/infer"), ("post", "/admin/reload"),
                                   ("get", "/metrics")}


def test_a_path_with_a_trailing_slash_is_not_redirected_to_the_host_the_request_named(
        home: Path, bundle_dir: Path) -> None:
    with _service(Settings(home=home, docs_access="public"), str(bundle_dir)) as client:
        paths = [path.replace("{model_name}", NAME) for path in client.get("/openapi.json").json()["paths"]]
        answers = {path: client.post(path + "/", headers={"Host": "evil.example"}, follow_redirects=False)
                   for path in paths}

    assert {path: (a.status_code, a.headers.get("location")) for path, a in answers.items()} == {
        path: (404, None) for path in paths}
