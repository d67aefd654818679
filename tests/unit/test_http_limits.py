"""Bounded request bodies (as sent and after gzip/deflate) and item checks, each refusal with a status and reason."""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
import zlib
from typing import Any

import pytest
from starlette.requests import Request

from specscan.scoring.http import INFLATE_CHUNK, ApiError, check_texts, read_body

LIMIT = 1000
BODY = b'{"texts": ["Cable sheathing, PVC with lead stabiliser"]}'
MAX_MEMBERS = 16  # the documented cap on gzip members in one body
EMPTY_MEMBER = gzip.compress(b"", mtime=0)


class Body:
    """An ASGI receive callable sending `chunks` in order; counts how many it was asked for."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.received = 0

    async def __call__(self) -> dict[str, Any]:
        if self.received >= len(self.chunks):
            return {"type": "http.disconnect"}
        self.received += 1
        return {"type": "http.request", "body": self.chunks[self.received - 1],
                "more_body": self.received < len(self.chunks)}


def _read(chunks: list[bytes] | bytes, *, content_type: str | None = "application/json",
          encoding: str | None = None, content_length: int | str | None = "auto", limit: int = LIMIT,
          content_types: tuple[str, ...] | None = None) -> bytes:
    chunks = [chunks] if isinstance(chunks, bytes) else chunks
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    if encoding is not None:
        headers.append((b"content-encoding", encoding.encode()))
    if content_length == "auto":
        content_length = sum(map(len, chunks))
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    request = Request({"type": "http", "method": "POST", "path": "/score", "headers": headers}, Body(chunks))
    kwargs = {} if content_types is None else {"content_types": content_types}
    return asyncio.run(read_body(request, limit=limit, **kwargs))


def _refused(**kwargs: Any) -> ApiError:
    chunks = kwargs.pop("chunks")
    with pytest.raises(ApiError) as caught:
        _read(chunks, **kwargs)
    return caught.value


# --- read_body ------------------------------------------------------------------------------------------------


def test_a_body_within_the_limit_is_returned_whole() -> None:
    assert _read([BODY[:10], BODY[10:30], BODY[30:]]) == BODY


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    assert _read(b"x" * LIMIT) == b"x" * LIMIT


def test_content_type_parameters_and_case_are_ignored() -> None:
    assert _read(BODY, content_type="Application/JSON; charset=utf-8") == BODY


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    receive = Body([b"x"])
    headers = [(b"content-type", b"application/json"), (b"content-length", str(LIMIT + 1).encode())]
    request = Request({"type": "http", "method": "POST", "path": "/score", "headers": headers}, receive)

    with pytest.raises(ApiError) as caught:
        asyncio.run(read_body(request, limit=LIMIT))

    assert (caught.value.status, caught.value.message) == (413, f"request body over the limit of {LIMIT} bytes")
    assert receive.received == 0


def test_a_streamed_body_over_the_limit_is_refused_as_soon_as_it_passes_it() -> None:
    receive = Body([b"x" * 300] * 10)
    headers = [(b"content-type", b"application/json")]  # chunked: no content-length
    request = Request({"type": "http", "method": "POST", "path": "/score", "headers": headers}, receive)

    with pytest.raises(ApiError) as caught:
        asyncio.run(read_body(request, limit=LIMIT))

    assert (caught.value.status, caught.value.message) == (413, f"request body over the limit of {LIMIT} bytes")
    assert receive.received == 4  # 1,200 bytes read, not 3,000


def test_a_body_longer_than_its_declared_length_is_still_bounded() -> None:
    error = _refused(chunks=[b"x" * 600, b"x" * 600], content_length=10)

    assert error.status == 413


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress),
                                                     ("GZIP", gzip.compress), (" deflate ", zlib.compress)])
def test_a_compressed_body_within_the_limit_is_inflated(encoding: str, compress: Any) -> None:
    compressed = compress(BODY * 10)

    assert _read([compressed[:7], compressed[7:]], encoding=encoding) == BODY * 10


def test_a_compressed_body_inflating_to_exactly_the_limit_is_accepted() -> None:
    assert _read(gzip.compress(b"x" * LIMIT), encoding="gzip") == b"x" * LIMIT


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_a_compression_bomb_is_refused_after_decompression(encoding: str, compress: Any) -> None:
    bomb = compress(b"0" * 500_000)
    assert len(bomb) < LIMIT  # small as sent

    error = _refused(chunks=bomb, encoding=encoding)

    assert (error.status, error.message) == (413, f"request body over the limit of {LIMIT} bytes after decompression")


def test_a_body_one_byte_over_the_limit_after_decompression_is_refused() -> None:
    error = _refused(chunks=gzip.compress(b"x" * (LIMIT + 1)), encoding="gzip")

    assert error.status == 413 and "after decompression" in error.message


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_truncated_compressed_data_is_a_400(encoding: str, compress: Any) -> None:
    error = _refused(chunks=compress(BODY * 5)[:-6], encoding=encoding)

    assert (error.status, error.message) == (400, f"request body is truncated {encoding} data")


@pytest.mark.parametrize(("encoding", "data"), [("gzip", BODY), ("deflate", BODY), ("deflate", gzip.compress(BODY)),
                                                ("gzip", zlib.compress(BODY))])
def test_data_that_is_not_in_the_declared_encoding_is_a_400(encoding: str, data: bytes) -> None:
    error = _refused(chunks=data, encoding=encoding)

    assert (error.status, error.message) == (400, f"request body is not valid {encoding} data")


def test_a_body_of_several_gzip_members_is_inflated_whole() -> None:
    body = gzip.compress(b'{"texts": ["first') + gzip.compress(b' half"]}')

    assert _read(body, encoding="gzip") == b'{"texts": ["first half"]}'


def test_up_to_sixteen_gzip_members_are_inflated_whole() -> None:
    body = b"".join(gzip.compress(b"%d," % i) for i in range(MAX_MEMBERS))

    assert _read(body, encoding="gzip") == b"".join(b"%d," % i for i in range(MAX_MEMBERS))


def test_a_body_of_more_gzip_members_than_the_cap_is_a_400_naming_the_cap() -> None:
    error = _refused(chunks=EMPTY_MEMBER * (MAX_MEMBERS + 1), encoding="gzip")

    assert (error.status, error.message) == (400, f"request body has more than {MAX_MEMBERS} gzip members")


class CountingInflaters:
    """Stands in for zlib.decompressobj: counts the inflaters made, the compressed bytes handed to them, and
    the threads they ran on."""

    def __init__(self) -> None:
        self.made = 0
        self.fed = 0
        self.threads: set[str] = set()
        self._real = zlib.decompressobj

    def __call__(self, *args: Any) -> Any:
        self.made += 1
        return _Counted(self, self._real(*args))


class _Counted:
    def __init__(self, counts: CountingInflaters, inflater: Any) -> None:
        self._counts, self._inflater = counts, inflater

    def decompress(self, data: Any, max_length: int = 0) -> bytes:
        self._counts.fed += len(data)
        self._counts.threads.add(threading.current_thread().name)
        return self._inflater.decompress(data, max_length)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inflater, name)


@pytest.fixture()
def inflaters(monkeypatch: pytest.MonkeyPatch) -> CountingInflaters:
    counting = CountingInflaters()
    monkeypatch.setattr(zlib, "decompressobj", counting)
    return counting


def test_a_body_of_many_gzip_members_is_refused_without_inflating_them_all(inflaters: CountingInflaters) -> None:
    body = EMPTY_MEMBER * ((1 << 20) // len(EMPTY_MEMBER))  # the review's 52,428 empty members in 1 MiB

    error = _refused(chunks=body, encoding="gzip", limit=2 << 20)

    assert error.status == 400 and f"more than {MAX_MEMBERS} gzip members" in error.message
    assert inflaters.made == MAX_MEMBERS  # not 52,428
    assert inflaters.fed <= MAX_MEMBERS * INFLATE_CHUNK  # bounded by the cap, whatever the body's size


def test_each_compressed_byte_is_handed_to_zlib_about_once(inflaters: CountingInflaters) -> None:
    members = [gzip.compress(os.urandom(60_000), compresslevel=1) for _ in range(MAX_MEMBERS)]  # incompressible
    body = b"".join(members)

    assert len(_read(body, encoding="gzip", limit=1 << 20)) == MAX_MEMBERS * 60_000
    assert inflaters.made == MAX_MEMBERS
    assert inflaters.fed <= 2 * len(body)  # not each member's remainder over again (8.5 x here)


def test_decompression_runs_off_the_event_loop_thread(inflaters: CountingInflaters) -> None:
    loop_thread = threading.current_thread().name  # asyncio.run runs the loop on the calling thread

    assert _read(gzip.compress(BODY), encoding="gzip") == BODY

    assert inflaters.threads and loop_thread not in inflaters.threads


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_an_unknown_content_encoding_is_a_415(encoding: str) -> None:
    error = _refused(chunks=BODY, encoding=encoding)

    assert error.status == 415
    assert f"content encoding {encoding.strip().lower()!r} is not accepted" in error.message


@pytest.mark.parametrize(("content_type", "named"), [("text/plain", "'text/plain'"), (None, "'missing'"),
                                                     ("application/x-www-form-urlencoded", "'application/x-www")])
def test_a_wrong_content_type_is_a_415_naming_it(content_type: str | None, named: str) -> None:
    error = _refused(chunks=BODY, content_type=content_type)

    assert error.status == 415
    assert named in error.message and "send application/json" in error.message


def test_other_content_types_can_be_allowed() -> None:
    allowed = ("application/json", "application/octet-stream", "")

    assert _read(b"\x00\x01", content_type="application/octet-stream", content_types=allowed) == b"\x00\x01"
    assert _read(b"{}", content_type=None, content_types=allowed) == b"{}"


# --- check_texts ----------------------------------------------------------------------------------------------


def _check(items: Any, *, max_items: int = 3, max_chars: int = 20) -> list[str]:
    return check_texts(items, max_items=max_items, max_chars=max_chars)


def test_good_texts_are_returned_as_they_are() -> None:
    texts = ["lead", "  padded  ", "x" * 20]

    assert _check(texts) == texts
    assert _check(["ünïcödé ✓ 鉛"]) == ["ünïcödé ✓ 鉛"]


@pytest.mark.parametrize(("items", "message"), [
    ("a text", "the texts must be a JSON list"),
    ({"text": "a"}, "the texts must be a JSON list"),
    ([], "no texts to score: the list is empty"),
    (["a", "b", "c", "d"], "4 texts in one request; the most is 3"),
    (["ok", ""], "item 1 is empty or only whitespace"),
    ([" \t\n "], "item 0 is empty or only whitespace"),
    (["ok", 5], "item 1 is int, not a string"),
    ([None], "item 0 is NoneType, not a string"),
    ([True], "item 0 is bool, not a string"),
    ([["nested"]], "item 0 is list, not a string"),
    (["ok", "x" * 21], "item 1 has 21 characters; the most is 20"),
    (["ok", "bad \ud800 half"], "item 1 is not valid Unicode (a lone surrogate)"),
    (["\udfff"], "item 0 is not valid Unicode (a lone surrogate)"),
    (["ok", "brake\x00pad"], "item 1 contains a control character (U+0000)"),
])
def test_bad_items_are_a_422_naming_the_first_bad_one(items: Any, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        _check(items)

    assert (caught.value.status, caught.value.message) == (422, message)
