"""The signed-in person's own account: changing their password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from specscan.webapp import accounts
from specscan.webapp.access import Db, Technician, session_cookie, settings_of
from specscan.webapp.models import User
from specscan.webapp.pages import render
from specscan.webapp.passwords import MAX_PASSWORD

router = APIRouter(prefix="/account")
Password = Annotated[str, Form(max_length=MAX_PASSWORD + 1)]  # one more: a longer one is told the rule


def _page(request: Request, *, done: bool = False, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "account/password.html", {"title": "Change password", "done": done, "error": error},
                  status_code=status_code)


@router.get("/password")
def password_form(request: Request, who: Technician, done: bool = False) -> Response:
    return _page(request, done=done)


@router.post("/password")
def change_password(request: Request, db: Db, who: Technician, current_password: Password = "",
                    new_password: Password = "", new_password_again: Password = "") -> Response:
    """The current password, then the new one twice: the other sessions end, this one stays."""
    if new_password != new_password_again:
        return _page(request, error="the two new passwords differ: type the same one twice", status_code=422)
    settings = settings_of(request)
    user = db.get_one(User, who.user_id)
    try:
        accounts.change_password(db, user, current_password, new_password, settings,
                                 keep_token=request.cookies.get(session_cookie(settings)))
    except accounts.AccountError as exc:
        db.rollback()  # the lock-out's counts are committed by then; nothing else is written
        return _page(request, error=str(exc), status_code=422)
    db.commit()
    return RedirectResponse("/account/password?done=1", status_code=303)
