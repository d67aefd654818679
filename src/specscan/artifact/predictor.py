"""Predictions from a model bundle with ONNX Runtime, the bundle's own normaliser and tokenizer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from specscan.artifact import normaliser
from specscan.artifact.bundle import ONNX_FILE, TOKENIZER_FILE, BundleManifest, read_manifest
from specscan.artifact.tokenizer import PAD_ID, encode
from specscan.errors import ModelLoadError
from specscan.texts import label_of

SUB_BATCH = 16  # rows per ONNX Runtime call: 4 length groups of a batch of 64 were fastest (docs/benchmarks.md)


@dataclass(frozen=True)
class Prediction:
    """One text's label and the probability of the positive class (non_compliant)."""

    label: str
    probability: float


class Predictor:
    """Scores texts with a bundle; thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, bundle_dir: Path, *, intra_op_threads: int | None = None) -> None:
        self.bundle_dir = bundle_dir
        self.manifest: BundleManifest = read_manifest(bundle_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(bundle_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(bundle_dir / TOKENIZER_FILE))
            self.normalise = normaliser.for_spec(self.manifest.normaliser)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(f"cannot load model bundle {bundle_dir}: {exc}") from exc

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids exactly as the model saw them in training: normalised, then tokenised."""
        return encode(self.tokenizer, [self.normalise(text) for text in texts])

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        """Probability of non_compliant for already-encoded rows (padded on the right with PAD_ID).

        The rows run in groups of similar length, each group cut to its longest row: a recurrent
        network's time goes with the padded width, and a row's score does not depend on its group.
        """
        if len(ids) <= SUB_BATCH:
            return self._run(ids) if len(ids) else np.zeros(0, dtype=np.float32)
        lengths = (ids != PAD_ID).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        probabilities = np.empty(len(ids), dtype=np.float32)
        for start in range(0, len(ids), SUB_BATCH):
            rows = order[start : start + SUB_BATCH]
            probabilities[rows] = self._run(np.ascontiguousarray(ids[rows, : max(1, int(lengths[rows].max()))]))
        return probabilities

    def _run(self, ids: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run([self.manifest.output_name], {self.manifest.input_name: ids})
        return probabilities[:, 1]

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """Probability of non_compliant for each text, float32 [n].

        Texts are batched by length, so a batch pads little; a text's score does not depend on
        its batch (the networks read each text within its own length), only the speed does.
        """
        if len(texts) <= batch_size:
            return self.predict_ids(self.encode(texts)) if len(texts) else np.zeros(0, dtype=np.float32)
        order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
        ranked = [texts[i] for i in order]
        probabilities = np.empty(len(texts), dtype=np.float32)
        for start in range(0, len(ranked), batch_size):
            probabilities[order[start:start + batch_size]] = self.predict_ids(
                self.encode(ranked[start:start + batch_size]))
        return probabilities

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Label and probability for each text (labelled at the bundle's threshold)."""
        labels, threshold = self.manifest.labels, self.manifest.threshold
        return [Prediction(label=label_of(p, labels, threshold), probability=p)
                for p in self.predict_proba(texts).tolist()]
