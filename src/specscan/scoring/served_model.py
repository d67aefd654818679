"""The model a service serves: a registry reference (alias, version or bundle directory) made concrete.

Only the bundle's `.onnx` file and `tokenizer.json` are ever loaded, and only after their SHA-256
matched both the bundle manifest and the registry's record of that version; nothing in the
artifact is unpickled or executed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specscan.artifact.bundle import read_manifest
from specscan.artifact.predictor import Predictor
from specscan.errors import ModelLoadError
from specscan.settings import Settings
from specscan.texts import label_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and the registry version it came from."""

    name: str
    version: int
    predictor: Predictor

    @property
    def labels(self) -> tuple[str, str]:
        return self.predictor.manifest.labels

    def labels_for(self, probabilities: np.ndarray) -> list[str]:
        """The label of each probability of the positive class, at the bundle's threshold."""
        labels, threshold = self.labels, self.predictor.manifest.threshold
        return [label_of(p, labels, threshold) for p in probabilities.tolist()]


class ModelSource:
    """Resolves a model reference to a version and loads it; asks again when polled."""

    def __init__(self, settings: Settings, reference: str) -> None:
        self.settings = settings
        self.reference = reference
        self._registry = None
        self.is_directory = Path(reference).is_dir()

    @property
    def registry(self):  # type: ignore[no-untyped-def]
        if self._registry is None:
            from specscan.registry import Registry  # imports MLflow: only when a registry is used

            self._registry = Registry(self.settings)
        return self._registry

    def current_version(self) -> int:
        """The version the reference names right now (an alias may have moved)."""
        if self.is_directory:
            return 0
        number, _ = self.registry.resolve(self.reference)
        return number

    def load(self, *, intra_op_threads: int, version: int | None = None) -> ServedModel:
        """Download (once, verified) and load `version`, by default the one the reference names now."""
        if self.is_directory:
            path = Path(self.reference)
            read_manifest(path)
            model = ServedModel(self.settings.model_name, 0, Predictor(path, intra_op_threads=intra_op_threads))
            _warm_up(model)
            return model
        number = version if version is not None else self.current_version()
        path = self.registry.bundle_path(f"models:/{self.settings.model_name}/{number}")
        if path.parent.parent.exists():
            path.parent.parent.chmod(0o700)  # the artifact cache is private to the service user
        model = ServedModel(self.settings.model_name, number, Predictor(path, intra_op_threads=intra_op_threads))
        _warm_up(model)
        return model


def _warm_up(model: ServedModel) -> None:
    """One call before traffic, so the first request does not pay ONNX Runtime's lazy set-up."""
    try:
        model.predictor.predict_proba(["warm-up text for the scoring service"])
    except Exception as exc:
        raise ModelLoadError(f"version {model.version} loaded but cannot score: {exc}") from exc
