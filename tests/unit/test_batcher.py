"""The micro-batcher: concurrent requests share one model call, and nobody is answered before the commit.

A fake predictor scores a text as len(text)/100 and remembers each call; a fake write stands in for the collector.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from specscan.scoring.batcher import MAX_PENDING_COMMITS, BatchStats, MicroBatcher, Scored, ServiceUnavailable
from specscan.scoring.collector import CollectionError, Record, TextPolicy
from specscan.scoring.served_model import ServedModel

LABELS = ("compliant", "non_compliant")
LONG = "x" * 70  # scores 0.70: non_compliant
TIMEOUT = 5.0  # no scenario may hang the suite


class FakePredictor:
    """Scores len(text)/100; records every call and the thread it ran on."""

    def __init__(self, fail: bool = False) -> None:
        self.manifest = SimpleNamespace(labels=LABELS, threshold=0.5)
        self.calls: list[list[str]] = []
        self.threads: list[str] = []
        self.fail = fail

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("onnxruntime exploded")
        self.calls.append(list(texts))
        self.threads.append(threading.current_thread().name)
        return np.array([len(t) / 100 for t in texts], dtype=np.float32)


def _model(version: int = 1, predictor: FakePredictor | None = None) -> ServedModel:
    return ServedModel(name="specscan", version=version, predictor=predictor or FakePredictor())  # type: ignore[arg-type]


class FakeStore:
    """A write function that remembers committed batches; optionally fails or waits for a gate."""

    def __init__(self) -> None:
        self.batches: list[list[Record]] = []
        self.threads: list[str] = []
        self.fail = False
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def write(self, records: list[Record]) -> None:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(TIMEOUT), "the test never opened the gate"
        if self.fail:
            raise CollectionError("collection write failed: disk I/O error")
        self.batches.append(list(records))
        self.threads.append(threading.current_thread().name)


class StillClock(asyncio.SelectorEventLoop):
    """An event loop whose clock stands still until `advance` moves it, so a timer (an `asyncio.sleep(d)` with
    d > 0) fires only when the test says: whatever completes while `now` is still 0 waited on no timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Moves the clock on (from any thread) and wakes the loop to fire the timers now due."""
        self.now += seconds
        self.call_soon_threadsafe(lambda: None)


def _run(scenario: Callable[[MicroBatcher], Awaitable[Any]], *, model: Callable[[], ServedModel],
         store: FakeStore, max_batch_size: int = 8, max_wait: float = 0.02,
         text_policy: TextPolicy = "raw", clock: StillClock | None = None, stats: BatchStats | None = None) -> Any:
    """Run `scenario` against a started batcher, always stopping it afterwards, within TIMEOUT. On a `clock`
    that stands still, a real-time watchdog moves it on by a second every TIMEOUT, so a wait on a timer ends
    (and shows as `clock.now` > 0) instead of hanging the suite."""

    async def main() -> Any:
        batcher = MicroBatcher(model, store.write, max_batch_size=max_batch_size, max_wait=max_wait,
                               text_policy=text_policy, stats=stats)
        batcher.start()
        try:
            return await asyncio.wait_for(scenario(batcher), TIMEOUT)
        finally:
            if store.gate is not None:
                store.gate.set()
            await asyncio.wait_for(batcher.stop(), TIMEOUT)

    if clock is None:
        return asyncio.run(main())
    finished = threading.Event()

    def watchdog() -> None:
        while not finished.wait(TIMEOUT):
            clock.advance(1.0)

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        with asyncio.Runner(loop_factory=lambda: clock) as runner:
            return runner.run(main())
    finally:
        finished.set()


def _score(batcher: MicroBatcher, texts: list[str], request_id: str = "r", caller: str | None = None,  # type: ignore[no-untyped-def]
           client_request_id: str | None = None):
    return batcher.score(texts, request_id=request_id, endpoint="score", caller=caller,
                         client_request_id=client_request_id)


def test_concurrent_requests_share_one_predict_call_and_get_their_own_answers() -> None:
    predictor, store = FakePredictor(), FakeStore()
    requests = [["a"], ["bb", LONG], ["dddd"]]

    async def scenario(batcher: MicroBatcher) -> list[Scored]:
        return await asyncio.gather(*(_score(batcher, texts, f"r{i}") for i, texts in enumerate(requests)))

    answers = _run(scenario, model=lambda: _model(1, predictor), store=store)

    assert predictor.calls == [["a", "bb", LONG, "dddd"]]
    assert [a.probabilities.tolist() for a in answers] == [[pytest.approx(0.01)], [pytest.approx(0.02),
                                                           pytest.approx(0.70)], [pytest.approx(0.04)]]
    assert [a.labels for a in answers] == [["compliant"], ["compliant", "non_compliant"], ["compliant"]]
    assert len(store.batches) == 1  # one commit for the shared batch


def test_a_batch_never_exceeds_max_batch_size_and_a_request_is_never_split() -> None:
    predictor, store = FakePredictor(), FakeStore()
    requests = [["a", "b", "c"], ["d", "e"], ["f"], ["g", "h", "i"]]

    async def scenario(batcher: MicroBatcher) -> list[Scored]:
        return await asyncio.gather(*(_score(batcher, texts) for texts in requests))

    answers = _run(scenario, model=lambda: _model(1, predictor), store=store, max_batch_size=4)

    assert predictor.calls == [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]  # in arrival order
    assert [len(a.labels) for a in answers] == [3, 2, 1, 3]


def test_a_request_larger_than_max_batch_size_goes_alone_in_one_call() -> None:
    predictor, store = FakePredictor(), FakeStore()
    big = [f"text {i}" for i in range(10)]

    async def scenario(batcher: MicroBatcher) -> list[Scored]:
        return await asyncio.gather(_score(batcher, ["small"]), _score(batcher, big), _score(batcher, ["tail"]))

    small, large, tail = _run(scenario, model=lambda: _model(1, predictor), store=store, max_batch_size=4)

    assert predictor.calls == [["small"], big, ["tail"]]
    assert large.probabilities.tolist() == pytest.approx([len(t) / 100 for t in big])
    assert small.labels == tail.labels == ["compliant"]


def test_a_lone_request_is_scored_without_waiting_when_max_wait_is_zero() -> None:
    predictor, store = FakePredictor(), FakeStore()

    async def scenario(batcher: MicroBatcher) -> Scored:
        return await _score(batcher, [LONG])

    clock = StillClock()

    answer = _run(scenario, model=lambda: _model(1, predictor), store=store, max_wait=0, clock=clock)

    assert answer.labels == ["non_compliant"] and predictor.calls == [[LONG]]
    assert clock.now == 0.0  # answered with the loop's clock standing still: no timer was waited on


def test_a_queue_already_at_or_over_max_batch_size_is_scored_without_waiting_for_company() -> None:
    predictor, store = FakePredictor(), FakeStore()
    big = [f"text {i}" for i in range(10)]
    clock = StillClock()

    async def scenario(batcher: MicroBatcher) -> Scored:
        return await _score(batcher, big)

    answer = _run(scenario, model=lambda: _model(1, predictor), store=store, max_batch_size=8, max_wait=0.05,
                  clock=clock)

    assert len(answer.labels) == 10 and predictor.calls == [big]
    assert clock.now == 0.0  # a full batch waits on no timer


def test_a_lone_request_waits_max_wait_for_company_before_it_is_scored() -> None:
    predictor, store = FakePredictor(), FakeStore()
    clock = StillClock()

    async def scenario(batcher: MicroBatcher) -> tuple[list[list[str]], bool, Scored]:
        task = asyncio.create_task(_score(batcher, [LONG]))
        for _ in range(20):
            await asyncio.sleep(0)  # the batcher takes the request and starts its wait
        calls_before, done_before = list(predictor.calls), task.done()
        clock.advance(0.05)
        return calls_before, done_before, await task

    calls_before, done_before, answer = _run(scenario, model=lambda: _model(1, predictor), store=store,
                                             max_wait=0.05, clock=clock)

    assert (calls_before, done_before) == ([], False)  # not scored while the clock stood still
    assert answer.labels == ["non_compliant"] and clock.now == 0.05  # the clock moved by max_wait, no more


def test_scoring_and_writing_run_off_the_event_loop_thread() -> None:
    predictor, store = FakePredictor(), FakeStore()

    async def scenario(batcher: MicroBatcher) -> str:
        await _score(batcher, ["a"])
        return threading.current_thread().name

    loop_thread = _run(scenario, model=lambda: _model(1, predictor), store=store)

    assert predictor.threads[0] != loop_thread and store.threads[0] != loop_thread
    assert predictor.threads[0] != store.threads[0]


def test_records_name_the_request_item_model_caller_and_client_id_and_follow_the_text_policy() -> None:
    store = FakeStore()

    async def scenario(batcher: MicroBatcher) -> None:
        await asyncio.gather(_score(batcher, ["first", LONG], "req-1", caller="k1", client_request_id="order-42"),
                             _score(batcher, ["third"], "req-2"))

    _run(scenario, model=lambda: _model(7), store=store, text_policy="hash")

    (records,) = store.batches
    assert [(r.request_id, r.item, r.label, r.caller, r.client_request_id) for r in records] == [
        ("req-1", 0, "compliant", "k1", "order-42"), ("req-1", 1, "non_compliant", "k1", "order-42"),
        ("req-2", 0, "compliant", None, None)]
    assert {(r.endpoint, r.model_name, r.model_version) for r in records} == {("score", "specscan", 7)}
    assert [r.text for r in records] == [None, None, None]
    assert all(r.text_sha256 is not None and len(r.text_sha256) == 64 for r in records)
    assert records[1].probability == pytest.approx(0.70)
    assert all(r.scored_at.utcoffset() is not None and r.scored_at.utcoffset().total_seconds() == 0
               for r in records)


def test_each_record_of_a_shared_batch_carries_its_own_items_label_and_probability() -> None:
    store = FakeStore()
    requests = [["a"], ["bb", LONG, "ccc"], ["dddd", "e" * 60]]

    async def scenario(batcher: MicroBatcher) -> list[Scored]:
        return await asyncio.gather(*(_score(batcher, texts, f"r{i}") for i, texts in enumerate(requests)))

    answers = _run(scenario, model=_model, store=store)

    (records,) = store.batches
    texts = [t for texts in requests for t in texts]
    assert [(r.request_id, r.item) for r in records] == [("r0", 0), ("r1", 0), ("r1", 1), ("r1", 2), ("r2", 0),
                                                         ("r2", 1)]
    assert [r.probability for r in records] == pytest.approx([len(t) / 100 for t in texts])
    assert [r.label for r in records] == ["compliant", "compliant", "non_compliant", "compliant", "compliant",
                                          "non_compliant"]
    assert [r.label for r in records] == [label for a in answers for label in a.labels]  # stored as answered


def test_no_answer_is_returned_before_its_records_are_committed() -> None:
    store = FakeStore()
    store.gate = threading.Event()

    async def scenario(batcher: MicroBatcher) -> tuple[bool, Scored, int]:
        task = asyncio.create_task(_score(batcher, ["a", "b"]))
        assert await asyncio.to_thread(store.entered.wait, TIMEOUT), "write was never called"
        await asyncio.sleep(0.1)  # ample time to answer, were it allowed to
        answered_early = task.done()
        store.gate.set()  # type: ignore[union-attr]
        answer = await task
        return answered_early, answer, len(store.batches)

    answered_early, answer, committed = _run(scenario, model=_model, store=store)

    assert not answered_early
    assert answer.labels == ["compliant", "compliant"]
    assert committed == 1


def test_a_failed_write_is_service_unavailable_and_the_next_request_succeeds() -> None:
    store = FakeStore()
    store.fail = True

    async def scenario(batcher: MicroBatcher) -> tuple[list[BaseException | Scored], Scored]:
        failed = await asyncio.gather(_score(batcher, ["a"]), _score(batcher, ["b"]), return_exceptions=True)
        store.fail = False
        return failed, await _score(batcher, ["c"])

    failed, later = _run(scenario, model=_model, store=store)

    assert all(isinstance(f, ServiceUnavailable) for f in failed), failed
    assert "could not be recorded" in str(failed[0])
    assert later.labels == ["compliant"]
    assert [[r.text for r in batch] for batch in store.batches] == [["c"]]


def test_a_request_whose_records_cannot_be_stored_fails_alone_and_its_batch_mates_are_answered() -> None:
    store = FakeStore()
    write = store.write

    def refuses_poison(records: list[Record]) -> None:  # as PostgreSQL refuses a NUL in a text column
        if any(r.text == "poison" for r in records):
            raise CollectionError("collection write failed: cannot store this text")
        write(records)

    store.write = refuses_poison  # type: ignore[method-assign]

    async def scenario(batcher: MicroBatcher) -> list[BaseException | Scored]:
        return await asyncio.gather(_score(batcher, ["a"], "r0"), _score(batcher, ["poison"], "r1"),
                                    _score(batcher, ["b", "c"], "r2"), return_exceptions=True)

    first, poisoned, third = _run(scenario, model=_model, store=store)

    assert isinstance(poisoned, ServiceUnavailable)
    assert isinstance(first, Scored) and isinstance(third, Scored) and third.labels == ["compliant", "compliant"]
    assert [[r.request_id for r in batch] for batch in store.batches] == [["r0"], ["r2", "r2"]]  # one by one


def test_more_failed_writes_than_commit_slots_do_not_wedge_the_batcher() -> None:
    store = FakeStore()
    store.fail = True

    async def scenario(batcher: MicroBatcher) -> Scored:
        for i in range(10):  # more than MAX_PENDING_COMMITS: each failure must give its slot back
            with pytest.raises(ServiceUnavailable):
                await _score(batcher, [f"text {i}"])
        store.fail = False
        return await _score(batcher, ["ok"])

    assert _run(scenario, model=_model, store=store, max_wait=0).labels == ["compliant"]


def test_a_failed_prediction_is_service_unavailable_and_writes_nothing() -> None:
    store = FakeStore()

    async def scenario(batcher: MicroBatcher) -> None:
        with pytest.raises(ServiceUnavailable, match="scoring failed: RuntimeError"):
            await _score(batcher, ["a"])

    _run(scenario, model=lambda: _model(1, FakePredictor(fail=True)), store=store)

    assert store.batches == []


def test_after_a_failed_prediction_the_batcher_goes_on_scoring() -> None:
    predictor, store = FakePredictor(fail=True), FakeStore()

    async def scenario(batcher: MicroBatcher) -> Scored:
        with pytest.raises(ServiceUnavailable, match="scoring failed"):
            await _score(batcher, ["a"])
        predictor.fail = False
        return await _score(batcher, [LONG])

    assert _run(scenario, model=lambda: _model(1, predictor), store=store).labels == ["non_compliant"]
    assert predictor.calls == [[LONG]]


def test_a_lone_request_whose_commit_fails_is_answered_503_without_a_second_attempt() -> None:
    store, attempts = FakeStore(), []
    write = store.write

    def fails_once(records: list[Record]) -> None:  # a second attempt would succeed, and must not be made
        attempts.append([r.text for r in records])
        if len(attempts) == 1:
            raise CollectionError("collection write failed: disk I/O error")
        write(records)

    store.write = fails_once  # type: ignore[method-assign]

    async def scenario(batcher: MicroBatcher) -> None:
        with pytest.raises(ServiceUnavailable, match="could not be recorded"):
            await _score(batcher, ["a", "b"])

    _run(scenario, model=_model, store=store)

    assert attempts == [["a", "b"]] and store.batches == []


def wait_for(condition: Callable[[], bool], what: str) -> Awaitable[None]:
    """Polls `condition` on the event loop until it holds; fails naming `what` after 4 s (a hang guard)."""
    async def polling() -> None:
        deadline = time.monotonic() + 4
        while not condition():
            assert time.monotonic() < deadline, f"never {what}"
            await asyncio.sleep(0.01)

    return polling()


def test_at_most_max_pending_commits_batches_wait_on_the_store_and_the_next_is_held_back_scored() -> None:
    predictor, store, stats = FakePredictor(), FakeStore(), BatchStats()
    store.gate = threading.Event()

    async def scenario(batcher: MicroBatcher) -> list[Scored]:
        tasks = [asyncio.create_task(_score(batcher, [f"text {i}"])) for i in range(MAX_PENDING_COMMITS + 2)]
        await wait_for(lambda: stats.pending_records() == MAX_PENDING_COMMITS, "all commit slots taken")
        await wait_for(lambda: len(predictor.calls) == MAX_PENDING_COMMITS + 1, "the next batch scored")
        for _ in range(20):
            await asyncio.sleep(0)
        assert (stats.pending_records(), len(predictor.calls)) == (MAX_PENDING_COMMITS, MAX_PENDING_COMMITS + 1)
        assert not any(task.done() for task in tasks)
        store.gate.set()  # type: ignore[union-attr]
        return await asyncio.gather(*tasks)

    answers = _run(scenario, model=lambda: _model(1, predictor), store=store, max_batch_size=1, max_wait=0,
                   stats=stats)

    assert MAX_PENDING_COMMITS == 4 and len(answers) == 6 and len(store.batches) == 6
    assert stats.pending_records() == 0 and stats.collection_lag() == 0.0


def test_batch_and_commit_durations_latencies_and_the_collection_lag_are_measured_from_their_start() -> None:
    batches: list[tuple[int, float]] = []
    commits: list[tuple[int, float]] = []
    stats = BatchStats(on_batch=lambda size, seconds: batches.append((size, seconds)),
                       on_commit=lambda size, seconds: commits.append((size, seconds)))
    store = FakeStore()
    store.gate = threading.Event()
    lags: list[float] = []

    async def scenario(batcher: MicroBatcher) -> Scored:
        task = asyncio.create_task(_score(batcher, ["a", "b", "c"]))
        assert await asyncio.to_thread(store.entered.wait, TIMEOUT), "write was never called"
        lags.append(stats.collection_lag())
        store.gate.set()  # type: ignore[union-attr]
        return await task

    started = time.monotonic()
    _run(scenario, model=_model, store=store, stats=stats)
    elapsed = time.monotonic() - started

    [(size, scoring_s)] = batches
    [(committed, commit_s)] = commits
    assert (size, committed) == (3, 3)
    assert 0 <= scoring_s <= elapsed and 0 <= commit_s <= elapsed and 0 < lags[0] <= elapsed
    assert all(0 < r.latency_ms <= elapsed * 1000 for r in store.batches[0])


def test_durations_and_latencies_are_exactly_the_time_from_their_own_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clock that moves only while the model scores (0.25 s) and the store writes (0.5 s): the batch took
    0.25 s, the commit 0.5 s, and each record's latency is the 250 ms from its request's arrival to its scores."""
    now = [0.1]

    class SlowPredictor(FakePredictor):
        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            now[0] += 0.25
            return super().predict_proba(texts)

    class SlowStore(FakeStore):
        def write(self, records: list[Record]) -> None:
            now[0] += 0.5
            super().write(records)

    import specscan.scoring.batcher as batcher_module

    monkeypatch.setattr(batcher_module, "time", SimpleNamespace(perf_counter=lambda: now[0], monotonic=time.monotonic))
    batches: list[tuple[int, float]] = []
    commits: list[tuple[int, float]] = []
    stats = BatchStats(on_batch=lambda size, seconds: batches.append((size, seconds)),
                       on_commit=lambda size, seconds: commits.append((size, seconds)))
    store = SlowStore()

    async def scenario(batcher: MicroBatcher) -> Scored:
        return await _score(batcher, ["a", "b"])

    _run(scenario, model=lambda: _model(1, SlowPredictor()), store=store, stats=stats)

    assert batches == [(2, pytest.approx(0.25))] and commits == [(2, pytest.approx(0.5))]
    assert [r.latency_ms for r in store.batches[0]] == pytest.approx([250.0, 250.0])


