"""The web app's client of the scoring service: `/explain` for one component, `/score` for many."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from specscan.scoring.schemas import ExplainResponse, ScoreResponse, WordAttributionOut

log = logging.getLogger(__name__)


class ScoringUnavailable(Exception):
    """The scoring service could not classify right now (down, slow, overloaded, or refused us)."""


class Classification(BaseModel):
    """What the scoring service said about one text."""

    label: str
    probability: float
    model_version: int
    request_id: str
    words: list[WordAttributionOut] | None = None


class Classifier(Protocol):
    def explain(self, text: str) -> Classification: ...

    def score(self, texts: list[str]) -> list[Classification]: ...


class ScoringClient:
    """Calls the scoring service with the app's API key; every failure becomes `ScoringUnavailable`."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def explain(self, text: str) -> Classification:
        body = self._post("/explain", {"text": text}, ExplainResponse)
        return Classification(label=body.label, probability=body.probability, model_version=body.model_version,
                              request_id=body.request_id, words=body.words)

    def score(self, texts: list[str]) -> list[Classification]:
        body = self._post("/score", {"data": texts}, ScoreResponse)
        if len(body.results) != len(texts):
            raise ScoringUnavailable(f"scoring service answered {len(body.results)} results for {len(texts)} texts")
        return [Classification(label=item.label, probability=item.probability, model_version=body.model_version,
                               request_id=body.request_id) for item in body.results]

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, payload: dict[str, Any], schema: type[BaseModel]) -> Any:
        try:
            response = self._http.post(path, json=payload)
        except httpx.TimeoutException as exc:
            raise ScoringUnavailable(f"scoring service timed out after {self._http.timeout.read}s") from exc
        except httpx.HTTPError as exc:
            # what technicians see: the reason, never the service's internal address (that goes to the log)
            log.warning("scoring service unreachable at %s: %s", self._http.base_url, exc)
            raise ScoringUnavailable(f"scoring service unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ScoringUnavailable(f"scoring service answered {response.status_code}: {_error_of(response)}")
        try:
            return schema.model_validate_json(response.content)
        except ValidationError as exc:
            raise ScoringUnavailable(f"scoring service sent an unexpected {path} body: {exc}") from exc


def _error_of(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text[:200]))
    except ValueError:
        return response.text[:200]
