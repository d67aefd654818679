"""A pipeline killed mid-training leaves nothing half-registered and can simply be re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = pytest.mark.slow


def test_sigkill_during_training_then_rerun(small_csv: Path, tiny_config: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SPECSCAN_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "specscan.cli", "pipeline", "run", "--data", str(small_csv),
               "--config", str(tiny_config), "--bootstrap"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.stdout is not None
    train_dir = tmp_path / "home" / "steps" / "train"
    seen = []
    for line in run.stdout:  # the kill lands right after training logs its first epoch, of at least three
        seen.append(line)
        if line.startswith("epoch 1: train loss"):
            break
    assert seen and seen[-1].startswith("epoch 1: train loss"), "".join(seen)[-3000:]
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    run.stdout.close()
    assert run.returncode == -signal.SIGKILL

    assert any(train_dir.glob(".*")), "the kill should land while training is under way"
    assert not any((out / ".done").exists() for out in train_dir.iterdir())
    registry = Registry(Settings(home=tmp_path / "home"))
    assert registry.versions() == []

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "prepare: unchanged inputs" in again.stdout
    assert [v.version for v in registry.versions()] == [1]
