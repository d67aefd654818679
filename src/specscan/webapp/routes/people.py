"""Signing in and out."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from specscan.webapp import accounts
from specscan.webapp.access import Db, Technician, session_cookie, settings_of
from specscan.webapp.pages import render
from specscan.webapp.passwords import MAX_PASSWORD

router = APIRouter()
LOGIN_CSRF_COOKIE = "specscan_login_csrf"
EXPIRED = "The log-in form expired: try again."
HTTPS_ONLY = ("The log-in form expired. This app's cookies are for HTTPS only and this page came over plain HTTP: "
              "open it with https://, or, for development on your own machine, start it with `specscan app --dev`.")


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`): never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/components"


def _login_page(request: Request, *, error: str | None = None, username: str = "", next_url: str = "/components",
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"error": error, "username": username, "next": next_url,
                                              "login_csrf": token}, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings_of(request).cookie_secure, path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(request: Request, db: Db, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=MAX_PASSWORD + 1)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/components") -> Response:  # noqa: A002
    settings = settings_of(request)
    wait = request.app.state.login_throttle.take(request.client.host if request.client else "")
    if wait:  # before anything is checked: a throttled attempt costs no argon2 and counts against no account
        response = _login_page(request, error=f"Too many log-in attempts from your address: try again in "
                                              f"{math.ceil(wait)} seconds.", username=username,
                               next_url=_safe_next(next), status_code=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not accounts.tokens_match(cookie, csrf_token):
        # no cookie at all over http with Secure cookies: the browser withheld it, trying again will not help
        plain_http = not cookie and settings.cookie_secure and request.url.scheme == "http"
        return _login_page(request, error=HTTPS_ONLY if plain_http else EXPIRED, username=username,
                           next_url=_safe_next(next), status_code=403)
    try:
        user = accounts.authenticate(db, username.strip(), password, settings)
    except accounts.AccountError as exc:  # the failure is counted, and committed, by then
        return _login_page(request, error=str(exc), username=username, next_url=_safe_next(next), status_code=401)
    # the session this browser held until now, whoever's: ended on the server, not only replaced in the cookie
    accounts.end_session(db, request.cookies.get(session_cookie(settings)))
    signed_in = accounts.start_session(db, user, settings)
    db.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(session_cookie(settings), signed_in.token, httponly=True, samesite="lax", path="/",
                        secure=settings.cookie_secure, max_age=settings.session_max_hours * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", httponly=True, samesite="strict",
                           secure=settings.cookie_secure)
    return response


@router.post("/logout")
def logout(request: Request, db: Db, _who: Technician) -> Response:
    settings = settings_of(request)
    accounts.end_session(db, request.cookies.get(session_cookie(settings)))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session_cookie(settings), httponly=True, secure=settings.cookie_secure)
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/components", status_code=303)
