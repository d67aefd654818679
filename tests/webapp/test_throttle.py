"""The per-address log-in throttle: a token bucket per client address, refilled over the minute, bounded in memory."""

from __future__ import annotations

import pytest

from specscan.webapp.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_has_its_burst_then_one_attempt_per_share_of_the_minute() -> None:
    clock = Clock()
    throttle = Throttle(3, clock=clock)
    assert [throttle.take("a") for _ in range(3)] == [0, 0, 0]
    assert throttle.take("a") == pytest.approx(20)  # 60 s / 3: a refused attempt takes nothing
    assert throttle.take("b") == 0  # another address has its own bucket
    clock.now += 20
    assert throttle.take("a") == 0 and throttle.take("a") == pytest.approx(20)
    clock.now += 600
    assert [throttle.take("a") for _ in range(4)][-2:] == [0, pytest.approx(20)]  # refilled to the burst, no more


def test_zero_turns_the_throttle_off() -> None:
    throttle = Throttle(0, clock=Clock())
    assert not any(throttle.take("a") for _ in range(1000))


def test_it_remembers_at_most_max_addresses_forgetting_the_longest_unseen_first() -> None:
    clock = Clock()
    throttle = Throttle(1, clock=clock, max_addresses=100)
    assert throttle.take("first") == 0
    for n in range(100):
        throttle.take(f"address {n}")
    assert len(throttle) == 100
    assert throttle.take("first") == 0  # forgotten: a fresh bucket
    assert throttle.take("address 99") > 0  # still remembered
