"""Model choice by measurement: candidates trained on one prepared split, scored on the generated
evaluation sets (clean labels), on the frozen hand-written check set and with the behavioural
suite, beside the TF-IDF baseline and the rules-only classifier written from the rules document.

    .venv/bin/python benchmarks/compare_models.py --rows 100000 \\
        --candidates '{"name": "bigru-bands"}' '{"name": "bigru-digits", "normaliser": "digits"}'

Each candidate is a JSON object: "name" plus any TrainConfig fields (arch, normaliser, hidden, ...).
Prints a Markdown table (paste into docs/benchmarks.md) and appends raw JSON lines to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from specscan.data.generator import generate
from specscan.data.validation import load_labelled
from specscan.evaluation.behaviour import run_suite
from specscan.evaluation.metrics import compute_metrics
from specscan.pipeline import steps
from specscan.pipeline.config import SplitConfig

HERE = Path(__file__).parent
SETS = ("test", "heldout_families", "near_threshold")
Predict = Callable[[Sequence[str]], np.ndarray]


def _scores(prepared: Path, independent: Path, revision: str, predict: Predict) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in SETS:
        frame = pd.read_parquet(prepared / f"{name}.parquet")
        out[name] = round(compute_metrics(frame["label_eval"].to_numpy(), predict(frame["text"].tolist())).macro_f1, 4)
    frame = load_labelled(independent, max_text_chars=1000)
    metrics = compute_metrics(frame["label"].to_numpy(), predict(frame["text"].tolist()))
    out["independent"], out["independent_ece"] = round(metrics.macro_f1, 4), round(metrics.ece, 4)
    report = run_suite(predict, revision)
    out["behaviour"] = f"{sum(t.passed for t in report.tests)}/{sum(t.n for t in report.tests)}" + (
        "" if report.ok else " (fails " + ", ".join(t.name for t in report.tests if not t.ok) + ")")
    return out


def deep(prepared: Path, independent: Path, revision: str, candidate: dict, work: Path) -> dict:
    import torch
    from tokenizers import Tokenizer

    from specscan.artifact.normaliser import for_spec
    from specscan.artifact.tokenizer import encode
    from specscan.model.network import WithProbabilities
    from specscan.model.train import TrainConfig, load_trained, train_model

    name = candidate.pop("name")
    config = TrainConfig(**candidate)
    train, val = (pd.read_parquet(prepared / f"{n}.parquet") for n in ("train", "val"))
    out = work / name
    result = train_model(train["text"].tolist(), train["label"].to_numpy(), val["text"].tolist(),
                         val["label"].to_numpy(), config=config, out_dir=out,
                         calibration_labels=val["label_eval"].to_numpy(), train_rules=steps.rule_targets(train))
    done = load_trained(out)
    wrapped = WithProbabilities(done.model, done.temperature).eval()
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    normalise = for_spec(done.normaliser)

    def predict(texts: Sequence[str]) -> np.ndarray:
        ready = [normalise(t) for t in texts]
        order = np.argsort([len(t) for t in ready], kind="stable")
        probabilities = np.empty(len(ready))
        with torch.no_grad():
            for start in range(0, len(ready), 256):
                index = order[start : start + 256]
                ids = torch.from_numpy(encode(tokenizer, [ready[i] for i in index]))
                probabilities[index] = wrapped(ids)[:, 1].numpy()
        return probabilities

    return {"model": name, "config": candidate, "train_s": round(result.seconds), "epochs": result.epochs_run,
            "parameters": sum(p.numel() for p in done.model.parameters()),
            **_scores(prepared, independent, revision, predict)}


def tfidf(prepared: Path, independent: Path, revision: str) -> dict:
    from specscan.model.baseline import baseline_proba, train_baseline

    train = pd.read_parquet(prepared / "train.parquet")
    started = time.perf_counter()
    pipeline = train_baseline(train["text"].tolist(), train["label"].to_numpy())
    return {"model": "TF-IDF + logistic regression", "train_s": round(time.perf_counter() - started),
            **_scores(prepared, independent, revision, lambda texts: baseline_proba(pipeline, texts))}


def rules_only(prepared: Path, independent: Path, revision: str) -> dict:
    sys.path.insert(0, str(HERE))
    from rules_baseline import classify  # written from the rules document alone

    def predict(texts: Sequence[str]) -> np.ndarray:
        return np.array([float(classify(t, revision) == "non_compliant") for t in texts])

    return {"model": "rules-only classifier (regular expressions, from the rules document)", "train_s": 0,
            **_scores(prepared, independent, revision, predict)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--revision", choices=["R1", "R2"], default="R1")
    parser.add_argument("--candidates", nargs="+", type=json.loads, default=[{"name": "bigru-bands"}])
    parser.add_argument("--baselines", action="store_true", help="also TF-IDF and the rules-only classifier")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/compare.jsonl"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    independent = HERE / "data" / f"independent-{args.revision.lower()}.csv"
    work = Path(tempfile.mkdtemp(prefix="specscan-compare-"))
    data = work / "data.csv"
    generate(revision=args.revision, rows=args.rows, seed=0).to_csv(data, index=False)
    prepared = work / "prepared"
    steps.prepare(data, prepared, split=SplitConfig(), max_text_chars=1000)
    results = [tfidf(prepared, independent, args.revision), rules_only(prepared, independent, args.revision)] \
        if args.baselines else []
    for candidate in args.candidates:
        results.append(deep(prepared, independent, args.revision, dict(candidate), work))
        logging.info("%s", results[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as handle:
        for row in results:
            handle.write(json.dumps({"rows": args.rows, "revision": args.revision, **row}) + "\n")
    print(f"\n{args.rows:,} generated {args.revision} rows; independent set {independent.name}\n")
    print("| model | parameters | train s | test | held-out families | near-threshold | independent | ECE (indep.) "
          "| behavioural suite |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['model']} | {r.get('parameters', '–')} | {r['train_s']} | {r['test']} | {r['heldout_families']} | "
              f"{r['near_threshold']} | **{r['independent']}** | {r['independent_ece']} | {r['behaviour']} |")


if __name__ == "__main__":
    main()
