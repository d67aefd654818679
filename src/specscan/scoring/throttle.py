"""How many requests of one API key may run an expensive endpoint at once (bounded concurrency per caller)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from specscan.scoring.http import ApiError


class PerCallerLimit:
    """At most `limit` requests in flight per caller on `endpoint`; one more is a 429 with Retry-After.

    Only the event loop enters and leaves it, so a plain counter needs no lock."""

    def __init__(self, endpoint: str, limit: int) -> None:
        self.endpoint = endpoint
        self.limit = limit
        self._in_flight: Counter[str] = Counter()

    @contextmanager
    def hold(self, caller: str) -> Iterator[None]:
        """A slot for `caller` for the duration of the block, or ApiError(429) when all its slots are taken."""
        if self._in_flight[caller] >= self.limit:
            plural = "" if self.limit == 1 else "s"
            raise ApiError(429, f"at most {self.limit} {self.endpoint} request{plural} at a time per API key; "
                                "retry when one is done", {"Retry-After": "1"})
        self._in_flight[caller] += 1
        try:
            yield
        finally:
            self._in_flight[caller] -= 1
            if not self._in_flight[caller]:
                del self._in_flight[caller]
