"""Log-in attempts per client address: a token bucket for each address, held by the app (`create_app`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_ADDRESSES = 100_000


class Throttle:
    """Lets `per_minute` attempts from one address through at once, then one per 60/`per_minute` seconds; 0 lets
    everything through. Remembers at most `max_addresses` addresses, forgetting the longest unseen first."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = MAX_ADDRESSES) -> None:
        self._per_minute, self._clock, self._max_addresses = per_minute, clock, max_addresses
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (attempts left, when), least recent first
        self._lock = threading.Lock()  # the log-in route runs in the thread pool

    def take(self, address: str) -> float:
        """One attempt from `address`: 0 when it may go ahead, else the seconds until it may (nothing taken)."""
        if self._per_minute <= 0:
            return 0.0
        now, per_second = self._clock(), self._per_minute / 60
        with self._lock:
            left, then = self._buckets.pop(address, (float(self._per_minute), now))
            left = min(float(self._per_minute), left + (now - then) * per_second)
            wait = 0.0 if left >= 1 else (1 - left) / per_second
            self._buckets[address] = (left - 1 if wait == 0 else left, now)
            while len(self._buckets) > self._max_addresses:
                del self._buckets[next(iter(self._buckets))]
        return wait

    def __len__(self) -> int:
        return len(self._buckets)
