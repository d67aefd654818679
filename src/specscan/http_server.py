"""The HTTP server both services run on: uvicorn with httptools, plus the limits neither of them sets.

uvicorn arms no timer before a connection's first answer and httptools puts no bound on a request head, so one
client could hold connections open forever or send megabytes of headers (security review F5). httptools is kept
(uvicorn's h11 answered 25-30 % fewer `/score` requests per second) and guarded here:

- `HeadGuard` (the protocol): a request head must be complete `header_timeout` seconds after the connection opened
  or after the previous answer (else 408, or just a close if nothing came), and fit in `max_header_bytes` (else
  431); an HTTP/1.1 request needs exactly one Host header (else 400, as RFC 9112 and h11 have it);
- `BodyGuard` (ASGI middleware): a request body must arrive within `body_timeout` seconds of its head (else 408),
  and a body of stated length the app answers without reading is read and discarded first, up to
  `max_drain_bytes`, so a client that writes its whole body before reading gets the answer instead of a
  connection reset (a chunked body is not waited for: the answer closes the connection); a body that came in the
  same read as its head (most requests) is already in memory, and goes to the app untouched;
- `uvicorn_options`: the protocol, and uvicorn's own `limit_concurrency` and `timeout_keep_alive`, from settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from specscan.settings import Settings

log = logging.getLogger(__name__)

HEAD_END = b"\r\n\r\n"


class HostHeaderError(Exception):
    """An HTTP/1.1 request without exactly one Host header."""


class HeadGuard(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size bound on each request head, and a Host check."""

    header_timeout: float = 10.0
    max_header_bytes: int = 16 << 10

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes: int | None = 0  # read of the head in progress; None from a head's end to its message's
        self._head_tail = b""  # the head's last 3 bytes so far: its end may be split across two reads
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            room = self.max_header_bytes - self._head_bytes
            if len(data) > room and HEAD_END not in self._head_tail + data[:room]:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
                return
            self._head_bytes += len(data)
            self._head_tail = (self._head_tail + data[-3:])[-3:]
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > self.max_header_bytes \
                and not self.transport.is_closing():  # still no head: the end found above was leading empty lines
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._stop_head_timer()
        hosts = sum(name == b"host" for name, _ in self.headers)
        if hosts > 1 or (hosts == 0 and self.parser.get_http_version() == "1.1"):
            raise HostHeaderError  # httptools turns it into a parser error: uvicorn answers 400 and closes
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What follows is the next request's head. Bytes of it that came in the same read as this message's end
        # are not counted: a pipelined head can pass the bound by at most one read.
        self._head_bytes, self._head_tail = 0, b""

    def on_response_complete(self) -> None:
        waiting = not self.pipeline  # no further request already in: the next head is on the clock
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._start_head_timer()

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT)
        else:  # an idle connection: nothing to answer
            self.transport.close()

    def _refuse(self, status: HTTPStatus) -> None:
        """Answer `status` and close: the request never reaches the app."""
        log.info("%d %s from %s: connection closed", status.value, status.phrase, self.client)
        phrase = status.phrase.encode()
        self.transport.write(b"HTTP/1.1 %d %b\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%b" % (status.value, phrase, len(phrase), phrase))
        self.transport.close()


def head_guard(settings: Settings) -> type[HeadGuard]:
    """`HeadGuard` with the settings' head limits (uvicorn makes one per connection)."""

    class ConfiguredHeadGuard(HeadGuard):
        header_timeout = settings.header_timeout
        max_header_bytes = settings.max_header_bytes

    return ConfiguredHeadGuard


class RequestBody:
    """One request's body as the app reads it: every read within the body's deadline, then what is left drained."""

    def __init__(self, headers: dict[bytes, bytes], receive: Receive, *, seconds: float, drain_bytes: int) -> None:
        length = headers.get(b"content-length", b"")
        self._receive = receive
        self.deadline = asyncio.get_running_loop().time() + seconds
        self.drain_bytes = drain_bytes
        self.declared = int(length) if length.isdigit() else None
        self.expects_continue = headers.get(b"expect", b"").lower() == b"100-continue"
        self.complete = False
        # around the app, armed only while it waits for the body: the app is cancelled when a read passes the
        # deadline (asyncio's own timeout: ~5 µs a request less than anyio's cancel scope)
        self.reading = asyncio.timeout(None)

    async def receive(self) -> Message:
        """The next body message; past the deadline, the app is cancelled instead."""
        if self.complete:  # e.g. waiting for a disconnect: not the body's time
            return await self._receive()
        self.reading.reschedule(self.deadline)
        try:
            message = await self._receive()
        finally:
            if not self.reading.expired():
                self.reading.reschedule(None)
        self._note(message)
        return message

    async def drain(self) -> bool:
        """Read and discard the rest of the body: whether it all came, within the deadline and `drain_bytes`."""
        if self.complete:
            return True
        if self.expects_continue or self.declared is None or self.declared > self.drain_bytes:
            return False  # not sent yet, of no stated length (chunked), or too long to wait for: close instead
        drained = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(self.deadline):
                while not self.complete and drained <= self.drain_bytes:
                    message = await self._receive()
                    self._note(message)
                    drained += len(message.get("body", b""))
        return self.complete and drained <= self.drain_bytes

    def _note(self, message: Message) -> None:
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True


class BodyGuard:
    """Pure ASGI middleware: each request body within `seconds` (else `too_slow`'s answer, 408), and a body the
    app did not read drained before its answer (up to `drain_bytes`, else the answer closes the connection)."""

    def __init__(self, app: ASGIApp, *, seconds: float, drain_bytes: int,
                 too_slow: Callable[[Scope], Response]) -> None:
        self.app = app
        self.seconds = seconds
        self.drain_bytes = drain_bytes
        self.too_slow = too_slow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _body_in_memory(receive):  # nothing to wait for, nothing left to drain
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # the last of each name (repeated ones are 400s)
        if b"transfer-encoding" not in headers and headers.get(b"content-length", b"0") == b"0":  # no body
            await self.app(scope, receive, send)
            return
        body = RequestBody(headers, receive, seconds=self.seconds, drain_bytes=self.drain_bytes)
        answered = False

        async def send_after_body(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                if not await body.drain():
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            async with body.reading:
                await self.app(scope, body.receive, send_after_body)
        except TimeoutError:
            if not body.reading.expired():
                raise  # the app's own
        if body.reading.expired() and not answered:
            log.info("request body not in after %s s: 408", self.seconds)
            response = self.too_slow(scope)
            response.headers["connection"] = "close"
            await response(scope, receive, send)


def _body_in_memory(receive: Receive) -> bool:
    """Whether the whole request body (or none) has been read off the connection already: uvicorn's httptools
    cycle (the `receive` it hands the app) says so once the parser saw the message's end, as it has for most
    requests, whose body comes in the same read as their head. Any other `receive`: not known, so False."""
    return getattr(getattr(receive, "__self__", None), "more_body", True) is False


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """`uvicorn.run` arguments for the settings' connection limits (the body limits are `BodyGuard`'s)."""
    return {"http": head_guard(settings), "limit_concurrency": settings.max_connections,
            "timeout_keep_alive": settings.keep_alive_timeout}
