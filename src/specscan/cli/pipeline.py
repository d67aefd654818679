"""`specscan pipeline`: the whole pipeline, or one step with explicit inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from specscan.cli.common import NOT_PROMOTED_EXIT, reported, settings

app = typer.Typer(help="Run the training pipeline, whole or step by step.", no_args_is_help=True)
step_app = typer.Typer(help="Run one step (for an orchestrator: GitHub Actions, Azure ML, Airflow…).",
                       no_args_is_help=True)
app.add_typer(step_app, name="step")
ConfigOption = Annotated[Path | None, typer.Option(help="Pipeline config (YAML/JSON).")]
DEFAULT_ROWS = 20_000


@app.command()
@reported
def run(
    data: Annotated[Path | None, typer.Option(
        help=f"Labelled CSV; default: {DEFAULT_ROWS} freshly generated R1 rows.")] = None,
    config: ConfigOption = None,
    nproc: Annotated[int | None, typer.Option(min=1, help="Training processes (gloo).")] = None,
    bootstrap: Annotated[bool, typer.Option(
        help="Make the model @champion if no champion exists yet.")] = False,
) -> None:
    """validate → prepare → train → export/parity → evaluate → register (gated). Exit 3: not promoted."""
    from specscan.data.generator import generate
    from specscan.pipeline.config import load_config
    from specscan.pipeline.runner import run_pipeline

    cfg = load_config(config)
    if nproc is not None:
        cfg.train.nproc = nproc
    current = settings()
    if data is None:
        data = current.home / "data" / f"generated-R1-{DEFAULT_ROWS}.csv"
        if not data.is_file():
            data.parent.mkdir(parents=True, exist_ok=True)
            generate(revision="R1", rows=DEFAULT_ROWS, seed=0).to_csv(data, index=False)
    outcome = run_pipeline(current, data, cfg, bootstrap=bootstrap, on_event=typer.echo)
    for note in outcome.gate.notes:
        typer.echo(f"gate note: {note}")
    if not outcome.promoted:
        typer.echo("NOT PROMOTED:\n  " + "\n  ".join(outcome.gate.reasons), err=True)
        raise typer.Exit(NOT_PROMOTED_EXIT)
    aliases = " ".join(f"@{a}" for a in outcome.aliases) or "(aliases unchanged)"
    typer.echo(f"model version {outcome.version} {aliases}; pipeline run {outcome.run_id}")


@step_app.command("validate")
@reported
def step_validate(data: Annotated[Path, typer.Option()], output: Annotated[Path, typer.Option()]) -> None:
    """Validate a labelled CSV; write the report to OUTPUT/summary.json. Exit 4 when invalid."""
    from specscan.pipeline import steps

    report = steps.validate(data, output, max_text_chars=settings().max_text_chars)
    typer.echo(report.summary())


@step_app.command("prepare")
@reported
def step_prepare(data: Annotated[Path, typer.Option()], output: Annotated[Path, typer.Option()],
                 config: ConfigOption = None) -> None:
    """Split into train/val/test, held-out families and near-threshold sets (parquet)."""
    from specscan.pipeline import steps
    from specscan.pipeline.config import load_config

    summary = steps.prepare(data, output, split=load_config(config).split,
                            max_text_chars=settings().max_text_chars)
    typer.echo(summary.model_dump_json())


@step_app.command("train")
@reported
def step_train(prepared: Annotated[Path, typer.Option()], output: Annotated[Path, typer.Option()],
               config: ConfigOption = None) -> None:
    """Train the network and the TF-IDF baseline on a prepared split."""
    from specscan.pipeline import steps
    from specscan.pipeline.config import load_config

    typer.echo(steps.train(prepared, output, config=load_config(config)).model_dump_json())


@step_app.command("export")
@reported
def step_export(trained: Annotated[Path, typer.Option()], prepared: Annotated[Path, typer.Option()],
                output: Annotated[Path, typer.Option()], config: ConfigOption = None) -> None:
    """Export to an ONNX bundle in OUTPUT/bundle and check parity with PyTorch."""
    from specscan.pipeline import steps
    from specscan.pipeline.config import load_config

    summary = steps.export(trained, prepared, output, config=load_config(config), lineage={})
    typer.echo(summary.model_dump_json())


@step_app.command("evaluate")
@reported
def step_evaluate(bundle: Annotated[Path, typer.Option()], prepared: Annotated[Path, typer.Option()],
                  trained: Annotated[Path, typer.Option()], output: Annotated[Path, typer.Option()],
                  champion: Annotated[str | None, typer.Option(
                      help="Model URI or bundle to compare with.")] = None,
                  config: ConfigOption = None) -> None:
    """Evaluate the bundle (and baseline, and champion) on every evaluation set and the behavioural suite."""
    from specscan.pipeline import steps
    from specscan.pipeline.config import load_config
    from specscan.registry import Registry

    loaded = load_config(config)
    revisions = steps.read_summary(prepared, steps.PrepareSummary).revisions
    revision = revisions[0] if loaded.evaluation.behaviour and len(revisions) == 1 else None
    incumbent = Registry(settings()).bundle_path(champion) if champion else None
    summary = steps.evaluate(bundle, prepared, trained, output, champion=incumbent,
                             labelled_sets=loaded.evaluation.labelled_sets, revision=revision,
                             max_text_chars=settings().max_text_chars)
    for report in summary.candidate:
        typer.echo(f"{report.dataset}: macro-F1 {report.overall.macro_f1:.4f} (n={report.overall.n})")
    for test in summary.behaviour.tests if summary.behaviour else []:
        typer.echo(f"behaviour {test.name}: {test.passed}/{test.n} {'ok' if test.ok else 'FAILED'}")


@step_app.command("register")
@reported
def step_register(bundle: Annotated[Path, typer.Option()],
                  evaluation: Annotated[Path, typer.Option(help="Output of the evaluate step.")],
                  config: ConfigOption = None) -> None:
    """Gate the evaluated bundle and register it as @challenger if it passes. Exit 3: not promoted."""
    from specscan.pipeline.config import load_config
    from specscan.pipeline.runner import register_evaluated

    outcome = register_evaluated(settings(), bundle, evaluation, load_config(config), on_event=typer.echo)
    if not outcome.promoted:
        typer.echo("NOT PROMOTED:\n  " + "\n  ".join(outcome.gate.reasons), err=True)
        raise typer.Exit(NOT_PROMOTED_EXIT)
