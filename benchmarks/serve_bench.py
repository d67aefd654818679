"""The scoring service beside `mlflow models serve`, both serving the same registered model, in one run.

    .venv/bin/python benchmarks/serve_bench.py --home .specscan [--duration 20] [--soak-seconds 600] \
        [--variants] [--report benchmarks/results/serve.md]

Phases (every server a fresh subprocess in its own process group, stopped after its phase):

1. ceiling: tokenizer + ONNX Runtime in this process (no HTTP), 1 and 2 intra-op threads, batch 1 and 32;
2. cold start: process start -> first 200 from the readiness URL (1 unmeasured start, then the median of 3);
3. throughput at 32 connections (wrk -t2 -c32), ours on /score (and /invocations) and MLflow on /invocations;
4. latency at concurrency 1 (wrk -t1 -c1);
5. p99 at half of each server's own peak (hey -c 16 -q rate/16);
6. soak (--soak-seconds, 0 disables): ours only, 50 requests/s on a fixed schedule, each with its own
   X-Request-ID, then exactly one collected record per answered id (its client_request_id) in the collection
   database;
7. variants (--variants): ours with SPECSCAN_ORT_THREADS 1/2 x SPECSCAN_MAX_BATCH_SIZE default/1 at c=32.

The given home is never written: its mlflow.db is copied (SQLite backup API) into a temp home, whose
artifact locations still point at the home's read-only artifacts; API keys, the model cache and every
collection database live in the temp directory. Inherited SPECSCAN_* variables and `.env` are not used.
Prints a Markdown report and writes it to --report, with the raw figures as JSON beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from procfs import processes
from servers import free_port, log

TEXT = ("Front brake pad set for passenger cars, low-metallic friction compound, copper content below 0.5 % "
        "by weight, asbestos-free, E-marked to UN ECE R90, OEM replacement part")
MODEL_NAME = "compliance-classifier"
MODEL_URI = f"models:/{MODEL_NAME}@champion"
OURS_BODY = json.dumps({"data": [TEXT]})
MLFLOW_BODY = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[TEXT]]}})
CONCURRENCY = 32
HEY_WORKERS = 16
READY_TIMEOUT = 180.0
ORIGINAL_ENV = dict(os.environ)  # before anything below (MLflow, specscan) sets variables of its own


def redact_keys(text: str) -> str:
    """`text` with every specscan API key (`ssk_<id>_<secret>`) replaced: results are committed."""
    from specscan.scoring.apikeys import KEY_PATTERN

    return KEY_PATTERN.sub("ssk_<redacted>", text)


class BenchFailure(Exception):
    """A phase could not be measured honestly (server failed, non-2xx answers, lost records)."""


# --- servers --------------------------------------------------------------------------------------------


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    return [pid for pid, fields in processes() if int(fields[2]) == pgid and fields[0] != "Z"]


LIVE: dict[int, Server] = {}


class Server:
    """One server process (and everything it spawns) in a fresh session, its output in a log file."""

    def __init__(self, kind: str, name: str, cmd: list[str], env: dict[str, str], cwd: Path, port: int,
                 ready_path: str) -> None:
        self.kind, self.name, self.cmd, self.env, self.cwd = kind, name, cmd, env, cwd
        self.base_url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.ready_url = self.base_url + ready_path
        self.log_path = cwd / "server.log"
        self.collect_db = cwd / "collected.db"  # ours only
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.ready_seconds: float | None = None
        self.answer: dict[str, Any] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        LIVE[self.proc.pid] = self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds from process start to the first 200 of the readiness URL (polled every 10 ms)."""
        import httpx

        assert self.proc is not None
        with httpx.Client(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.ready_url).status_code == 200:
                        return time.perf_counter() - self.started
                if self.proc.poll() is not None:
                    raise BenchFailure(f"{self.name} exited with code {self.proc.returncode} before it was ready\n"
                                       f"{self.log_tail()}")
                if time.perf_counter() - self.started > timeout:
                    raise BenchFailure(f"{self.name} not ready after {timeout:.0f} s\n{self.log_tail()}")
                time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL to whatever is left after 20 s."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.proc.poll()
            if self.proc.returncode is not None and not _group_members(pgid):
                break
            time.sleep(0.05)
        else:
            log(f"{self.name} still running 20 s after SIGTERM: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        LIVE.pop(pgid, None)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last {min(lines, len(text))} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])


def stop_all() -> None:
    for server in list(LIVE.values()):
        with contextlib.suppress(Exception):
            server.stop()


class Bench:
    """Builds fresh servers of both kinds over one temp directory and keeps what the run found."""

    def __init__(self, work: Path, home: Path, venv_bin: Path, key: str | None = None) -> None:
        self.work, self.home, self.venv_bin, self.key = work, home, venv_bin, key
        self.count = 0
        self.server_logs: list[dict[str, Any]] = []
        base = {k: v for k, v in ORIGINAL_ENV.items() if not k.startswith(("SPECSCAN_", "MLFLOW_"))}
        base["PATH"] = f"{venv_bin}{os.pathsep}{base.get('PATH', '')}"  # mlflow runs `uvicorn` from PATH
        self.base_env = base
        self.ours_env = {**base, "SPECSCAN_HOME": str(home), "SPECSCAN_API_KEYS_FILE": str(work / "api-keys.json")}
        self.mlflow_env = {**base, "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}

    def _run_dir(self, label: str) -> Path:
        self.count += 1
        safe = re.sub(r"[^\w.-]+", "-", label)
        path = self.work / "runs" / f"{self.count:02d}-{safe}"
        path.mkdir(parents=True)
        return path

    def ours(self, label: str, extra_env: dict[str, str] | None = None) -> Server:
        run = self._run_dir(f"ours-{label}")
        port = free_port()
        env = {**self.ours_env, "SPECSCAN_COLLECT_URL": f"sqlite:///{run / 'collected.db'}", **(extra_env or {})}
        cmd = [str(self.venv_bin / "specscan"), "serve", "--alias", "champion", "--port", str(port)]
        return Server("ours", f"ours ({label})", cmd, env, run, port, "/v2/health/ready")

    def mlflow(self, label: str) -> Server:
        run = self._run_dir(f"mlflow-{label}")
        port = free_port()
        cmd = [str(self.venv_bin / "mlflow"), "models", "serve", "-m", MODEL_URI, "--env-manager", "local",
               "--workers", "1", "--host", "127.0.0.1", "--port", str(port)]
        return Server("mlflow", f"mlflow ({label})", cmd, self.mlflow_env, run, port, "/ping")

    @contextlib.contextmanager
    def running(self, server: Server, *, check: bool = True) -> Iterator[Server]:
        """Start, wait until ready, optionally check one answer; always stop and scan the log afterwards."""
        try:
            server.start()
            server.ready_seconds = server.wait_ready()
            if check:
                server.answer = self.check_answer(server)
            yield server
        except BenchFailure:
            raise
        except Exception as exc:
            raise BenchFailure(f"{server.name}: {type(exc).__name__}: {exc}\n{server.log_tail()}") from exc
        finally:
            server.stop()
            self.server_logs.append(scan_log(server))

    def check_answer(self, server: Server) -> dict[str, Any]:
        """One request the way the load generators send it; its label, probability and model version."""
        import httpx

        base = server.base_url
        if server.kind == "ours":
            response = httpx.post(f"{base}/score", content=OURS_BODY, timeout=30,
                                  headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}",
                                           "X-Request-ID": f"bench-check-{self.count}"})
        else:
            response = httpx.post(f"{base}/invocations", content=MLFLOW_BODY, timeout=30,
                                  headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            raise BenchFailure(f"{server.name} answered {response.status_code} to a check request: "
                               f"{response.text[:500]}\n{server.log_tail()}")
        body = response.json()
        if server.kind == "ours":
            result = body["results"][0]
            return {"label": result["label"], "probability": result["probability"],
                    "model_version": body["model_version"]}
        prediction = body["predictions"][0]
        return {"label": prediction["label"], "probability": prediction["probability"]}


LOG_EVENT = re.compile(r"^(?:(INFO|ERROR|WARNING|DEBUG|CRITICAL):|\{|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\w+) )")
BENIGN = ("ClientDisconnect",)  # the load generator closed a connection with a request in flight (end of a run)


def scan_log(server: Server) -> dict[str, Any]:
    """Errors and warnings in a server log: our JSON lines by level; uvicorn/MLflow lines by prefix, with
    each traceback folded into its event and named by its final exception line."""
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    events: list[list[str]] = []
    for line in lines:
        if LOG_EVENT.match(line) or not events:
            events.append([line])
        else:
            events[-1].append(line)
    errors: list[str] = []
    warnings: list[str] = []
    benign = 0
    for event in events:
        head, level, exception = event[0], "", ""
        if head.startswith("{"):
            with contextlib.suppress(ValueError):
                record = json.loads(head)
                level, head = str(record.get("level", "")).lower(), str(record.get("message", head))
                trace = str(record.get("exception") or "").strip()
                exception = trace.splitlines()[-1] if trace else ""
        else:
            match = LOG_EVENT.match(head)
            level = ((match.group(1) or match.group(2) or "") if match else "").lower()
            if any(line.startswith("Traceback") for line in event):
                exception = next((line for line in reversed(event) if line.strip() and not line[0].isspace()
                                  and not line.startswith(("Traceback", "During handling", "The above"))), "")
                level = level if level in ("error", "critical") else "error"
            elif not level and re.search(r"\b(Error|Exception)\b", head):
                level = "error"
            elif not level and re.search(r"\bWarning\b|\bWARNING\b", head):
                level = "warning"
        message = f"{head.strip()[:200]}" + (f" | {exception.strip()[:200]}" if exception else "")
        if level in ("error", "critical"):
            if exception and exception.strip().endswith(BENIGN):
                benign += 1
            else:
                errors.append(message)
        elif level == "warning":
            warnings.append(message)
    return {"server": server.name, "log": str(server.log_path), "lines": len(lines),
            "errors": len(errors), "warnings": len(warnings), "client_disconnects": benign,
            "error_samples": list(dict.fromkeys(errors))[:5], "warning_samples": list(dict.fromkeys(warnings))[:5]}


# --- load generators ------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def lua_script(path: Path, body: str, headers: dict[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
    lines += [f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(url: str, script: Path, *, threads: int, connections: int, seconds: float,
            what: str, strict: bool = True) -> dict[str, Any]:
    """wrk with --latency; req/s, p50/p75/p90/p99 (ms), non-2xx and socket errors."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise BenchFailure(f"{what}: wrk failed ({done.returncode}): {shlex.join(cmd)}\n{out}\n{done.stderr}")
    result: dict[str, Any] = {"cmd": shlex.join(cmd), "raw": out}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    result["requests"] = int(total.group(1)) if total else None
    stats = re.search(r"^\s+Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)", out, re.M)
    if stats:
        result["mean_ms"], result["max_ms"] = _ms(*stats.group(1, 2)), _ms(*stats.group(5, 6))
    for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
        result[f"p{pct}_ms"] = _ms(value, unit)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True)
                                   ) if sock else {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    if strict and (result["non_2xx"] or result["socket_errors"]["timeout"]):
        raise BenchFailure(f"{what}: {result['non_2xx']} non-2xx responses and "
                           f"{result['socket_errors']['timeout']} timeouts under load\n{out}")
    return result


def run_hey(url: str, body: str, headers: dict[str, str], *, seconds: float, total_rate: float,
            what: str) -> dict[str, Any]:
    """hey at a fixed total rate (HEY_WORKERS workers x rate/HEY_WORKERS each); latency quantiles and statuses."""
    per_worker = total_rate / HEY_WORKERS
    cmd = ["hey", "-z", f"{max(1, round(seconds))}s", "-c", str(HEY_WORKERS), "-q", f"{per_worker:.3f}",
           "-m", "POST", "-T", "application/json", "-d", body]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise BenchFailure(f"{what}: hey failed ({done.returncode})\n{out}\n{done.stderr}")
    shown = [redact_keys(c) for c in cmd]
    result: dict[str, Any] = {"cmd": shlex.join(shown).replace(shlex.quote(body), "<body>"), "raw": out,
                              "target_rps": total_rate, "per_worker_qps": per_worker}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    for pct, secs in re.findall(r"^\s+(\d+)%+ in ([\d.]+) secs", out, re.M):
        result[f"p{pct}_ms"] = float(secs) * 1e3
    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    result["statuses"] = statuses
    errors = out.split("Error distribution:")[1].strip() if "Error distribution:" in out else ""
    result["errors"] = errors
    bad = sum(n for code, n in statuses.items() if not 200 <= code < 300)
    result["non_2xx"] = bad
    if bad or errors:
        raise BenchFailure(f"{what}: {bad} non-2xx responses, errors: {errors or 'none'}\n{out}")
    return result


# --- phases ---------------------------------------------------------------------------------------------


def phase_ceiling(bundle: Path, seconds: float) -> dict[str, float]:
    """Items/s of Predictor.predict_proba (tokenizer + ONNX Runtime) on TEXT, in this process."""
    import gc

    from specscan.artifact.predictor import Predictor

    figures: dict[str, float] = {}
    for threads in (1, 2):
        predictor = Predictor(bundle, intra_op_threads=threads)
        for batch in (1, 32):
            texts = [TEXT] * batch
            for _ in range(20):
                predictor.predict_proba(texts)
            done, started = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds:
                predictor.predict_proba(texts)
                done += batch
            figures[f"threads{threads}_batch{batch}"] = done / elapsed
            rate = figures[f"threads{threads}_batch{batch}"]
            log(f"ceiling: {threads} thread(s), batch {batch}: {rate:,.0f} items/s")
        del predictor
        gc.collect()
    return figures


def phase_cold_start(bench: Bench, runs: int) -> dict[str, Any]:
    """Process start -> first 200 from the readiness URL; one unmeasured start first (warm caches)."""
    results: dict[str, Any] = {}
    for kind in ("ours", "mlflow"):
        seconds = []
        for i in range(runs + 1):
            server = bench.ours(f"cold-{i}") if kind == "ours" else bench.mlflow(f"cold-{i}")
            with bench.running(server, check=False):
                ready = server.ready_seconds
            log(f"cold start {kind} #{i}{' (warm-up, not counted)' if i == 0 else ''}: {ready:.2f} s")
            if i:
                seconds.append(ready)
        results[kind] = {"runs_s": seconds, "median_s": statistics.median(seconds),
                         "url": server.ready_path}
    return results


def metrics_snapshot(server: Server) -> dict[str, float]:
    """Our /metrics sums and counts of batch size, batch time and commit time."""
    import httpx

    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    values: dict[str, float] = {}
    for name in ("specscan_batch_size", "specscan_batch_seconds", "specscan_collection_commit_seconds"):
        for part in ("sum", "count"):
            match = re.search(rf"^{name}_{part} ([\d.e+-]+)$", text, re.M)
            values[f"{name}_{part}"] = float(match.group(1)) if match else 0.0
    return values


def batch_stats(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    def mean(name: str, scale: float = 1.0) -> float | None:
        count = after[f"{name}_count"] - before[f"{name}_count"]
        return (after[f"{name}_sum"] - before[f"{name}_sum"]) / count * scale if count else None

    return {"mean_batch": mean("specscan_batch_size"), "mean_batch_ms": mean("specscan_batch_seconds", 1e3),
            "mean_commit_ms": mean("specscan_collection_commit_seconds", 1e3),
            "batches": after["specscan_batch_size_count"] - before["specscan_batch_size_count"]}


def load_run(bench: Bench, server: Server, path: str, body: str, *, threads: int, connections: int,
             seconds: float, warmup: float, what: str) -> dict[str, Any]:
    """A warm-up wrk run (checked, not reported), then the measured one; batching stats for ours."""
    headers = {"Content-Type": "application/json"}
    if server.kind == "ours":
        headers["Authorization"] = f"Bearer {bench.key}"
    script = lua_script(server.log_path.parent / f"{path.strip('/')}.lua", body, headers)
    url = f"{server.base_url}{path}"
    run_wrk(url, script, threads=threads, connections=connections, seconds=warmup, what=f"{what} (warm-up)")
    ours = server.kind == "ours"
    before = metrics_snapshot(server) if ours else None
    result = run_wrk(url, script, threads=threads, connections=connections, seconds=seconds, what=what)
    if ours:
        result["batching"] = batch_stats(before, metrics_snapshot(server))  # type: ignore[arg-type]
    result["answer"] = server.answer
    result["ready_s"] = server.ready_seconds
    log(f"{what}: {result['rps']:,.0f} req/s, p50 {result.get('p50_ms', float('nan')):.1f} ms, "
        f"p99 {result.get('p99_ms', float('nan')):.1f} ms")
    return result


def phase_throughput(bench: Bench, seconds: float, warmup: float) -> dict[str, Any]:
    out = {}
    with bench.running(bench.ours("c32-score")) as server:
        out["ours_score"] = load_run(bench, server, "/score", OURS_BODY, threads=2, connections=CONCURRENCY,
                                     seconds=seconds, warmup=warmup, what="throughput ours /score c=32")
    with bench.running(bench.ours("c32-invocations")) as server:
        out["ours_invocations"] = load_run(bench, server, "/invocations", MLFLOW_BODY, threads=2,
                                           connections=CONCURRENCY, seconds=seconds, warmup=warmup,
                                           what="throughput ours /invocations c=32")
    with bench.running(bench.mlflow("c32")) as server:
        out["mlflow"] = load_run(bench, server, "/invocations", MLFLOW_BODY, threads=2, connections=CONCURRENCY,
                                 seconds=seconds, warmup=warmup, what="throughput mlflow /invocations c=32")
    return out


def phase_latency(bench: Bench, seconds: float, warmup: float) -> dict[str, Any]:
    out = {}
    with bench.running(bench.ours("c1")) as server:
        out["ours"] = load_run(bench, server, "/score", OURS_BODY, threads=1, connections=1, seconds=seconds,
                               warmup=warmup, what="latency ours /score c=1")
    with bench.running(bench.mlflow("c1")) as server:
        out["mlflow"] = load_run(bench, server, "/invocations", MLFLOW_BODY, threads=1, connections=1,
                                 seconds=seconds, warmup=warmup, what="latency mlflow /invocations c=1")
    return out


def phase_half_peak(bench: Bench, peaks: dict[str, float], seconds: float, warmup: float) -> dict[str, Any]:
    out = {}
    for kind in ("ours", "mlflow"):
        server = bench.ours("half-peak") if kind == "ours" else bench.mlflow("half-peak")
        with bench.running(server):
            path, body = ("/score", OURS_BODY) if kind == "ours" else ("/invocations", MLFLOW_BODY)
            headers = {"Authorization": f"Bearer {bench.key}"} if kind == "ours" else {}
            script = lua_script(server.log_path.parent / "warmup.lua", body,
                                {"Content-Type": "application/json", **headers})
            url = f"{server.base_url}{path}"
            run_wrk(url, script, threads=1, connections=HEY_WORKERS, seconds=warmup, what=f"half peak {kind} warm-up")
            result = run_hey(url, body, headers, seconds=seconds, total_rate=peaks[kind] / 2,
                             what=f"p99 at half peak, {kind}")
        log(f"half peak {kind}: target {result['target_rps']:,.0f}/s, got {result['rps']:,.0f}/s, "
            f"p99 {result.get('p99_ms', float('nan')):.1f} ms")
        out[kind] = result
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


async def _soak_client(url: str, key: str, rate: float, seconds: float, prefix: str) -> dict[str, Any]:
    import httpx

    count = max(1, int(rate * seconds))
    results: list[dict[str, Any]] = [{} for _ in range(count)]
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        loop = asyncio.get_running_loop()

        async def one(i: int, scheduled: float) -> None:
            rid = f"{prefix}-{i:07d}"
            sent = loop.time()
            entry: dict[str, Any] = {"id": rid, "lag_ms": (sent - scheduled) * 1e3}
            try:
                response = await client.post(url, content=OURS_BODY, headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {key}", "X-Request-ID": rid})
                entry["status"] = response.status_code
                entry["header_id"] = response.headers.get("x-request-id")  # the service's own id
                entry["echoed_id"] = response.headers.get("x-client-request-id")  # ours, kept apart
                if response.status_code == 200:
                    body = response.json()
                    entry["body_id"] = body.get("request_id")
                    entry["items"] = len(body.get("results", []))
            except Exception as exc:  # a transport error is a failed request, not a crash of the client
                entry["status"] = type(exc).__name__
            entry["latency_ms"] = (loop.time() - sent) * 1e3
            results[i] = entry

        tasks = []
        start = loop.time() + 0.05
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        last_send = loop.time()
        await asyncio.gather(*tasks)
        finished = loop.time()
    return {"results": results, "send_span_s": last_send - start, "wall_s": finished - start, "count": count}


def phase_soak(bench: Bench, seconds: float, rate: float) -> dict[str, Any]:
    server = bench.ours("soak")
    prefix = f"soak{int(time.time())}"
    with bench.running(server, check=False):  # no check request: the collection DB holds only the soak's records
        log(f"soak: {rate:g} requests/s for {seconds:g} s")
        raw = asyncio.run(_soak_client(f"{server.base_url}/score", bench.key or "", rate, seconds, prefix))
    results = raw["results"]
    ok = [r for r in results if r.get("status") == 200]
    bad = [r for r in results if r.get("status") != 200]
    id_mismatch = [r["id"] for r in ok if r.get("echoed_id") != r["id"] or r.get("body_id") != r.get("header_id")]
    wrong_items = [r["id"] for r in ok if r.get("items") != 1]
    with contextlib.closing(sqlite3.connect(f"file:{server.collect_db}?mode=ro", uri=True)) as db:
        counts = dict(db.execute("SELECT client_request_id, COUNT(*) FROM predictions "
                                 "GROUP BY client_request_id").fetchall())
    answered = {r["id"] for r in ok}
    matched = sum(1 for rid in answered if counts.get(rid) == 1)
    duplicated = sum(1 for n in counts.values() if n > 1)
    unknown = sorted(set(counts) - answered)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
    latencies = [r["latency_ms"] for r in ok]
    summary = {
        "target_rate": rate, "seconds": seconds, "sent": raw["count"], "ok": len(ok), "non_2xx": len(bad),
        "statuses": statuses, "records_matched": matched, "distinct_ids_in_db": len(counts),
        "records_in_db": sum(counts.values()), "duplicated_ids": duplicated, "unknown_ids": len(unknown),
        "unknown_id_samples": unknown[:5], "id_mismatches": len(id_mismatch), "wrong_item_counts": len(wrong_items),
        "achieved_send_rate": (raw["count"] - 1) / raw["send_span_s"] if raw["send_span_s"] > 0 else None,
        "answered_rate": len(ok) / raw["wall_s"] if raw["wall_s"] > 0 else None,
        "max_send_lag_ms": max(r["lag_ms"] for r in results),
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=None),
    }
    summary["collection_ok"] = (matched == len(ok) and len(counts) == len(ok) and not duplicated)
    log(f"soak: {summary['sent']} sent, {summary['non_2xx']} non-2xx, {matched}/{len(ok)} matched records, "
        f"p99 {summary['p99_ms'] or float('nan'):.1f} ms")
    problems = []
    if bad:
        problems.append(f"{len(bad)} requests not answered 200 ({statuses})")
    if not summary["collection_ok"]:
        problems.append(f"collection mismatch: {matched} of {len(ok)} answered ids have exactly one record, "
                        f"{len(counts)} distinct ids in the DB, {duplicated} duplicated, {len(unknown)} unknown")
    if id_mismatch or wrong_items:
        problems.append(f"{len(id_mismatch)} answers with another request id, {len(wrong_items)} with != 1 result")
    summary["problems"] = problems
    return summary


def phase_variants(bench: Bench, seconds: float, warmup: float) -> list[dict[str, Any]]:
    rows = []
    for threads in ("1", "2"):
        for batch in (None, "1"):
            env = {"SPECSCAN_ORT_THREADS": threads, **({"SPECSCAN_MAX_BATCH_SIZE": batch} if batch else {})}
            label = f"threads{threads}-batch{batch or 'default'}"
            with bench.running(bench.ours(label, env)) as server:
                result = load_run(bench, server, "/score", OURS_BODY, threads=2, connections=CONCURRENCY,
                                  seconds=seconds, warmup=warmup, what=f"variant {label} c=32")
            rows.append({"ort_threads": int(threads), "max_batch_size": int(batch) if batch else None, **result})
    return rows


# --- report ---------------------------------------------------------------------------------------------


def environment(venv_bin: Path) -> dict[str, str]:
    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        match = re.search(r"^Model name:\s+(.+)$", lscpu, re.M)
        if match:
            cpu = match.group(1).strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nproc": subprocess.run(
        ["nproc"], capture_output=True, text=True).stdout.strip(), "cpu": cpu,
        "python": platform.python_version(), "onnxruntime": pkg("onnxruntime"), "mlflow": pkg("mlflow"),
        "uvicorn": pkg("uvicorn"), "fastapi": pkg("fastapi"), "specscan": pkg("specscan"),
        "wrk": (wrk.stdout + wrk.stderr).split("Copyright")[0].strip(), "venv": str(venv_bin.parent)}


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def render(data: dict[str, Any]) -> str:
    env, args = data["environment"], data["args"]
    dur = f"{round(args['duration'])}s"
    lines = [
        f"### Scoring service vs `mlflow models serve` ({env['date']}, {env['nproc']} cores, {env['cpu']})",
        "",
        f"Command: `{data['command']}`",
        "",
        f"Python {env['python']}, onnxruntime {env['onnxruntime']}, mlflow {env['mlflow']}, uvicorn {env['uvicorn']}, "
        f"fastapi {env['fastapi']}, specscan {env['specscan']}, {env['wrk']}, hey; "
        f"model `{MODEL_URI}` = version {data.get('model_version', '?')} from `{args['home']}`.",
        "",
        f"Text ({len(TEXT.split())} words, {len(TEXT)} characters): \"{TEXT}\"",
        "",
        "Both servers on 127.0.0.1, on the same cores as the load generators (wrk/hey/httpx), each started "
        "fresh per phase and warmed up before measuring. Ours: `specscan serve` defaults (1 ONNX Runtime thread, "
        "micro-batches of up to 64, no extra wait), API-key check, every prediction committed to SQLite (WAL) "
        "before its answer, one JSON access-log line per request. MLflow: 1 uvicorn worker, `--env-manager local`, "
        "the pyfunc flavour (pandas DataFrame in and out, signature check, same tokenizer and ONNX model, "
        "ONNX Runtime at its default of min(4, cores) threads), uvicorn's access log, no auth, no collection. "
        "Latencies are client-side; wrk's are from the request write (connection set-up excluded).",
        "",
    ]
    if "ceiling" in data:
        c = data["ceiling"]
        lines += ["#### 1. In-process ceiling (tokenizer + ONNX Runtime, no HTTP), items/s", "",
                  "| ONNX Runtime threads | batch 1 | batch 32 |", "|---|---:|---:|",
                  *[f"| {t} | {num(c[f'threads{t}_batch1'])} | {num(c[f'threads{t}_batch32'])} |" for t in (1, 2)],
                  ""]
    if "cold_start" in data:
        cs = data["cold_start"]
        lines += [f"#### 2. Cold start: process start → first 200 on the readiness URL "
                  f"(median of {args['cold_runs']}, after 1 unmeasured start)", "",
                  "| server | readiness URL | median s | runs s |", "|---|---|---:|---|",
                  *[f"| {name} | `{cs[key]['url']}` | {cs[key]['median_s']:.2f} | "
                    f"{', '.join(f'{s:.2f}' for s in cs[key]['runs_s'])} |"
                    for key, name in (("ours", "ours"), ("mlflow", "mlflow"))], ""]
    if "throughput" in data:
        tp = data["throughput"]
        rows = (("ours_score", "ours `/score`"), ("ours_invocations", "ours `/invocations` (MLflow body)"),
                ("mlflow", "mlflow `/invocations`"))
        lines += [f"#### 3. Throughput at {CONCURRENCY} connections (`wrk -t2 -c{CONCURRENCY} -d{dur}`)",
                  "", "| server | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | mean batch |",
                  "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
        for key, name in rows:
            r = tp[key]
            errs = ", ".join(f"{k} {v}" for k, v in r["socket_errors"].items() if v) or "0"
            batch = r.get("batching", {}).get("mean_batch") if r.get("batching") else None
            lines.append(f"| {name} | {num(r['rps'])} | {ms(r.get('p50_ms'))} | {ms(r.get('p90_ms'))} | "
                         f"{ms(r.get('p99_ms'))} | {ms(r.get('max_ms'))} | {r['non_2xx']} | {errs} | "
                         f"{'–' if batch is None else f'{batch:.1f}'} |")
        s = data["summary"]
        lines += ["",
                  f"- ours / mlflow: **{s['ratio_score']:.2f}×** on `/score`, {s['ratio_invocations']:.2f}× with the "
                  "identical MLflow body on our `/invocations`",
                  f"- ours `/score` against the in-process ceiling: {s['pct_fair_ceiling']:.0f} % of batch 1 "
                  "at 1 thread "
                  f"({num(s['fair_ceiling'])} items/s, the service's thread count); {s['pct_best_ceiling']:.0f} % of "
                  f"the best in-process figure ({num(s['best_ceiling'])} items/s, {s['best_ceiling_key']})",
                  f"- mlflow against its own fair ceiling (batch 1 at 2 threads, {num(s['mlflow_ceiling'])} items/s): "
                  f"{s['pct_mlflow_ceiling']:.0f} %",
                  f"- {answers(tp['ours_score']['answer'], tp['mlflow']['answer'])}", ""]
    if "latency" in data:
        la = data["latency"]
        lines += [f"#### 4. Latency at concurrency 1 (`wrk -t1 -c1 -d{dur}`)", "",
                  "| server | req/s | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|",
                  *[f"| {name} | {num(la[key]['rps'])} | {ms(la[key].get('p50_ms'))} | {ms(la[key].get('p99_ms'))} | "
                    f"{ms(la[key].get('max_ms'))} |"
                    for key, name in (("ours", "ours `/score`"), ("mlflow", "mlflow `/invocations`"))], ""]
    if "half_peak" in data:
        hp = data["half_peak"]
        lines += [f"#### 5. Latency at half of each server's own peak (`hey -z {dur} -c {HEY_WORKERS} "
                  f"-q rate/{HEY_WORKERS}`)", "",
                  "| server | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | status codes |",
                  "|---|---:|---:|---:|---:|---:|---|",
                  *[f"| {name} | {num(hp[key]['target_rps'])} | {num(hp[key]['rps'])} | {ms(hp[key].get('p50_ms'))} | "
                    f"{ms(hp[key].get('p90_ms'))} | {ms(hp[key].get('p99_ms'))} | "
                    f"{', '.join(f'{c}: {n}' for c, n in sorted(hp[key]['statuses'].items()))} |"
                    for key, name in (("ours", "ours `/score`"), ("mlflow", "mlflow `/invocations`"))], "",
                  f"Target = half of the server's req/s in section 3. hey's {HEY_WORKERS} workers each send on a "
                  "ticker and wait for the answer, so the achieved rate falls short of the target when answers take "
                  f"longer than {HEY_WORKERS}/target seconds. hey's latencies include each worker's connection "
                  "set-up.", ""]
    if "soak" in data:
        so = data["soak"]
        lines += [f"#### 6. Soak: ours, {so['target_rate']:g} requests/s for {so['seconds']:g} s "
                  "(fixed schedule, one text and one X-Request-ID each)", "",
                  "| sent | non-2xx | records matched (1 per answered id) | distinct ids in DB | achieved rate /s | "
                  "p50 ms | p99 ms | max ms | max send lag ms |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                  f"| {so['sent']:,} | {so['non_2xx']} | {so['records_matched']:,} of {so['ok']:,} | "
                  f"{so['distinct_ids_in_db']:,} | {so['achieved_send_rate']:.1f} | {ms(so['p50_ms'])} | "
                  f"{ms(so['p99_ms'])} | {ms(so['max_ms'])} | {ms(so['max_send_lag_ms'])} |", "",
                  f"Collection check: {'**passed**' if so['collection_ok'] and not so['problems'] else '**FAILED**'}"
                  + (f" ({'; '.join(so['problems'])})" if so["problems"] else ""), ""]
    if "variants" in data:
        lines += [f"#### 7. Variants of ours at {CONCURRENCY} connections (`/score`, `wrk -t2 -c{CONCURRENCY} "
                  f"-d{dur}`)", "",
                  "| SPECSCAN_ORT_THREADS | SPECSCAN_MAX_BATCH_SIZE | req/s | p50 ms | p99 ms | max ms | mean batch | "
                  "mean batch ms | mean commit ms |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for row in data["variants"]:
            b = row.get("batching") or {}
            mean_batch = b.get("mean_batch")
            lines.append(f"| {row['ort_threads']} | {row['max_batch_size'] or 'default (64)'} | {num(row['rps'])} | "
                         f"{ms(row.get('p50_ms'))} | {ms(row.get('p99_ms'))} | {ms(row.get('max_ms'))} | "
                         f"{'–' if mean_batch is None else f'{mean_batch:.1f}'} | {ms(b.get('mean_batch_ms'))} | "
                         f"{ms(b.get('mean_commit_ms'))} |")
        lines += ["", "Mean batch: items per ONNX Runtime call; batch ms: tokenize + ONNX Runtime per call; commit ms: "
                  "one collection transaction (all from the service's /metrics over the measured run).", ""]
    logs = data.get("server_logs", [])
    if logs:
        flagged = [entry for entry in logs if entry["errors"] or entry["warnings"]]
        disconnects = sum(entry["client_disconnects"] for entry in logs)
        lines += [f"Server logs: {len(logs)} starts; "
                  + ("no error or warning lines" if not flagged else f"{len(flagged)} with errors or warnings")
                  + (f"; {disconnects} tracebacks for clients that disconnected with a request in flight (the "
                     "load generator stopping at the end of a run), not counted as errors" if disconnects else "")
                  + ("." if not flagged else ":"), ""]
        for entry in flagged:
            samples = entry["error_samples"] + entry["warning_samples"]
            lines.append(f"- {entry['server']}: {entry['errors']} error, {entry['warnings']} warning lines; "
                         + "; ".join(f"`{s[:160]}`" for s in samples[:3]))
        lines.append("")
    if data.get("failure"):
        lines += ["**FAILED**:", "", "```", data["failure"][-4000:], "```", ""]
    return "\n".join(lines)


def answers(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> str:
    if not ours or not theirs:
        return "answers not checked"
    same = ours["label"] == theirs["label"] and abs(ours["probability"] - theirs["probability"]) < 1e-5
    return (f"{'same' if same else '**different**'} answer from both: ours {ours['label']} "
            f"p={ours['probability']:.6f}, mlflow {theirs['label']} p={theirs['probability']:.6f}")


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    tp, c = data["throughput"], data["ceiling"]
    best_key = max(c, key=c.get)
    ours = tp["ours_score"]["rps"]
    threads, batch = re.match(r"threads(\d+)_batch(\d+)", best_key).groups()  # type: ignore[union-attr]
    return {"ratio_score": ours / tp["mlflow"]["rps"],
            "ratio_invocations": tp["ours_invocations"]["rps"] / tp["mlflow"]["rps"],
            "fair_ceiling": c["threads1_batch1"], "pct_fair_ceiling": 100 * ours / c["threads1_batch1"],
            "best_ceiling": c[best_key],
            "best_ceiling_key": f"batch {batch} at {threads} thread{'s' if threads != '1' else ''}",
            "pct_best_ceiling": 100 * ours / c[best_key], "mlflow_ceiling": c["threads2_batch1"],
            "pct_mlflow_ceiling": 100 * tp["mlflow"]["rps"] / c["threads2_batch1"]}


# --- main -----------------------------------------------------------------------------------------------


def prepare_home(given: Path, work: Path) -> Path:
    """A temp home holding a consistent copy of the given home's mlflow.db (the given home is only read)."""
    source = given / "mlflow.db"
    if not source.is_file():
        raise BenchFailure(f"{source} does not exist: --home must be a SPECSCAN_HOME with a SQLite tracking store")
    home = work / "home"
    home.mkdir()
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
            contextlib.closing(sqlite3.connect(home / "mlflow.db")) as dst:
        src.backup(dst)
    return home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help=f"a SPECSCAN_HOME holding {MODEL_URI}")
    parser.add_argument("--duration", type=float, default=20, help="seconds of each measured load run")
    parser.add_argument("--soak-seconds", type=float, default=600, help="0 disables the soak")
    parser.add_argument("--soak-rate", type=float, default=50, help="requests per second of the soak")
    parser.add_argument("--variants", action="store_true", help="also ORT threads 1/2 x batching on/off")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--report", type=Path, default=Path(__file__).parent / "results" / "serve.md",
                        help="Markdown report; the raw JSON goes beside it (default: benchmarks/results/serve.md)")
    parser.add_argument("--keep-work", action="store_true", help="keep the temp directory (server logs, DBs)")
    args = parser.parse_args()

    venv_bin = Path(sys.prefix) / "bin"
    for tool in (venv_bin / "specscan", venv_bin / "mlflow", venv_bin / "uvicorn"):
        if not tool.exists():
            sys.exit(f"{tool} not found: run this script with the project's venv Python (.venv/bin/python)")
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH")
    for name in [k for k in os.environ if k.startswith("SPECSCAN_")]:
        del os.environ[name]  # in-process settings come from here only

    seconds = args.duration
    warmup = min(5.0, max(1.0, seconds / 5))
    ceiling_seconds = min(5.0, seconds)
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    data: dict[str, Any] = {"command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
                            "args": {**vars(args), "home": str(args.home), "report": str(args.report)},
                            "environment": environment(venv_bin), "text": TEXT, "work_dir": str(work)}
    bench: Bench | None = None
    failed = False

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        home = prepare_home(args.home.resolve(), work)
        bench = Bench(work, home, venv_bin)
        key = subprocess.run([str(venv_bin / "specscan"), "apikey", "create", "--role", "scorer",
                              "--note", "serve-bench"], env=bench.ours_env, cwd=work, capture_output=True, text=True)
        if key.returncode != 0 or not key.stdout.strip():
            raise BenchFailure(f"specscan apikey create failed ({key.returncode}): {key.stderr[-2000:]}")
        bench.key = key.stdout.strip().splitlines()[0]

        from specscan.registry import Registry
        from specscan.settings import Settings

        registry = Registry(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
        data["model_version"], _ = registry.resolve(MODEL_URI)
        bundle = registry.bundle_path(MODEL_URI)  # downloads into the temp home's model cache, verified
        log(f"model {MODEL_URI} = version {data['model_version']}, bundle {bundle}; work dir {work}")

        log("phase 1: in-process ceiling")
        data["ceiling"] = phase_ceiling(bundle, ceiling_seconds)
        log("phase 2: cold start")
        data["cold_start"] = phase_cold_start(bench, args.cold_runs)
        log("phase 3: throughput at c=32")
        data["throughput"] = phase_throughput(bench, seconds, warmup)
        data["summary"] = summarize(data)
        log("phase 4: latency at c=1")
        data["latency"] = phase_latency(bench, seconds, warmup)
        log("phase 5: p99 at half of peak")
        data["half_peak"] = phase_half_peak(bench, {"ours": data["throughput"]["ours_score"]["rps"],
                                                    "mlflow": data["throughput"]["mlflow"]["rps"]}, seconds, warmup)
        if args.variants:
            log("phase 7: variants")
            data["variants"] = phase_variants(bench, seconds, warmup)
        if args.soak_seconds > 0:
            log("phase 6: soak")
            data["soak"] = phase_soak(bench, args.soak_seconds, args.soak_rate)
            if data["soak"]["problems"]:
                failed = True
    except (Exception, KeyboardInterrupt) as exc:
        failed = True
        data["failure"] = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, BenchFailure | KeyboardInterrupt):
            import traceback

            data["failure"] += "\n" + "".join(traceback.format_exception(exc)[-6:])
        print(f"\n*** BENCHMARK FAILED ***\n{exc}\n", file=sys.stderr)
    finally:
        stop_all()
        if bench is not None:
            data["server_logs"] = bench.server_logs

    report = render(data)
    print(report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report + "\n")
    args.report.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    log(f"report: {args.report}, raw figures: {args.report.with_suffix('.json')}")
    if failed or args.keep_work:
        log(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
