"""`specscan batch-score`: score a CSV or Parquet file with a registered model, locally or with Spark."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from specscan.cli.common import reported, settings
from specscan.errors import SpecscanError

if TYPE_CHECKING:
    from specscan.batch.local import BatchResult
    from specscan.settings import Settings


@reported
def batch_score(
    input_file: Annotated[Path, typer.Option("--input", help="File to score: CSV with a header row, or Parquet.")],
    output: Annotated[Path, typer.Option(
        help="Output Parquet: a file (local engine) or a directory of part files (spark engine).")],
    alias: Annotated[str, typer.Option(help="Registry alias of the model to score with.")] = "champion",
    model: Annotated[str | None, typer.Option(
        help="Instead of --alias: models:/NAME/VERSION, models:/NAME@ALIAS or a bundle directory.")] = None,
    engine: Annotated[Literal["local", "spark"], typer.Option(
        help="local: one process, streaming; spark: mapInPandas on --spark-master.")] = "local",
    spark_master: Annotated[str, typer.Option(help="Spark master URL (spark engine).")] = "local[*]",
    id_column: Annotated[str, typer.Option(help="Column that identifies a row (copied to the output).")] = "id",
    text_column: Annotated[str, typer.Option(help="Column with the description to score.")] = "text",
    on_error: Annotated[Literal["skip", "fail"], typer.Option(
        help="skip: write bad rows to the errors file and score the rest; fail: stop at the first.")] = "skip",
    errors: Annotated[Path | None, typer.Option(
        help="Errors CSV (row, id, reason); default: <output stem>.errors.csv beside the output.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar on stderr.")] = False,
) -> None:
    """Score every row of a file into Parquet (id, label, probability, model); bad rows into an errors CSV."""
    from specscan.batch.local import BatchJob, score_local
    from specscan.batch.rows import check_input

    config = settings()
    check_input(input_file, id_column=id_column, text_column=text_column)  # before any model download
    bundle_dir, model_name, version = _resolve(model or f"models:/{config.model_name}@{alias}", config)
    job = BatchJob(input=input_file, output=output, bundle_dir=bundle_dir, model_name=model_name,
                   model_version=version, max_text_chars=config.max_text_chars, id_column=id_column,
                   text_column=text_column, on_error=on_error, errors=errors)
    if engine == "spark":
        try:
            from specscan.batch.spark import score_spark
        except ImportError as exc:
            raise SpecscanError(f"the spark engine needs pyspark (pip install 'specscan[spark]'): {exc}") from exc
        result = score_spark(job, master=spark_master, progress=not no_progress)
    else:
        result = score_local(job, progress=not no_progress)
    typer.echo(_summary(result, model_name, version))


def _resolve(model: str, config: Settings) -> tuple[Path, str, int | None]:
    """The verified bundle directory, model name and version (None for a bare bundle directory)."""
    if Path(model).is_dir():  # a bundle directory needs no registry; the Predictor verifies its SHA-256
        return Path(model), str(Path(model).resolve()), None
    from specscan.registry import MODEL_URI, Registry

    match = MODEL_URI.match(model)
    if match:  # the URI may name another model of the same registry
        config = config.model_copy(update={"model_name": match["name"]})
    registry = Registry(config)
    version, info = registry.resolve(model)
    return registry.bundle_path(f"models:/{info.name}/{version}"), info.name, version


def _summary(result: BatchResult, model_name: str, version: int | None) -> str:
    rejected = f"rejected {result.rows_rejected:,}" + (f" (see {result.errors_file})" if result.errors_file else "")
    model = f"{model_name} version {version}" if version is not None else f"bundle {model_name}"
    rate = f"{result.rows_per_second:,.0f}" if result.rows_per_second >= 10 else f"{result.rows_per_second:.2g}"
    return (f"scored {result.rows_scored:,} rows, {rejected}, {rate} rows/s "
            f"in {result.seconds:.1f} s -> {result.output} ({model})")
