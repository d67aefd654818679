"""The same data and configuration train the same model, in separate processes, bit for bit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = pytest.mark.slow


def train(data: Path, config: Path, out: Path, nproc: int = 1) -> dict[str, torch.Tensor]:
    done = subprocess.run(
        [sys.executable, "-m", "specscan.cli", "train", "--data", str(data), "--output", str(out),
         "--nproc", str(nproc), "--config", str(config)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    saved = torch.load(out / "train" / "model.pt", map_location="cpu", weights_only=True)
    return {**saved["state_dict"], "temperature": torch.tensor(saved["temperature"])}


@pytest.mark.parametrize("nproc", [1, 2])
def test_two_runs_give_identical_weights_and_tokenizer(small_csv: Path, tiny_config: Path, tmp_path: Path,
                                                       nproc: int) -> None:
    first = train(small_csv, tiny_config, tmp_path / "a", nproc)
    second = train(small_csv, tiny_config, tmp_path / "b", nproc)
    assert first.keys() == second.keys()
    differ = [k for k in first if not torch.equal(first[k], second[k])]
    assert not differ, differ
    tokenizers = [(tmp_path / run / "train" / "tokenizer.json").read_bytes() for run in ("a", "b")]
    assert tokenizers[0] == tokenizers[1]


ENSEMBLE = {"members": 2, "word_vectors": "mixed", "arch": "bigru", "embed_dim": 16, "hidden": 16, "max_epochs": 2}


def test_an_ensemble_on_minilm_vectors_trains_side_by_side_to_identical_weights(small_csv: Path, tiny_config: Path,
                                                                                tmp_path: Path) -> None:
    settings = yaml.safe_load(tiny_config.read_text())
    settings["train"] = {**settings["train"], **ENSEMBLE}
    config = tmp_path / "ensemble.yaml"
    config.write_text(yaml.safe_dump(settings))
    first = train(small_csv, config, tmp_path / "a")
    second = train(small_csv, config, tmp_path / "b")
    assert {k.split(".")[1] for k in first if k.startswith("members.")} == {"0", "1"}
    assert "members.0.embedding.fixed" in first and "members.1.embedding.weight" in first
    assert first["members.0.embedding.fixed"].abs().sum() > 0  # the MiniLM vectors reached the spawned member
    differ = [k for k in first if not torch.equal(first[k], second[k])]
    assert not differ, differ
