"""The pipeline's steps: plain functions from input paths to an output directory.

Each returns a small pydantic summary (also written into its output directory as JSON), takes no
MLflow run and no global state, and so can be called by any orchestrator.

    validate  data.csv                        -> summary.json (the validation report)
    prepare   data.csv                        -> {train,val,test,heldout_families,near_threshold}.parquet
    train     prepared/                       -> model.pt, tokenizer.json, baseline/*.npy
    export    trained/, prepared/             -> bundle/ (model.onnx, tokenizer.json, bundle.json)
    evaluate  bundle/, prepared/, trained/    -> summary.json (reports), plots/
              [champion bundle/]
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from specscan.data.origin import measured_label_noise, origin_of
from specscan.data.validation import ValidationReport, load_labelled, read_csv
from specscan.errors import DataValidationError
from specscan.evaluation.behaviour import BehaviourReport, run_suite
from specscan.evaluation.metrics import EvaluationReport, evaluate_frame
from specscan.pipeline.config import PipelineConfig, SplitConfig
from specscan.texts import MAX_CHARS

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
EVAL_SETS = ("test", "heldout_families", "near_threshold")
SUMMARY_FILE = "summary.json"
Summary = TypeVar("Summary", bound=BaseModel)


def _write(out: Path, summary: BaseModel) -> None:
    (out / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2))


def read_summary(out: Path, kind: type[Summary]) -> Summary:
    """The summary a step wrote into its output directory."""
    return kind.model_validate_json((out / SUMMARY_FILE).read_text())


# --- validate -----------------------------------------------------------------------------------

def validate(data: Path, out: Path, *, max_text_chars: int) -> ValidationReport:
    """Check the data file; raise DataValidationError (after writing the report) when invalid."""
    out.mkdir(parents=True, exist_ok=True)
    _, report = read_csv(data, max_text_chars=max_text_chars)
    _write(out, report)
    if not report.ok:
        raise DataValidationError(report.summary())
    return report


# --- prepare ------------------------------------------------------------------------------------

class PrepareSummary(BaseModel):
    rows: dict[str, int]
    heldout_families: list[str]
    revisions: list[str]
    label_source: str
    label_noise: float | None  # measured on the training split; None: no label_clean to measure it against
    data_origin: str  # data.origin.origin_of: generated (with the generator's note), web app export, unknown


def _heldout(frame: pd.DataFrame, split: SplitConfig) -> list[str]:
    if "family" not in frame.columns or split.n_heldout_families == 0:
        return []
    families = sorted(frame["family"].astype(str).unique())
    if split.heldout_families is not None:
        unknown = sorted(set(split.heldout_families) - set(families))
        if unknown:
            raise DataValidationError(f"held-out families not in the data: {', '.join(unknown)}")
        return sorted(split.heldout_families)
    if len(families) < 2 * split.n_heldout_families:
        return []
    rng = np.random.default_rng(split.seed)
    return sorted(rng.choice(families, size=split.n_heldout_families, replace=False).tolist())


def prepare(data: Path, out: Path, *, split: SplitConfig, max_text_chars: int) -> PrepareSummary:
    """Split into train/val/test, hold whole phrasing families out, and pick near-threshold rows.

    Models train on `label` (as exported, noisy); evaluation sets carry `label_eval`, the clean
    label where the file has one.
    """
    out.mkdir(parents=True, exist_ok=True)
    frame = load_labelled(data, max_text_chars=max_text_chars)
    frame["label_eval"] = frame["label_clean"] if "label_clean" in frame.columns else frame["label"]
    heldout = _heldout(frame, split)
    is_heldout = frame["family"].astype(str).isin(heldout) if heldout else pd.Series(False, frame.index)
    rest = frame.loc[~is_heldout].sample(frac=1.0, random_state=split.seed).reset_index(drop=True)
    n_test = int(round(len(rest) * split.test_fraction))
    n_val = int(round(len(rest) * split.val_fraction))
    if min(n_test, n_val, len(rest) - n_test - n_val) < 1:
        raise DataValidationError(f"{data}: {len(frame)} rows are too few to split; need at least 10")
    parts = {"test": rest.iloc[:n_test], "val": rest.iloc[n_test : n_test + n_val],
             "train": rest.iloc[n_test + n_val :], "heldout_families": frame.loc[is_heldout]}
    if "near_threshold" in frame.columns:
        pool = pd.concat([parts["test"], parts["heldout_families"]])
        near = pool["near_threshold"].astype(str).str.lower().isin(["true", "1"])
        parts["near_threshold"] = pool.loc[near]
    for name, part in parts.items():
        part.reset_index(drop=True).to_parquet(out / f"{name}.parquet", index=False)
    revisions = sorted(frame["revision"].astype(str).unique()) if "revision" in frame.columns else []
    summary = PrepareSummary(
        rows={name: len(part) for name, part in parts.items()}, heldout_families=heldout,
        revisions=revisions, label_source="label_clean" if "label_clean" in frame.columns else "label",
        label_noise=measured_label_noise(parts["train"]), data_origin=origin_of(data, list(frame.columns)))
    _write(out, summary)
    return summary


def eval_sets(prepared: Path) -> dict[str, pd.DataFrame]:
    """The non-empty evaluation sets of a prepared directory, by name."""
    sets = {}
    for name in EVAL_SETS:
        path = prepared / f"{name}.parquet"
        if path.is_file():
            frame = pd.read_parquet(path)
            if len(frame):
                sets[name] = frame
    return sets


# --- train --------------------------------------------------------------------------------------

def _calibration_set(prepared: Path, val: pd.DataFrame) -> pd.DataFrame:
    """Where the temperature is fitted: the held-out phrasing families if there are any (text written in
    ways the model never saw is what it will meet), else the validation split; clean labels."""
    heldout = prepared / "heldout_families.parquet"
    frame = pd.read_parquet(heldout) if heldout.is_file() else val
    return frame if len(frame) else val


def rule_targets(frame: pd.DataFrame) -> np.ndarray | None:
    """[n, 7] multi-hot of the rules each row breaks, from a `violations` column ("lead;cadmium"), if any.

    The rules are those of `data.rules.VIOLATIONS`; a row whose `label` was flipped by label noise
    keeps the rules of its facts (the auxiliary task sees the clean facts, as the generator knows them)."""
    if "violations" not in frame.columns:
        return None
    from specscan.data.rules import VIOLATIONS

    index = {rule: i for i, rule in enumerate(VIOLATIONS)}
    targets = np.zeros((len(frame), len(VIOLATIONS)), dtype=np.float32)
    for row, value in enumerate(frame["violations"].fillna("").astype(str)):
        for rule in filter(None, value.split(";")):
            if rule in index:
                targets[row, index[rule]] = 1.0
    return targets


class TrainSummary(BaseModel):
    best_epoch: int
    best_val_macro_f1: float
    epochs_run: int
    seconds: float
    baseline_seconds: float
    parameters: int
    ranks: int  # training processes that took part (model.train.TrainResult.ranks)


def train(prepared: Path, out: Path, *, config: PipelineConfig) -> TrainSummary:
    """Train the deep model and the TF-IDF baseline on the same split; keep the baseline's scores."""
    import time

    import torch

    from specscan.model.baseline import baseline_proba, train_baseline
    from specscan.model.train import load_trained, train_model

    out.mkdir(parents=True, exist_ok=True)
    tr = pd.read_parquet(prepared / "train.parquet")
    va = pd.read_parquet(prepared / "val.parquet")
    calibration = _calibration_set(prepared, va)
    result = train_model(tr["text"].tolist(), tr["label"].to_numpy(), va["text"].tolist(),
                         va["label"].to_numpy(), config=config.train, out_dir=out,
                         calibration_texts=calibration["text"].tolist(),
                         calibration_labels=calibration["label_eval"].to_numpy(), train_rules=rule_targets(tr))
    started = time.perf_counter()
    baseline = train_baseline(tr["text"].tolist(), tr["label"].to_numpy(), seed=config.train.seed)
    (out / "baseline").mkdir()
    for name, frame in eval_sets(prepared).items():
        np.save(out / "baseline" / f"{name}.npy", baseline_proba(baseline, frame["text"].tolist()))
    model = load_trained(out).model
    summary = TrainSummary(
        best_epoch=result.best_epoch, best_val_macro_f1=result.best_val_macro_f1,
        epochs_run=result.epochs_run, seconds=result.seconds,
        baseline_seconds=time.perf_counter() - started,
        parameters=sum(p.numel() for p in model.parameters() if isinstance(p, torch.Tensor)), ranks=result.ranks)
    _write(out, summary)
    return summary


