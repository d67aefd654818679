"""People and access: argon2 password hashes, log-in with lock-out, server-side sessions with expiry and
a CSRF token each, and user administration. Every change lands in the audit log."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from specscan.settings import Settings
from specscan.webapp import lockout
from specscan.webapp.audit import record
from specscan.webapp.models import Role, User, WebSession, utcnow
from specscan.webapp.passwords import MAX_PASSWORD, problem

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be carried out, with the reason to show."""


@dataclass(frozen=True)
class SignedIn:
    """A session's browser token (for the cookie only) and its CSRF token."""

    token: str
    csrf_token: str


def check_new_password(password: str, username: str) -> None:
    """Raises `AccountError` naming what is wrong when `password` may not become `username`'s (`passwords`)."""
    reason = problem(password, username)
    if reason is not None:
        raise AccountError(reason)


def create_user(db: Session, username: str, password: str, role: Role | str, *, actor: str) -> User:
    """A new active user; raises `AccountError` for a taken or malformed name, a weak password or a bad role."""
    if not USERNAME.match(username):
        raise AccountError("a username has 3 to 64 letters, digits or . _ @ -")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}: choose {', '.join(Role)}") from None
    check_new_password(password, username)
    if db.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise AccountError(f"the username {username!r} is taken")
    user = User(username=username, password_hash=_hasher.hash(password), role=role.value, active=True)
    try:
        with db.begin_nested():  # two admins creating the same name at once: the second is told, not a 500
            db.add(user)
            db.flush()
    except IntegrityError:
        raise AccountError(f"the username {username!r} is taken") from None
    record(db, actor, "user.create", "user", user.id, None, {"username": username, "role": role.value})
    return user


def set_role(db: Session, user: User, role: Role | str, *, actor: str) -> None:
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}: choose {', '.join(Role)}") from None
    if user.role == Role.admin and role != Role.admin:
        _keep_an_admin(db, user)
    before = {"role": user.role}
    user.role = role.value
    _an_admin_remains(db)
    record(db, actor, "user.role", "user", user.id, before, {"role": role.value})


def set_active(db: Session, user: User, active: bool, *, actor: str) -> None:
    if not active and user.role == Role.admin:
        _keep_an_admin(db, user)
    before = {"active": user.active}
    user.active = active
    _an_admin_remains(db)
    if not active:
        db.execute(delete(WebSession).where(WebSession.user_id == user.id))
    else:
        user.failed_logins, user.locked_until = 0, None
    record(db, actor, "user.activate" if active else "user.deactivate", "user", user.id, before, {"active": active})


def set_password(db: Session, user: User, password: str, *, actor: str) -> None:
    """An admin's reset: the new password (under the policy), and every session of the user ended."""
    check_new_password(password, user.username)
    user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until = 0, None
    db.execute(delete(WebSession).where(WebSession.user_id == user.id))
    record(db, actor, "user.password", "user", user.id, None, None)


def change_password(db: Session, user: User, current: str, new: str, settings: Settings, *,
                    keep_token: str | None) -> None:
    """A user's change of their own password: `current` checked under the lock-out, `new` under the policy; the
    user's other sessions end, the one of `keep_token` stays. Commits `db` as it counts (see `authenticate`)."""
    check_new_password(new, user.username)
    if _checked(db, user, current, settings) is None or not lockout.count_success(db, user.id):
        raise AccountError(f"the current password is not right (after {settings.login_max_failures} wrong "
                           f"passwords in a row the account is locked for {settings.login_lockout_minutes} minutes)")
    user.password_hash = _hasher.hash(new)
    db.execute(delete(WebSession).where(WebSession.user_id == user.id,
                                        WebSession.token_hash != _digest(keep_token or "")))
    record(db, user.username, "user.password", "user", user.id, None, None)


LAST_ADMIN = "this is the last active admin: make another admin first"


def _keep_an_admin(db: Session, user: User) -> None:
    """Refuses to remove the last active admin. The admins' rows are locked first (PostgreSQL), so two
    admins removing each other at once are serialised and the second is refused."""
    admins = db.scalars(select(User.id).where(User.role == Role.admin, User.active.is_(True))
                        .order_by(User.id).with_for_update()).all()
    if not [admin for admin in admins if admin != user.id]:
        raise AccountError(LAST_ADMIN)


