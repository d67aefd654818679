"""Serving throughput of two checkouts side by side: `specscan serve --model DIR` from each one's `src`.

    git worktree add /tmp/base caaf71b      # the baseline checkout (remove it afterwards)
    .venv/bin/python benchmarks/serve_ab.py --bundle DIR --baseline /tmp/base/src [--candidate src] \
        [--rounds 6] [--duration 15] [--out benchmarks/results/serve-ab.json]

Both run on this Python (its installed packages), only PYTHONPATH differs. Each round starts one fresh server per
checkout (its own temporary SPECSCAN_HOME, SQLite collection, defaults otherwise), warms it for 3 s, then measures
POST /score with one text at 32 connections (`wrk -t2 -c32`); the order alternates between rounds, so background
load drifting over the run falls on both alike. Reports requests/s per round, each side's median and the ratio, and
the server's CPU time per request (user + system, all threads, from /proc): on a machine shared with other work,
throughput moves with their load, while CPU per request moves much less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from servers import free_port, log, stop_process

TEXT = ("Front brake pad set for passenger cars, low-metallic friction compound, copper content below 0.5 % "
        "by weight, asbestos-free, E-marked to UN ECE R90, OEM replacement part")
CONNECTIONS = 32


def new_key(src: Path, home: Path) -> str:
    """A scorer key in `home`, made by the checkout's own CLI (its key format)."""
    env = {**clean_env(src), "SPECSCAN_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "specscan.cli", "apikey", "create", "--role", "scorer"],
                          env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def clean_env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPECSCAN_")}
    return {**env, "PYTHONPATH": str(src.resolve())}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(src: Path, bundle: Path, duration: float, work: Path) -> dict[str, Any]:
    """One server from `src`: warmed, then wrk at CONNECTIONS for `duration` s; its req/s and non-2xx count."""
    home = Path(tempfile.mkdtemp(dir=work))
    key = new_key(src, home)
    port = free_port()
    with (home / "serve.log").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "specscan.cli", "serve", "--model", str(bundle), "--port", str(port)],
            env={**clean_env(src), "SPECSCAN_HOME": str(home)}, stdout=output, stderr=subprocess.STDOUT)
    script = home / "score.lua"
    script.write_text(f"wrk.method = 'POST'\nwrk.body = {json.dumps(json.dumps({'data': [TEXT]}))}\n"
                      f"wrk.headers['Content-Type'] = 'application/json'\n"
                      f"wrk.headers['Authorization'] = 'Bearer {key}'\n")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server from {src} did not start: {(home / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        wrk = ["wrk", "-t2", f"-c{CONNECTIONS}", "-s", str(script), f"{url}/score"]
        subprocess.run([*wrk[:-1], "-d3s", wrk[-1]], capture_output=True, check=True)  # warm-up
        cpu_before = cpu_seconds(process.pid)
        output = subprocess.run([*wrk[:-1], f"-d{duration:g}s", wrk[-1]], capture_output=True, text=True,
                                check=True).stdout
        cpu = cpu_seconds(process.pid) - cpu_before
    finally:
        stop_process(process)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"requests_per_s": rate, "server_cpu_ms_per_request": round(cpu * 1000 / count, 4),
            "non_2xx": int(bad.group(1)) if bad else 0,
            "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True, help="the baseline checkout's src directory")
    parser.add_argument("--candidate", type=Path, default=Path(__file__).parent.parent / "src")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=15, help="seconds of each measured wrk run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "serve-ab.json")
    options = parser.parse_args()
    sides = {"baseline": options.baseline, "candidate": options.candidate}
    commits = {name: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True,
                                    text=True).stdout.strip() for name, src in sides.items()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="specscan-serve-ab-") as work:
        for round_ in range(options.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for name in order:
                runs[name].append(measure(sides[name], options.bundle, options.duration, Path(work)))
                log(f"round {round_ + 1} {name}: {runs[name][-1]}")
    medians = {name: statistics.median(r["requests_per_s"] for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r["server_cpu_ms_per_request"] for r in rs) for name, rs in runs.items()}
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "commits": commits,
              "connections": CONNECTIONS, "duration_s": options.duration, "cores": os.cpu_count(),
              "runs": runs, "median_requests_per_s": medians,
              "candidate_over_baseline": round(medians["candidate"] / medians["baseline"], 3),
              "median_server_cpu_ms_per_request": cpu,
              "baseline_cpu_over_candidate_cpu": round(cpu["baseline"] / cpu["candidate"], 3)}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
