"""Shared fixtures: isolated SPECSCAN_HOME, a small generated data set, service URLs for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specscan.data.generator import generate

TINY_CONFIG = """
train:
  arch: cnn
  vocab_size: 1500
  embed_dim: 32
  channels: 48
  lr: 0.005
  max_epochs: 4
  patience: 2
  batch_size: 32
gate:
  behaviour: false
  min_macro_f1: {test: 0.3, heldout_families: 0.3}
  max_regression: 0.5
  max_slice_regression: 1.0
parity_texts: 300
"""


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's SPECSCAN_* variables or .env."""
    for key in list(os.environ):
        if key.startswith("SPECSCAN_") and key != "SPECSCAN_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated R1 rows (all families, rules and categories)."""
    path = tmp_path_factory.mktemp("data") / "r1-small.csv"
    generate(revision="R1", rows=3000, seed=1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pipeline config that trains in seconds and gates loosely."""
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """PostgreSQL server URL from SPECSCAN_TEST_POSTGRES_URL; skipped (visibly) when unset.

    `.ci/run` sets it, so in CI these tests run; an unreachable server then fails them.
    """
    url = os.environ.get("SPECSCAN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SPECSCAN_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"SPECSCAN_TEST_POSTGRES_URL={url} is set but unreachable: {exc}")
    return url


@pytest.fixture(scope="session")
def registered_home(tmp_path_factory: pytest.TempPathFactory, small_csv: Path, tiny_config: Path) -> Path:
    """A SPECSCAN_HOME whose registry holds version 1 of the model as champion and challenger.

    Shared by the scoring and batch tests: treat it as read-only (copy it to change it).
    """
    from typer.testing import CliRunner

    from specscan.cli.main import app

    home = tmp_path_factory.mktemp("registered-home")
    result = CliRunner().invoke(
        app, ["pipeline", "run", "--data", str(small_csv), "--config", str(tiny_config), "--bootstrap"],
        env={"SPECSCAN_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return home
