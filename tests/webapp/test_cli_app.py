"""`specscan app` as a person starts it on their own machine: plain http://127.0.0.1 takes `--dev`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from webapp_support import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Polls `url` until it answers; fails with the end of `log` if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}: {log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} not answering in {timeout} s: {log.read_text()[-3000:]}")


def test_with_dev_a_person_signs_in_over_plain_http_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "password").write_text(PASSWORD)
    port, log = free_port(), tmp_path / "app.log"
    env = {**os.environ, "SPECSCAN_HOME": str(tmp_path / "home"), "SPECSCAN_ADMIN_USERNAME": "ada",
           "SPECSCAN_ADMIN_PASSWORD_FILE": str(tmp_path / "password"), "SPECSCAN_LOG_FORMAT": "text"}
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "specscan.cli", "app", "--dev", "--port", str(port)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/login", process, log)
        with httpx.Client(base_url=url, follow_redirects=True) as browser:  # sends no Secure cookie over http
            token = CSRF.search(browser.get("/login").text).group(1)
            signed_in = browser.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
            assert signed_in.status_code == 200 and signed_in.url.path == "/components"
            assert browser.get("/admin/users").status_code == 200
    finally:
        process.terminate()
        process.wait(15)
    assert "without Secure" in log.read_text()  # the log says so
