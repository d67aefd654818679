"""HTTP plumbing of the scoring service: bounded bodies, API-key checks, item checks, errors, access logs."""

from __future__ import annotations

import logging
import re
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from specscan.scoring.apikeys import ApiKeyStore, Caller, KeysUnreadable, Role
from specscan.scoring.metrics import ServiceMetrics
from specscan.texts import text_problem

log = logging.getLogger("specscan.scoring.access")
REQUEST_ID = re.compile(r"^[\w.:-]{1,64}$")
JSON_TYPES = ("application/json",)
MAX_GZIP_MEMBERS = 16  # legitimate clients send one; each further member costs an inflater
INFLATE_CHUNK = 64 << 10  # compressed bytes handed to zlib at a time

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


CLIENT_CLOSED_REQUEST = 499


class ApiError(Exception):
    """A request the service refuses: an HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def request_id(request: Request) -> str:
    return request.scope["state"]["request_id"]


def error_response(request_id: str | None, status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "request_id": request_id}, status_code=status, headers=headers)


def authorize(request: Request, keys: ApiKeyStore, role: Role) -> Caller:
    """The caller behind the request's `Authorization: Bearer <key>`; 401 without a valid key, 403 without `role`,
    503 while the key file cannot be read (fail closed; the store logs why)."""
    header = request.headers.get("authorization")
    challenge = {"WWW-Authenticate": "Bearer"}
    if not header:
        raise ApiError(401, "missing API key: send it as 'Authorization: Bearer <key>'", challenge)
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "malformed Authorization header: expected 'Bearer <key>'", challenge)
    try:
        caller = keys.verify(key.strip())
    except KeysUnreadable:
        raise ApiError(503, "the service cannot read its API keys, so it accepts none; retry later",
                       {"Retry-After": "5"}) from None
    if caller is None:
        raise ApiError(401, "invalid API key", challenge)
    if not caller.may(role):
        raise ApiError(403, f"this API key has role {caller.role!r}; this endpoint needs {role!r}")
    request.scope["state"]["caller"] = caller.key_id
    return caller


async def read_body(request: Request, *, limit: int, content_types: tuple[str, ...] = JSON_TYPES) -> bytes:
    """The request body, at most `limit` bytes both as sent and after decompression (gzip, deflate)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in content_types:
        raise ApiError(415, f"content type {content_type or 'missing'!r} is not accepted; send {content_types[0]}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, f"request body over the limit of {limit} bytes")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate"):
        raise ApiError(415, f"content encoding {encoding!r} is not accepted; use gzip, deflate or none")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nginx's 499: the caller's doing, counted and logged as such, not a 500
        raise ApiError(CLIENT_CLOSED_REQUEST, "the client closed the connection before the whole body") from None
    body = b"".join(chunks)
    if encoding == "identity":
        return body
    return await run_in_threadpool(inflate, body, encoding, limit=limit)  # CPU work: never on the event loop


def inflate(body: bytes, encoding: str, *, limit: int) -> bytes:
    """`body` decompressed (gzip, up to MAX_GZIP_MEMBERS members, or deflate), at most `limit` bytes.

    Linear in the body: zlib gets the body in slices of a memoryview, so a member's leftover input,
    which zlib copies, is at most INFLATE_CHUNK bytes, never the rest of the body."""
    data = memoryview(body)
    inflated = bytearray()
    wbits = zlib.MAX_WBITS | (16 if encoding == "gzip" else 0)
    position = members = 0
    while True:  # a gzip body may hold several members (RFC 1952 2.2), inflated one after another
        if members == MAX_GZIP_MEMBERS:
            raise ApiError(400, f"request body has more than {MAX_GZIP_MEMBERS} gzip members")
        members += 1
        inflater = zlib.decompressobj(wbits)
        while not inflater.eof:
            piece = data[position:position + INFLATE_CHUNK]
            if not piece:
                raise ApiError(400, f"request body is truncated {encoding} data")
            try:
                inflated += inflater.decompress(piece, limit + 1 - len(inflated))
            except zlib.error:
                raise ApiError(400, f"request body is not valid {encoding} data") from None
            if len(inflated) > limit or inflater.unconsumed_tail:
                raise ApiError(413, f"request body over the limit of {limit} bytes after decompression")
            position += len(piece) - len(inflater.unused_data)
        if position == len(data):
            return bytes(inflated)
        if encoding != "gzip":
            raise ApiError(400, f"request body has data after the end of its {encoding} stream")


def check_texts(items: Any, *, max_items: int, max_chars: int) -> list[str]:
    """`items` as texts to score, or a 422 naming the first bad item."""
    if not isinstance(items, list):
        raise ApiError(422, "the texts must be a JSON list")
    if not items:
        raise ApiError(422, "no texts to score: the list is empty")
    if len(items) > max_items:
        raise ApiError(422, f"{len(items)} texts in one request; the most is {max_items}")
    for i, item in enumerate(items):
        problem = text_problem(item, max_chars=max_chars)
        if problem is not None:
            raise ApiError(422, f"item {i} {problem}")
    return items


class ObserveRequests:
    """Pure ASGI middleware: request id, metrics, one JSON access log line.

    The request id is always the service's own (X-Request-ID out), so no caller can choose the id that
    another caller's prediction is collected and joined under; a caller's own X-Request-ID, if it is a
    sane one, is kept apart as the client request id (collected, logged, and echoed as X-Client-Request-ID)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], metrics: ServiceMetrics,
                 tracer: Any | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        client_rid = given if REQUEST_ID.match(given) else None
        rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"], state["client_request_id"] = rid, client_rid
        status = 500
        id_headers = [(b"x-request-id", rid.encode())]
        if client_rid is not None:
            id_headers.append((b"x-client-request-id", client_rid.encode()))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *id_headers]
            await send(message)

        try:
            if self.tracer is None:
                await self.app(scope, receive, send_with_id)
            else:
                with self.tracer.start_as_current_span(f"{scope['method']} {scope['path']}") as span:
                    span.set_attribute("specscan.request_id", rid)
                    if client_rid is not None:
                        span.set_attribute("specscan.client_request_id", client_rid)
                    await self.app(scope, receive, send_with_id)
                    span.set_attribute("http.status_code", status)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(seconds)
            log.info("%s %s %d", scope["method"], endpoint, status, extra={
                "request_id": rid, "client_request_id": client_rid, "endpoint": endpoint, "status": status,
                "duration_ms": round(seconds * 1000, 3), "items": state.get("items"),
                "caller": state.get("caller"), "model_version": state.get("model_version")})
