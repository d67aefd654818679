"""Pipeline configuration: one typed object, loadable from YAML or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from specscan.errors import ConfigError
from specscan.model.train import TrainConfig


class SplitConfig(BaseModel):
    """How prepare splits the data."""

    model_config = {"extra": "forbid"}

    test_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    val_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    heldout_families: list[str] | None = Field(
        default=None, description="phrasing families kept out of training; default: a seeded pick")
    n_heldout_families: int = Field(default=3, ge=0)
    seed: int = 7


class EvaluationConfig(BaseModel):
    """What the evaluate step scores besides the generated test sets."""

    model_config = {"extra": "forbid"}

    labelled_sets: dict[str, Path] = Field(
        default={}, description="name -> labelled CSV (text, label), e.g. descriptions written by hand; "
                                "a relative path is relative to the config file")
    behaviour: bool = Field(default=True, description="run the behavioural suite for the data's rules revision")


class GateConfig(BaseModel):
    """What a candidate must reach to be registered and aliased `challenger`."""

    model_config = {"extra": "forbid"}

    min_macro_f1: dict[str, float] = Field(
        default={"test": 0.95, "heldout_families": 0.90},
        description="evaluation set (generated or a labelled set) -> minimum macro-F1")
    behaviour: bool = Field(default=True, description="refuse a model that fails a behavioural test")
    max_regression: float = Field(default=0.01, ge=0, description="overall macro-F1 vs champion")
    max_slice_regression: float = Field(default=0.03, ge=0, description="per-slice accuracy drop")
    min_slice_rows: int = Field(default=50, ge=1, description="smaller slices are too noisy to gate")


class PipelineConfig(BaseModel):
    """Everything that decides what the pipeline produces."""

    model_config = {"extra": "forbid"}

    split: SplitConfig = SplitConfig()
    train: TrainConfig = TrainConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    gate: GateConfig = GateConfig()
    parity_texts: int = Field(default=1000, ge=1)
    parity_tolerance: float = Field(default=1e-4, gt=0)


def load_config(path: Path | None) -> PipelineConfig:
    """The configuration in `path` (YAML or JSON), or the defaults."""
    if path is None:
        return PipelineConfig()
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        config = PipelineConfig.model_validate(raw or {})
        sets = config.evaluation.labelled_sets
        config.evaluation.labelled_sets = {name: (path.parent / file if not file.is_absolute() else file)
                                           for name, file in sets.items()}
        return config
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise ConfigError(f"{path}: {problems}") from exc
