"""What the train step feeds the network besides texts and labels: rule targets and the calibration set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from specscan.data.rules import VIOLATIONS
from specscan.pipeline.steps import _calibration_set, rule_targets


def test_rule_targets_are_a_multi_hot_of_the_violations_column() -> None:
    frame = pd.DataFrame({"violations": ["lead;cadmium", "", None, "type_approval", "unknown"]})
    targets = rule_targets(frame)
    assert targets is not None and targets.shape == (5, len(VIOLATIONS))
    assert targets[0, VIOLATIONS.index("lead")] == targets[0, VIOLATIONS.index("cadmium")] == 1
    assert targets[[1, 2, 4]].sum() == 0 and targets[3].sum() == 1


def test_data_without_a_violations_column_trains_without_the_auxiliary_task() -> None:
    assert rule_targets(pd.DataFrame({"text": ["a"], "label": [1]})) is None


def test_the_temperature_is_fitted_on_held_out_phrasing_when_there_is_any(tmp_path: Path) -> None:
    val = pd.DataFrame({"text": ["v"], "label_eval": [0]})
    assert _calibration_set(tmp_path, val) is val
    pd.DataFrame({"text": [], "label_eval": []}).to_parquet(tmp_path / "heldout_families.parquet")
    assert _calibration_set(tmp_path, val) is val
    pd.DataFrame({"text": ["h", "i"], "label_eval": [1, 0]}).to_parquet(tmp_path / "heldout_families.parquet")
    assert _calibration_set(tmp_path, val)["text"].tolist() == ["h", "i"]
    assert np.array_equal(_calibration_set(tmp_path, val)["label_eval"].to_numpy(), [1, 0])


def test_weight_averaging_keeps_the_mean_of_the_last_epochs(tmp_path: Path) -> None:
    import torch

    from specscan.model.train import TrainConfig, _average, train_model

    states = [{"w": torch.tensor([1.0, 3.0]), "steps": torch.tensor(1)},
              {"w": torch.tensor([3.0, 5.0]), "steps": torch.tensor(2)}]
    assert torch.equal(_average(states)["w"], torch.tensor([2.0, 4.0]))
    assert int(_average(states)["steps"]) == 2  # an integer buffer is not averaged

    texts = [f"brass fitting, lead {k} %" for k in range(40)] + [f"steel bracket, Cd {k} ppm" for k in range(40)]
    labels = np.array([0] * 40 + [1] * 40)
    config = TrainConfig(max_epochs=3, average_epochs=2, patience=5, vocab_size=200, hidden=8, embed_dim=8)
    result = train_model(texts, labels, texts, labels, config=config, out_dir=tmp_path)
    assert result.best_epoch == 3 and result.history[-1]["averaged_epochs"] == 2
    assert len(result.history) == 4  # three epochs, then the average
