"""`specscan train --nproc 2` trains with torch.distributed (gloo) and reaches the same quality."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def train(data: Path, config: Path, out: Path, nproc: int) -> float:
    """Trains with `nproc` processes; checks that as many took part (counted among them) and returns the
    validation macro-F1."""
    done = subprocess.run(
        [sys.executable, "-m", "specscan.cli", "train", "--data", str(data), "--output", str(out),
         "--nproc", str(nproc), "--config", str(config)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    match = re.search(r"trained with (\d+) process\(es\).*validation macro-F1 ([0-9.]+)", done.stdout)
    assert match, done.stdout
    assert int(match.group(1)) == nproc, done.stdout
    assert json.loads((out / "train" / "history.json").read_text())["ranks"] == nproc
    return float(match.group(2))


def test_two_processes_reach_the_quality_of_one(small_csv: Path, tiny_config: Path, tmp_path: Path) -> None:
    """At the same global batch: `batch_size` is per process, so two processes of 16 take the steps that one
    process of 32 takes (with 32 each they would take half as many, and the tiny model does not learn enough)."""
    text = tiny_config.read_text()
    assert "batch_size: 32" in text
    halved = tmp_path / "tiny-16.yaml"
    halved.write_text(text.replace("batch_size: 32", "batch_size: 16"))
    single = train(small_csv, tiny_config, tmp_path / "one", nproc=1)
    double = train(small_csv, halved, tmp_path / "two", nproc=2)

    assert (tmp_path / "two" / "train" / "model.pt").is_file()
    assert double >= single - 0.08, f"2 processes: {double:.3f}, 1 process: {single:.3f}"
