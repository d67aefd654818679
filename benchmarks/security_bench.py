"""Issue 10's security figures, measured against real `specscan serve` and `specscan app` processes on loopback.

    PYTHONPATH=src .venv/bin/python benchmarks/security_bench.py --bundle DIR \
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--out benchmarks/results/security.json]

- F1 log-in lock-out: bursts of 30 parallel log-ins on one account (a fresh account per burst): 29 wrong
  passwords at once, then the right one as soon as they hold every place the lock-out gives (5 checks, read from
  the app's database; the old code checked it while they were still in flight) or all are answered. A success
  then beats the lock. Once with the per-address throttle off (SPECSCAN_LOGIN_THROTTLE_PER_MINUTE=0, so the lock
  itself is tested), once with its default (20 a minute; its 429s take no place, so fewer wrong ones are checked).
- F2 revocation: a key is created, used (200), revoked with the store the CLI uses, then tried every 20 ms
  until refused; the time from the revocation to the first 401. Bundle directory (--model DIR), with
  SPECSCAN_RELOAD_INTERVAL=0 and with its default.
- F3 NUL characters, PostgreSQL collection: 4 connections send texts holding U+0000 while another key sends 400
  ordinary requests over 4 connections; the ordinary ones answered 503 are counted, and their rows in the store.
  The database is created for the run and dropped after it.
- F4 many-member gzip: `/ping` latency from one connection (every 20 ms), alone and while 4 processes send
  1 MiB bodies of 52,427 empty gzip members.
- F5 slow clients: 3 rounds of 100 connections on each server (34 idle, 33 trickling a request head, 33 trickling
  a body, one line or byte every 0.5 s) with SPECSCAN_HEADER_TIMEOUT=2 and SPECSCAN_BODY_TIMEOUT=3; when the server
  closed each one, and its resident memory before and after each round.

Every server is a fresh subprocess with its own temporary SPECSCAN_HOME, stopped after its part. Inherited
SPECSCAN_* variables are not passed on. The results are written as JSON (no key or password in them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import http.client
import json
import multiprocessing
import os
import platform
import re
import secrets
import selectors
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from servers import free_port, log, stop_process

LOGIN_MAX_FAILURES = 5  # the default of SPECSCAN_LOGIN_MAX_FAILURES
TEXT = "Front brake pad set, low-metallic, copper-free, E-marked to UN ECE R90"
HEADER_TIMEOUT, BODY_TIMEOUT = 2.0, 3.0
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("SPECSCAN_")}


@dataclass
class Server:
    """A `specscan serve` or `specscan app` subprocess on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """The server's resident memory (VmRSS), KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]


@contextmanager
def running(command: str, home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`specscan COMMAND --port P ARGS` with SPECSCAN_HOME=home, until it answers; stopped (SIGTERM) afterwards."""
    port = free_port()
    logfile = home / f"{command}-{port}.log"
    home.mkdir(parents=True, exist_ok=True)
    with logfile.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "specscan.cli", command, "--port", str(port), *args],
                                   env={**CLEAN_ENV, "SPECSCAN_HOME": str(home), **(env or {})},
                                   stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, port, home)
    ready = "/v2/health/ready" if command == "serve" else "/login"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start: {logfile.read_text()[-2000:]}")
            try:
                if httpx.get(server.url + ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield server
    finally:
        stop_process(process)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2)}


def new_key(home: Path, role: str = "scorer") -> tuple[str, str]:
    """(key, key id) of a new API key in `home`'s key file."""
    from specscan.scoring.apikeys import ApiKeyStore
    from specscan.settings import Settings

    key, record = ApiKeyStore(Settings(home=home).resolved_api_keys_file).create(role, note="security bench")
    return key, record.id


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- F1: parallel log-in guesses ------------------------------------------------------------------------


