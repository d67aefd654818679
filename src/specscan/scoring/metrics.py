"""Prometheus metrics of one service instance (its own registry: no process-global state)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    """Requests, latency, batching, predictions, model version, queue depth and collection lag."""

    def __init__(self, *, queue_depth: Callable[[], float], collection_lag: Callable[[], float],
                 pending_records: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("specscan_requests", "HTTP requests by endpoint and status code.",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("specscan_request_seconds", "Request latency by endpoint.", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("specscan_batch_size", "Items scored per ONNX Runtime call.",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("specscan_batch_seconds", "Tokenize + ONNX Runtime time per batch.",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.commit_seconds = Histogram("specscan_collection_commit_seconds",
                                        "Time to commit one batch of collected records.",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("specscan_predictions", "Scored items by predicted label.", ["label"],
                                   registry=r)
        self.model = Info("specscan_model", "The model version being served.", registry=r)
        self.reloads = Counter("specscan_model_reloads", "Switches to another model version.", registry=r)
        Gauge("specscan_queue_depth", "Texts waiting to be scored.", registry=r).set_function(queue_depth)
        Gauge("specscan_collection_lag_seconds", "Age of the oldest scored item not yet committed.",
              registry=r).set_function(collection_lag)
        Gauge("specscan_collection_pending_records", "Scored items not yet committed.",
              registry=r).set_function(pending_records)

    def set_model(self, name: str, version: int, reference: str) -> None:
        self.model.info({"name": name, "version": str(version), "reference": reference})

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def observe_labels(self, labels: list[str]) -> None:
        positives = sum(1 for label in labels if label == "non_compliant")
        if positives:
            self.predictions.labels("non_compliant").inc(positives)
        if len(labels) - positives:
            self.predictions.labels("compliant").inc(len(labels) - positives)

    def render(self) -> bytes:
        return generate_latest(self.registry)
