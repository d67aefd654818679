"""`specscan data`: generate and validate labelled descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from specscan.cli.common import reported, settings
from specscan.data.validation import read_csv
from specscan.errors import DataValidationError

app = typer.Typer(help="Generate and validate labelled component descriptions.", no_args_is_help=True)


@app.command()
@reported
def generate(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    revision: Annotated[str, typer.Option(help="Rules revision: R1 or R2.")] = "R1",
    rows: Annotated[int, typer.Option(min=1, help="Number of rows.")] = 20_000,
    noise: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of labels flipped.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
) -> None:
    """Write realistic labelled descriptions following the compliance rules."""
    from specscan.data.generator import GENERATOR_VERSION
    from specscan.data.generator import generate as make
    from specscan.data.origin import record_generated

    if revision not in ("R1", "R2"):
        raise DataValidationError(f"unknown rules revision {revision!r}: use R1 or R2")
    rev: Literal["R1", "R2"] = "R1" if revision == "R1" else "R2"
    frame = make(revision=rev, rows=rows, noise=noise, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    record_generated(out, generator_version=GENERATOR_VERSION, revision=rev, rows=rows, noise=noise, seed=seed)
    share = float((frame["label_clean"] == "non_compliant").mean())
    typer.echo(f"wrote {len(frame)} rows to {out} ({revision}, {share:.1%} non_compliant)")


@app.command()
@reported
def validate(
    file: Annotated[Path, typer.Argument(help="CSV with text and label columns.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Check schema and content; list each offending row. Exit 4 when invalid."""
    _, report = read_csv(file, max_text_chars=settings().max_text_chars)
    if as_json:
        typer.echo(json.dumps(report.model_dump(), indent=2))
    else:
        for finding in report.findings[:200]:
            typer.echo(f"{finding.severity}: {finding}")
        if len(report.findings) > 200:
            typer.echo(f"... and {len(report.findings) - 200} more")
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(DataValidationError.exit_code)
