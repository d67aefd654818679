"""The technician web app over N seeded components, on SQLite and on PostgreSQL: server and client times of
the list page, filtered lists and the component page with the explanation request its htmx makes, and the
save-and-classify round trip through a running scoring service.

    .venv/bin/python benchmarks/webapp_bench.py --components 100000 --requests 300 \
        --databases sqlite,postgresql --home .specscan --out benchmarks/results/webapp-100k.md

Per database: an empty database (SQLite: a file in a temp dir; PostgreSQL: the schema --schema, dropped
at the end), migrated to head, one technician, N components inserted in chunks of 5,000 (generated
descriptions; ~95 % classified by model version 1, review band [0.2, 0.8], ~10 % with a technician's
label, ~5 % pending and backed off for a day so the app's retry worker leaves them alone), ANALYZE, then
`specscan app` on it. One `specscan serve` for all, on a temp home holding a copy of --home's mlflow.db
(--home is only read), with its own API key and collection database. Requests go one at a time from one
signed-in httpx client, 20 warm-up requests per figure first. Server time is the app's `Server-Timing:
app;dur=`, client time the wall time of the request in httpx (body read).

The seeded components carry no word attributions, as imported or retried ones do not: their page then loads
the explanation in a second request (`GET /components/{id}/explanation`, which calls the scoring service's
`/explain`). httpx runs no htmx, so the benchmark makes that request itself, as the browser would, and reports
it alone and with the page ("component page + explanation").
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import re
import secrets
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from specscan.data.generator import generate
from specscan.webapp.accounts import create_user
from specscan.webapp.database import create_database_engine, upgrade
from specscan.webapp.models import Component, Role

CHUNK = 5_000
WARMUP = 20
USER, PASSWORD = "bench-technician", secrets.token_urlsafe(18)  # a throwaway account in a throwaway database
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
EXPLANATION_LOADER = re.compile(r'hx-get="(/components/\d+/explanation)" hx-trigger="load"')
VENV_BIN = Path(sys.executable).parent
FIRST = ("Tanaka", "Nordic", "Rheinland", "Iberia", "Baltic", "Alpine", "Pacific", "Delta", "Summit", "Meridian",
         "Orion", "Vega", "Atlas", "Kestrel", "Falcon", "Granite", "Harbor", "Linden", "Maple", "Osprey")
SECOND = ("Seiko", "Automotive", "Components", "Industries", "Metall", "Plastics", "Electric", "Rubber", "Glass",
          "Fasteners", "Systems", "Technik", "Polymer", "Castings", "Parts")
SUPPLIERS = [f"{a} {b}" for a in FIRST for b in SECOND]  # 300
# the services get no inherited SPECSCAN_*/MLFLOW_* variables, and run in the temp dir (so read no .env)
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SPECSCAN_", "MLFLOW_"))}
TECHNICIANS = ("amoser", "bkrueger", "cdiaz", "dnovak", "eokafor", "flindqvist")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- seeding --------------------------------------------------------------------------------------------


def component_rows(data: dict[str, list[str]], seed: int) -> list[dict[str, object]]:
    """Rows for `insert(Component)`: classified (label consistent with the probability), reviewed, pending."""
    n, rng, ids, now = len(data["text"]), np.random.default_rng(seed), random.Random(seed), datetime.now(UTC)
    distance = rng.beta(1.0, 5.0, n) * 0.5  # from certainty: ~8 % land in the review band [0.2, 0.8]
    in_band = distance >= 0.2
    truly_bad = np.array(data["label"]) == "non_compliant"
    predicted_bad = truly_bad ^ (rng.random(n) < np.where(in_band, 0.15, 0.02))  # the model errs where unsure
    probability = np.round(np.where(predicted_bad, 1.0 - distance, distance), 4)
    pending = rng.random(n) < 0.05
    reviewed = ~pending & (rng.random(n) < np.where(in_band, 0.4, 0.07))
    weights = 1.0 / np.arange(1, len(SUPPLIERS) + 1) ** 0.9  # a few big suppliers, a long tail
    suppliers = rng.choice(len(SUPPLIERS), n, p=weights / weights.sum())
    age, review_after = rng.uniform(0, 60 * 86_400, n), rng.uniform(600, 10 * 86_400, n)
    rows = []
    for i in range(n):
        created, who = now - timedelta(seconds=float(age[i])), TECHNICIANS[i % len(TECHNICIANS)]
        reviewed_at = min(now, created + timedelta(seconds=float(review_after[i]))) if reviewed[i] else None
        row = {"version": 1 + int(reviewed[i]), "description": data["text"][i], "category": data["category"][i],
               "part_number": f"{data['category'][i][:3].upper()}-{100_000 + i * 7 % 900_000}-{'ABCDEFGH'[i % 8]}",
               "supplier": SUPPLIERS[suppliers[i]], "created_by": who, "created_at": created, "updated_by": who,
               "updated_at": reviewed_at or created, "human_label": data["label"][i] if reviewed[i] else None,
               "reviewed_by": who if reviewed[i] else None, "reviewed_at": reviewed_at, "feedback_reason": None,
               "feedback_request_id": None, "needs_review": bool(in_band[i] and not pending[i])}
        if pending[i]:  # failed three times, next try tomorrow: out of the way of the app's retry worker
            row.update(status="pending", model_label=None, probability=None, model_version=None, request_id=None,
                       classified_at=None, attempts=3, last_error="scoring service unreachable",
                       next_attempt_at=now + timedelta(days=1))
        else:
            row.update(status="classified", model_label="non_compliant" if predicted_bad[i] else "compliant",
                       probability=float(probability[i]), model_version=1,
                       request_id=uuid.UUID(int=ids.getrandbits(128)).hex,
                       classified_at=created + timedelta(seconds=1.5), attempts=1, last_error=None,
                       next_attempt_at=None)
        rows.append(row)
    return rows


@dataclass
class Result:
    """One database: its version, seeding times, and what was measured on it."""

    version: str = ""
    insert_s: float = 0.0
    analyze_s: float = 0.0
    ids: tuple[int, int] = (1, 1)
    times: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (server ms, client ms)
    unexpected: list[str] = field(default_factory=list)
    pending: int = 0
    pages: int = 0  # component pages measured
    explained: int = 0  # of which loaded their explanation in a second request


def prepare(url: str, rows: list[dict[str, object]]) -> Result:
    """Migrate the empty database, add the technician, insert `rows`, ANALYZE; the times and version."""
    engine = create_database_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as db, db.begin():
            create_user(db, USER, PASSWORD, Role.technician, actor="bench")
        started = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            with engine.begin() as connection:
                connection.execute(insert(Component), rows[start:start + CHUNK])
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as connection:
            connection.execute(text("ANALYZE" if sqlite else "ANALYZE components"))
            version = (f"SQLite {sqlite3.sqlite_version}" if sqlite
                       else connection.execute(text("SELECT version()")).scalar_one())
            low, high = connection.execute(text("SELECT min(id), max(id) FROM components")).one()
        return Result(version, inserted, time.perf_counter() - started, (low, high))
    finally:
        engine.dispose()


@contextlib.contextmanager
def database(kind: str, work: Path, postgresql_url: str, schema: str) -> Iterator[str]:
    """An empty database's URL; a PostgreSQL schema of its own, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'app.db'}"
        return
    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        # random_page_cost 1.1, as docs/operations.md advises on SSDs (PostgreSQL's default 4 assumes spinning
        # disks, and then prefers scanning every row's ILIKE to the trigram index: 107 ms against 17 ms)
        options = f"-csearch_path%3D{schema}%20-crandom_page_cost%3D1.1"
        yield f"{postgresql_url}{'&' if '?' in postgresql_url else '?'}options={options}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


