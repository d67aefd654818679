"""The limits both servers share: request heads bounded in time and size (the protocol, fed bytes directly), request
bodies bounded in time and drained before an early answer (the middleware, fed ASGI messages)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from uvicorn.config import Config
from uvicorn.server import ServerState

from specscan.http_server import BodyGuard, HeadGuard

TIMEOUT = 0.2
LIMIT = 200
Message = dict[str, Any]


class Guard(HeadGuard):
    header_timeout = TIMEOUT
    max_header_bytes = LIMIT


class Transport(asyncio.Transport):
    """Collects what the protocol writes; remembers whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Served:
    """An ASGI app answering 200 "ok" (after `delay` seconds) and counting the requests it saw."""

    def __init__(self, delay: float = 0) -> None:
        self.delay = delay
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.requests += 1
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _connection(app: Served) -> tuple[HeadGuard, Transport]:
    config = Config(app=app, log_config=None, lifespan="off")
    config.load()
    protocol = Guard(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def _head(size: int, *lines: str, version: str = "1.1") -> bytes:
    """A GET request head of exactly `size` bytes (padded with one X-Pad header)."""
    head = "".join(f"{line}\r\n" for line in (f"GET / HTTP/{version}", *lines))
    pad = size - len(head) - len("X-Pad: \r\n\r\n")
    assert pad >= 0
    return f"{head}X-Pad: {'a' * pad}\r\n\r\n".encode()


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def _settle(seconds: float = 0.02) -> None:
    await asyncio.sleep(seconds)


# --- HeadGuard ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", [1, 100, LIMIT - 4, LIMIT - 3, LIMIT - 2, LIMIT - 1])
def test_a_head_of_exactly_the_limit_is_served_however_it_is_split(split: int) -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        head = _head(LIMIT, "Host: x")
        protocol.data_received(head[:split])
        protocol.data_received(head[split:])
        await _settle()
        assert transport.written.startswith(b"HTTP/1.1 200 ") and app.requests == 1

    _run(scenario)


@pytest.mark.parametrize("reads", [1, 7], ids=["in one read", "in several reads"])
def test_a_head_one_byte_over_the_limit_gets_431_and_never_reaches_the_app(reads: int) -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        head = _head(LIMIT + 1, "Host: x")
        step = -(-len(head) // reads)
        for start in range(0, len(head), step):
            if not transport.closed:
                protocol.data_received(head[start:start + step])
        await _settle()
        assert transport.written.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        assert transport.closed and app.requests == 0

    _run(scenario)


@pytest.mark.parametrize("head_first", [0, 1, 2, 3], ids=lambda n: f"last {n} head bytes with the body")
def test_a_read_holding_the_end_of_a_head_within_the_limit_and_a_longer_body_is_served(head_first: int) -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        body = b"x" * (LIMIT * 3)
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if head_first:  # the head's end split across two reads
            protocol.data_received(head[:-head_first])
        protocol.data_received(head[len(head) - head_first if head_first else 0:] + body)
        await _settle()
        assert transport.written.startswith(b"HTTP/1.1 200 ")

    _run(scenario)


def test_empty_lines_before_a_head_do_not_hide_that_it_is_too_large() -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        protocol.data_received(b"\r\n\r\n" + _head(LIMIT * 2, "Host: x")[:-2])
        await _settle()
        assert transport.written.startswith(b"HTTP/1.1 431 ") and transport.closed and app.requests == 0

    _run(scenario)


def test_two_pipelined_requests_in_one_read_are_both_served() -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        protocol.data_received(_head(100, "Host: x") * 2)
        await _settle()
        assert transport.written.count(b"HTTP/1.1 200 ") == 2 and not transport.closed

    _run(scenario)


def test_a_connection_that_sends_nothing_is_closed_without_an_answer_after_the_timeout() -> None:
    async def scenario() -> None:
        protocol, transport = _connection(Served())
        await _settle(TIMEOUT * 0.5)
        assert not transport.closed
        await _settle(TIMEOUT)
        assert transport.closed and transport.written == b""

    _run(scenario)


def test_a_head_not_complete_in_time_gets_408() -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await _settle(TIMEOUT * 0.5)
        protocol.data_received(b"X-More: a\r\n")  # arriving bytes do not restart the clock
        await _settle(TIMEOUT)
        assert transport.written.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert transport.closed and app.requests == 0

    _run(scenario)


def test_the_clock_restarts_after_each_answer_and_stops_while_a_request_is_handled() -> None:
    async def scenario() -> None:
        app = Served(delay=TIMEOUT * 2)  # handling takes longer than the header timeout
        protocol, transport = _connection(app)
        protocol.data_received(_head(100, "Host: x"))
        await _settle(TIMEOUT * 2.5)
        assert transport.written.count(b"HTTP/1.1 200 ") == 1 and not transport.closed
        protocol.data_received(_head(100, "Host: x"))  # the next request, half a timeout after the answer
        await _settle(TIMEOUT * 2.5)
        assert transport.written.count(b"HTTP/1.1 200 ") == 2 and not transport.closed
        await _settle(TIMEOUT * 1.5)
        assert transport.closed  # then idle too long

    _run(scenario)


@pytest.mark.parametrize(("version", "hosts", "status"), [
    ("1.1", [], b"400"), ("1.1", ["a", "b"], b"400"), ("1.0", ["a", "b"], b"400"), ("1.0", [], b"200"),
    ("1.1", ["a"], b"200")])
def test_a_request_needs_one_host_header_and_http_1_1_needs_it(version: str, hosts: list[str], status: bytes) -> None:
    async def scenario() -> None:
        app = Served()
        protocol, transport = _connection(app)
        protocol.data_received(_head(100, *(f"Host: {h}" for h in hosts), version=version))
        await _settle()
        assert transport.written.startswith(b"HTTP/1.1 " + status + b" ")
        assert app.requests == (1 if status == b"200" else 0)

    _run(scenario)


# --- BodyGuard ------------------------------------------------------------------------------------------------


class Client:
    """The ASGI side of one request: its body in chunks (each after `pause` seconds), what the app sent back."""

    def __init__(self, chunks: list[bytes], headers: dict[str, str], pause: float = 0) -> None:
        self.chunks = chunks
        self.pause = pause
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.read = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.read >= len(self.chunks):
            await asyncio.sleep(3600)  # nothing more comes; the real server says so with http.disconnect
        await asyncio.sleep(self.pause)
        self.read += 1
        return {"type": "http.request", "body": self.chunks[self.read - 1], "more_body": self.read < len(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def closes(self) -> bool:
        return (b"connection", b"close") in self.sent[0].get("headers", [])


def _guarded(app: Any, client: Client, *, drain_bytes: int = 1000) -> None:
    guard = BodyGuard(app, seconds=TIMEOUT, drain_bytes=drain_bytes,
                      too_slow=lambda scope: PlainTextResponse("too slow", status_code=408))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": client.headers}
    asyncio.run(guard(scope, client.receive, client.send))


async def _refuse_unread(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("refused", status_code=413)(scope, receive, send)


async def _read_then_answer(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await asyncio.sleep(TIMEOUT * 2)  # work after the body is in is not on the body's clock
    await PlainTextResponse("done")(scope, receive, send)


def test_a_body_answered_unread_is_drained_first_and_the_connection_kept() -> None:
    client = Client([b"x" * 100] * 3, {"Content-Length": "300"})

    _guarded(_refuse_unread, client)

    assert client.read == 3
    assert client.status == 413 and not client.closes


def test_a_declared_body_longer_than_the_drain_bound_is_not_read_and_the_answer_closes() -> None:
    client = Client([b"x" * 100] * 30, {"Content-Length": "3000"})

    _guarded(_refuse_unread, client)

    assert client.read == 0
    assert client.status == 413 and client.closes


def test_a_chunked_body_of_no_stated_length_is_not_read_and_the_answer_closes() -> None:
    # how long it is cannot be known before reading it, so it is not waited for (the web app's 411 relies on this)
    client = Client([b"x" * 100] * 3, {"Transfer-Encoding": "chunked"})

    _guarded(_refuse_unread, client)

    assert client.read == 0
    assert client.status == 413 and client.closes


def test_a_body_waiting_for_100_continue_is_not_asked_for() -> None:
    client = Client([b"x" * 100], {"Content-Length": "100", "Expect": "100-continue"})

    _guarded(_refuse_unread, client)

    assert client.read == 0 and client.closes


def test_a_body_too_slow_to_drain_gets_the_answer_and_a_close() -> None:
    client = Client([b"x"] * 10, {"Content-Length": "10"}, pause=TIMEOUT / 4)

    _guarded(_refuse_unread, client)

    assert client.status == 413 and client.closes and client.read < 10


def test_a_body_not_in_within_the_timeout_gets_408_and_a_close() -> None:
    client = Client([b"x"] * 10, {"Content-Length": "10"}, pause=TIMEOUT / 4)

    _guarded(_read_then_answer, client)

    assert client.status == 408 and client.closes
    assert client.sent[1]["body"] == b"too slow"


def test_the_time_after_the_body_is_in_is_not_limited() -> None:
    client = Client([b"x"] * 2, {"Content-Length": "2"})

    _guarded(_read_then_answer, client)

    assert client.status == 200 and not client.closes


def test_a_request_without_a_body_is_not_timed() -> None:
    async def waits_for_disconnect(scope: Any, receive: Any, send: Any) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT * 2):
                await receive()
        await PlainTextResponse("ok")(scope, receive, send)

    client = Client([], {})

    _guarded(waits_for_disconnect, client)

    assert client.status == 200 and not client.closes


@pytest.mark.parametrize("split", [False, True])
def test_a_body_that_came_with_its_head_reaches_the_app_as_read_and_a_later_one_on_the_clock(split: bool) -> None:
    """uvicorn has parsed the whole message when the body came in the same read as its head (most requests):
    there is nothing to wait for or drain, so the guard hands the app uvicorn's own `receive`."""
    handed: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        handed.append(getattr(receive, "__self__", None))
        while (await receive()).get("more_body"):
            pass
        await PlainTextResponse("ok")(scope, receive, send)

    guarded = BodyGuard(app, seconds=TIMEOUT, drain_bytes=1000,
                        too_slow=lambda scope: PlainTextResponse("too slow", status_code=408))
    config = Config(app=guarded, log_config=None, lifespan="off")
    config.load()
    transport = Transport()
    request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    cycles: list[Any] = []

    async def scenario() -> None:
        protocol = Guard(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)
        protocol.data_received(request[:-5] if split else request)
        cycles.append(protocol.cycle)
        await _settle()
        if split:
            protocol.data_received(request[-5:])
        await _settle()

    _run(scenario)

    assert transport.written.startswith(b"HTTP/1.1 200")
    assert (handed[0] is cycles[0]) is not split  # split: the guard's own receive, on the body's clock
