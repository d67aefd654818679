"""Diagnostic plots (confusion matrix, precision-recall, reliability) written as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, precision_recall_curve

from specscan import LABELS
from specscan.evaluation.metrics import calibration_bins, check_inputs, compute_metrics
from specscan.texts import THRESHOLD


def _save(fig: Figure, path: Path) -> Path:
    # Figure + Agg canvas directly: no pyplot global state, safe in threads and headless.
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=120)
    return path


def _confusion(y: np.ndarray, p: np.ndarray, threshold: float, title: str) -> Figure:
    matrix = np.array(compute_metrics(y, p, threshold=threshold).confusion)
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        dark = count > matrix.max() / 2
        ax.text(col, row, str(count), ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks([0, 1], labels=list(LABELS))
    ax.set_yticks([0, 1], labels=list(LABELS))
    ax.set_xlabel(f"Predicted label (threshold {threshold:g})")
    ax.set_ylabel("True label")
    ax.set_title(f"{title}: confusion matrix")
    return fig


def _pr_curve(y: np.ndarray, p: np.ndarray, title: str) -> Figure:
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if y.sum() == 0:
        # The curve is undefined without positives; say so rather than draw a misleading line.
        ax.text(0.5, 0.5, "undefined: no non_compliant rows", ha="center", va="center")
    else:
        precision, recall, _ = precision_recall_curve(y, p)
        ap = average_precision_score(y, p)
        ax.step(recall, precision, where="post", label=f"model (AP = {ap:.3f})")
        ax.axhline(y.mean(), linestyle="--", color="grey", label=f"prevalence ({y.mean():.3f})")
        ax.legend(loc="lower left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall (non_compliant)")
    ax.set_ylabel("Precision (non_compliant)")
    ax.set_title(f"{title}: precision-recall")
    return fig


def _calibration(y: np.ndarray, p: np.ndarray, title: str) -> Figure:
    mean_prob, pos_rate, counts = calibration_bins(y, p)
    filled = counts > 0
    ece = compute_metrics(y, p).ece
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(mean_prob[filled], pos_rate[filled], marker="o", label=f"model (ECE = {ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Mean predicted P(non_compliant) per bin")
    ax.set_ylabel("Observed fraction non_compliant")
    ax.set_title(f"{title}: reliability (10 bins)")
    ax.legend(loc="upper left")
    return fig


def save_plots(
    y_true: ArrayLike,
    prob_non_compliant: ArrayLike,
    out_dir: Path,
    *,
    title: str,
    threshold: float = THRESHOLD,
) -> list[Path]:
    """Write confusion_matrix.png, pr_curve.png and calibration.png to out_dir; return paths."""
    y, p = check_inputs(y_true, prob_non_compliant)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _save(_confusion(y, p, threshold, title), out_dir / "confusion_matrix.png"),
        _save(_pr_curve(y, p, title), out_dir / "pr_curve.png"),
        _save(_calibration(y, p, title), out_dir / "calibration.png"),
    ]
