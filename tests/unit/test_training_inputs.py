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
