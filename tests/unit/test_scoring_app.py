"""The scoring app in-process (Starlette's TestClient) over a fake model: who may call, and when a revoked key stops.

The fake predictor scores a text as len(text)/100, so these tests need no trained model; the batcher, collector
(SQLite), key store and HTTP plumbing are the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from specscan.cli.main import app as cli
from specscan.scoring.apikeys import ApiKeyStore
from specscan.scoring.app import create_app
from specscan.scoring.collector import Collector
from specscan.scoring.served_model import ModelSource, ServedModel
from specscan.settings import Settings

NAME = "compliance-classifier"
TEXT = "Cable sheathing, PVC with lead stabiliser"


class FakePredictor:
    """Scores len(text)/100 (capped at 1); encodes a text as its length."""

    def __init__(self, max_len: int = 128) -> None:
        self.manifest = SimpleNamespace(labels=("compliant", "non_compliant"), threshold=0.5, max_len=max_len)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        return self.predict_ids(self.encode(texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[len(t)] for t in texts], dtype=np.int64)

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
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
