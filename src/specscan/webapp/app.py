"""The technician web application: pages over the inventory core, its retry worker, and its error pages."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from specscan.errors import SpecscanError
from specscan.http_server import BodyGuard
from specscan.settings import Settings
from specscan.webapp import inventory
from specscan.webapp.access import CsrfFailed, Forbidden, LoginRequired
from specscan.webapp.accounts import AccountError, bootstrap_admin
from specscan.webapp.database import create_database_engine, session_factory, upgrade
from specscan.webapp.pages import render
from specscan.webapp.retry import RetryWorker
from specscan.webapp.routes import account, admin, audit, components, dashboard, people, transfer
from specscan.webapp.scoring_client import Classifier, ScoringClient
from specscan.webapp.throttle import Throttle

log = logging.getLogger(__name__)
access_log = logging.getLogger("specscan.webapp.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HERE = Path(__file__).parent
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

# The largest request body read at all: the CSV import's 20 MB plus the multipart envelope.
MAX_BODY_BYTES = 21 << 20

def _request_id(given: str | None) -> str:
    """The caller's X-Request-ID if it is a sane one (a proxy's), else a new one."""
    return given if given and REQUEST_ID.match(given) else uuid.uuid4().hex


def create_app(settings: Settings, sessions: sessionmaker, classifier: Classifier, *,
               run_worker: bool = True) -> FastAPI:
    """The app over a migrated database (`sessions`) and a scoring service (`classifier`)."""
    worker = RetryWorker(sessions, classifier, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            worker.start()
        try:
            yield
        finally:
            if run_worker:
                worker.stop()

    # no API docs (the app is pages), and no slash redirects: Starlette builds their Location from the Host header
    app = FastAPI(title="specscan inventory", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  redirect_slashes=False)
    app.state.settings, app.state.sessions, app.state.classifier, app.state.worker = (
        settings, sessions, classifier, worker)
    app.state.login_throttle = Throttle(settings.login_throttle_per_minute)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is None and request.method not in ("GET", "HEAD", "OPTIONS"):
            # a body without a declared length (chunked) would be read, and spooled, before anything else
            response = render(request, "error.html", {
                "title": "Length required", "message": "Send the request with a Content-Length."}, status_code=411)
        elif length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response = render(request, "error.html", {
                "title": "Too large", "message": f"Requests are limited to {MAX_BODY_BYTES >> 20} MB; "
                                                 "split the file into smaller ones."}, status_code=413)
        else:
            response = await call_next(request)
        duration_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={duration_ms:.2f}"
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
            request_id = _request_id(request.headers.get("X-Request-ID"))
            response.headers["X-Request-ID"] = request_id
            viewer = getattr(request.state, "viewer", None)
            access_log.info("%s %s %d", request.method, request.url.path, response.status_code, extra={
                "request_id": request_id, "method": request.method, "path": request.url.path,
                "status": response.status_code, "duration_ms": round(duration_ms, 2),
                "user": viewer.username if viewer else None})
        return response

    # outermost, so the refusals above are drained too; its own 408 goes out without the headers added above
    app.add_middleware(BodyGuard, seconds=settings.body_timeout, drain_bytes=settings.max_drain_bytes,
                       too_slow=lambda scope: render(Request(scope), "error.html", {
                           "title": "Too slow", "message": "The request did not arrive in time: try again."},
                           status_code=408))
    for module in (people, account, components, transfer, dashboard, audit, admin):
        app.include_router(module.router)
    _install_error_pages(app)
    return app


def _login_url(back_to: str) -> str:
    return "/login?next=" + quote(back_to, safe="/")


def _install_error_pages(app: FastAPI) -> None:
    def page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        return render(request, "error.html", {"title": title, "message": message}, status_code=status)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.headers.get("HX-Request") == "true":  # back to the page the fragment was on, not the fragment
            page_path = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/components"
            return Response(status_code=401, headers={"HX-Redirect": _login_url(page_path)})
        if request.method == "GET":
            return RedirectResponse(_login_url(request.url.path), status_code=303)
        return page(request, 401, "Signed out", "Your session has ended: sign in again, then repeat the change.")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Exception) -> Response:
        return page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _exc: Exception) -> Response:
        return page(request, 403, "Request refused",
                    "This form did not carry this session's security token (an old page, or a forged "
                    "request). Reload the page and try again.")

    @app.exception_handler(inventory.NotFound)
    async def not_found(request: Request, exc: Exception) -> Response:
        return page(request, 404, "Not found", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return page(request, exc.status_code, titles.get(exc.status_code, "Error"), message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
                             for e in exc.errors()[:5])
        return page(request, 400, "Bad request", f"The request is not valid: {problems}.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return page(request, 500, "Something went wrong",
                    "The error was logged. Your last change may not have been saved: check before repeating it.")


def build(settings: Settings, *, run_worker: bool = True) -> FastAPI:
    """The app as `specscan app` runs it: database migrated to head, first admin bootstrapped, scoring client."""
    engine = create_database_engine(settings.resolved_app_database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as db:
            admin = bootstrap_admin(db, settings)
    except AccountError as exc:
        raise SpecscanError(f"the first admin from SPECSCAN_ADMIN_USERNAME and SPECSCAN_ADMIN_PASSWORD(_FILE) "
                            f"cannot be created: {exc}") from None
    if admin is not None:
        log.info("created the first admin %r from SPECSCAN_ADMIN_USERNAME", admin.username)
    key = settings.scoring_api_key.get_secret_value() if settings.scoring_api_key else None
    if key is None:
        log.warning("no SPECSCAN_SCORING_API_KEY: the scoring service will refuse the app and every component "
                    "will stay pending")
    classifier = ScoringClient(settings.scoring_url, key, timeout=settings.scoring_timeout)
    return create_app(settings, sessions, classifier, run_worker=run_worker)
