"""The web app's scoring client against a real `specscan serve`: answers, request ids that join with the
collected records, and every way the service can fail turned into `ScoringUnavailable`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scoring_support import Keys, Server, copy_home, create_keys, free_port, start_server

from specscan.scoring.collector import Collector
from specscan.settings import Settings
from specscan.webapp.scoring_client import ScoringClient, ScoringUnavailable

LEAD_PVC = "Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)"


@pytest.fixture(scope="module")
def home(registered_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(registered_home, tmp_path_factory.mktemp("webapp-client") / "home")


@pytest.fixture(scope="module")
def keys(home: Path) -> Keys:
    return create_keys(home)


@pytest.fixture(scope="module")
def server(home: Path, keys: Keys) -> Iterator[Server]:
    running = start_server(home)
    yield running
    running.stop()


def test_explain_and_score_agree_and_name_the_model_version(server: Server, keys: Keys) -> None:
    client = ScoringClient(server.url, keys.scorer, timeout=10)
    explained = client.explain(LEAD_PVC)
    scored = client.score([LEAD_PVC, "Brake pad set, copper-free"])
    assert explained.model_version == scored[0].model_version == 1
    assert explained.label == scored[0].label
    assert explained.probability == pytest.approx(scored[0].probability, abs=1e-6)
    assert [w.text for w in explained.words] == LEAD_PVC.split()
    assert scored[0].request_id == scored[1].request_id != explained.request_id


def test_the_request_id_joins_the_prediction_with_the_collected_record(server: Server, keys: Keys,
                                                                       home: Path) -> None:
    result = ScoringClient(server.url, keys.scorer, timeout=10).explain(LEAD_PVC)
    collector = Collector(Settings(home=home).resolved_collect_url)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [r for table in collector.read() for r in table.to_pylist() if r["request_id"] == result.request_id]
        if rows:
            break
        time.sleep(0.1)
    collector.close()
    assert rows and rows[0]["text"] == LEAD_PVC and rows[0]["label"] == result.label


def test_a_refused_key_is_unavailable_with_the_services_reason(server: Server) -> None:
    with pytest.raises(ScoringUnavailable, match="401"):
        ScoringClient(server.url, "ssk_bad_key", timeout=10).explain("Brake disc")


def test_a_stopped_service_is_unavailable_without_naming_its_internal_address() -> None:
    port = free_port()
    with pytest.raises(ScoringUnavailable, match="unreachable") as raised:
        ScoringClient(f"http://127.0.0.1:{port}", "key", timeout=2).score(["Brake disc"])
    assert str(port) not in str(raised.value) and "127.0.0.1" not in str(raised.value)


def test_a_service_that_does_not_answer_times_out() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    started = time.monotonic()
    with pytest.raises(ScoringUnavailable, match="timed out"):
        ScoringClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "key", timeout=0.5).explain("Brake disc")
    assert time.monotonic() - started < 5
    listener.close()
