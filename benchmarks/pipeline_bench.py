"""The pipeline's figures in one run: full pipeline wall time on N generated rows (the main job's
config: configs/r1.yaml), quality of the deep model beside the TF-IDF baseline on the generated sets,
on the frozen hand-written sets beside the rules-only classifier, the behavioural suite, ONNX Runtime
throughput at batch 64, and model size.

    .venv/bin/python benchmarks/pipeline_bench.py [--rows 100000] [--config configs/r1.yaml] [--out DIR]

Prints a Markdown report (paste into docs/benchmarks.md) and writes it with raw JSON to --out. A run the
gate refuses (exit 3: nothing registered) is reported as such, never as a full pipeline's time, and the
script then exits 3 too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

GATE_REFUSED = 3  # `pipeline run`'s exit code when the gate refuses the candidate (nothing is registered)


def run(cmd: list[str], env: dict[str, str], *, allowed: tuple[int, ...] = (0,)) -> tuple[float, str, int]:
    """Wall time, output and exit code of `cmd`; any exit code not in `allowed` ends the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode not in allowed:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, done.stdout + done.stderr, done.returncode


def pipeline_line(seconds: float, returncode: int, log: str) -> str:
    """The pipeline's time, named for what ran: validate → register, or validate → gate when refused there
    (with the reasons `pipeline run` printed under "NOT PROMOTED:")."""
    if returncode != GATE_REFUSED:
        return f"full pipeline (validate → register): **{seconds:.0f} s**"
    lines = log.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("NOT PROMOTED:")), len(lines))
    reasons = "; ".join(line.strip() for line in lines[start:] if line.startswith("  ")) or "see pipeline.log"
    return (f"pipeline REFUSED BY THE GATE, nothing registered (validate → gate, not a full run): {seconds:.0f} s; "
            f"reasons: {reasons}")


def throughput(bundle: Path, texts: list[str], batch: int = 64, seconds: float = 10.0) -> dict[str, float]:
    from specscan.artifact.predictor import Predictor

    predictor = Predictor(bundle)
    batches = [texts[i : i + batch] for i in range(0, len(texts) - batch + 1, batch)]
    encoded = [predictor.encode(b) for b in batches]

    def rate(fn) -> float:  # items per second over ~`seconds`
        fn(0)
        done, started, i = 0, time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            fn(i % len(batches))
            done, i = done + batch, i + 1
        return done / (time.perf_counter() - started)

    return {"with_tokenization": rate(lambda i: predictor.predict_proba(batches[i])),  # what the service runs
            "model_only": rate(lambda i: predictor.predict_ids(encoded[i])),
            "model_only_one_call": rate(lambda i: predictor._run(encoded[i])),  # without the length groups
            "tokenization_only": rate(lambda i: predictor.encode(batches[i]))}


def rules_only(path: Path, revision: str) -> float:
    """Macro-F1 of the rules-only classifier (written from the rules document alone) on a labelled file."""
    from specscan.data.validation import load_labelled
    from specscan.evaluation.metrics import compute_metrics

    sys.path.insert(0, str(Path(__file__).parent))
    from rules_baseline import classify

    frame = load_labelled(path, max_text_chars=1000)
    predicted = [float(classify(text, revision) == "non_compliant") for text in frame["text"]]
    return compute_metrics(frame["label"].to_numpy(), predicted).macro_f1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--config", type=Path, default=Path("configs/r1.yaml"))
    parser.add_argument("--revision", choices=["R1", "R2"], default="R1")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="specscan-bench-"))
    env = {**os.environ, "SPECSCAN_HOME": str(home)}
    cli = [sys.executable, "-m", "specscan.cli"]
    data = home / "data.csv"

    gen_s, _, _ = run([*cli, "data", "generate", "--rows", str(args.rows), "--revision", args.revision,
                    "--out", str(data)], env)
    pipe_cmd = [*cli, "pipeline", "run", "--data", str(data), "--bootstrap"]
    if args.config:
        pipe_cmd += ["--config", str(args.config)]
    pipe_s, log, pipe_code = run(pipe_cmd, env, allowed=(0, GATE_REFUSED))

    steps = home / "steps"
    evaluation = json.loads(next((steps / "evaluate").glob("*/summary.json")).read_text())
    trained = json.loads(next((steps / "train").glob("*/summary.json")).read_text())
    exported = json.loads(next((steps / "export").glob("*/summary.json")).read_text())
    bundle = next((steps / "export").glob("*/bundle"))
    texts = pd.read_parquet(next((steps / "prepare").glob("*/test.parquet")))["text"].tolist()
    speed = throughput(bundle, texts)
    from specscan.pipeline.config import load_config

    labelled = load_config(args.config).evaluation.labelled_sets if args.config else {}
    rules = {name: rules_only(path, args.revision) for name, path in labelled.items()}

    rows = []
    base = {r["dataset"]: r["overall"] for r in evaluation["baseline"]}
    for report in evaluation["candidate"]:
        ours, theirs = report["overall"], base.get(report["dataset"], {})
        other = f"{theirs['macro_f1']:.4f} (TF-IDF)" if theirs else (
            f"{rules[report['dataset']]:.4f} (rules-only)" if report["dataset"] in rules else "–")
        rows.append(f"| {report['dataset']} | {ours['n']} | **{ours['macro_f1']:.4f}** | {other} | "
                    f"{ours['accuracy']:.4f} | {ours['roc_auc'] or float('nan'):.4f} | {ours['ece']:.4f} |")
    behaviour = evaluation.get("behaviour") or {"tests": []}
    config_note = f" --config {args.config}" if args.config else ""
    report = "\n".join([
        f"### Pipeline on {args.rows:,} generated {args.revision} rows ({time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()})",
        "",
        f"Command: `python benchmarks/pipeline_bench.py --rows {args.rows}{config_note}`",
        "",
        f"- data generation: {gen_s:.0f} s; {pipeline_line(pipe_s, pipe_code, log)}",
        f"- training: {trained['seconds']:.0f} s, {trained['epochs_run']} epochs (best {trained['best_epoch']}), "
        f"{trained['parameters']:,} parameters; TF-IDF baseline: {trained['baseline_seconds']:.0f} s",
        f"- ONNX file: {exported['onnx_bytes'] / 1e6:.2f} MB; parity max |diff| "
        f"{exported['parity_max_abs_diff']:.1e} on {exported['parity_texts']} texts",
        f"- ONNX Runtime, batch 64: {speed['with_tokenization']:,.0f} items/s with tokenization, "
        f"{speed['model_only']:,.0f} items/s model only ({speed['model_only_one_call']:,.0f} as one ONNX call "
        f"per batch, without length groups), normaliser + tokenizer alone {speed['tokenization_only']:,.0f} items/s",
        "",
        "| evaluation set | n | macro-F1 deep | macro-F1 of the comparison | accuracy deep | ROC-AUC deep | ECE deep |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Behavioural suite: " + "; ".join(f"{t['name']} {t['passed']}/{t['n']}{'' if t['ok'] else ' FAILED'}"
                                          for t in behaviour["tests"]),
    ])
    print(report)
    (args.out / "pipeline.md").write_text(report + "\n")
    (args.out / "pipeline.json").write_text(json.dumps(
        {"rows": args.rows, "generate_s": gen_s, "pipeline_s": pipe_s, "promoted": pipe_code == 0, "train": trained,
         "export": exported, "throughput": speed, "rules_only": rules, "evaluation": evaluation}, indent=2))
    (args.out / "pipeline.log").write_text(log)
    if pipe_code == GATE_REFUSED:
        sys.exit(GATE_REFUSED)


if __name__ == "__main__":
    main()