def test_a_model_swapped_between_batches_answers_the_later_requests() -> None:
    old, new = _model(1, FakePredictor()), _model(2, FakePredictor())
    current = {"model": old}
    store = FakeStore()

    async def scenario(batcher: MicroBatcher) -> tuple[Scored, Scored]:
        before = await _score(batcher, ["a"])
        current["model"] = new
        return before, await _score(batcher, ["b"])

    before, after = _run(scenario, model=lambda: current["model"], store=store)

    assert (before.model_version, after.model_version) == (1, 2)
    assert old.predictor.calls == [["a"]] and new.predictor.calls == [["b"]]  # type: ignore[attr-defined]
    assert [batch[0].model_version for batch in store.batches] == [1, 2]


def test_stop_finishes_queued_work_then_refuses_new_requests() -> None:
    store = FakeStore()
    slow_write = store.write

    def write(records: list[Record]) -> None:
        time.sleep(0.05)
        slow_write(records)

    async def main() -> tuple[list[Scored], BaseException | None]:
        batcher = MicroBatcher(_model, write, max_batch_size=2, max_wait=0, text_policy="raw")
        batcher.start()
        tasks = [asyncio.create_task(_score(batcher, [f"text {i}"], f"r{i}")) for i in range(5)]
        await asyncio.sleep(0)  # every request is queued
        await asyncio.wait_for(batcher.stop(), TIMEOUT)
        finished = [t.done() for t in tasks]
        try:
            await _score(batcher, ["late"])
            refused = None
        except ServiceUnavailable as exc:
            refused = exc
        assert all(finished), finished
        return [t.result() for t in tasks], refused

    answers, refused = asyncio.run(main())

    assert [len(a.labels) for a in answers] == [1] * 5
    assert sorted(r.request_id for batch in store.batches for r in batch) == [f"r{i}" for i in range(5)]
    assert isinstance(refused, ServiceUnavailable) and "shutting down" in str(refused)


@pytest.mark.parametrize(("probability", "label"), [(0.0, "compliant"), (0.4999, "compliant"),
                                                    (0.5, "non_compliant"), (1.0, "non_compliant")])
def test_served_model_labels_at_the_half_threshold(probability: float, label: str) -> None:
    assert _model().labels_for(np.array([probability], dtype=np.float32)) == [label]


def test_served_model_labels_at_the_threshold_of_its_bundle() -> None:
    predictor = FakePredictor()
    predictor.manifest.threshold = 0.9

    assert _model(predictor=predictor).labels_for(np.array([0.6, 0.95], dtype=np.float32)) == [
        "compliant", "non_compliant"]
