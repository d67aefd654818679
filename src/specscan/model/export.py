"""ONNX export with dynamic batch and sequence axes, and the parity check against PyTorch."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

from specscan.artifact.predictor import Predictor
from specscan.errors import ParityError
from specscan.model.network import WithProbabilities, folded

log = logging.getLogger(__name__)
OPSET = 18


class ParityReport(BaseModel):
    """How far ONNX Runtime's probabilities are from PyTorch's on the same texts."""

    n_texts: int
    max_abs_diff: float
    tolerance: float
    label_agreement: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def export_onnx(model: nn.Module, out_path: Path, *, temperature: float = 1.0) -> None:
    """Write the model, returning probabilities (logits / `temperature`, softmaxed), with dynamic
    `batch` and `sequence` axes; pretrained embeddings go in as one table each."""
    wrapped = WithProbabilities(folded(model), temperature).eval()
    example = torch.ones(2, 16, dtype=torch.int64)
    with warnings.catch_warnings():
        # nn.GRU's shape checks compare sizes that are static for a given model; the tracer
        # warns about every such comparison. Parity (check_parity) is what proves the export.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            wrapped, (example,), str(out_path), input_names=["input_ids"],
            output_names=["probabilities"], opset_version=OPSET, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "probabilities": {0: "batch"}},
        )


def check_parity(model: nn.Module, bundle_dir: Path, texts: Sequence[str], *,
                 tolerance: float = 1e-4, batch_size: int = 64) -> ParityReport:
    """Compare PyTorch and ONNX Runtime probabilities on `texts`; raise ParityError past tolerance."""
    predictor = Predictor(bundle_dir)
    threshold = predictor.manifest.threshold
    wrapped = WithProbabilities(model, predictor.manifest.temperature).eval()
    worst, agree = 0.0, 0
    for start in range(0, len(texts), batch_size):
        ids = predictor.encode(texts[start : start + batch_size])
        onnx_p = predictor.predict_ids(ids)
        with torch.no_grad():
            torch_p = wrapped(torch.from_numpy(ids))[:, 1].numpy()
        worst = max(worst, float(np.abs(onnx_p - torch_p).max()))
        agree += int(((onnx_p >= threshold) == (torch_p >= threshold)).sum())
    report = ParityReport(n_texts=len(texts), max_abs_diff=worst, tolerance=tolerance,
                          label_agreement=agree / max(len(texts), 1))
    if not report.ok:
        raise ParityError(f"ONNX Runtime differs from PyTorch by {worst:.2e} "
                          f"(tolerance {tolerance:.0e}) on {len(texts)} texts")
    log.info("parity: max abs diff %.2e on %d texts", worst, len(texts))
    return report

