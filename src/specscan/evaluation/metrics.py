"""Classification metrics for the non_compliant (positive) class, overall and per slice."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import roc_auc_score

from specscan.texts import THRESHOLD

ECE_BINS = 10
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-]+")


class ClassificationMetrics(BaseModel):
    """Metrics of one set of predictions; undefined ratios (0/0) are reported as 0.0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    accuracy: float
    precision_non_compliant: float
    recall_non_compliant: float
    f1_non_compliant: float
    macro_f1: float
    roc_auc: float | None
    ece: float
    confusion: list[list[int]]
    n_non_compliant: int


class EvaluationReport(BaseModel):
    """Overall and sliced metrics of one model on one named dataset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    overall: ClassificationMetrics
    slices: dict[str, dict[str, ClassificationMetrics]] = {}


def check_inputs(y_true: ArrayLike, prob_non_compliant: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels (0/1) and probabilities ([0, 1]) and return them as 1-D arrays."""
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(prob_non_compliant, dtype=float).reshape(-1)
    if y.size == 0:
        raise ValueError("cannot compute metrics on an empty set of predictions (n=0)")
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels but {p.size} probabilities")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (compliant) or 1 (non_compliant)")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("probabilities must be finite and within [0, 1]")
    return y.astype(int), p


def calibration_bins(
    y_true: ArrayLike, prob_non_compliant: ArrayLike, *, n_bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin of P(non_compliant): (mean probability, positive rate, count)."""
    y, p = check_inputs(y_true, prob_non_compliant)
    # p == 1.0 belongs to the last bin, not to an eleventh one.
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(idx, weights=p, minlength=n_bins) / counts
        pos_rate = np.bincount(idx, weights=y, minlength=n_bins) / counts
    return mean_prob, pos_rate, counts


def expected_calibration_error(y_true: ArrayLike, prob_non_compliant: ArrayLike) -> float:
    """Positive-class ECE: sum over 10 bins of (bin share) * |positive rate - mean probability|."""
    mean_prob, pos_rate, counts = calibration_bins(y_true, prob_non_compliant)
    filled = counts > 0
    gaps = np.abs(pos_rate[filled] - mean_prob[filled])
    return float(np.sum(counts[filled] * gaps) / counts.sum())


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def compute_metrics(
    y_true: ArrayLike, prob_non_compliant: ArrayLike, *, threshold: float = THRESHOLD
) -> ClassificationMetrics:
    """Score predictions; a row is predicted non_compliant when its probability >= threshold.

    ``macro_f1`` averages F1 over the classes present in the labels or predictions (as
    scikit-learn does); ``roc_auc`` is None when only one class is present; ``ece`` is the
    positive-class expected calibration error over 10 equal-width bins.
    """
    y, p = check_inputs(y_true, prob_non_compliant)
    pred = (p >= threshold).astype(int)
    tp = int(np.sum((pred == 1) & (y == 1)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    tn = int(y.size - tp - fp - fn)
    # F1 = 2tp / (2tp + fp + fn) per class; a class absent from labels and predictions has
    # a zero denominator and is left out of the macro average.
    class_f1 = [(2 * tp, 2 * tp + fp + fn), (2 * tn, 2 * tn + fn + fp)]
    present = [num / den for num, den in class_f1 if den]
    both_classes = 0 < y.sum() < y.size
    return ClassificationMetrics(
        n=int(y.size),
        accuracy=(tp + tn) / y.size,
        precision_non_compliant=_ratio(tp, tp + fp),
        recall_non_compliant=_ratio(tp, tp + fn),
        f1_non_compliant=_ratio(2 * tp, 2 * tp + fp + fn),
        macro_f1=float(np.mean(present)),
        roc_auc=float(roc_auc_score(y, p)) if both_classes else None,
        ece=expected_calibration_error(y, p),
        confusion=[[tn, fp], [fn, tp]],
        n_non_compliant=int(y.sum()),
    )


def slice_metrics(
    frame: pd.DataFrame,
    prob_non_compliant: ArrayLike,
    *,
    by: str,
    label_column: str = "label",
    min_rows: int = 1,
    threshold: float = THRESHOLD,
) -> dict[str, ClassificationMetrics]:
    """Metrics per distinct value of ``frame[by]`` (sorted, as strings), skipping small slices."""
    for column in (by, label_column):
        if column not in frame.columns:
            raise KeyError(f"column {column!r} not in frame (has {list(frame.columns)})")
    y, p = check_inputs(frame[label_column].to_numpy(), prob_non_compliant)
    keys = frame[by].astype(str).to_numpy()
    result: dict[str, ClassificationMetrics] = {}
    for value in sorted(set(keys)):
        mask = keys == value
        if mask.sum() >= min_rows:
            result[value] = compute_metrics(y[mask], p[mask], threshold=threshold)
    return result


def evaluate_frame(
    frame: pd.DataFrame,
    prob_non_compliant: ArrayLike,
    *,
    dataset: str,
    slice_columns: Sequence[str] = ("rule", "category"),
    label_column: str = "label",
    threshold: float = THRESHOLD,
) -> EvaluationReport:
    """Overall metrics plus slices on those of ``slice_columns`` present in the frame."""
    y, p = check_inputs(frame[label_column].to_numpy(), prob_non_compliant)
    slices = {
        column: slice_metrics(frame, p, by=column, label_column=label_column, threshold=threshold)
        for column in slice_columns
        if column in frame.columns
    }
    return EvaluationReport(dataset=dataset, overall=compute_metrics(y, p, threshold=threshold), slices=slices)


def _key_part(text: str) -> str:
    return _UNSAFE_KEY_CHARS.sub("_", text).strip("_") or "_"


def _scalars(metrics: ClassificationMetrics) -> dict[str, float]:
    values = metrics.model_dump(exclude={"confusion"})
    return {name: float(value) for name, value in values.items() if value is not None}


def flat_metrics(report: EvaluationReport, *, prefix: str) -> dict[str, float]:
    """MLflow metric keys: ``{prefix}_{metric}`` and ``{prefix}_{column}.{value}.{metric}``.

    Slice values are sanitised to ``[A-Za-z0-9_-]``; metrics that are None are left out.
    """
    head = _key_part(prefix)
    flat = {f"{head}_{name}": value for name, value in _scalars(report.overall).items()}
    for column, by_value in sorted(report.slices.items()):
        seen: dict[str, str] = {}
        for value, metrics in sorted(by_value.items()):
            part = _key_part(value)
            if part in seen:
                raise ValueError(f"slice values {seen[part]!r} and {value!r} share key {part!r}")
            seen[part] = value
            stem = f"{head}_{_key_part(column)}.{part}"
            flat.update({f"{stem}.{name}": v for name, v in _scalars(metrics).items()})
    return flat
