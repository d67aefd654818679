"""Specifications for specscan.evaluation.metrics and plots."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from specscan.evaluation.metrics import (
    EvaluationReport,
    compute_metrics,
    evaluate_frame,
    expected_calibration_error,
    flat_metrics,
    slice_metrics,
)
from specscan.evaluation.plots import save_plots

MLFLOW_KEY = re.compile(r"^[A-Za-z0-9_\-. /]+$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Y = np.array([0, 0, 0, 0, 1, 1, 1, 0, 1, 0])
P = np.array([0.1, 0.6, 0.2, 0.4, 0.9, 0.3, 0.7, 0.55, 0.8, 0.05])


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": Y,
            "rule": [{"L": "lead", "R": "R10.2", "N": "noise"}[c] for c in "LLRRLRNLNL"],
            "category": [{"B": "brake", "T": "tyre"}[c] for c in "BBTTTBBTTT"],
        }
    )


def test_perfect_confident_predictions_score_one_and_are_calibrated() -> None:
    m = compute_metrics([0, 1, 0, 1], [0.0, 1.0, 0.0, 1.0])
    assert (m.accuracy, m.macro_f1, m.f1_non_compliant, m.roc_auc) == (1.0, 1.0, 1.0, 1.0)
    assert m.ece == 0.0
    assert compute_metrics([0, 1], [0.02, 0.98]).ece == pytest.approx(0.02)


def test_hand_made_example_matches_sklearn() -> None:
    m = compute_metrics(Y, P)
    pred = (P >= 0.5).astype(int)
    assert m.confusion == confusion_matrix(Y, pred, labels=[0, 1]).tolist() == [[4, 2], [1, 3]]
    assert m.precision_non_compliant == pytest.approx(precision_score(Y, pred))
    assert m.recall_non_compliant == pytest.approx(recall_score(Y, pred))
    assert m.f1_non_compliant == pytest.approx(f1_score(Y, pred))
    assert m.macro_f1 == pytest.approx(f1_score(Y, pred, average="macro"))
    assert m.accuracy == pytest.approx(0.7)
    assert (m.n, m.n_non_compliant) == (10, 4)


def test_ece_is_bin_weighted_gap_between_positive_rate_and_mean_probability() -> None:
    # bin [0.2, 0.3): mean 0.25, rate 0.5 -> gap 0.25; bin [0.9, 1]: mean 0.95, rate 1 -> 0.05
    ece = expected_calibration_error([0, 1, 1, 1], [0.2, 0.3 - 1e-9, 0.9, 1.0])
    assert ece == pytest.approx(0.5 * 0.25 + 0.5 * 0.05, abs=1e-6)


def test_raising_the_threshold_trades_recall_for_precision() -> None:
    low, high = compute_metrics(Y, P, threshold=0.25), compute_metrics(Y, P, threshold=0.75)
    assert low.recall_non_compliant == 1.0
    assert high.recall_non_compliant < low.recall_non_compliant
    assert high.precision_non_compliant > low.precision_non_compliant
    assert high.roc_auc == low.roc_auc  # ranking metric, threshold-free


def test_single_class_has_no_roc_auc_and_emits_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics([0, 0, 0], [0.1, 0.2, 0.7])
        perfect = compute_metrics([1, 1], [0.9, 0.8])
    assert m.roc_auc is None
    assert (m.precision_non_compliant, m.recall_non_compliant, m.f1_non_compliant) == (0, 0, 0)
    assert m.confusion == [[2, 1], [0, 0]]
    assert (perfect.roc_auc, perfect.macro_f1, perfect.accuracy) == (None, 1.0, 1.0)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([], [], "empty"),
        ([0, 1], [0.5], "labels"),
        ([0, 2], [0.1, 0.2], "0 .compliant."),
        ([0, 1], [0.1, 1.5], r"\[0, 1\]"),
    ],
)
def test_invalid_inputs_raise_value_error(y: list, p: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(y, p)


def test_slices_partition_the_rows() -> None:
    slices = slice_metrics(frame(), P, by="rule")
    assert list(slices) == ["R10.2", "lead", "noise"]
    assert sum(m.n for m in slices.values()) == len(Y)
    assert sum(m.n_non_compliant for m in slices.values()) == Y.sum()
    assert slices["noise"].confusion == [[0, 0], [0, 2]]


def test_slices_below_min_rows_are_skipped_and_unknown_columns_rejected() -> None:
    assert list(slice_metrics(frame(), P, by="rule", min_rows=3)) == ["R10.2", "lead"]
    with pytest.raises(KeyError, match="family"):
        slice_metrics(frame(), P, by="family")


def test_evaluate_frame_slices_only_on_present_columns() -> None:
    report = evaluate_frame(frame().drop(columns="category"), P, dataset="test")
    assert report.dataset == "test"
    assert list(report.slices) == ["rule"]
    assert report.overall == compute_metrics(Y, P)
    assert EvaluationReport.model_validate_json(report.model_dump_json()) == report


def test_evaluate_frame_measures_overall_and_slices_at_the_given_threshold() -> None:
    report = evaluate_frame(frame(), P, dataset="test", threshold=0.75)

    assert report.overall == compute_metrics(Y, P, threshold=0.75)
    assert report.slices["rule"]["noise"].confusion == [[0, 0], [1, 1]]  # 0.7 is compliant at 0.75


def test_flat_metrics_keys_are_valid_for_mlflow_and_scalar() -> None:
    report = evaluate_frame(frame(), P, dataset="test")
    flat = flat_metrics(report, prefix="test")
    assert flat["test_macro_f1"] == report.overall.macro_f1
    assert flat["test_accuracy"] == report.overall.accuracy
    r10 = report.slices["rule"]["R10.2"]
    assert flat["test_rule.R10_2.f1_non_compliant"] == r10.f1_non_compliant
    assert flat["test_category.tyre.n"] == 6.0
    assert all(MLFLOW_KEY.match(key) for key in flat)
    assert all(isinstance(v, float) for v in flat.values())
    assert not any("confusion" in key for key in flat)
    # "noise" contains one class only: its roc_auc is left out, not logged as None.
    assert "test_rule.noise.roc_auc" not in flat


def test_flat_metrics_sanitises_unsafe_slice_values() -> None:
    f = frame().assign(rule=["a:b|c", "Ü"] * 5)
    flat = flat_metrics(evaluate_frame(f, P, dataset="x"), prefix="heldout families")
    assert "heldout_families_rule.a_b_c.n" in flat
    assert all(MLFLOW_KEY.match(key) for key in flat)


def test_save_plots_writes_three_png_files(tmp_path) -> None:
    paths = save_plots(Y, P, tmp_path / "plots", title="test")
    names = ["confusion_matrix.png", "pr_curve.png", "calibration.png"]
    assert [p.name for p in paths] == names
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 1000


def test_save_plots_handles_a_single_class_without_warnings(tmp_path) -> None:
    paths = save_plots([0, 0, 0], [0.1, 0.4, 0.6], tmp_path, title="only compliant")
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in paths)