# --- export -------------------------------------------------------------------------------------

class ExportSummary(BaseModel):
    onnx_bytes: int
    parity_texts: int
    parity_max_abs_diff: float
    parity_label_agreement: float


def export(trained: Path, prepared: Path, out: Path, *, config: PipelineConfig,
           lineage: dict[str, str]) -> ExportSummary:
    """Write the ONNX bundle and check its parity with PyTorch; raise ParityError if they differ."""
    from specscan.artifact.bundle import ONNX_FILE, TOKENIZER_FILE, write_manifest
    from specscan.model.export import check_parity, export_onnx
    from specscan.model.train import load_trained

    bundle = out / "bundle"
    bundle.mkdir(parents=True)
    done = load_trained(trained)
    model = done.model
    export_onnx(model, bundle / ONNX_FILE, temperature=done.temperature)
    shutil.copy(trained / TOKENIZER_FILE, bundle / TOKENIZER_FILE)
    write_manifest(bundle, max_len=config.train.max_len, network=done.network, lineage=lineage,
                   normaliser=done.normaliser, temperature=done.temperature)
    texts = pd.concat([*eval_sets(prepared).values(), pd.read_parquet(prepared / "val.parquet")])
    texts = texts["text"].drop_duplicates().tolist()[: config.parity_texts]
    report = check_parity(model, bundle, texts, tolerance=config.parity_tolerance)
    summary = ExportSummary(onnx_bytes=(bundle / ONNX_FILE).stat().st_size,
                            parity_texts=report.n_texts, parity_max_abs_diff=report.max_abs_diff,
                            parity_label_agreement=report.label_agreement)
    _write(out, summary)
    return summary


