"""Any MLflow tracking URI works unchanged: a tracking server backed by PostgreSQL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from specscan.artifact.predictor import Predictor
from specscan.cli.main import app
from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tracking_server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on a fresh PostgreSQL database; yields its http:// URI."""
    import psycopg

    database = f"specscan_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(postgres_url, autocommit=True)
    admin.execute(f"CREATE DATABASE {database}")
    parts = urlsplit(postgres_url)
    store = urlunsplit((parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres"
                        else parts.scheme, parts.netloc, f"/{database}", "", ""))
    port = _free_port()
    artifacts = tmp_path_factory.mktemp("server-artifacts")
    log = (tmp_path_factory.mktemp("server-log") / "mlflow.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store, "--host", "127.0.0.1",
         "--port", str(port), "--artifacts-destination", str(artifacts), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start; see {log.name}")
                time.sleep(1)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


def test_pipeline_registers_and_predicts_through_a_postgres_backed_tracking_server(
        tracking_server: str, small_csv: Path, tiny_config: Path, tmp_path: Path) -> None:
    env = {"SPECSCAN_HOME": str(tmp_path), "SPECSCAN_TRACKING_URI": tracking_server}
    runner = CliRunner()

    result = runner.invoke(app, ["pipeline", "run", "--data", str(small_csv), "--config", str(tiny_config),
                                 "--bootstrap"], env=env)
    assert result.exit_code == 0, result.output

    registry = Registry(Settings(home=tmp_path, tracking_uri=tracking_server))
    assert registry.alias_version("champion") == 1
    assert not (tmp_path / "mlflow.db").exists()
    text = "Glovebox latch spring, Cd-plated steel"
    predicted = runner.invoke(app, ["predict", text, "--json"], env=env)
    assert predicted.exit_code == 0, predicted.output
    [expected] = Predictor(registry.bundle_path("models:/compliance-classifier@champion")).predict([text])
    answer = json.loads(predicted.output)
    assert (answer["text"], answer["label"]) == (text, expected.label)
    assert answer["probability"] == pytest.approx(expected.probability, abs=1e-6)
