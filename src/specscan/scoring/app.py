"""The scoring service: `create_app(...)` builds the FastAPI app around a loaded model.

Endpoints: `/score` (Azure ML online endpoint), `/v2/...` (Open Inference Protocol),
`/invocations` (MLflow scoring server), `/admin/reload`; `/metrics`, `/openapi.json` and `/docs` as the settings
`metrics_access` and `docs_access` allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import specscan
from specscan.errors import SpecscanError
from specscan.http_server import BodyGuard
from specscan.scoring import v2
from specscan.scoring.apikeys import ApiKeyStore
from specscan.scoring.batcher import BatchStats, MicroBatcher, Scored, ServiceUnavailable
from specscan.scoring.collector import Collector
from specscan.scoring.docs import KEYED, SECURITY_SCHEMES, docs_page
from specscan.scoring.explain import METHOD, Explanation, explain
from specscan.scoring.http import (
    ApiError,
    ObserveRequests,
    authorize,
    check_texts,
    error_response,
    read_body,
    request_id,
)
from specscan.scoring.invocations import InvalidInvocation, InvocationRequest, InvocationResponse, parse_invocation
from specscan.scoring.metrics import ServiceMetrics
from specscan.scoring.schemas import (
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    ReloadResponse,
    ScoreRequest,
    ScoreResponse,
)
from specscan.scoring.served_model import ModelSource, ServedModel
from specscan.scoring.telemetry import configure_tracing
from specscan.scoring.throttle import PerCallerLimit
from specscan.settings import Access, Settings

log = logging.getLogger(__name__)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in {
        400: "Malformed JSON or protocol violation", 401: "Missing or invalid API key",
        403: "The API key's role does not allow this", 413: "Body over the size limit",
        415: "Unsupported content type or encoding", 422: "Invalid texts (empty, too long, not strings, too many)",
        503: "Not ready, shutting down, the API keys unreadable, or the prediction could not be recorded"}.items()}
V2_CONTENT_TYPES = ("application/json", "application/octet-stream", "")  # tritonclient sends none
SCORE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}"),
              {"type": "array", "items": {"type": "string"}, "minItems": 1}]}}}}}


def _body_schema(model: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


class ScoringService:
    """The state behind the routes: the current model, the batcher, keys, metrics; swaps models on reload."""

    def __init__(self, settings: Settings, source: ModelSource, model: ServedModel, *,
                 keys: ApiKeyStore, collector: Collector) -> None:
        self.settings = settings
        self.source = source
        self.model = model
        self.keys = keys
        self.collector = collector
        stats = BatchStats()
        self.batcher = MicroBatcher(lambda: self.model, collector.write, max_batch_size=settings.max_batch_size,
                                    max_wait=settings.max_wait_ms / 1000, text_policy=settings.collect_text,
                                    stats=stats)
        self.metrics = ServiceMetrics(queue_depth=lambda: self.batcher.queue_depth,
                                      collection_lag=stats.collection_lag,
                                      pending_records=stats.pending_records)
        stats.on_batch = self.metrics.observe_batch
        stats.on_commit = lambda size, seconds: self.metrics.commit_seconds.observe(seconds)
        self.metrics.set_model(model.name, model.version, source.reference)
        self._reload_lock = asyncio.Lock()
        self.explain_limit = PerCallerLimit("/explain", settings.explain_concurrency)
        self._explain_pool = ThreadPoolExecutor(settings.explain_threads, thread_name_prefix="explain")
        self.ready = False

    async def score(self, request: Request, items: Any, endpoint: str) -> Scored:
        texts = check_texts(items, max_items=self.settings.max_items, max_chars=self.settings.max_text_chars)
        state = request.scope["state"]
        state["items"] = len(texts)
        try:
            scored = await self.batcher.score(texts, request_id=state["request_id"], endpoint=endpoint,
                                              caller=state.get("caller"),
                                              client_request_id=state.get("client_request_id"))
        except ServiceUnavailable as exc:
            raise ApiError(503, str(exc), {"Retry-After": "1"}) from None
        state["model_version"] = scored.model_version
        self.metrics.observe_labels(scored.labels)
        return scored

    async def explain(self, model: ServedModel, text: str) -> Explanation:
        """Word attributions of `text` on `model`, computed in the bounded explain pool."""
        work = functools.partial(explain, model.predictor, text, max_words=self.settings.explain_max_words)
        return await asyncio.get_running_loop().run_in_executor(self._explain_pool, work)

    def close(self) -> None:
        """Stop the explain threads (after the last request)."""
        self._explain_pool.shutdown()

    async def reload(self) -> ReloadResponse:
        """Switch to the version the reference names now, if it moved; requests in flight finish on the old one."""
        async with self._reload_lock:
            previous = self.model
            version = await asyncio.to_thread(self.source.current_version)
            if version == previous.version:
                return ReloadResponse(model_name=previous.name, previous_version=previous.version,
                                      model_version=version, reloaded=False)
            model = await asyncio.to_thread(self.source.load, version=version,
                                            intra_op_threads=self.settings.ort_threads)
            self.model = model
            self.metrics.set_model(model.name, model.version, self.source.reference)
            self.metrics.reloads.inc()
            log.info("now serving %s version %d (was %d)", model.name, model.version, previous.version,
                     extra={"model_version": model.version})
            return ReloadResponse(model_name=model.name, previous_version=previous.version,
                                  model_version=model.version, reloaded=True)

    async def poll(self) -> None:
        """Re-check the registry every `reload_interval` seconds (the key store watches its file itself)."""
        while True:
            await asyncio.sleep(self.settings.reload_interval)
            try:
                await self.reload()
            except Exception as exc:  # the registry may be briefly down: keep serving what we have
                log.warning("registry poll failed, still serving version %d: %s", self.model.version, exc)


def create_app(settings: Settings, source: ModelSource, model: ServedModel, *,
               keys: ApiKeyStore, collector: Collector) -> FastAPI:
    """The scoring service for `model` (already loaded), scoring through `collector` and `keys`."""
    service = ScoringService(settings, source, model, keys=keys, collector=collector)
    tracing = configure_tracing(settings, "specscan-serve")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.batcher.start()
        poller = asyncio.create_task(service.poll()) if settings.reload_interval > 0 and not source.is_directory \
            else None
        service.ready = True
        try:
            yield
        finally:
            service.ready = False
            if poller is not None:
                poller.cancel()
            await service.batcher.stop()
            service.close()
            collector.close()
            if tracing is not None:
                tracing.shutdown()

    # No slash redirects: Starlette builds their Location from the Host header. The docs routes are added below.
    app = FastAPI(title="specscan scoring service", version=specscan.__version__, lifespan=lifespan,
                  description="Labels component descriptions compliant / non_compliant with an ONNX model. "
                              "Send an API key as `Authorization: Bearer <key>`.",
                  docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.service = service
    too_slow = f"the request body did not arrive within {settings.body_timeout:g} s"
    app.add_middleware(BodyGuard, seconds=settings.body_timeout, drain_bytes=settings.max_drain_bytes,
                       too_slow=lambda scope: error_response(scope["state"]["request_id"], 408, too_slow))
    app.add_middleware(ObserveRequests, metrics=service.metrics,
                       tracer=tracing.get_tracer("specscan.scoring") if tracing is not None else None)
    _install_error_handlers(app)
    limit = settings.max_body_bytes

    def allow(request: Request, access: Access) -> None:
        """Let the request through under `access`: anyone, or a caller with an API key of that role."""
        if access in ("scorer", "admin"):
            authorize(request, service.keys, access)

    @app.post("/score", response_model=ScoreResponse, responses=ERRORS, openapi_extra={**SCORE_BODY, **KEYED},
              tags=["scoring"])
    async def score(request: Request) -> Response:
        """Score texts: `{"data": ["text", ...]}` or a bare JSON list; label and probability of non_compliant."""
        authorize(request, service.keys, "scorer")
        parsed = _parse_json(await read_body(request, limit=limit))
        if isinstance(parsed, dict):
            if set(parsed) != {"data"}:
                raise ApiError(422, 'the body must be {"data": [texts]} or a JSON list of texts')
            parsed = parsed["data"]
        scored = await service.score(request, parsed, "score")
        return _json({"request_id": request_id(request), "model_name": scored.model_name,
                      "model_version": scored.model_version,
                      "results": [{"label": label, "probability": float(p)}
                                  for label, p in zip(scored.labels, scored.probabilities.tolist(), strict=True)]})

    @app.post("/explain", response_model=ExplainResponse, openapi_extra={**_body_schema(ExplainRequest), **KEYED},
              tags=["scoring"],
              responses={**ERRORS, 429: {"model": ErrorResponse, "description": "Too many of this key's /explain "
                                                                                  "requests in flight (Retry-After)"}})
    async def explain_text(request: Request) -> Response:
        """Score one text and attribute the result to its first words (occlusion on the same ONNX model)."""
        caller = authorize(request, service.keys, "scorer")
        with service.explain_limit.hold(caller.key_id):
            parsed = _parse_json(await read_body(request, limit=limit))
            if not isinstance(parsed, dict) or set(parsed) != {"text"}:
                raise ApiError(422, 'the body must be {"text": "..."}')
            scored = await service.score(request, [parsed["text"]], "explain")
            model = service.model
            if model.version != scored.model_version:
                raise ApiError(503, "the model version changed during the request; retry", {"Retry-After": "1"})
            explanation = await service.explain(model, parsed["text"])
        return _json({"request_id": request_id(request), "model_name": scored.model_name,
                      "model_version": scored.model_version, "label": scored.labels[0],
                      "probability": float(scored.probabilities[0]), "method": METHOD,
                      "words": [{"text": w.text, "start": w.start, "end": w.end, "attribution": w.attribution}
                                for w in explanation.words],
                      "words_truncated": explanation.truncated})

    @app.post("/invocations", response_model=InvocationResponse, responses=ERRORS,
              openapi_extra={**_body_schema(InvocationRequest), **KEYED}, tags=["scoring"])
    async def invocations(request: Request) -> Response:
        """MLflow scoring-server format: dataframe_split, dataframe_records or inputs."""
        authorize(request, service.keys, "scorer")
        try:
            items = parse_invocation(await read_body(request, limit=limit))
        except InvalidInvocation as exc:
            raise ApiError(400, str(exc)) from None
        scored = await service.score(request, items, "invocations")
        return _json({"predictions": [{"label": label, "probability": float(p)}
                                      for label, p in zip(scored.labels, scored.probabilities.tolist(), strict=True)]},
                     {"x-model-version": str(scored.model_version)})

    @app.get("/v2", response_model=v2.ServerMetadata, tags=["open inference protocol"])
    async def server_metadata() -> v2.ServerMetadata:
        """Server name, version and protocol extensions."""
        return v2.ServerMetadata(version=specscan.__version__)

    @app.get("/v2/health/live", tags=["open inference protocol"])
    async def live() -> dict[str, bool]:
        """The process is up."""
        return {"live": True}

    @app.get("/v2/health/ready", tags=["open inference protocol"], responses={503: {"model": ErrorResponse}})
    async def ready() -> Response:
        """A model is loaded and requests are being taken."""
        if not service.ready:
            raise ApiError(503, "not ready")
        return _json({"ready": True})

    @app.get("/v2/models/{model_name}", response_model=v2.ModelMetadata, responses={404: {"model": ErrorResponse}},
             tags=["open inference protocol"])
    async def model_metadata(model_name: str) -> v2.ModelMetadata:
        """The model's name, served version, input and output tensors."""
        current = _named(model_name)
        return v2.model_metadata(current.name, current.version)

    @app.get("/v2/models/{model_name}/ready", responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
             tags=["open inference protocol"])
    async def model_ready(model_name: str) -> dict[str, Any]:
        """The named model is loaded."""
        current = _named(model_name)
        if not service.ready:
            raise ApiError(503, "not ready")
        return {"name": current.name, "ready": True}

    @app.post("/v2/models/{model_name}/infer", response_model=v2.InferResponse,
              responses={**ERRORS, 404: {"model": ErrorResponse}},
              openapi_extra={**_body_schema(v2.InferRequest), **KEYED}, tags=["open inference protocol"])
    async def infer(model_name: str, request: Request) -> Response:
        """Score a BYTES tensor `text`; outputs `label` (BYTES) and `probability` (FP32), JSON or binary."""
        _named(model_name)
        authorize(request, service.keys, "scorer")
        body = await read_body(request, limit=limit, content_types=V2_CONTENT_TYPES)
        try:
            infer_request, items = v2.parse_infer(body, request.headers.get(v2.HEADER_LENGTH),
                                                  max_items=settings.max_items)
        except v2.InvalidInferRequest as exc:
            raise ApiError(400, str(exc)) from None
        scored = await service.score(request, items, "v2")
        content, headers = v2.infer_response(infer_request, model_name=scored.model_name,
                                             model_version=scored.model_version, labels=scored.labels,
                                             probabilities=scored.probabilities)
        media = headers.pop("content-type")
        return Response(content, media_type=media, headers=headers)

    @app.post("/admin/reload", response_model=ReloadResponse, responses=ERRORS, openapi_extra=KEYED, tags=["admin"])
    async def reload(request: Request) -> ReloadResponse:
        """Switch to the version the alias names now (admin key)."""
        authorize(request, service.keys, "admin")
        try:
            return await service.reload()
        except SpecscanError as exc:  # the reason names the registry's address: for the log, not the caller
            log.error("reload failed, still serving version %d: %s", service.model.version, exc,
                      extra={"request_id": request_id(request)})
            raise ApiError(503, f"reload failed, still serving version {service.model.version}; "
                                "the service log has the reason") from None

    if settings.metrics_access != "off":
        @app.get("/metrics", tags=["operations"], response_class=Response,
                 openapi_extra=None if settings.metrics_access == "public" else KEYED,
                 responses=None if settings.metrics_access == "public" else ERRORS)
        async def metrics(request: Request) -> Response:
            """Prometheus metrics."""
            allow(request, settings.metrics_access)
            return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    if settings.docs_access != "off":
        @app.get("/openapi.json", include_in_schema=False)
        async def openapi(request: Request) -> Response:
            allow(request, settings.docs_access)
            return JSONResponse(app.openapi())

    if settings.docs_access == "public":  # a browser cannot send a key with the page's request for /openapi.json
        @app.get("/docs", include_in_schema=False)
        async def docs(request: Request) -> HTMLResponse:
            return docs_page(app.title, request.scope.get("root_path", "") + "/openapi.json")

    @app.get("/ping", tags=["operations"])
    async def ping() -> dict[str, str]:
        """Liveness, as MLflow's scoring server answers it."""
        return {"status": "ok"}

    _declare_bearer(app)

    def _named(model_name: str) -> ServedModel:
        current = service.model
        if model_name != current.name:
            raise ApiError(404, f"unknown model {model_name[:100]!r}; this server serves {current.name!r}")
        return current

    return app


def _declare_bearer(app: FastAPI) -> None:
    """Add the bearer scheme the keyed routes name to the generated OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate().setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _parse_json(body: bytes) -> Any:
    try:
        return pydantic_core.from_json(body)
    except ValueError as exc:
        try:  # the standard parser also reads lone surrogate escapes ("\\ud800"): the text rule then names the item
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack allows
            raise ApiError(400, f"invalid JSON: {str(exc)[:200]}") from None


def _json(content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode(),
                    media_type="application/json", headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request.scope.get("state", {}).get("request_id"), exc.status, exc.message, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request.scope.get("state", {}).get("request_id"), exc.status_code, str(exc.detail))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(request.scope.get("state", {}).get("request_id"), 422, f"{where}: {first['msg']}")

    async def unexpected(request: Request, exc: Exception) -> Response:
        rid = request.scope.get("state", {}).get("request_id")
        log.error("unhandled error", exc_info=exc, extra={"request_id": rid})
        return error_response(rid, 500, "internal error; quote the request id when reporting it")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
