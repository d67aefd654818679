"""`specscan train | evaluate | predict`: the model outside the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from specscan.cli.common import reported, settings
from specscan.errors import SpecscanError
from specscan.texts import text_problem

CHAMPION_URI = "models:/compliance-classifier@champion"
ModelOption = Annotated[str, typer.Option(
    "--model", help="models:/NAME@ALIAS, models:/NAME/VERSION or a bundle directory.")]


def _predictor(model: str):  # type: ignore[no-untyped-def]
    from specscan.artifact.predictor import Predictor

    if Path(model).is_dir():  # a bundle directory needs no registry (and no mlflow installed)
        return Predictor(Path(model))
    from specscan.registry import Registry

    return Predictor(Registry(settings()).bundle_path(model))


@reported
def train(
    data: Annotated[Path, typer.Option(help="Labelled CSV.")],
    output: Annotated[Path, typer.Option(help="Directory for the split, weights and tokenizer.")],
    nproc: Annotated[int, typer.Option(min=1, help="Processes for torch.distributed (gloo).")] = 1,
    config: Annotated[Path | None, typer.Option(help="Pipeline config (YAML/JSON).")] = None,
) -> None:
    """Validate, split and train (no export, no registry); print validation macro-F1."""
    from specscan.pipeline import steps
    from specscan.pipeline.config import load_config

    cfg = load_config(config)
    cfg.train.nproc = nproc
    limit = settings().max_text_chars
    steps.validate(data, output / "validate", max_text_chars=limit)
    steps.prepare(data, output / "prepare", split=cfg.split, max_text_chars=limit)
    summary = steps.train(output / "prepare", output / "train", config=cfg)
    typer.echo(f"trained with {summary.ranks} process(es) in {summary.seconds:.0f} s: "
               f"best epoch {summary.best_epoch}, validation macro-F1 {summary.best_val_macro_f1:.4f}")


@reported
def evaluate(
    data: Annotated[Path, typer.Option(help="Labelled CSV: text, label (label_clean preferred).")],
    model: ModelOption = CHAMPION_URI,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
) -> None:
    """Evaluate a registered model (or bundle) on a labelled CSV."""
    from specscan.evaluation.labelled_file import evaluate_labelled_file

    report = evaluate_labelled_file(_predictor(model), data, max_text_chars=settings().max_text_chars)
    overall = report.overall
    if as_json:
        typer.echo(json.dumps({"model": model, "data": str(data), **overall.model_dump(),
                               "slices": {c: {v: m.model_dump() for v, m in s.items()}
                                          for c, s in report.slices.items()}}, indent=2))
        return
    typer.echo(f"{data}: n={overall.n}  macro-F1 {overall.macro_f1:.4f}  accuracy {overall.accuracy:.4f}  "
               f"F1(non_compliant) {overall.f1_non_compliant:.4f}  "
               f"ROC-AUC {overall.roc_auc if overall.roc_auc is None else round(overall.roc_auc, 4)}  "
               f"ECE {overall.ece:.4f}")
    (tn, fp), (fn, tp) = overall.confusion
    typer.echo(f"confusion: tn={tn} fp={fp} fn={fn} tp={tp}")


@reported
def predict(
    texts: Annotated[list[str], typer.Argument(help="One or more component descriptions.")],
    model: ModelOption = CHAMPION_URI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Label descriptions and print the probability of non_compliant."""
    limit = settings().max_text_chars
    for number, text in enumerate(texts, start=1):  # before the model loads: a bad text fails fast
        problem = text_problem(text, max_chars=limit)
        if problem is not None:
            raise SpecscanError(f"description {number} {problem}")
    predictor = _predictor(model)
    for text, p in zip(texts, predictor.predict(texts), strict=True):
        if as_json:
            typer.echo(json.dumps({"text": text, "label": p.label, "probability": round(p.probability, 6)}))
        else:
            typer.echo(f"{p.label:<14} {p.probability:.4f}  {text}")