def _an_admin_remains(db: Session) -> None:
    """Checked again after the change, inside its transaction (SQLite serialises writers, not reads)."""
    db.flush()
    if not db.scalar(select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True))):
        raise AccountError(LAST_ADMIN)


def bootstrap_admin(db: Session, settings: Settings) -> User | None:
    """The first admin, from SPECSCAN_ADMIN_USERNAME and SPECSCAN_ADMIN_PASSWORD(_FILE), if there are no users yet."""
    if db.scalar(select(func.count()).select_from(User)):
        return None
    if not settings.admin_username or settings.admin_password is None:
        return None
    return create_user(db, settings.admin_username, settings.admin_password.get_secret_value(), Role.admin,
                       actor="bootstrap")


def authenticate(db: Session, username: str, password: str, settings: Settings) -> User:
    """The user, if the password is right and the account is active and not locked; else `AccountError`.

    Every refusal but a deactivated account's reads the same and takes as long (one argon2 check), so
    it tells neither which usernames exist nor which are locked. After `login_max_failures` wrong
    passwords in a row the account is locked for `login_lockout_minutes`, and parallel guesses cannot
    outrun that (`lockout`). Commits `db`: the lock-out's counts must be seen by other log-ins at once."""
    found = db.scalar(select(User).where(func.lower(User.username) == username.lower()))
    refused = AccountError(f"wrong username or password (after {settings.login_max_failures} failures in a row "
                           f"an account is locked for {settings.login_lockout_minutes} minutes)")
    user = _checked(db, found, password, settings)
    if user is None:
        raise refused
    if not user.active:
        lockout.give_back(db, user.id)
        raise AccountError("this account is deactivated; ask an admin")
    if not lockout.count_success(db, user.id, last_login_at=utcnow()):
        raise refused  # locked while the password was being checked
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _checked(db: Session, user: User | None, password: str, settings: Settings) -> User | None:
    """`user` if `password` is theirs, checked only if the lock-out gives it a place (`lockout.reserve`); else
    None. A wrong one is counted; a right one leaves its place for the caller to settle (`lockout.count_success`).
    Refused before the check, a password is checked against a dummy hash instead, to take as long."""
    if user is None or len(password) > MAX_PASSWORD or not lockout.reserve(db, user.id, settings):
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        return None
    if _verify(user.password_hash, password):
        return user
    lockout.count_failure(db, user, settings)
    return None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def start_session(db: Session, user: User, settings: Settings) -> SignedIn:
    """A new session for `user`; sessions past their end (abandoned, never signed out) are removed."""
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(delete(WebSession).where(WebSession.expires_at <= now))
    db.add(WebSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf_token, created_at=now,
                      last_seen_at=now, expires_at=now + timedelta(hours=settings.session_max_hours)))
    record(db, user.username, "user.login", "user", user.id, None, None)
    return SignedIn(token, csrf_token)


def current_session(db: Session, token: str | None, settings: Settings, *, active: bool = True) -> WebSession | None:
    """The live session for a cookie token, or None (unknown, tampered, expired, idle too long, user inactive)."""
    if not token or len(token) > 128:
        return None
    session = db.get(WebSession, _digest(token))
    if session is None:
        return None
    now = utcnow()
    idle_limit = session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if session.expires_at <= now or idle_limit <= now or not session.user.active:
        db.delete(session)
        return None
    if active and now - session.last_seen_at > timedelta(minutes=1):  # at most one write a minute per session
        session.last_seen_at = now
    return session


def end_session(db: Session, token: str | None) -> None:
    if token:
        session = db.get(WebSession, _digest(token))
        if session is not None:
            record(db, session.user.username, "user.logout", "user", session.user_id, None, None)
            db.delete(session)


def csrf_matches(session: WebSession, presented: str | None) -> bool:
    return bool(presented) and tokens_match(session.csrf_token, presented or "")


def tokens_match(expected: str, presented: str) -> bool:
    """Constant-time comparison of two tokens, whatever characters the presented one holds."""
    return hmac.compare_digest(expected.encode("utf-8", "replace"), presented.encode("utf-8", "replace"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
