"""Who is asking: the signed-in viewer from the session cookie, CSRF checks on every unsafe request, roles.

These are FastAPI dependencies; the decisions themselves are in `accounts`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from specscan.settings import Settings
from specscan.webapp import accounts
from specscan.webapp.models import Role

Q = TypeVar("Q", bound=BaseModel)
SESSION_COOKIE = "specscan_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """No live session: send the browser to the log-in page."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this."""


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token (forged, or from a stale page)."""


@dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    role: Role
    csrf_token: str

    def may(self, role: Role) -> bool:
        return self.role.may(role)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def session_cookie(settings: Settings) -> str:
    """The session cookie's name: `__Host-` prefixed when Secure, so a browser takes it only from HTTPS, for this
    host alone (no Domain, Path=/), and no sibling subdomain can plant one."""
    return f"__Host-{SESSION_COOKIE}" if settings.cookie_secure else SESSION_COOKIE


def database(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token the request carries: the HTMX header, or the form field of a plain form post."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette: the route's Form parameters reuse it
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def viewer(request: Request, db: Annotated[Session, Depends(database)],
           csrf: Annotated[str | None, Depends(presented_csrf)]) -> Viewer:
    settings = settings_of(request)
    # a page polling by itself (X-Poll) is not someone using the app: it does not hold off the idle timeout
    session = accounts.current_session(db, request.cookies.get(session_cookie(settings)), settings,
                                       active=request.headers.get("X-Poll") != "true")
    db.commit()  # an expired session is deleted, a live one's last-seen time moved
    if session is None:
        raise LoginRequired()
    if request.method not in SAFE_METHODS and not accounts.csrf_matches(session, csrf):
        raise CsrfFailed()
    user = session.user
    found = Viewer(user.id, user.username, Role(user.role), session.csrf_token)
    request.state.viewer = found
    return found


def query_parameters(model: type[Q]) -> Callable[[Request], Q]:
    """A dependency reading the query string as `model`; a bad parameter is a 400 page naming it."""

    def parse(request: Request) -> Q:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None

    return parse


def requires(role: Role) -> Callable[[Viewer], Viewer]:
    def check(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if not who.may(role):
            raise Forbidden(f"this needs the {role.value} role; you are {who.role.value}")
        return who

    return check


Db = Annotated[Session, Depends(database)]
# Row ids in paths: a number a database integer holds (a larger one would overflow the driver, not miss)
ComponentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Technician = Annotated[Viewer, Depends(requires(Role.technician))]
Reviewer = Annotated[Viewer, Depends(requires(Role.reviewer))]
Admin = Annotated[Viewer, Depends(requires(Role.admin))]
