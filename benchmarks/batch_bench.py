"""Batch scoring throughput and memory: the local engine and the Spark engine (local[2]) on N generated rows.

    SPECSCAN_HOME=.specscan .venv/bin/python benchmarks/batch_bench.py [--rows 1000000] \
        [--model models:/compliance-classifier@champion | BUNDLE_DIR] [--data FILE.csv] [--out DIR]

Each engine runs as `specscan batch-score` in a child process. Peak RSS: for the local engine
the child's own maximum (os.wait4 rusage) and the sampled sum over its process tree; for Spark
only the sampled tree sum means anything (driver, JVM and Python workers are separate processes).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from procfs import processes

CLI = [sys.executable, "-m", "specscan.cli", "batch-score"]
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Run:
    engine: str
    wall: float
    engine_seconds: float
    rows_scored: int
    peak_tree_mib: float
    peak_process_mib: float


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        return _proc_tree_rss(root)
    try:
        parent = psutil.Process(root)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def _proc_tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    for pid, fields in processes():
        children.setdefault(int(fields[1]), []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        pending.extend(children.get(pid, []))
    return total


def measure(engine: str, args: list[str], env: dict[str, str]) -> Run:
    """Run the CLI once, sampling its process tree's RSS every 0.2 s; parse its summary line."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([*CLI, *args], env=env, stdout=out, stderr=err, text=True)
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, tree_rss(child.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)  # the child's own rusage (Popen.wait would discard it)
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        sys.exit(f"{engine} run failed ({child.returncode}):\n{stdout}\n{stderr[-3000:]}")
    match = re.search(r"scored ([\d,]+) rows.* in ([\d.]+) s", stdout)
    if not match:
        sys.exit(f"unexpected output of the {engine} run:\n{stdout}\n{stderr[-3000:]}")
    return Run(engine=engine, wall=wall, engine_seconds=float(match.group(2)),
               rows_scored=int(match.group(1).replace(",", "")), peak_tree_mib=peak / 2**20,
               peak_process_mib=usage.ru_maxrss / 2**10)  # ru_maxrss is in KiB on Linux


def agreement(local: Path, spark: Path) -> str:
    """How closely the two engines' outputs agree (same ids in the same order, probability difference)."""
    import numpy as np
    import pyarrow.parquet as pq

    ours, theirs = pq.read_table(local), pq.read_table(spark)
    same_ids = ours.column("id").equals(theirs.column("id"))
    same_labels = ours.column("label").equals(theirs.column("label"))
    delta = np.abs(ours.column("probability").to_numpy() - theirs.column("probability").to_numpy()).max(initial=0)
    return f"same ids in order: {same_ids}; same labels: {same_labels}; max |Δprobability| = {delta:.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model", default="models:/compliance-classifier@champion",
                        help="models:/NAME@ALIAS, models:/NAME/VERSION or a bundle directory")
    parser.add_argument("--data", type=Path, help="input CSV; generated there if missing (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="directory for the outputs (default: a temp dir)")
    parser.add_argument("--spark-master", default="local[2]")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="specscan-batch-bench-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    data = args.data or work / f"r1-{args.rows}.csv"
    if not data.exists():
        from specscan.data.generator import generate

        started = time.perf_counter()
        data.parent.mkdir(parents=True, exist_ok=True)
        generate(revision="R1", rows=args.rows, seed=0).to_csv(data, index=False)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.0f} s -> {data}", file=sys.stderr)
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning"}
    common = ["--input", str(data), "--model", args.model, "--no-progress"]
    runs = [measure("local", [*common, "--output", str(out / "local.parquet")], env),
            measure(f"spark {args.spark_master}",
                    [*common, "--output", str(out / "spark.parquet"), "--engine", "spark",
                     "--spark-master", args.spark_master], env)]

    print(f"\n{data.stat().st_size / 2**20:.0f} MiB CSV, {args.rows:,} rows; model {args.model}; "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
    print("| engine | rows scored | engine s | wall s (incl. startup) | rows/s (engine) | peak RSS, process tree "
          "(sampled) | peak RSS, largest process |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        single = f"{run.peak_process_mib:,.0f} MiB" if run.engine == "local" else "n/a (JVM + workers)"
        print(f"| {run.engine} | {run.rows_scored:,} | {run.engine_seconds:.1f} | {run.wall:.1f} | "
              f"{run.rows_scored / run.engine_seconds:,.0f} | {run.peak_tree_mib:,.0f} MiB | {single} |")
    print(f"\n{agreement(out / 'local.parquet', out / 'spark.parquet')}")


if __name__ == "__main__":
    main()
