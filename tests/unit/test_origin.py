"""Specifications for specscan.data.origin and what the prepare step records with it: the training data's label
noise as measured (label != label_clean), and where the data came from (the generator's note, or the web app's
export columns); unknown where the file cannot tell, never assumed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from specscan.cli.main import app
from specscan.data.generator import GENERATOR_VERSION, generate
from specscan.data.origin import measured_label_noise, origin_of, sidecar_of
from specscan.lineage import git_state
from specscan.pipeline.config import SplitConfig
from specscan.pipeline.steps import prepare

MAX = 2000


def test_label_noise_is_the_share_of_labels_that_differ_from_the_clean_label() -> None:
    frame = pd.DataFrame({"label": [1, 0, 0, 1, 1], "label_clean": [1, 1, 0, 0, 1]})
    assert measured_label_noise(frame) == 0.4
    assert measured_label_noise(frame.assign(label=frame["label_clean"])) == 0.0
    assert measured_label_noise(frame.drop(columns="label_clean")) is None  # nothing to measure against


def generated_csv(tmp_path: Path, *, noise: float, seed: int = 7, rows: int = 400) -> Path:
    path = tmp_path / f"r1-{noise}.csv"
    done = CliRunner().invoke(app, ["data", "generate", "--out", str(path), "--rows", str(rows), "--noise",
                                    str(noise), "--seed", str(seed)])
    assert done.exit_code == 0, done.output
    return path


def test_data_generate_leaves_a_note_naming_generator_version_seed_revision_and_noise(tmp_path: Path) -> None:
    path = generated_csv(tmp_path, noise=0.0, seed=7)
    note = json.loads(sidecar_of(path).read_text())
    assert {k: note[k] for k in ("generator_version", "seed", "revision", "rows", "noise")} == {
        "generator_version": GENERATOR_VERSION, "seed": 7, "revision": "R1", "rows": 400, "noise": 0.0}
    assert origin_of(path, ["text", "label"]) == (
        f"generated (specscan data generate, generator {GENERATOR_VERSION}, seed 7, revision R1, 400 rows, "
        "noise asked 0.0)")


def test_a_note_that_no_longer_matches_its_file_is_not_believed(tmp_path: Path) -> None:
    path = generated_csv(tmp_path, noise=0.0)
    path.write_text(path.read_text() + "Brake pad set copper-free,compliant\n")
    assert origin_of(path, ["text", "label"]) == f"unknown ({sidecar_of(path).name} does not match this file)"


def test_the_web_app_export_is_known_by_its_columns_and_anything_else_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\n")
    export = ["text", "label", "id", "part_number", "supplier", "category", "model_label", "probability",
              "model_version", "request_id", "reviewed_by", "reviewed_at"]
    assert origin_of(path, export) == "web app export"
    assert origin_of(path, ["text", "label", "model_label"]) == \
        "unknown (no generator note and not the web app's export)"


def test_prepare_records_the_noise_measured_on_the_training_split_and_the_origin(tmp_path: Path) -> None:
    split = SplitConfig()
    clean = prepare(generated_csv(tmp_path, noise=0.0), tmp_path / "clean", split=split, max_text_chars=MAX)
    noisy_csv = generated_csv(tmp_path, noise=0.2)
    noisy = prepare(noisy_csv, tmp_path / "noisy", split=split, max_text_chars=MAX)

    assert clean.label_noise == 0.0 and clean.data_origin.startswith("generated (")
    train = pd.read_parquet(tmp_path / "noisy" / "train.parquet")
    assert noisy.label_noise == (train["label"] != train["label_clean"]).mean()
    assert 0.1 < noisy.label_noise < 0.3 and "noise asked 0.2" in noisy.data_origin


def test_prepare_on_data_without_a_clean_label_records_the_noise_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "human.csv"
    generate(rows=300, seed=3).drop(columns=["label_clean"]).to_csv(path, index=False)
    summary = prepare(path, tmp_path / "out", split=SplitConfig(), max_text_chars=MAX)
    assert summary.label_noise is None
    assert summary.data_origin == "unknown (no generator note and not the web app's export)"


def test_outside_git_whether_the_code_was_dirty_is_unknown_not_false(tmp_path: Path) -> None:
    assert git_state(tmp_path) == ("unknown", None)
