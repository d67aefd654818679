"""The scoring service as callers see it: a real `specscan serve` process on loopback."""

from __future__ import annotations

import gzip
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from scoring_support import Keys, Server, copy_home, create_keys, start_server
from typer.testing import CliRunner

from specscan.artifact.predictor import Predictor
from specscan.cli.main import app
from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = pytest.mark.slow
NAME = "compliance-classifier"
TEXTS = [
    "Front brake pad set, low-metallic, copper-free, E-marked to UN ECE R90",
    "BRK LINING RR DRUM, CHRYSOTILE REINF., OEM REPLACEMENT",
    "Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)",
    "LED tail lamp assembly, 12 V, 4.2 W, E-mark application pending",
]


@pytest.fixture(scope="module")
def home(registered_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(registered_home, tmp_path_factory.mktemp("serve") / "home")


@pytest.fixture(scope="module")
def keys(home: Path) -> Keys:
    return create_keys(home)


@pytest.fixture(scope="module")
def server(home: Path, keys: Keys) -> Iterator[Server]:
    running = start_server(home, env={"SPECSCAN_MAX_ITEMS": "16", "SPECSCAN_MAX_TEXT_CHARS": "300",
                                      "SPECSCAN_MAX_BODY_BYTES": "20000", "SPECSCAN_DOCS_ACCESS": "public"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def expected(home: Path) -> np.ndarray:
    """Probabilities of TEXTS computed in-process from the champion bundle."""
    bundle = Registry(Settings(home=home)).bundle_path(f"models:/{NAME}@champion")
    return Predictor(bundle).predict_proba(TEXTS)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_score_answers_label_probability_model_version_and_request_id(
        server: Server, keys: Keys, expected: np.ndarray) -> None:
    response = httpx.post(f"{server.url}/score", json={"data": TEXTS}, headers=auth(keys.scorer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == NAME and body["model_version"] == 1
    assert body["request_id"] == response.headers["x-request-id"]
    probabilities = [r["probability"] for r in body["results"]]
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    assert [r["label"] for r in body["results"]] == ["non_compliant" if p >= 0.5 else "compliant" for p in expected]


def test_score_accepts_a_bare_list_and_echoes_a_given_request_id_apart_from_its_own(server: Server, keys: Keys) -> None:
    response = httpx.post(f"{server.url}/score", json=TEXTS[:2],
                          headers={**auth(keys.scorer), "X-Request-ID": "order-42"})
    assert response.status_code == 200 and len(response.json()["results"]) == 2
    assert response.headers["x-client-request-id"] == "order-42"
    assert response.json()["request_id"] == response.headers["x-request-id"] != "order-42"


def test_gzip_bodies_are_accepted(server: Server, keys: Keys) -> None:
    body = gzip.compress(json.dumps({"data": TEXTS}).encode())
    response = httpx.post(f"{server.url}/score", content=body,
                          headers={**auth(keys.scorer), "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 200 and len(response.json()["results"]) == len(TEXTS)


@pytest.mark.parametrize("body", [
    {"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS]}},
    {"dataframe_records": [{"text": t} for t in TEXTS]},
    {"inputs": TEXTS},
    {"inputs": {"text": TEXTS}},
])
def test_invocations_reads_every_mlflow_input_format(server: Server, keys: Keys, expected: np.ndarray,
                                                      body: dict) -> None:
    response = httpx.post(f"{server.url}/invocations", json=body, headers=auth(keys.scorer))
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    np.testing.assert_allclose([p["probability"] for p in predictions], expected, atol=1e-6)
    assert {p["label"] for p in predictions} <= {"compliant", "non_compliant"}


@pytest.mark.parametrize("binary", [True, False], ids=["binary-tensors", "json-tensors"])
def test_an_unmodified_tritonclient_scores_through_the_v2_protocol(
        server: Server, keys: Keys, expected: np.ndarray, binary: bool) -> None:
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(NAME)
    metadata = client.get_model_metadata(NAME)
    assert metadata["versions"] == ["1"] and metadata["inputs"][0]["datatype"] == "BYTES"
    tensor = triton.InferInput("text", [len(TEXTS)], "BYTES")
    tensor.set_data_from_numpy(np.array(TEXTS, dtype=object), binary_data=binary)
    outputs = None if binary else [triton.InferRequestedOutput(n, binary_data=False) for n in ("label", "probability")]
    result = client.infer(NAME, [tensor], outputs=outputs, headers=auth(keys.scorer))
    np.testing.assert_allclose(result.as_numpy("probability"), expected, atol=1e-6)
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label")]
    assert labels == ["non_compliant" if p >= 0.5 else "compliant" for p in expected]
    assert result.get_response()["model_version"] == "1"


def test_v2_routes_name_an_unknown_model(server: Server, keys: Keys) -> None:
    response = httpx.post(f"{server.url}/v2/models/other/infer", headers=auth(keys.scorer),
                          json={"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]})
    assert response.status_code == 404 and "unknown model 'other'" in response.json()["error"]
    assert httpx.get(f"{server.url}/v2/models/other").status_code == 404


@pytest.mark.parametrize(("headers", "status", "message"), [
    ({}, 401, "missing API key"),
    ({"Authorization": "Basic abc"}, 401, "malformed Authorization"),
    ({"Authorization": "Bearer ssk_0000_nope"}, 401, "invalid API key"),
])
def test_scoring_without_a_valid_key_is_refused(server: Server, headers: dict, status: int, message: str) -> None:
    response = httpx.post(f"{server.url}/score", json={"data": TEXTS}, headers=headers)
    assert response.status_code == status and message in response.json()["error"]


def test_reload_needs_an_admin_key(server: Server, keys: Keys) -> None:
    refused = httpx.post(f"{server.url}/admin/reload", headers=auth(keys.scorer))
    assert refused.status_code == 403 and "needs 'admin'" in refused.json()["error"]
    allowed = httpx.post(f"{server.url}/admin/reload", headers=auth(keys.admin), timeout=30)
    assert allowed.status_code == 200 and allowed.json()["reloaded"] is False


BAD_INPUT = [
    ("empty string", {"data": [""]}, None, 422, "item 0 is empty"),
    ("whitespace", {"data": ["ok text", "  \t "]}, None, 422, "item 1 is empty or only whitespace"),
    ("non-string", {"data": ["ok", 3]}, None, 422, "item 1 is int, not a string"),
    ("nested list", {"data": [["a"]]}, None, 422, "item 0 is list"),
    ("empty list", {"data": []}, None, 422, "list is empty"),
    ("wrong key", {"texts": ["a"]}, None, 422, '{"data": [texts]}'),
    ("too long", {"data": ["x" * 301]}, None, 422, "301 characters; the most is 300"),
    ("NUL character", {"data": ["ok", "brake\x00pad"]}, None, 422, "item 1 contains a control character (U+0000)"),
    ("too many", {"data": ["a"] * 17}, None, 422, "17 texts in one request; the most is 16"),
    ("invalid JSON", b'{"data": [', "application/json", 400, "invalid JSON"),
    ("invalid UTF-8", b'{"data": ["\xff\xfe"]}', "application/json", 400, "invalid JSON"),
    ("lone surrogate", b'{"data": ["\\ud800"]}', "application/json", None, None),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, "application/json", 400, "invalid JSON"),
    ("wrong content type", b"data=abc", "application/x-www-form-urlencoded", 415, "not accepted"),
    ("no content type", b'{"data": ["a"]}', "", 415, "not accepted"),
    ("body over the limit", {"data": ["y" * 250] * 100}, None, 413, "over the limit"),
]


@pytest.mark.parametrize(("case", "body", "content_type", "status", "message"), BAD_INPUT,
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_a_4xx_that_says_what_is_wrong(server: Server, keys: Keys, case: str, body: object,
                                                     content_type: str | None, status: int | None,
                                                     message: str | None) -> None:
    headers = auth(keys.scorer)
    if isinstance(body, bytes):
        headers["Content-Type"] = content_type or ""
        response = httpx.post(f"{server.url}/score", content=body, headers=headers)
    else:
        response = httpx.post(f"{server.url}/score", json=body, headers=headers)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
        assert message in response.json()["error"]
    assert response.json()["request_id"]


def test_a_decompression_bomb_is_refused_after_decompression(server: Server, keys: Keys) -> None:
    bomb = gzip.compress(b'{"data": ["' + b"a" * 5_000_000 + b'"]}')
    assert len(bomb) < 20000
    response = httpx.post(f"{server.url}/score", content=bomb, headers={
        **auth(keys.scorer), "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 413 and "after decompression" in response.json()["error"]


def test_error_bodies_carry_no_stack_trace_or_path(server: Server, keys: Keys) -> None:
    response = httpx.post(f"{server.url}/score", content=b"{", headers={**auth(keys.scorer),
                                                                         "Content-Type": "application/json"})
    text = response.text
    assert "Traceback" not in text and str(server.home) not in text and "site-packages" not in text


def test_metrics_expose_requests_latency_batches_predictions_model_queue_and_collection(
        server: Server, keys: Keys) -> None:
    httpx.post(f"{server.url}/score", json={"data": TEXTS}, headers=auth(keys.scorer))
    text = httpx.get(f"{server.url}/metrics").text
    for needle in ('specscan_requests_total{endpoint="/score",status="200"}',
                   'specscan_request_seconds_bucket{endpoint="/score"',
                   "specscan_batch_size_bucket", 'specscan_predictions_total{label=',
                   f'specscan_model_info{{name="{NAME}",reference="models:/{NAME}@champion",version="1"}} 1.0',
                   "specscan_queue_depth", "specscan_collection_lag_seconds"):
        assert needle in text, needle


def test_every_scored_item_is_collected_with_its_request_id(server: Server, keys: Keys, home: Path) -> None:
    response = httpx.post(f"{server.url}/score", json={"data": TEXTS}, headers=auth(keys.scorer))
    rid = response.json()["request_id"]
    with sqlite3.connect(home / "collected.db") as db:
        rows = db.execute("SELECT item, text, label, probability, model_version, caller FROM predictions "
                          "WHERE request_id = ? ORDER BY item", (rid,)).fetchall()
    assert [r[1] for r in rows] == TEXTS
    assert [(r[2], round(r[3], 6)) for r in rows] == [(x["label"], round(x["probability"], 6))
                                                       for x in response.json()["results"]]
    assert {r[4] for r in rows} == {1}
    assert rows[0][5] == keys.scorer.split("_")[1]  # the key's id, never the key


def test_collected_records_export_to_parquet_and_csv(server: Server, keys: Keys, home: Path, tmp_path: Path) -> None:
    httpx.post(f"{server.url}/score", json={"data": TEXTS}, headers=auth(keys.scorer))
    runner = CliRunner()
    for fmt in ("parquet", "csv"):
        out = tmp_path / f"collected.{fmt}"
        result = runner.invoke(app, ["collected", "export", "--format", fmt, "--output", str(out),
                                     "--since", "2000-01-01T00:00:00"], env={"SPECSCAN_HOME": str(home)})
        assert result.exit_code == 0, result.output
        frame = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out)
        assert len(frame) >= len(TEXTS) and set(TEXTS) <= set(frame["text"])
    future = runner.invoke(app, ["collected", "export", "--format", "csv", "--output", str(tmp_path / "none.csv"),
                                 "--since", "2999-01-01"], env={"SPECSCAN_HOME": str(home)})
    assert "exported 0 records" in future.output


def test_log_lines_are_json_with_the_request_id(server: Server, keys: Keys) -> None:
    response = httpx.post(f"{server.url}/score", json={"data": TEXTS},
                          headers={**auth(keys.scorer), "X-Request-ID": "log-me"})
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == response.json()["request_id"]]
    assert access and access[0]["status"] == 200 and access[0]["endpoint"] == "/score"
    assert access[0]["client_request_id"] == "log-me"
    assert access[0]["items"] == len(TEXTS) and access[0]["model_version"] == 1


def test_the_running_service_serves_its_openapi_document_and_docs_page(server: Server) -> None:
    # that the document covers every route is test_scoring_app's test_openapi_documents_every_endpoint_...
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    for path in ("/score", "/invocations", "/v2/models/{model_name}/infer", "/v2/health/ready", "/admin/reload",
                 "/metrics"):
        assert path in paths
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_the_service_imports_no_torch(home: Path) -> None:
    script = (
        "import sys\n"
        "from specscan.settings import Settings\n"
        "from specscan.scoring.served_model import ModelSource\n"
        "from specscan.scoring.app import create_app\n"
        "from specscan.scoring.apikeys import ApiKeyStore\n"
        "from specscan.scoring.collector import Collector\n"
        "import specscan.cli.main\n"
        f"s = Settings(home={str(home)!r})\n"
        "src = ModelSource(s, 'models:/compliance-classifier@champion')\n"
        "create_app(s, src, src.load(intra_op_threads=1), keys=ApiKeyStore(s.resolved_api_keys_file),"
        " collector=Collector('sqlite://'))\n"
        "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_serving_an_unknown_alias_fails_with_a_clear_error(home: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "specscan.cli", "serve", "--alias", "nosuch", "--port", "1"],
                            env={"SPECSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "alias 'nosuch' is not set" in result.stderr and "Traceback" not in result.stderr


def test_opentelemetry_spans_can_be_switched_on_by_configuration(home: Path, keys: Keys) -> None:
    traced = start_server(home, env={"SPECSCAN_OTEL_EXPORTER": "console", "SPECSCAN_RELOAD_INTERVAL": "0",
                                     "SPECSCAN_COLLECT_TEXT": "hash"})
    try:
        response = httpx.post(f"{traced.url}/score", json=TEXTS[:1], headers=auth(keys.scorer))
        assert response.status_code == 200
    finally:
        traced.stop()  # the batch span processor flushes on shutdown
    log = traced.log.read_text()
    assert '"name": "POST /score"' in log
    assert response.json()["request_id"] in log
    with sqlite3.connect(home / "collected.db") as db:  # and this instance kept only the text's hash
        text, digest = db.execute("SELECT text, text_sha256 FROM predictions WHERE request_id = ?",
                                  (response.json()["request_id"],)).fetchone()
    assert text is None and len(digest) == 64


def test_explain_attributes_the_prediction_to_the_words_of_the_text(server: Server, keys: Keys, home: Path) -> None:
    text = TEXTS[2]
    response = httpx.post(f"{server.url}/explain", json={"text": text}, headers=auth(keys.scorer))
    assert response.status_code == 200, response.text
    body = response.json()
    scored = httpx.post(f"{server.url}/score", json=[text], headers=auth(keys.scorer)).json()["results"][0]
    assert body["label"] == scored["label"] and abs(body["probability"] - scored["probability"]) < 1e-6
    words = [w["text"] for w in body["words"]]
    assert words == text.split() and all(text[w["start"]:w["end"]] == w["text"] for w in body["words"])
    predictor = Predictor(Registry(Settings(home=home)).bundle_path(f"models:/{NAME}@champion"))
    without = [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    expected = body["probability"] - predictor.predict_proba(without)
    np.testing.assert_allclose([w["attribution"] for w in body["words"]], expected, atol=1e-5)


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"text": "  "}, 422, "empty or only whitespace"),
    ({"texts": ["a"]}, 422, '{"text": "..."}'),
    (["a"], 422, '{"text": "..."}'),
])
def test_explain_refuses_bad_input(server: Server, keys: Keys, body: object, status: int, message: str) -> None:
    response = httpx.post(f"{server.url}/explain", json=body, headers=auth(keys.scorer))
    assert response.status_code == status and message in response.json()["error"]
    assert httpx.post(f"{server.url}/explain", json={"text": "x"}).status_code == 401


def test_the_artifact_cache_is_private_to_the_service_user(server: Server) -> None:
    cache = Settings(home=server.home).model_cache
    assert cache.is_dir() and cache.stat().st_mode & 0o777 == 0o700


def test_a_client_that_hangs_up_mid_body_is_counted_as_499_with_one_info_line(server: Server, keys: Keys) -> None:
    before = server.log.read_text()
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + keys.scorer.encode()
                           + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\": [")
        time.sleep(0.2)
    time.sleep(0.5)

    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'specscan_requests_total{endpoint="/score",status="499"} 1.0' in metrics
    assert 'endpoint="/score",status="500"' not in metrics
    logged = server.log.read_text()[len(before):]
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert "Traceback" not in logged and {line["level"] for line in lines} == {"info"}
    assert [line["message"] for line in lines if line["status"] == 499] == ["POST /score 499"]
