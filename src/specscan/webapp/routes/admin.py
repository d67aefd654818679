"""Administration: users and their roles, and the scoring service's API keys. Admins only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from specscan.errors import SpecscanError
from specscan.scoring.apikeys import ApiKeyRecord, ApiKeyStore
from specscan.scoring.apikeys import Role as KeyRole
from specscan.webapp import accounts
from specscan.webapp.access import Admin, Db, UserId, settings_of
from specscan.webapp.audit import record
from specscan.webapp.inventory import NotFound
from specscan.webapp.models import AuditEntry, Role, User, utcnow
from specscan.webapp.pages import render
from specscan.webapp.passwords import MAX_PASSWORD

router = APIRouter(prefix="/admin")
Password = Annotated[str, Form(max_length=MAX_PASSWORD + 1)]  # one more: a longer one is told the rule
DONE = {"created": "User created.", "role": "Role changed.", "active": "Account state changed.",
        "password": "Password reset; the user's sessions have ended."}


def _users_page(request: Request, db: Session, *, error: str | None = None, entered: dict[str, str] | None = None,
                done: str | None = None, status_code: int = 200) -> Response:
    users = db.scalars(select(User).order_by(User.username)).all()
    return render(request, "admin/users.html", {
        "title": "Users", "users": users, "roles": list(Role), "now": utcnow(), "error": error,
        "entered": entered or {}, "done": DONE.get(done or "")}, status_code=status_code)


def _change(request: Request, db: Session, change: Callable[[], object], done: str,
            entered: dict[str, str] | None = None) -> Response:
    """Carries out an account change and commits it, or shows why it was refused (nothing written)."""
    try:
        change()
    except accounts.AccountError as exc:
        db.rollback()
        return _users_page(request, db, error=str(exc), entered=entered, status_code=422)
    db.commit()
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


def _user(db: Session, user_id: UserId) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    return user


@router.get("/users")
def users(request: Request, db: Db, who: Admin, done: str | None = None) -> Response:
    return _users_page(request, db, done=done)


@router.post("/users")
def create_user(request: Request, db: Db, who: Admin, username: Annotated[str, Form(max_length=200)] = "",
                role: Annotated[str, Form(max_length=32)] = "", password: Password = "") -> Response:
    username = username.strip()
    return _change(request, db, lambda: accounts.create_user(db, username, password, role, actor=who.username),
                   "created", entered={"username": username, "role": role})


@router.post("/users/{user_id}/role")
def change_role(request: Request, db: Db, who: Admin, user_id: UserId,
                role: Annotated[str, Form(max_length=32)] = "") -> Response:
    user = _user(db, user_id)
    return _change(request, db, lambda: accounts.set_role(db, user, role, actor=who.username), "role")


@router.post("/users/{user_id}/active")
def change_active(request: Request, db: Db, who: Admin, user_id: UserId, active: Annotated[bool, Form()]) -> Response:
    user = _user(db, user_id)
    return _change(request, db, lambda: accounts.set_active(db, user, active, actor=who.username), "active")


@router.post("/users/{user_id}/password")
def reset_password(request: Request, db: Db, who: Admin, user_id: UserId, password: Password = "") -> Response:
    user = _user(db, user_id)
    return _change(request, db, lambda: accounts.set_password(db, user, password, actor=who.username), "password")


def key_store(request: Request) -> ApiKeyStore:
    """The scoring service's API keys, from the file it reads them from."""
    try:
        return ApiKeyStore(settings_of(request).resolved_api_keys_file)
    except SpecscanError as exc:
        raise HTTPException(503, str(exc)) from None


KeyStore = Annotated[ApiKeyStore, Depends(key_store)]  # after the Admin parameter: only admins learn of the file


def _described(key: ApiKeyRecord) -> dict[str, Any]:
    """What the audit log keeps of a key: never the key, nor its hash."""
    return key.model_dump(include={"role", "note", "created"})


def _keys_page(request: Request, db: Session, store: ApiKeyStore, *, new_key: str | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    revoked = db.scalars(select(AuditEntry).where(AuditEntry.action == "apikey.revoke")
                         .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)).all()
    return render(request, "admin/api_keys.html", {
        "title": "API keys", "keys": store.records(), "revoked": revoked, "new_key": new_key, "error": error,
        "path": store.path}, status_code=status_code)


@router.get("/api-keys")
def api_keys(request: Request, db: Db, who: Admin, store: KeyStore) -> Response:
    return _keys_page(request, db, store)


@router.post("/api-keys")
def create_key(request: Request, db: Db, who: Admin, store: KeyStore, role: Annotated[KeyRole, Form()],
               note: Annotated[str, Form(max_length=200)] = "") -> Response:
    """A new key, shown on this response only: it is stored as a hash."""
    try:
        key, created = store.create(role, note=note.strip())
    except (OSError, SpecscanError) as exc:
        return _keys_page(request, db, store, error=f"the key was not created: {exc}", status_code=503)
    record(db, who.username, "apikey.create", "apikey", created.id, None, _described(created))
    db.commit()
    return _keys_page(request, db, store, new_key=key, status_code=201)


@router.post("/api-keys/{key_id}/revoke")
def revoke_key(request: Request, db: Db, who: Admin, store: KeyStore, key_id: str) -> Response:
    try:
        revoked = store.revoke(key_id)
    except SpecscanError as exc:
        return _keys_page(request, db, store, error=str(exc), status_code=404)
    except OSError as exc:
        return _keys_page(request, db, store, error=f"the key was not revoked: {exc}", status_code=503)
    record(db, who.username, "apikey.revoke", "apikey", revoked.id, _described(revoked), None)
    db.commit()
    return RedirectResponse("/admin/api-keys", status_code=303)
