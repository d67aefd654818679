"""Dynamic micro-batching: concurrent requests share one ONNX Runtime call and one commit.

Requests queue their texts; one scoring thread takes everything already queued (up to
`max_batch_size` items, optionally waiting `max_wait` for more), tokenizes and scores it in
one call, then hands the batch to one collection thread that commits its records. A request
is answered only once its records are committed. Scoring the next batch overlaps with
committing the previous one, so neither stage waits for the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from specscan.errors import SpecscanError
from specscan.scoring.collector import Record, TextPolicy, text_fields
from specscan.scoring.served_model import ServedModel

log = logging.getLogger(__name__)
MAX_PENDING_COMMITS = 4


class ServiceUnavailable(SpecscanError):
    """The service cannot answer right now (shutting down, or a collection failure)."""


@dataclass(frozen=True, slots=True)
class Scored:
    """A request's answer: one probability and label per text, and the model that gave them."""

    probabilities: np.ndarray
    labels: list[str]
    model_name: str
    model_version: int


@dataclass(slots=True)
class _Job:
    texts: Sequence[str]
    request_id: str
    endpoint: str
    caller: str | None
    client_request_id: str | None
    received: float
    future: asyncio.Future[Scored]


@dataclass(slots=True)
class BatchStats:
    """What the batcher did, for metrics."""

    on_batch: Callable[[int, float], None] = lambda size, seconds: None
    on_commit: Callable[[int, float], None] = lambda size, seconds: None
    _pending: deque[tuple[float, int]] = field(default_factory=deque)  # (scored at, items) per open commit

    def pending_records(self) -> int:
        """Scored items not yet committed."""
        return sum(size for _, size in self._pending)

    def collection_lag(self) -> float:
        """Seconds the oldest scored-but-uncommitted item has waited (0 when none)."""
        return time.monotonic() - self._pending[0][0] if self._pending else 0.0

    @contextmanager
    def committing(self, size: int) -> Iterator[None]:
        """Count `size` items as pending for the duration of their commit; report it if it succeeds."""
        entry = (time.monotonic(), size)
        self._pending.append(entry)
        began = time.perf_counter()
        try:
            yield
        finally:
            self._pending.remove(entry)
        self.on_commit(size, time.perf_counter() - began)


class MicroBatcher:
    """Scores queued texts in shared batches with the current model, then collects them."""

    def __init__(self, current_model: Callable[[], ServedModel], write: Callable[[list[Record]], None], *,
                 max_batch_size: int, max_wait: float, text_policy: TextPolicy,
                 stats: BatchStats | None = None) -> None:
        self._current_model = current_model
        self._write = write
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self.text_policy = text_policy
        self.stats = stats or BatchStats()
        self._queue: deque[_Job] = deque()
        self._queued_items = 0
        self._wakeup = asyncio.Event()
        self._score_thread = ThreadPoolExecutor(1, thread_name_prefix="score")
        self._collect_thread = ThreadPoolExecutor(1, thread_name_prefix="collect")
        self._commit_slots = asyncio.Semaphore(MAX_PENDING_COMMITS)
        self._commits: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def queue_depth(self) -> int:
        """Texts waiting to be scored."""
        return self._queued_items

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        """Finish what is queued and committing, then stop the threads."""
        self._closing = True
        self._wakeup.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
        self._score_thread.shutdown()
        self._collect_thread.shutdown()

    async def score(self, texts: Sequence[str], *, request_id: str, endpoint: str, caller: str | None,
                    client_request_id: str | None = None) -> Scored:
        """Score `texts` (in a shared batch) and return once their records are committed."""
        if self._closing:
            raise ServiceUnavailable("the service is shutting down; retry on another instance")
        future: asyncio.Future[Scored] = asyncio.get_running_loop().create_future()
        self._queue.append(_Job(texts, request_id, endpoint, caller, client_request_id, time.perf_counter(), future))
        self._queued_items += len(texts)
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self.max_wait > 0 and self._queued_items < self.max_batch_size:
                await asyncio.sleep(self.max_wait)
            jobs = self._take()
            try:
                model, probabilities, scored_at = await loop.run_in_executor(
                    self._score_thread, self._score, [t for job in jobs for t in job.texts])
            except Exception as exc:
                log.exception("scoring failed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(ServiceUnavailable(f"scoring failed: {type(exc).__name__}"))
                continue
            await self._commit_slots.acquire()  # back-pressure if the store falls behind
            task = loop.create_task(self._commit_and_answer(jobs, model, probabilities, scored_at))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)

    def _take(self) -> list[_Job]:
        """Queued jobs up to max_batch_size items (a larger single request goes alone)."""
        jobs = [self._queue.popleft()]
        size = len(jobs[0].texts)
        while self._queue and size + len(self._queue[0].texts) <= self.max_batch_size:
            job = self._queue.popleft()
            jobs.append(job)
            size += len(job.texts)
        self._queued_items -= size
        return jobs

    def _score(self, texts: list[str]) -> tuple[ServedModel, np.ndarray, datetime]:
        started = time.perf_counter()
        model = self._current_model()  # one model for the whole batch, even mid-reload
        probabilities = model.predictor.predict_proba(texts)
        self.stats.on_batch(len(texts), time.perf_counter() - started)
        return model, probabilities, datetime.now(UTC)

    async def _commit_and_answer(self, jobs: list[_Job], model: ServedModel, probabilities: np.ndarray,
                                 scored_at: datetime) -> None:
        """Commit the batch's records, then answer. If the shared commit fails, each request's records
        are committed on their own, so one request that cannot be stored never fails the others."""
        committed: list[tuple[_Job, Scored]] = []
        try:
            labels = model.labels_for(probabilities)
            requests: list[tuple[_Job, list[Record], Scored]] = []
            start = 0
            for job in jobs:
                end = start + len(job.texts)
                latency_ms = (time.perf_counter() - job.received) * 1000
                records = []
                for i, text in enumerate(job.texts):
                    kept, digest = text_fields(text, self.text_policy)
                    records.append(Record(job.request_id, i, scored_at, job.endpoint, model.name, model.version,
                                          kept, digest, labels[start + i], float(probabilities[start + i]),
                                          latency_ms, job.caller, job.client_request_id))
                requests.append((job, records, Scored(probabilities[start:end], labels[start:end], model.name,
                                                      model.version)))
                start = end
            try:
                await self._commit([r for _, records, _ in requests for r in records])
                committed = [(job, scored) for job, _, scored in requests]
            except Exception as exc:
                if len(requests) == 1:
                    raise
                log.warning("a shared commit of %d requests failed (%s); committing them one by one", len(jobs), exc)
                for job, records, scored in requests:
                    try:
                        await self._commit(records)
                        committed.append((job, scored))
                    except Exception as alone:
                        log.error("collection failed, request %s answered 503: %s", job.request_id, alone)
        except Exception as exc:
            log.error("collection failed, %d request(s) answered 503: %s", len(jobs), exc)
        finally:
            self._commit_slots.release()
        for job, scored in committed:
            if not job.future.done():
                job.future.set_result(scored)
        for job in jobs:  # every request not answered above
            if not job.future.done():
                job.future.set_exception(ServiceUnavailable(
                    "the prediction could not be recorded, so it is not returned; retry"))

    async def _commit(self, records: list[Record]) -> None:
        with self.stats.committing(len(records)):
            await asyncio.get_running_loop().run_in_executor(self._collect_thread, self._write, records)