def create_accounts(home: Path, count: int) -> tuple[list[str], str]:
    """`count` technician accounts in the web app's database under `home`, all with one password."""
    from specscan.settings import Settings
    from specscan.webapp.accounts import create_user
    from specscan.webapp.database import create_database_engine, session_factory, upgrade

    engine = create_database_engine(Settings(home=home).resolved_app_database_url)
    upgrade(engine)
    password = "Bench-" + secrets.token_urlsafe(18)
    names = [f"victim-{i:02d}" for i in range(count)]
    with session_factory(engine).begin() as db:
        for name in names:
            create_user(db, name, password, "technician", actor="security-bench")
    engine.dispose()
    return names, password


def places_taken(database: Path, username: str) -> tuple[int, int, bool]:
    """(failures counted, checks in flight, locked) of an account, read from the app's SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        failed, in_flight, locked = db.execute(
            "SELECT failed_logins, logins_in_flight, locked_until IS NOT NULL FROM users WHERE username = ?",
            (username,)).fetchone()
    return failed, in_flight, bool(locked)


@dataclass
class Burst:
    """One burst's answers, and the account as the right password was sent."""

    statuses: list[int]
    places_taken: int  # failures counted plus checks in flight
    in_flight: int
    locked: bool

    @property
    def beat_the_lock(self) -> bool:
        """The right password got in although the wrong ones had taken every place the lock-out gives."""
        return self.statuses[-1] == 303 and (self.locked or self.places_taken >= LOGIN_MAX_FAILURES)


async def login_burst(url: str, database: Path, username: str, password: str, size: int) -> Burst:
    """`size` log-ins, each from its own browser: `size - 1` wrong passwords at once, then the right one as soon
    as the lock-out's places are all taken (read from the database) or every wrong one is answered."""
    async with AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=120))
                    for _ in range(size)]
        forms = await asyncio.gather(*(b.get("/login") for b in browsers))
        tokens = [re.search(r'name="csrf_token" value="([^"]+)"', f.text).group(1)  # type: ignore[union-attr]
                  for f in forms]

        def guess(i: int) -> Any:
            return browsers[i].post("/login", data={"username": username, "csrf_token": tokens[i], "password":
                                                    password if i == size - 1 else f"wrong-guess-{i:02d}-{username}"})

        wrong = [asyncio.create_task(guess(i)) for i in range(size - 1)]
        while True:
            failed, in_flight, locked = places_taken(database, username)
            if locked or failed + in_flight >= LOGIN_MAX_FAILURES or all(task.done() for task in wrong):
                break
            await asyncio.sleep(0.002)
        right = await guess(size - 1)
        answers = [*(await asyncio.gather(*wrong)), right]
    return Burst([a.status_code for a in answers], failed + in_flight, in_flight, locked)


def f1(root: Path, bursts: int, size: int) -> dict[str, Any]:
    home = root / "f1"
    names, password = create_accounts(home, 2 * bursts)
    results: dict[str, Any] = {"bursts": bursts, "burst_size": size, "right_password": (
        "sent last, once the wrong ones held every place the lock-out gives (5); the old code checked it while "
        "those were in flight")}
    for label, throttle, accounts in (("throttle_off", "0", names[:bursts]), ("throttle_on", None, names[bursts:])):
        env = {"SPECSCAN_SCORING_URL": f"http://127.0.0.1:{free_port()}"}
        if throttle is not None:
            env["SPECSCAN_LOGIN_THROTTLE_PER_MINUTE"] = throttle
        with running("app", home, "--dev", env=env) as app:
            started = time.monotonic()
            outcomes = [asyncio.run(login_burst(app.url, home / "app.db", name, password, size)) for name in accounts]
            seconds = time.monotonic() - started
        results[label] = {
            "throttle_per_minute": "off" if throttle == "0" else "default (20)",
            "successful_guesses_beyond_the_lock": sum(b.beat_the_lock for b in outcomes),
            "successful_guesses_at_all": sum(b.statuses[-1] == 303 for b in outcomes),
            "right_password_answers": dict(collections.Counter(str(b.statuses[-1]) for b in outcomes)),
            "right_password_sent_with_every_place_taken": sum(
                b.locked or b.places_taken >= LOGIN_MAX_FAILURES for b in outcomes),
            "right_password_sent_while_checks_in_flight": sum(b.in_flight > 0 for b in outcomes),
            "answers": dict(collections.Counter(str(s) for b in outcomes for s in b.statuses)),
            "seconds": round(seconds, 1)}
        log(f"F1 {label}: {results[label]}")
    return results


