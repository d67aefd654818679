"""Predictions from a model bundle with ONNX Runtime, the bundle's own normaliser and tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
# Up to this many texts are encoded in one go, then scored group by group: handing one of two groups to the encoder
# thread cost the scoring service (micro-batches of up to ~32 at 32 connections) 5 % of its CPU per request, more
# than the overlap saved. From three groups on, the overlap pays (batch 64: 1,490 -> 2,110 items/s).
PIPELINE_ABOVE = 2 * SUB_BATCH


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
        # one thread: a recurrent network over a few rows does not split across threads, and a second core is
        # better spent normalising and tokenising the next group (`predict_proba`)
        options.intra_op_num_threads = intra_op_threads or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(bundle_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(bundle_dir / TOKENIZER_FILE))
            self.normalise = normaliser.for_spec(self.manifest.normaliser)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(f"cannot load model bundle {bundle_dir}: {exc}") from exc
        self._encoder = ThreadPoolExecutor(1, thread_name_prefix="encode")  # its thread starts on first use

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
        probabilities = np.empty(len(ids), dtype=np.float32)
        for rows in _length_groups(lengths):
            probabilities[rows] = self._run(np.ascontiguousarray(ids[rows, : max(1, int(lengths[rows].max()))]))
        return probabilities

    def _run(self, ids: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run([self.manifest.output_name], {self.manifest.input_name: ids})
        return probabilities[:, 1]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of non_compliant for each text, float32 [n].

        The texts run in groups of SUB_BATCH of similar length (a group pads little); above PIPELINE_ABOVE
        texts, while ONNX Runtime scores one group, which frees the GIL, another thread normalises and
        tokenises the next one. A text's score does not depend on its group (the networks read each text
        within its own length).
        """
        if len(texts) <= PIPELINE_ABOVE:
            return self.predict_ids(self.encode(texts)) if len(texts) else np.zeros(0, dtype=np.float32)
        groups = _length_groups(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)))
        probabilities = np.empty(len(texts), dtype=np.float32)
        encoded = self._encoder.submit(self.encode, [texts[i] for i in groups[0]])
        for k, rows in enumerate(groups):
            ids = encoded.result()
            if k + 1 < len(groups):
                encoded = self._encoder.submit(self.encode, [texts[i] for i in groups[k + 1]])
            probabilities[rows] = self._run(ids)
        return probabilities

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Label and probability for each text (labelled at the bundle's threshold)."""
        labels, threshold = self.manifest.labels, self.manifest.threshold
        return [Prediction(label=label_of(p, labels, threshold), probability=p)
                for p in self.predict_proba(texts).tolist()]


def _length_groups(lengths: np.ndarray) -> list[np.ndarray]:
    """Row indices in groups of SUB_BATCH, shortest rows first, so that each group pads little."""
    order = np.argsort(lengths, kind="stable")
    return [order[start:start + SUB_BATCH] for start in range(0, len(order), SUB_BATCH)]
