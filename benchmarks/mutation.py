"""Mutation testing of the core modules with cosmic-ray: each module is mutated against its own fast tests, and
its survival rate (survived / (killed + survived)) reported, so a loss of test strength shows up as a number.

    pip install --target /tmp/tests-extra cosmic-ray    # in the dev extra; any place on PYTHONPATH will do
    PYTHONPATH=/tmp/tests-extra nice -n 19 .venv/bin/python benchmarks/mutation.py \\
        --modules gate,collector,batcher,rules,access [--sample 80] --out benchmarks/results/mutation.md

Per module: a private copy of src/, tests/ and pyproject.toml in a temporary directory (the work tree is never
mutated), a cosmic-ray session over the module alone, and a test command that runs only that module's test
files, stopping at the first failure, with the copy's src/ first on PYTHONPATH (and nothing of cosmic-ray's).
The unmutated module must pass that command first; its time sets the timeout (a mutant that makes the tests
hang past it counts as killed, cosmic-ray's convention, and is listed). Survivors are listed with their line and
operator: each is either a gap in the tests or an equivalent mutant. One kind is told apart: a survivor inside a
type annotation (`X | None` made `X >> None`) is equivalent, since `from __future__ import annotations` leaves
annotations unevaluated unless something (pydantic, FastAPI) reads them, and then the mutant fails; such
survivors are listed apart and left out of the survival rate.

Every mutant costs one run of the module's tests (seconds each on 2 shared cores; the five modules make about
1,000 mutants). `--sample N` tests a seeded random sample of N mutants per module instead of all, and the report
says so, with the sample's 95 % interval for the survival rate.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import math
import os
import platform
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# module: (its source, the test files and options that specify it)
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gate": ("src/specscan/pipeline/gate.py", ("tests/unit/test_gate.py",)),
    "collector": ("src/specscan/scoring/collector.py", ("tests/unit/test_collector.py",)),
    "batcher": ("src/specscan/scoring/batcher.py", ("tests/unit/test_batcher.py",)),
    "rules": ("src/specscan/data/rules.py", ("tests/unit/test_rules.py",)),
    "access": ("src/specscan/webapp/access.py", ("tests/webapp/test_access.py", "-m", "not postgres")),
}


@dataclass
class Outcome:
    """One module's session: counts, the survivors and the timeouts, and how long it took."""

    module: str
    source: str
    tests: str
    baseline_s: float
    timeout_s: float
    killed: int = 0
    survived: int = 0
    incompetent: int = 0
    timeouts: int = 0
    mutants: int = 0  # all the module's mutants; tested: killed + survived + incompetent (a sample, or all)
    seconds: float = 0.0
    survivors: list[str] = field(default_factory=list)
    in_annotations: list[str] = field(default_factory=list)  # survivors inside type annotations: equivalent

    @property
    def survival(self) -> float:
        tested = self.killed + self.survived
        return self.survived / tested if tested else float("nan")

    def interval(self) -> str:
        """The survival rate's 95 % Wilson interval when only a sample was tested; "" when all were."""
        n = self.killed + self.survived
        if n == 0 or n + len(self.in_annotations) + self.incompetent >= self.mutants:
            return ""
        p, z = self.survival, 1.96
        centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return f" (95 %: {(centre - half) / (1 + z * z / n):.1%}–{(centre + half) / (1 + z * z / n):.1%})"


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """((line, column), (end line, end column)) of every type annotation in the module."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotations = [node.annotation]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            annotations = [node.returns]
        else:
            continue
        spans += [((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0)) for a in annotations]
    return spans


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def private_copy(work: Path) -> Path:
    """src/, tests/ and pyproject.toml of this checkout, copied under `work`."""
    copy = work / "tree"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("src", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=skip)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_command(copy: Path, tests: tuple[str, ...]) -> list[str]:
    """The module's own tests, in the copy, stopping at the first failure."""
    paths = [str(copy / t) if t.startswith("tests/") else t for t in tests]
    return ["env", f"PYTHONPATH={copy / 'src'}", "PYTHONDONTWRITEBYTECODE=1", sys.executable, "-m", "pytest",
            "-x", "-q", "-p", "no:cacheprovider", "--rootdir", str(copy), *paths]