# --- F2: revocation latency -----------------------------------------------------------------------------


def revocation_latencies(server: Server, tries: int) -> list[float]:
    """Seconds from each revocation to the first 401 with the revoked key."""
    from specscan.scoring.apikeys import ApiKeyStore
    from specscan.settings import Settings

    store = ApiKeyStore(Settings(home=server.home).resolved_api_keys_file)
    latencies = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(tries):
            key, key_id = new_key(server.home)
            deadline = time.monotonic() + 5
            while client.post("/score", json=[TEXT], headers=auth(key)).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("a new key was not accepted within 5 s")
                time.sleep(0.02)
            store.revoke(key_id)
            revoked = time.monotonic()
            while client.post("/score", json=[TEXT], headers=auth(key)).status_code != 401:
                if time.monotonic() - revoked > 10:
                    raise RuntimeError("a revoked key was still accepted after 10 s")
                time.sleep(0.02)
            latencies.append(time.monotonic() - revoked)
    return latencies


def f2(root: Path, bundle: Path, tries: int) -> dict[str, Any]:
    results: dict[str, Any] = {"tries": tries, "poll_every_ms": 20}
    for label, env in (("model_dir_reload_interval_0", {"SPECSCAN_RELOAD_INTERVAL": "0"}),
                       ("model_dir_default_interval", {})):
        with running("serve", root / f"f2-{label}", "--model", str(bundle), env=env) as server:
            latencies = revocation_latencies(server, tries)
        results[label] = {**summary_ms(latencies), "refused_within_1s": sum(s <= 1.0 for s in latencies)}
        log(f"F2 {label}: {results[label]}")
    return results