# --- services -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(name: str, args: list[str], env: dict[str, str], work: Path, ready: str) -> Iterator[str]:
    """`specscan ARGS --port P` in its own process group until ready; its base URL; always stopped."""
    port = free_port()
    log_path = work / f"{name}.log"
    with open(log_path, "ab") as out:
        process = subprocess.Popen([str(VENV_BIN / "specscan"), *args, "--port", str(port)], env=env, cwd=work,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url, started = f"http://127.0.0.1:{port}", time.monotonic()
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + ready, timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() - started > 300:
                raise RuntimeError(f"{name} not ready (exit {process.returncode}):\n"
                                   + "\n".join(log_path.read_text(errors="replace").splitlines()[-30:]))
            time.sleep(0.1)
        log(f"{name} ready on {url} after {time.monotonic() - started:.1f} s")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def scoring_env(home: Path, work: Path) -> tuple[dict[str, str], str]:
    """`specscan serve`'s environment: a temp home with a copy of `home`'s registry (artifacts stay where
    they are), its own API key file and collection database; and a new scorer key."""
    temp_home = work / "home"
    temp_home.mkdir()
    with contextlib.closing(sqlite3.connect(f"file:{home / 'mlflow.db'}?mode=ro", uri=True)) as source, \
            contextlib.closing(sqlite3.connect(temp_home / "mlflow.db")) as target:
        source.backup(target)
    env = {**BASE_ENV, "SPECSCAN_HOME": str(temp_home), "SPECSCAN_API_KEYS_FILE": str(work / "api-keys.json"),
           "SPECSCAN_COLLECT_URL": f"sqlite:///{work / 'collected.db'}"}
    created = subprocess.run([str(VENV_BIN / "specscan"), "apikey", "create", "--role", "scorer", "--note",
                              "webapp-bench"], env=env, cwd=work, capture_output=True, text=True, check=True)
    return env, created.stdout.strip().splitlines()[0]


# --- measuring ------------------------------------------------------------------------------------------


class Recorder:
    """Server and client milliseconds per figure into `result`, and every answer that was not the expected one."""

    def __init__(self, client: httpx.Client, result: Result) -> None:
        self.client, self.result, self.counting = client, result, True

    def request(self, figures: tuple[str, ...], method: str, url: str, expect: int, **kwargs: object
                ) -> tuple[httpx.Response, float, float]:
        started = time.perf_counter()
        response = self.client.request(method, url, **kwargs)
        client_ms = (time.perf_counter() - started) * 1000
        match = SERVER_TIMING.search(response.headers.get("server-timing", ""))
        server_ms = float(match.group(1)) if match else math.nan
        if response.status_code != expect:
            self.result.unexpected.append(f"{method} {url}: {response.status_code}")
        if self.counting:
            for figure in figures:
                self.result.times.setdefault(figure, []).append((server_ms, client_ms))
        return response, server_ms, client_ms

    def repeat(self, count: int, step: Callable[[int], None]) -> None:
        """`step(0..WARMUP-1)` not counted, then `step(0..count-1)` counted."""
        self.counting = False
        for i in range(WARMUP):
            step(i)
        self.counting = True
        for i in range(count):
            step(i)


def log_in(client: httpx.Client) -> str:
    """Signs in as the technician; the session's CSRF token."""
    form = client.get("/login")
    token = CSRF_FIELD.search(form.text)
    answer = client.post("/login", data={"username": USER, "password": PASSWORD, "next": "/components",
                                         "csrf_token": token.group(1) if token else ""})
    if answer.status_code != 303:
        raise RuntimeError(f"log-in failed: {answer.status_code}")
    found = CSRF_FIELD.search(client.get("/components/new").text)
    if found is None:
        raise RuntimeError("no CSRF token on /components/new")
    return found.group(1)


def measure(url: str, count: int, result: Result, new: dict[str, list[str]], seed: int) -> None:
    """The four figures into `result`, one request at a time, each after its warm-up."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        csrf, record = log_in(client), Recorder(client, result)
        record.repeat(count, lambda _: record.request(("list page",), "GET", "/components", 200,
                                                      params={"page": rng.randint(1, 50)}))
        filters: list[tuple[str, Callable[[], dict[str, object]]]] = [
            ("label=non_compliant&category", lambda: {"label": "non_compliant", "category": rng.choice(new["cats"])}),
            ("q=brake", lambda: {"q": "brake"}),
            ("band=low&reviewed=no", lambda: {"band": "low", "reviewed": "no"}),
            ("supplier&sort=probability", lambda: {"supplier": rng.choice(SUPPLIERS), "sort": "probability"}),
            ("disagree=yes", lambda: {"disagree": "yes"}),
            ("page=1000", lambda: {"page": 1000}),
        ]

        def filtered(i: int) -> None:
            name, params = filters[i % len(filters)]
            record.request(("filtered list", f"filter {name}"), "GET", "/components", 200, params=params())

        record.repeat(count, filtered)

        def component_page(_: int) -> None:
            page, page_server, page_client = record.request(("component page",), "GET",
                                                            f"/components/{rng.randint(*result.ids)}", 200)
            loader = EXPLANATION_LOADER.search(page.text)
            if loader:  # what htmx does on load: the fragment, which asks the scoring service's /explain
                _, server, client = record.request(("component page: explanation request",), "GET",
                                                   loader.group(1), 200, headers={"HX-Request": "true"})
                page_server, page_client = page_server + server, page_client + client
            if record.counting:
                result.times.setdefault("component page + explanation", []).append((page_server, page_client))
                result.pages += 1
                result.explained += bool(loader)

        record.repeat(count, component_page)

        unseen = iter(range(len(new["text"])))

        def save(_: int) -> None:
            i = next(unseen)
            form = {"description": new["text"][i], "part_number": f"BENCH-{i:05d}", "category": new["category"][i],
                    "supplier": rng.choice(SUPPLIERS), "csrf_token": csrf}
            posted, post_server, post_client = record.request(("save: POST",), "POST", "/components", 303, data=form)
            page, get_server, get_client = record.request(("save: redirect GET",), "GET",
                                                          posted.headers.get("location", "/"), 200)
            if record.counting:
                result.times.setdefault("save: round trip", []).append((post_server + get_server,
                                                                        post_client + get_client))
                result.pending += "classification pending" in page.text

        record.repeat(count, save)


# --- report ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def stats(values: list[float]) -> str:
    return " | ".join(f"{percentile(values, q):.1f}" for q in (50, 95, 99)) + f" | {max(values):.1f}"


def report(command: str, args: argparse.Namespace, mix: str, results: dict[str, Result]) -> str:
    lines = [f"# Web app benchmark: {args.components:,} components, {args.requests} requests per figure", "",
             f"- command: `{command}`", f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"- machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
             *[f"- {kind}: {result.version}" for kind, result in results.items()],
             f"- seeded components: {mix}",
             f"- requests one at a time from one signed-in client, {WARMUP} warm-up requests per figure not "
             "counted; times in ms",
             "", "| database | seeding (insert, chunks of 5,000) | rows/s | ANALYZE |", "|---|---:|---:|---:|"]
    for kind, result in results.items():
        lines.append(f"| {kind} | {result.insert_s:.1f} s | {args.components / result.insert_s:,.0f} | "
                     f"{result.analyze_s:.2f} s |")
    lines += ["", "Server = `Server-Timing: app;dur`; client = wall time in httpx. Round trip = POST (classify "
              "through the scoring service) + the redirect's GET of the component page. Component page + "
              "explanation = the page and, where it shows the loader, the explanation request its htmx makes "
              "(the scoring service's /explain).", "",
              "| database | figure | n | server p50 | p95 | p99 | max | client p50 | p95 | p99 | max |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, result in results.items():
        for figure, pairs in result.times.items():
            server, client = [p[0] for p in pairs], [p[1] for p in pairs]
            lines.append(f"| {kind} | {figure} | {len(pairs)} | {stats(server)} | {stats(client)} |")
    lines.append("")
    for kind, result in results.items():
        shown = ": " + "; ".join(result.unexpected[:5]) if result.unexpected else ""
        lines.append(f"- {kind}: {len(result.unexpected)} unexpected statuses{shown}; "
                     f"{result.pending} of {args.requests} saves came back classification pending; "
                     f"{result.explained} of {result.pages} component pages loaded their explanation")
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------------------


def descriptions(count: int, unseen: int, seed: int) -> tuple[list[dict[str, object]], dict[str, list[str]], str]:
    """The rows to seed, `unseen` other descriptions (with categories) to save, and the seeded mix in words."""
    started = time.perf_counter()
    data = generate(revision="R1", rows=count + unseen, seed=seed)  # unique texts: the extra ones are unseen
    seeded = {c: data[c].tolist()[:count] for c in ("text", "label", "category")}
    new = {c: data[c].tolist()[count:] for c in ("text", "category")}
    new["cats"] = sorted(set(seeded["category"]))
    rows = component_rows(seeded, seed)
    shares = {"classified": sum(r["status"] == "classified" for r in rows),
              "in the review band": sum(bool(r["needs_review"]) for r in rows),
              "with a technician's label": sum(r["human_label"] is not None for r in rows),
              "disagreeing": sum(r["human_label"] not in (None, r["model_label"]) for r in rows)}
    mix = ", ".join(f"{share / len(rows):.1%} {name}" for name, share in shares.items()) + \
        f"; {len(new['cats'])} categories, {len(SUPPLIERS)} suppliers, created over 60 days"
    log(f"{len(rows):,} rows generated in {time.perf_counter() - started:.1f} s: {mix}")
    return rows, new, mix


def main() -> int:
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))  # still stop the services
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per figure")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--home", type=Path, default=Path(".specscan"), help="SPECSCAN_HOME with a champion")
    parser.add_argument("--postgresql-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="webapp_bench", help="PostgreSQL schema, created and dropped")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "webapp-100k.md")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if set(kinds) - {"sqlite", "postgresql"} or not re.fullmatch(r"[a-z_][a-z0-9_]*", args.schema):
        parser.error("--databases takes sqlite and/or postgresql; --schema a lower-case identifier")
    if not (args.home / "mlflow.db").is_file():
        parser.error(f"{args.home / 'mlflow.db'} does not exist")

    rows, new, mix = descriptions(args.components, WARMUP + args.requests, args.seed)
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="webapp-bench-") as tmp:
        work = Path(tmp)
        serve_env, key = scoring_env(args.home.resolve(), work)
        with running("scoring", ["serve"], serve_env, work, "/v2/health/ready") as scoring_url:
            for kind in kinds:
                kind_dir = work / kind
                kind_dir.mkdir()
                with database(kind, kind_dir, args.postgresql_url, args.schema) as url:
                    log(f"{kind}: migrating and seeding {len(rows):,} components")
                    result = prepare(url, rows)
                    log(f"{kind}: inserted in {result.insert_s:.1f} s, ANALYZE {result.analyze_s:.2f} s")
                    app_env = {**BASE_ENV, "SPECSCAN_HOME": str(kind_dir), "SPECSCAN_APP_DATABASE_URL": url,
                               "SPECSCAN_SCORING_URL": scoring_url, "SPECSCAN_SCORING_API_KEY": key}
                    # --dev: the benchmark talks plain http:// on loopback (its session cookie is not Secure)
                    with running(f"app-{kind}", ["app", "--dev"], app_env, kind_dir, "/login") as app_url:
                        measure(app_url, args.requests, result, new, args.seed)
                    results[kind] = result
                    log(f"{kind}: measured")

    command = shlex.join(getattr(sys, "orig_argv", sys.argv))
    text_report = report(command, args, mix, results)
    print(text_report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text_report, encoding="utf-8")
    return 1 if any(r.unexpected or r.pending for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
