"""Both HTTP servers under slow, oversized and malformed clients: real `specscan serve` and `specscan app` processes
on loopback, real sockets (security review F5 and its Host note)."""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scoring_support import copy_home, create_keys, free_port, start_server, stop_process, wait_until_answering

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MAX_HEADER_BYTES = 4096
MAX_CONNECTIONS = 8
Connect = Callable[[], socket.socket]
LIMITS = {"SPECSCAN_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "SPECSCAN_BODY_TIMEOUT": str(BODY_TIMEOUT),
          "SPECSCAN_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES), "SPECSCAN_MAX_CONNECTIONS": str(MAX_CONNECTIONS)}


@dataclass
class Target:
    """A running server and what to ask it: a cheap GET, and a POST whose body it reads (of `content_type`)."""

    name: str
    port: int
    get: str
    post: str
    content_type: str
    headers: dict[str, str]
    too_large: int  # a body size it refuses with 413


def _start_web_app(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SPECSCAN_")}, **LIMITS,
           "SPECSCAN_HOME": str(root / "home"), "SPECSCAN_SCORING_URL": f"http://127.0.0.1:{free_port()}"}
    log = root / "app.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "specscan.cli", "app", "--port", str(port)],
                                   env=env, cwd=root, stdout=output, stderr=subprocess.STDOUT)
    wait_until_answering(f"http://127.0.0.1:{port}/login", process, log, 60)
    return process, port


@pytest.fixture(scope="module", params=[pytest.param("serve", marks=pytest.mark.slow), "app"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp(f"limits-{request.param}")
    if request.param == "serve":
        home = copy_home(request.getfixturevalue("registered_home"), root / "home")
        key = create_keys(home).scorer
        server = start_server(home, env={**LIMITS, "SPECSCAN_MAX_BODY_BYTES": "20000"})
        yield Target("serve", server.port, "/ping", "/score", "application/json",
                     {"Authorization": f"Bearer {key}"}, 16 << 20)
        server.stop()
    else:
        process, port = _start_web_app(root)
        yield Target("app", port, "/login", "/login", "application/x-www-form-urlencoded", {}, 24 << 20)
        stop_process(process)


@pytest.fixture
def connect(target: Target) -> Iterator[Callable[[], socket.socket]]:
    """Opens client sockets to the target; closes them after the test."""
    opened: list[socket.socket] = []

    def one() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", target.port))
        sock.settimeout(10)
        opened.append(sock)
        return sock

    yield one
    for sock in opened:
        sock.close()


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed `sock` within `seconds`, and what it wrote before that."""
    received = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def _head(target: Target, method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", *lines, "", ""]).encode()


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(target: Target, connect: Connect) -> None:
    sock = connect()
    opened = time.monotonic()

    closed, answer = _closed_within(sock, HEADER_TIMEOUT + 3)

    assert closed and answer == b""
    assert time.monotonic() - opened >= HEADER_TIMEOUT * 0.9


def test_a_head_trickled_line_by_line_is_cut_off_with_408(target: Target, connect: Connect) -> None:
    sock = connect()
    sock.sendall(f"GET {target.get} HTTP/1.1\r\nHost: x\r\n".encode())
    for i in range(int(HEADER_TIMEOUT * 4 + 8)):  # one header line every 0.25 s, never the blank line
        time.sleep(0.25)
        if select.select([sock], [], [], 0)[0]:
            break
        sock.sendall(b"X-%d: a\r\n" % i)

    closed, answer = _closed_within(sock, 1)

    assert closed
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_body_trickled_byte_by_byte_gets_408_and_the_connection_closed(target: Target, connect: Connect) -> None:
    sock = connect()
    head = _head(target, "POST", target.post, "Host: x", f"Content-Type: {target.content_type}",
                 "Content-Length: 100", *(f"{k}: {v}" for k, v in target.headers.items()))
    sock.sendall(head + b"a")
    started = time.monotonic()
    answer = b""
    while time.monotonic() - started < BODY_TIMEOUT + 4 and not answer:
        time.sleep(0.25)
        if select.select([sock], [], [], 0)[0]:
            answer = sock.recv(65536)
        else:
            sock.sendall(b"a")

    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started >= BODY_TIMEOUT * 0.9
    assert _closed_within(sock, 2)[0]


def test_a_huge_head_is_refused_before_it_is_read_whole(target: Target, connect: Connect) -> None:
    sock = connect()
    pad = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    sent = 0
    try:
        sock.sendall(_head(target, "GET", target.get, "Host: x")[:-2])
        while sent < 64 << 20:  # the review's 64 MiB header block
            sock.sendall(pad * 64)
            sent += len(pad) * 64
        sock.sendall(b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass

    closed, answer = _closed_within(sock, 5)

    assert sent < 8 << 20, f"the server read {sent} bytes of headers"
    assert closed and not answer.startswith(b"HTTP/1.1 200")


def test_a_head_of_exactly_the_limit_is_served(target: Target, connect: Connect) -> None:
    lines = ["Host: x", "Connection: close"]
    pad = "X-Pad: " + "a" * (MAX_HEADER_BYTES - len(_head(target, "GET", target.get, *lines)) - len("X-Pad: \r\n"))
    head = _head(target, "GET", target.get, *lines, pad)
    assert len(head) == MAX_HEADER_BYTES
    sock = connect()
    sock.sendall(head)

    answer = _closed_within(sock, 5)[1]

    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


@pytest.mark.parametrize("hosts", [[], ["a.example", "b.example"]], ids=["no Host", "two Hosts"])
def test_an_http_1_1_request_needs_exactly_one_host_header(target: Target, connect: Connect, hosts: list[str]) -> None:
    sock = connect()
    sock.sendall(_head(target, "GET", target.get, *(f"Host: {h}" for h in hosts)))

    closed, answer = _closed_within(sock, 5)

    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert closed


def test_an_http_1_0_request_may_leave_out_host(target: Target, connect: Connect) -> None:
    sock = connect()
    sock.sendall(f"GET {target.get} HTTP/1.0\r\n\r\n".encode())

    assert _closed_within(sock, 5)[1].startswith(b"HTTP/1.1 200 ")


def test_a_client_that_writes_a_whole_over_limit_body_before_reading_gets_the_413(target: Target) -> None:
    body = b"a" * target.too_large
    statuses = []
    for _ in range(3):  # the standard library's client: it sends the whole body, then reads
        connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        try:
            connection.request("POST", target.post, body, {
                **target.headers, "Content-Type": target.content_type, "Connection": "close"})
            response = connection.getresponse()
            statuses.append((response.status, response.read()))
        finally:
            connection.close()

    assert [status for status, _ in statuses] == [413] * 3
    if target.name == "serve":
        assert b'"error":"request body over the limit' in statuses[0][1]


def test_requests_over_the_connection_limit_get_503(target: Target, connect: Connect) -> None:
    for _ in range(MAX_CONNECTIONS):
        connect()
    sock = connect()
    sock.sendall(_head(target, "GET", target.get, "Host: x", "Connection: close"))

    answer = _closed_within(sock, 5)[1]

    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
