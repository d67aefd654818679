"""The retry worker: classifies pending components in the background until the scoring service answers."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import sessionmaker

from specscan.settings import Settings
from specscan.webapp import inventory
from specscan.webapp.scoring_client import Classifier

log = logging.getLogger(__name__)


class RetryWorker:
    """Classifies pending components in the background, every `retry_interval` seconds (and when woken)."""

    def __init__(self, sessions: sessionmaker, classifier: Classifier, settings: Settings) -> None:
        self._sessions, self._classifier, self._settings = sessions, classifier, settings
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="classification-retry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = inventory.classify_pending(self._sessions, self._classifier, self._settings)
                if done:
                    log.info("classified %d pending components", done)
            except Exception:  # the worker must outlive a database hiccup; it logs and tries again
                log.exception("pending-classification round failed")
            self._wake.wait(self._settings.retry_interval)
            self._wake.clear()
