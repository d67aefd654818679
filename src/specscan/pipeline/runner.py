"""Runs the steps in order, each as a nested MLflow run, with cached outputs and a gate at the end."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import specscan
from specscan.artifact.bundle import read_manifest
from specscan.data.origin import sidecar_digest
from specscan.errors import DataValidationError
from specscan.evaluation.metrics import flat_metrics
from specscan.evaluation.model_card import render_model_card
from specscan.lineage import code_digest, git_state
from specscan.pipeline import steps
from specscan.pipeline.cache import StepResult, digest_path, run_cached, step_key
from specscan.pipeline.config import PipelineConfig
from specscan.pipeline.gate import GateDecision, decide
from specscan.registry import SHA_TAGS, Registry
from specscan.settings import Settings

log = logging.getLogger(__name__)
CHALLENGER, CHAMPION = "challenger", "champion"


class PipelineOutcome(BaseModel):
    """How a pipeline run ended."""

    run_id: str
    promoted: bool
    version: int | None
    already_registered: bool
    aliases: list[str]
    gate: GateDecision
    cached_steps: list[str]


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return flat
    return {prefix: json.dumps(value) if isinstance(value, list | tuple) else value}


class _Runner:
    def __init__(self, settings: Settings, registry: Registry, config: PipelineConfig,
                 experiment: str, on_event: Callable[[str], None]) -> None:
        self.settings, self.registry, self.config, self.say = settings, registry, config, on_event
        self.experiment = experiment
        self.code = code_digest()
        self.cached: list[str] = []

    def step(self, name: str, inputs: dict[str, str], params: Any,
             produce: Callable[[Path], Any]) -> StepResult:
        """Run one step in a nested MLflow run, skipping it when its outputs are cached."""
        mlflow = self.registry.mlflow
        key = step_key(name, inputs=inputs, params=params, code=self.code)
        with mlflow.start_run(experiment_id=self.experiment, run_name=name, nested=True):
            mlflow.set_tags({"step": name, "cache_key": key, **{f"input.{k}": v for k, v in inputs.items()}})
            result = run_cached(self.settings.step_cache, name, key, produce)
            mlflow.set_tag("cached", str(result.cached).lower())
            summary = result.output / steps.SUMMARY_FILE
            if summary.is_file():
                mlflow.log_artifact(str(summary))
                numbers = {k: float(v) for k, v in json.loads(summary.read_text()).items()
                           if isinstance(v, int | float) and not isinstance(v, bool)}
                mlflow.log_metrics(numbers)
        if result.cached:
            self.cached.append(name)
            self.say(f"{name}: unchanged inputs, config and code: reused {result.output} (skipped)")
        else:
            self.say(f"{name}: done -> {result.output}")
        return result


def run_pipeline(settings: Settings, data: Path, config: PipelineConfig, *, bootstrap: bool = False,
                 on_event: Callable[[str], None] = log.info) -> PipelineOutcome:
    """validate → prepare → train → export → evaluate → register (gated); see `steps`."""
    if not data.is_file():
        raise DataValidationError(f"{data}: no such file")
    for name, file in config.evaluation.labelled_sets.items():
        if not file.is_file():
            raise DataValidationError(f"labelled set {name}: {file}: no such file")
    registry = Registry(settings)
    registry.check()  # before any work: an unreachable tracking store fails in seconds
    experiment = registry.experiment_id()
    runner = _Runner(settings, registry, config, experiment, on_event)
    mlflow = registry.mlflow
    data_digest = digest_path(data)
    commit, dirty_or_unknown = git_state()
    dirty = "unknown" if dirty_or_unknown is None else str(dirty_or_unknown).lower()  # outside git: not "false"
    limit = settings.max_text_chars
    with mlflow.start_run(experiment_id=experiment, run_name="pipeline") as parent:
        run_id = parent.info.run_id
        mlflow.set_tags({"pipeline": "specscan", "git_commit": commit, "git_dirty": dirty,
                         "data_digest": data_digest, "data_file": str(data),
                         "specscan_version": specscan.__version__, "code_digest": runner.code})
        mlflow.log_params(_flatten("", config.model_dump()))
        on_event(f"pipeline run {run_id} on {data} (sha256 {data_digest[:12]})")

        runner.step("validate", {"data": data_digest}, {"max_text_chars": limit},
                    lambda out: steps.validate(data, out, max_text_chars=limit))
        prepared = runner.step(
            "prepare", {"data": data_digest, "origin_note": sidecar_digest(data)},
            {"split": config.split.model_dump(), "max": limit},
            lambda out: steps.prepare(data, out, split=config.split, max_text_chars=limit)).output
        prep = steps.read_summary(prepared, steps.PrepareSummary)
        trained = runner.step(
            "train", {"prepared": prepared.name}, config.train.model_dump(),
            lambda out: steps.train(prepared, out, config=config)).output
        bundle_lineage = {"data_digest": data_digest, "code_digest": runner.code,
                          "git_commit": commit, "git_dirty": dirty,
                          "rules_revision": ",".join(prep.revisions) or "unknown",
                          "specscan_version": specscan.__version__}
        exported = runner.step(
            "export", {"trained": trained.name, "prepared": prepared.name},
            {"parity": [config.parity_texts, config.parity_tolerance]},
            lambda out: steps.export(trained, prepared, out, config=config,
                                     lineage=bundle_lineage)).output
        bundle = exported / "bundle"
        champion_version = registry.alias_version(CHAMPION)
        champion = registry.bundle_path(f"models:/{settings.model_name}/{champion_version}") \
            if champion_version is not None else None
        labelled = config.evaluation.labelled_sets
        revision = prep.revisions[0] if config.evaluation.behaviour and len(prep.revisions) == 1 else None
        evaluated = runner.step(
            "evaluate", {"bundle": exported.name, "prepared": prepared.name, "trained": trained.name,
                         "champion": str(champion_version),
                         **{f"set.{name}": digest_path(file) for name, file in labelled.items()}},
            {"revision": revision},
            lambda out: steps.evaluate(bundle, prepared, trained, out, champion=champion,
                                       champion_version=champion_version, labelled_sets=labelled,
                                       revision=revision, max_text_chars=limit)).output
        evaluation = steps.read_summary(evaluated, steps.EvaluationSummary)

        lineage = {**bundle_lineage, "pipeline_run_id": run_id, "data_file": str(data),
                   **{f"rows_{k}": str(v) for k, v in prep.rows.items()},
                   "heldout_families": ",".join(prep.heldout_families),
                   "label_source": prep.label_source,
                   "label_noise": "unknown" if prep.label_noise is None else f"{prep.label_noise:.4f}",
                   "data_origin": prep.data_origin}
        with mlflow.start_run(experiment_id=experiment, run_name="register", nested=True):
            outcome = _register(registry, config, bundle, evaluated, evaluation, lineage,
                                champion_version, bootstrap, on_event)
            outcome.run_id, outcome.cached_steps = run_id, runner.cached
        mlflow.set_tags({"promoted": str(outcome.promoted).lower(),
                         "model_version": str(outcome.version or "")})
        return outcome


def _register(registry: Registry, config: PipelineConfig, bundle: Path, evaluated: Path,
              evaluation: steps.EvaluationSummary, lineage: dict[str, str],
              champion_version: int | None, bootstrap: bool,
              say: Callable[[str], None]) -> PipelineOutcome:
    mlflow = registry.mlflow
    for report in evaluation.candidate:
        mlflow.log_metrics(flat_metrics(report, prefix=report.dataset))
    for report in evaluation.baseline:
        mlflow.log_metrics({f"baseline_{report.dataset}_{k}": v
                            for k, v in report.overall.model_dump().items()
                            if isinstance(v, float)})
    mlflow.log_artifacts(str(evaluated / "plots"), artifact_path="plots")
    decision = decide(evaluation.candidate, evaluation.champion, config.gate, evaluation.behaviour)
    if evaluation.behaviour is not None:
        mlflow.log_dict(evaluation.behaviour.model_dump(), "behaviour.json")
        mlflow.log_metrics({f"behaviour_{t.name}_pass_rate": t.pass_rate for t in evaluation.behaviour.tests})
    mlflow.log_dict(decision.model_dump(), "gate.json")
    manifest = read_manifest(bundle)
    bundle_digest = digest_path(bundle)
    existing = registry.find_version_by_tag("bundle_digest", bundle_digest)

    def card(version: int | None) -> str:
        return render_model_card(model_name=registry.name, version=str(version) if version else None,
                                 reports=evaluation.candidate, baseline_reports=evaluation.baseline,
                                 lineage=lineage, params=_flatten("", config.train.model_dump()),
                                 behaviour=evaluation.behaviour)

    mlflow.log_text(card(existing), "model_card.md")
    outcome = PipelineOutcome(run_id="", promoted=False, version=existing,
                              already_registered=existing is not None, aliases=[], gate=decision,
                              cached_steps=[])
    if existing is not None:
        say(f"register: this exact model is already version {existing}; nothing registered")
        outcome.promoted = decision.passed
    elif not decision.passed:
        say("register: NOT PROMOTED: " + "; ".join(decision.reasons))
        return outcome
    else:
        model_uri = registry.log_bundle(bundle)
        metrics = {f"metric.{r.dataset}.macro_f1": f"{r.overall.macro_f1:.4f}" for r in evaluation.candidate}
        tags = {**lineage, **metrics, "bundle_digest": bundle_digest,
                **{tag: manifest.sha256[file] for file, tag in SHA_TAGS.items()},
                "gate": "passed", "champion_at_evaluation": str(champion_version or "")}
        outcome.version = registry.register(model_uri, tags=tags)
        outcome.promoted = True
        registry.describe(outcome.version, card(outcome.version))
        mlflow.log_text(card(outcome.version), "model_card.md")
        registry.set_alias(CHALLENGER, outcome.version,
                           reason=f"passed the gate in pipeline run {lineage['pipeline_run_id']}")
        outcome.aliases.append(CHALLENGER)
        say(f"register: version {outcome.version} passed the gate -> @{CHALLENGER}")
    if bootstrap and champion_version is None and outcome.version is not None and outcome.promoted:
        registry.set_alias(CHAMPION, outcome.version, reason="bootstrap: first model, no champion yet")
        outcome.aliases.append(CHAMPION)
        say(f"register: no champion yet: version {outcome.version} -> @{CHAMPION} (bootstrap)")
    return outcome


def register_evaluated(settings: Settings, bundle: Path, evaluated: Path, config: PipelineConfig, *,
                       bootstrap: bool = False,
                       on_event: Callable[[str], None] = log.info) -> PipelineOutcome:
    """The register step alone, for orchestrators: gate an evaluated bundle and register it."""
    registry = Registry(settings)
    registry.check()
    evaluation = steps.read_summary(evaluated, steps.EvaluationSummary)
    with registry.mlflow.start_run(experiment_id=registry.experiment_id(), run_name="register") as run:
        lineage = {**read_manifest(bundle).lineage, "pipeline_run_id": run.info.run_id}
        outcome = _register(registry, config, bundle, evaluated, evaluation, lineage,
                            evaluation.champion_version, bootstrap, on_event)
        outcome.run_id = run.info.run_id
    return outcome