# --- evaluate -----------------------------------------------------------------------------------

class EvaluationSummary(BaseModel):
    candidate: list[EvaluationReport]
    baseline: list[EvaluationReport]
    champion: list[EvaluationReport]
    champion_version: int | None = None
    behaviour: BehaviourReport | None = None


def evaluate(bundle: Path, prepared: Path, trained: Path, out: Path, *,
             champion: Path | None = None, champion_version: int | None = None,
             labelled_sets: dict[str, Path] | None = None, revision: str | None = None,
             max_text_chars: int = MAX_CHARS) -> EvaluationSummary:
    """Score every evaluation set with the ONNX bundle (and the baseline, and the champion): the
    generated test sets, any `labelled_sets` (name -> CSV), and the behavioural suite of `revision`."""
    from specscan.artifact.predictor import Predictor
    from specscan.evaluation.plots import save_plots

    out.mkdir(parents=True, exist_ok=True)
    predictor = Predictor(bundle)
    incumbent = Predictor(champion) if champion is not None else None
    summary = EvaluationSummary(candidate=[], baseline=[], champion=[], champion_version=champion_version)
    sets = eval_sets(prepared)
    for name, file in (labelled_sets or {}).items():
        frame = load_labelled(file, max_text_chars=max_text_chars)
        sets[name] = frame.assign(label_eval=frame["label_clean"] if "label_clean" in frame else frame["label"])
    if revision is not None:
        summary.behaviour = run_suite(predictor.predict_proba, revision, threshold=predictor.manifest.threshold)
    for name, frame in sets.items():
        labels = frame.assign(label=frame["label_eval"])
        prob = predictor.predict_proba(frame["text"].tolist())
        threshold = predictor.manifest.threshold  # each model is measured at the threshold it is served at
        summary.candidate.append(evaluate_frame(labels, prob, dataset=name, threshold=threshold))
        save_plots(labels["label"].to_numpy(), prob, out / "plots" / name, title=name, threshold=threshold)
        baseline_path = trained / "baseline" / f"{name}.npy"
        if baseline_path.is_file():
            summary.baseline.append(evaluate_frame(labels, np.load(baseline_path), dataset=name))
        if incumbent is not None:
            summary.champion.append(evaluate_frame(
                labels, incumbent.predict_proba(frame["text"].tolist()), dataset=name,
                threshold=incumbent.manifest.threshold))
    _write(out, summary)
    return summary