# --- F3: NUL characters beside innocent callers, PostgreSQL collection ----------------------------------


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards; yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"specscan_secbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def nul_attack(url: str, innocent: str, attacker: str, requests: int, connections: int) -> dict[str, Any]:
    """Innocent and attacking connections at once; the statuses each side got."""
    done = asyncio.Event()
    innocent_statuses: list[int] = []
    attacker_statuses: list[int] = []

    async def attack(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            r = await client.post("/score", json={"data": ["ok", "Brake\u0000pad"]}, headers=auth(attacker))
            attacker_statuses.append(r.status_code)

    async def score(client: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            r = await client.post("/score", json=[TEXT], headers=auth(innocent))
            innocent_statuses.append(r.status_code)

    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
                   for _ in range(2 * connections)]
        attackers = [asyncio.create_task(attack(c)) for c in clients[:connections]]
        await asyncio.gather(*(score(c, requests // connections) for c in clients[connections:]))
        done.set()
        await asyncio.gather(*attackers)
    return {"innocent": dict(collections.Counter(str(s) for s in innocent_statuses)),
            "attacker": dict(collections.Counter(str(s) for s in attacker_statuses))}


def f3(root: Path, bundle: Path, postgres: str, requests: int) -> dict[str, Any]:
    import psycopg

    home = root / "f3"
    innocent, innocent_id = new_key(home)
    attacker, _ = new_key(home)
    with scratch_database(postgres) as database:
        with running("serve", home, "--model", str(bundle), env={"SPECSCAN_COLLECT_URL": database}) as server:
            answers = asyncio.run(nul_attack(server.url, innocent, attacker, requests, 4))
        with psycopg.connect(database) as db:
            collected = db.execute("SELECT count(*) FROM predictions WHERE caller = %s", (innocent_id,)).fetchone()
    results = {"innocent_requests": requests, "connections_each_side": 4, **answers,
               "innocent_503": answers["innocent"].get("503", 0),
               "innocent_rows_collected": collected[0] if collected else 0}
    log(f"F3: {results}")
    return results


# --- F4: /ping beside many-member gzip bodies ----------------------------------------------------------


def gzip_attacker(port: int, key: str, body: bytes, until: float, out: Any) -> None:
    """Send the many-member body to /score until `until` (time.time()); put the statuses on `out`."""
    statuses: collections.Counter[int] = collections.Counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < until:
        try:
            connection.request("POST", "/score", body=body, headers={
                **auth(key), "Content-Type": "application/json", "Content-Encoding": "gzip"})
            response = connection.getresponse()
            response.read()
            statuses[response.status] += 1
            if response.getheader("connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            statuses[0] += 1
            connection.close()
    out.put(dict(statuses))


def ping_latencies(port: int, seconds: float) -> list[float]:
    """Latency of GET /ping, one at a time every 20 ms on one kept-alive connection, for `seconds`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        connection.request("GET", "/ping")
        connection.getresponse().read()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    connection.close()
    return latencies


def f4(root: Path, bundle: Path, seconds: float, attackers: int) -> dict[str, Any]:
    home = root / "f4"
    key, _ = new_key(home)
    member = gzip.compress(b"", mtime=0)
    body = member * ((1 << 20) // len(member) - 1)
    with running("serve", home, "--model", str(bundle)) as server:
        alone = ping_latencies(server.port, seconds)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        until = time.time() + seconds + 2
        processes = [context.Process(target=gzip_attacker, args=(server.port, key, body, until, queue))
                     for _ in range(attackers)]
        for process in processes:
            process.start()
        time.sleep(1)  # every attacker sending
        beside = ping_latencies(server.port, seconds)
        statuses: collections.Counter[str] = collections.Counter()
        for _ in processes:
            statuses.update({str(k): v for k, v in queue.get(timeout=60).items()})
        for process in processes:
            process.join(30)
    results = {"gzip_members": len(body) // len(member), "body_bytes": len(body), "attacking_processes": attackers,
               "ping_alone": summary_ms(alone), "ping_beside_attack": summary_ms(beside),
               "attack_answers": dict(statuses)}
    log(f"F4: {results}")
    return results


# --- F5: idle and slow connections ----------------------------------------------------------------------


@dataclass
class SlowClient:
    """One connection of the round: what it trickles, when it opened, when the server closed it."""

    kind: str  # idle | head | body
    sock: socket.socket
    opened: float
    head_done: float | None = None
    closed: float | None = None
    answer: bytes = b""
    sent: int = 0


def slow_round(server: Server, path: str, headers: dict[str, str], count: int, limit: float) -> list[SlowClient]:
    """`count` idle, head-trickling and body-trickling connections; each followed until the server closes it."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\n{extra}Content-Length: 1000\r\n"
    clients = []
    selector = selectors.DefaultSelector()
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.setblocking(False)
        client = SlowClient(("idle", "head", "body")[i % 3], sock, time.monotonic())
        if client.kind == "head":  # the request line and some headers, then one more header line at a time
            sock.send(head.encode())
        elif client.kind == "body":  # the whole head, then one byte of the body at a time
            sock.send((head + "\r\n").encode())
            client.head_done = time.monotonic()
        clients.append(client)
        selector.register(sock, selectors.EVENT_READ, client)
    next_trickle = time.monotonic() + 0.5
    end = time.monotonic() + limit
    while any(c.closed is None for c in clients) and time.monotonic() < end:
        for key, _ in selector.select(timeout=0.05):
            client = key.data
            try:
                chunk = client.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            client.answer += chunk
            if not chunk:
                client.closed = time.monotonic()
                selector.unregister(client.sock)
        if time.monotonic() >= next_trickle:
            next_trickle += 0.5
            for client in clients:
                if client.closed is None and client.kind != "idle":
                    piece = f"X-Slow-{client.sent}: a\r\n".encode() if client.kind == "head" else b" "
                    with suppress(OSError):
                        client.sock.send(piece)
                    client.sent += 1
    for client in clients:
        client.sock.close()
    selector.close()
    return clients


def f5(root: Path, bundle: Path, rounds: int, count: int) -> dict[str, Any]:
    limits = {"SPECSCAN_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "SPECSCAN_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    results: dict[str, Any] = {"header_timeout_s": HEADER_TIMEOUT, "body_timeout_s": BODY_TIMEOUT,
                               "rounds": rounds, "connections_per_round": count, "trickle_every_s": 0.5}
    for name in ("serve", "app"):
        home = root / f"f5-{name}"
        if name == "serve":
            key, _ = new_key(home)
            args, path = ["--model", str(bundle)], "/score"
            headers = {**auth(key), "Content-Type": "application/json"}
        else:
            args, path, headers = ["--dev"], "/login", {"Content-Type": "application/x-www-form-urlencoded"}
            limits = {**limits, "SPECSCAN_SCORING_URL": f"http://127.0.0.1:{free_port()}"}
        with running(name, home, *args, env=limits) as server:
            httpx.get(server.url + ("/ping" if name == "serve" else "/login"))
            rss = [server.rss_kib()]
            late, open_after = 0, 0
            close_s: dict[str, list[float]] = collections.defaultdict(list)
            statuses: collections.Counter[str] = collections.Counter()
            for _ in range(rounds):
                clients = slow_round(server, path, headers, count, limit=HEADER_TIMEOUT + BODY_TIMEOUT + 10)
                for c in clients:
                    if c.closed is None:
                        open_after += 1
                        continue
                    start = c.head_done if c.kind == "body" else c.opened
                    took = c.closed - start  # type: ignore[operator]
                    close_s[c.kind].append(took)
                    late += took > (BODY_TIMEOUT if c.kind == "body" else HEADER_TIMEOUT) + 1.0
                    statuses[c.answer.split(b" ", 2)[1].decode() if c.answer.startswith(b"HTTP/") else "none"] += 1
                time.sleep(1)
                rss.append(server.rss_kib())
        results[name] = {
            "still_open_at_the_end": open_after, "closed_later_than_timeout_plus_1s": late,
            "close_after_s": {kind: {"min": round(min(v), 2), "max": round(max(v), 2)} for kind, v in close_s.items()},
            "answers": dict(statuses), "rss_kib_before_and_after_each_round": rss}
        log(f"F5 {name}: {results[name]}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True, help="a model bundle directory to serve")
    parser.add_argument("--postgres", default=os.environ.get("SPECSCAN_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server (any database on it) where F3 may create and drop a database")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "security.json")
    parser.add_argument("--keep-work", action="store_true", help="keep the temp directory (server logs)")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="specscan-secbench-"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    results: dict[str, Any] = {"conditions": {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": commit, "cores": os.cpu_count(),
        "python": platform.python_version(), "bundle": str(options.bundle),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}}
    try:
        results["F1"] = f1(root, bursts=20, size=30)
        results["F2"] = f2(root, options.bundle, tries=20)
        results["F3"] = f3(root, options.bundle, options.postgres, requests=400)
        results["F4"] = f4(root, options.bundle, seconds=10, attackers=4)
        results["F5"] = f5(root, options.bundle, rounds=3, count=100)
    finally:
        results["conditions"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        if not options.keep_work:
            shutil.rmtree(root, ignore_errors=True)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {options.out}" + (f"; servers' logs in {root}" if options.keep_work else ""))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
