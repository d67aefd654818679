"""The model bundle: the directory that every inference path loads (ONNX + tokenizer + manifest).

    bundle/
      model.onnx       input `input_ids` int64 [batch, seq]; output `probabilities` float [batch, 2]
      tokenizer.json   Hugging Face tokenizer, padding and truncation included
      bundle.json      this manifest: labels, decision threshold, text normaliser version, model config,
                       calibration, SHA-256 of the two files, lineage
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from specscan import LABELS
from specscan.artifact.normaliser import NormaliserSpec
from specscan.errors import ModelLoadError
from specscan.texts import THRESHOLD

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "bundle.json"
FORMAT = "specscan-onnx/1"


class BundleManifest(BaseModel):
    """What a bundle holds and where it came from."""

    format: str = FORMAT
    labels: tuple[str, str] = LABELS
    # labels[1] from this probability of it on (`texts.label_of`); bundles written before it was recorded used 0.5
    threshold: float = Field(default=THRESHOLD, gt=0.0, lt=1.0)
    # the canonical-quantity normaliser applied before tokenising (`artifact.normaliser`); None: none
    normaliser: NormaliserSpec | None = None
    # the logits were divided by this before the softmax inside model.onnx (fitted on validation data)
    temperature: float = Field(default=1.0, gt=0.0)
    input_name: str = "input_ids"
    output_name: str = "probabilities"
    max_len: int
    network: dict[str, Any]
    sha256: dict[str, str]
    lineage: dict[str, str] = {}


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(bundle_dir: Path, *, max_len: int, network: dict[str, Any],
                   lineage: dict[str, str] | None = None, threshold: float = THRESHOLD,
                   normaliser: NormaliserSpec | None = None, temperature: float = 1.0) -> BundleManifest:
    """Hash the bundle's files and write bundle.json beside them."""
    manifest = BundleManifest(
        max_len=max_len, network=network, lineage=lineage or {}, threshold=threshold,
        normaliser=normaliser, temperature=temperature,
        sha256={name: sha256_file(bundle_dir / name) for name in (ONNX_FILE, TOKENIZER_FILE)},
    )
    (bundle_dir / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2))
    return manifest


def read_manifest(bundle_dir: Path, *, verify: bool = True) -> BundleManifest:
    """Load bundle.json and, with `verify`, check the files against their recorded SHA-256."""
    path = bundle_dir / MANIFEST_FILE
    if not path.is_file():
        raise ModelLoadError(f"{bundle_dir} is not a model bundle: {MANIFEST_FILE} is missing")
    try:
        manifest = BundleManifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise ModelLoadError(f"{path}: invalid manifest at {where}: {first['msg']}") from None
    if manifest.format != FORMAT:
        raise ModelLoadError(f"{path}: unsupported bundle format {manifest.format!r}")
    if verify:
        for name, expected in manifest.sha256.items():
            file = bundle_dir / name
            if not file.is_file() or sha256_file(file) != expected:
                raise ModelLoadError(f"{file}: missing or its SHA-256 does not match the manifest")
    return manifest
