"""State under SPECSCAN_HOME is private whatever the umask (security review F7): the home and the
artifact store 0700; the web app's, the collector's and MLflow's SQLite files (with -wal and -shm)
and the API key file 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from specscan.registry import Registry
from specscan.scoring.apikeys import ApiKeyStore
from specscan.scoring.collector import Collector, Record
from specscan.settings import Settings
from specscan.webapp.database import create_database_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, directories 0755
    yield
    os.umask(previous)


def record() -> Record:
    return Record(request_id="r1", item=0, scored_at=datetime.now(UTC), endpoint="/score", model_name="m",
                  model_version=1, text="Brake pad", text_sha256=None, label="compliant", probability=0.1,
                  latency_ms=1.0, caller="k1")


def test_every_state_file_is_private_under_a_wide_umask(tmp_path: Path, wide_umask: None) -> None:
    settings = Settings(home=tmp_path / "home")
    ApiKeyStore(settings.resolved_api_keys_file).create("scorer")
    app_db = create_database_engine(settings.resolved_app_database_url)
    collector = Collector(settings.resolved_collect_url)
    registry = Registry(settings)
    registry.experiment_id()

    with app_db.connect() as connection:  # -wal and -shm exist while a connection is open
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        connection.commit()
        collector.write([record()])
        files = sorted(p for p in settings.home.iterdir() if p.is_file())
        modes = {p.name: oct(mode(p)) for p in files}
        assert {"app.db", "app.db-wal", "app.db-shm", "collected.db", "collected.db-wal", "collected.db-shm",
                "mlflow.db", "api-keys.json"} <= set(modes)
        assert set(modes.values()) == {oct(0o600)}, modes
    collector.close()
    app_db.dispose()
    assert mode(settings.home) == 0o700
    assert mode(settings.artifact_root) == 0o700


def test_an_older_wider_home_and_database_are_narrowed(tmp_path: Path, wide_umask: None) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "collected.db").touch(mode=0o644)

    Collector(Settings(home=home).resolved_collect_url).close()
    Registry(Settings(home=home))

    assert mode(home) == 0o700
    assert mode(home / "collected.db") == 0o600
