"""Evaluate any model on any labelled CSV (`text`, `label`; other columns optional)."""

from __future__ import annotations

from pathlib import Path

from specscan.artifact.predictor import Predictor
from specscan.data.validation import load_labelled
from specscan.evaluation.metrics import EvaluationReport, evaluate_frame


def evaluate_labelled_file(predictor: Predictor, path: Path, *, max_text_chars: int) -> EvaluationReport:
    """Metrics of `predictor` on the file, against `label_clean` where the file has it."""
    frame = load_labelled(path, max_text_chars=max_text_chars)
    if "label_clean" in frame.columns:
        frame["label"] = frame["label_clean"]
    prob = predictor.predict_proba(frame["text"].tolist())
    return evaluate_frame(frame, prob, dataset=path.stem, threshold=predictor.manifest.threshold)
