"""The scoring service under load: switching versions without failing a request, and SIGKILL durability."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from scoring_support import copy_home, create_keys, register_copy_of, start_server

from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = pytest.mark.slow
TEXTS = ["Brake pad set, copper-free, E-marked to UN ECE R90", "Cable sheathing, PVC with lead stabiliser"]


class Load:
    """`threads` clients posting /score back to back until stopped; every outcome is kept."""

    def __init__(self, url: str, key: str, threads: int = 4) -> None:
        self.url, self.key = url, key
        self.outcomes: list[list[tuple[int, int | None, str | None]]] = [[] for _ in range(threads)]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, index: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {self.key}"}, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(f"{self.url}/score", json={"data": TEXTS})
                except httpx.TransportError:
                    self.outcomes[index].append((0, None, None))
                    continue
                body = response.json() if response.status_code == 200 else {}
                self.outcomes[index].append((response.status_code, body.get("model_version"), body.get("request_id")))

    def all(self) -> list[tuple[int, int | None, str | None]]:
        return [o for thread in self.outcomes for o in thread]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not reached under load"
            time.sleep(0.05)


def test_moving_the_alias_under_load_switches_versions_without_a_failed_request(
        registered_home: Path, tmp_path: Path) -> None:
    home = copy_home(registered_home, tmp_path / "home")
    keys = create_keys(home)
    version_2 = register_copy_of(home, 1)
    registry = Registry(Settings(home=home))
    server = start_server(home, env={"SPECSCAN_RELOAD_INTERVAL": "0.5"})
    try:
        with Load(server.url, keys.scorer) as load:
            load.wait_until(lambda: len(load.all()) > 40)
            registry.set_alias("champion", version_2, reason="test: promote under load")
            load.wait_until(lambda: any(o[1] == version_2 for o in load.all()))  # found by polling
            seen = len(load.all())
            load.wait_until(lambda: len(load.all()) > seen + 40)
            registry.set_alias("champion", 1, reason="test: roll back under load")
            reload = httpx.post(f"{server.url}/admin/reload", headers={"Authorization": f"Bearer {keys.admin}"},
                                timeout=30)
            assert reload.status_code == 200, reload.text
            # the poller may have switched back first: then there was nothing left to reload
            assert reload.json()["model_version"] == 1 or reload.json()["reloaded"] is False, reload.json()
            seen = len(load.all())
            load.wait_until(lambda: len(load.all()) > seen + 40)
    finally:
        server.stop()
    outcomes = load.all()
    assert {status for status, _, _ in outcomes} == {200}, "a request failed during the switch"
    for thread in load.outcomes:  # each client sees 1, then 2, then 1 again: never an old version after a new one
        versions = [v for _, v, _ in thread]
        changes = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
        assert changes in ([1, version_2, 1], [1, version_2], [1]), changes
    assert {v for _, v, _ in outcomes} == {1, version_2}


def test_every_answer_a_client_received_is_collected_even_after_sigkill(
        registered_home: Path, tmp_path: Path) -> None:
    home = copy_home(registered_home, tmp_path / "home")
    keys = create_keys(home)
    server = start_server(home, env={"SPECSCAN_RELOAD_INTERVAL": "0"})
    with Load(server.url, keys.scorer) as load:
        load.wait_until(lambda: len(load.all()) > 150)
        server.kill()
        time.sleep(0.2)
    answered = [rid for status, _, rid in load.all() if status == 200]
    assert len(answered) > 150
    assert any(status == 0 for status, _, _ in load.all()), "the kill did not interrupt the load"
    with sqlite3.connect(home / "collected.db") as db:
        counts = dict(db.execute("SELECT request_id, COUNT(*) FROM predictions GROUP BY request_id").fetchall())
    missing = [rid for rid in answered if counts.get(rid) != len(TEXTS)]
    assert not missing, f"{len(missing)} answered requests have no complete record"
    restarted = start_server(home, env={"SPECSCAN_RELOAD_INTERVAL": "0"})  # the store opens cleanly after the kill
    try:
        response = httpx.post(f"{restarted.url}/score", json=TEXTS, headers={"Authorization": f"Bearer {keys.scorer}"})
        assert response.status_code == 200
    finally:
        restarted.stop()
