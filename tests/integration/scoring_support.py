"""Running `specscan serve` as a real process on loopback, for the scoring-service tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from specscan.artifact.bundle import read_manifest
from specscan.registry import SHA_TAGS, Registry
from specscan.scoring.apikeys import ApiKeyStore
from specscan.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_home(source: Path, target: Path) -> Path:
    """A private copy of a SPECSCAN_HOME (registry, artifacts and caches), safe to change."""
    shutil.copytree(source, target)
    # the SQLite tracking store records absolute artifact locations: keep them pointing at the copy

    with sqlite3.connect(target / "mlflow.db") as db:
        for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                              ("model_versions", "source"), ("model_versions", "storage_location"),
                              ("logged_models", "artifact_location")):
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                           (str(source.resolve()), str(target.resolve())))
    return target


def register_copy_of(home: Path, version: int) -> int:
    """Register the bundle of `version` again as a new version (same model, new number)."""
    registry = Registry(Settings(home=home))
    bundle = registry.bundle_path(f"models:/{registry.name}/{version}")
    manifest = read_manifest(bundle)
    with registry.mlflow.start_run(experiment_id=registry.experiment_id(), run_name="register-copy"):
        uri = registry.log_bundle(bundle)
    return registry.register(uri, tags={tag: manifest.sha256[file] for file, tag in SHA_TAGS.items()})


@dataclass
class Keys:
    scorer: str
    admin: str


def create_keys(home: Path) -> Keys:
    store = ApiKeyStore(Settings(home=home).resolved_api_keys_file)
    return Keys(scorer=store.create("scorer", note="tests")[0], admin=store.create("admin", note="tests")[0])


@dataclass
class Server:
    """A `specscan serve` process; `url` is where it listens, `log` its stderr."""

    home: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll `url` until it answers 200; fail with the end of `log` if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_process(process)
    raise AssertionError(f"{url} not answering in {timeout} s: {log.read_text()[-3000:]}")


def start_server(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
                 port: int | None = None) -> Server:
    """Start `specscan serve` (on `port`, or a free one) and wait until /v2/health/ready answers 200."""
    port = port or free_port()
    log = home / f"serve-{port}.log"
    full_env = {**os.environ, "SPECSCAN_HOME": str(home), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "specscan.cli", "serve", "--port", str(port), *args],
        env=full_env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    server = Server(home, port, process, log, env or {})
    wait_until_answering(f"{server.url}/v2/health/ready", process, log, timeout)
    return server