def cosmic_ray(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`cosmic-ray ARGS` with this interpreter; cosmic-ray itself comes from PYTHONPATH."""
    return subprocess.run([sys.executable, "-m", "cosmic_ray.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=True)


def keep_sample(session: Path, size: int, seed: int) -> int:
    """Leaves a seeded random sample of `size` mutants in the session (all when `size` is 0); how many there were."""
    with contextlib.closing(sqlite3.connect(session)) as db, db:
        # ordered by what each mutant is (job ids are random per session), so a seed picks the same mutants
        jobs = [job for (job,) in db.execute("SELECT job_id FROM mutation_specs ORDER BY operator_name, "
                                             "occurrence, start_pos_row, start_pos_col")]
        if 0 < size < len(jobs):
            kept = set(random.Random(seed).sample(jobs, size))
            dropped = [(job,) for job in jobs if job not in kept]
            db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", dropped)
            db.executemany("DELETE FROM work_items WHERE job_id = ?", dropped)
    return len(jobs)


def run_module(name: str, work: Path, sample: int, seed: int) -> Outcome:
    source, tests = MODULES[name]
    copy = private_copy(work / name)
    command = test_command(copy, tests)
    started = time.perf_counter()
    baseline = subprocess.run(command, cwd=copy, capture_output=True, text=True)
    baseline_s = time.perf_counter() - started
    if baseline.returncode != 0:
        raise SystemExit(f"{name}: its tests fail unmutated:\n{baseline.stdout[-3000:]}{baseline.stderr[-2000:]}")
    timeout = max(30.0, 5 * baseline_s)
    outcome = Outcome(name, source, " ".join(tests), baseline_s, timeout)
    config = work / name / "cosmic-ray.toml"
    config.write_text("\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(str(copy / source))}",
        f"timeout = {timeout:.0f}",
        "excluded-modules = []",
        f"test-command = {json.dumps(shlex.join(command))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
    ]))
    session = work / name / "session.sqlite"
    cosmic_ray("init", str(config), str(session), cwd=copy)
    outcome.mutants = keep_sample(session, sample, seed)
    log(f"{name}: unmutated tests pass in {baseline_s:.1f} s; timeout {timeout:.0f} s; mutating {source}: "
        f"{min(sample, outcome.mutants) if sample else outcome.mutants} of {outcome.mutants} mutants")
    started = time.perf_counter()
    cosmic_ray("exec", str(config), str(session), cwd=copy)
    outcome.seconds = time.perf_counter() - started
    annotations = annotation_spans(copy / source)
    for line in cosmic_ray("dump", str(session), cwd=copy).stdout.splitlines():
        item, result = json.loads(line)
        if result is None or result.get("worker_outcome") not in ("normal", None):
            outcome.incompetent += 1
            continue
        verdict = result.get("test_outcome")
        mutation = item["mutations"][0]
        where = f"line {mutation['start_pos'][0]}: {mutation['operator_name']}"
        if verdict == "survived":
            changed = [d for d in (result.get("diff") or "").splitlines() if d[:1] in "+-" and d[:3] not in
                       ("+++", "---")]
            described = f"{where}: {' / '.join(c.strip() for c in changed)[:200]}"
            start = tuple(mutation["start_pos"])
            if any(begin <= start < end for begin, end in annotations):
                outcome.in_annotations.append(described)
            else:
                outcome.survived += 1
                outcome.survivors.append(described)
        elif verdict == "killed":
            outcome.killed += 1
            outcome.timeouts += result.get("output") == "timeout"
        else:
            outcome.incompetent += 1
    log(f"{name}: {outcome.killed} killed, {outcome.survived} survived ({outcome.survival:.1%}), "
        f"{len(outcome.in_annotations)} equivalent in annotations, {outcome.incompetent} incompetent, "
        f"in {outcome.seconds:.0f} s")
    return outcome


def report(command: str, outcomes: list[Outcome]) -> str:
    lines = ["# Mutation testing (cosmic-ray)", "", f"- command: `{command}`",
             f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"- machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
             "- survival = survived / (killed + survived); a mutant whose tests time out counts as killed; "
             "survivors inside type annotations are equivalent (unevaluated) and counted apart", "",
             "| module | tests | mutants tested (of all) | killed (of which timeouts) | survived | equivalent "
             "(annotations) | incompetent | survival | run |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for o in outcomes:
        tested = o.killed + o.survived + len(o.in_annotations) + o.incompetent
        lines.append(f"| {o.module} (`{o.source}`) | `{o.tests}` | {tested} ({o.mutants}) | {o.killed} "
                     f"({o.timeouts}) | {o.survived} | {len(o.in_annotations)} | {o.incompetent} | "
                     f"**{o.survival:.1%}**{o.interval()} | {o.seconds / 60:.0f} min |")
    for o in outcomes:
        lines += ["", f"## Survivors: {o.module}", ""]
        lines += [f"- {s}" for s in o.survivors] or ["none"]
        if o.in_annotations:
            lines += ["", f"Equivalent (in annotations): {len(o.in_annotations)}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", default=",".join(MODULES), help=f"any of {', '.join(MODULES)}")
    parser.add_argument("--sample", type=int, default=0, help="mutants per module, a seeded random sample (0: all)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "mutation.md")
    args = parser.parse_args()
    names = [n.strip() for n in args.modules.split(",") if n.strip()]
    if unknown := set(names) - set(MODULES):
        parser.error(f"unknown modules: {', '.join(sorted(unknown))}")
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        parser.error("cosmic-ray is not importable: pip install --target DIR cosmic-ray, then PYTHONPATH=DIR")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="specscan-mutation-") as tmp:
        for name in names:
            outcomes.append(run_module(name, Path(tmp), args.sample, args.seed))
            text = report(shlex.join(getattr(sys, "orig_argv", sys.argv)), outcomes)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")  # after every module: a long run keeps what it measured
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
