"""The lock-out's bookkeeping, as conditional UPDATEs that hold on SQLite and PostgreSQL alike.

A password check first reserves a place on its account: one UPDATE that succeeds only while the account is not
locked and its failures plus the checks in flight are fewer than `login_max_failures`, committed before the slow
argon2 check starts. So guesses sent in parallel can check no more passwords than the lock-out allows, however
many arrive at once (security review F1). The outcome then settles the place: a failure is counted, and the one
that reaches the limit locks the account; a success clears the failures only where no lock is, never over one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, or_, update
from sqlalchemy.orm import Session

from specscan.settings import Settings
from specscan.webapp.audit import record
from specscan.webapp.models import User, utcnow

# A check not settled after this long was cut off (its process killed): its place counts no more.
ABANDONED = timedelta(minutes=1)
_ONE_FEWER = case((User.logins_in_flight > 0, User.logins_in_flight - 1), else_=0)


def _unlocked(now: datetime) -> ColumnElement[bool]:
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def reserve(db: Session, user_id: int, settings: Settings) -> bool:
    """Takes a place for one password check of the account (committed); False when it is locked or full."""
    now = utcnow()
    in_flight = case((User.login_started_at > now - ABANDONED, User.logins_in_flight), else_=0)
    reserved = db.scalar(
        update(User).where(User.id == user_id, _unlocked(now),
                           User.failed_logins + in_flight < settings.login_max_failures)
        .values(logins_in_flight=in_flight + 1, login_started_at=now).returning(User.id)
        .execution_options(synchronize_session=False))
    db.commit()
    return reserved is not None


def count_failure(db: Session, user: User, settings: Settings) -> None:
    """A wrong password: its place becomes a failure; the failure that reaches the limit locks (committed)."""
    failures = db.scalar(
        update(User).where(User.id == user.id)
        .values(logins_in_flight=_ONE_FEWER, failed_logins=User.failed_logins + 1).returning(User.failed_logins)
        .execution_options(synchronize_session=False))
    if failures is not None and failures >= settings.login_max_failures:
        locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
        db.execute(update(User).where(User.id == user.id).values(failed_logins=0, locked_until=locked_until)
                   .execution_options(synchronize_session=False))
        record(db, user.username, "user.locked", "user", user.id, None, {"locked_until": locked_until.isoformat()})
    db.commit()


def count_success(db: Session, user_id: int, **also: object) -> bool:
    """The right password: its place is given back and the failures cleared, with `also` set, only where no lock
    is (committed); False, and nothing cleared, when the account was locked meanwhile."""
    done = db.scalar(
        update(User).where(User.id == user_id, _unlocked(utcnow()))
        .values(logins_in_flight=_ONE_FEWER, failed_logins=0, **also).returning(User.id)
        .execution_options(synchronize_session=False))
    if done is None:
        give_back(db, user_id)
        return False
    db.commit()
    return True


def give_back(db: Session, user_id: int) -> None:
    """A place no longer needed, neither failure nor success (a deactivated account's right password)."""
    db.execute(update(User).where(User.id == user_id).values(logins_in_flight=_ONE_FEWER)
               .execution_options(synchronize_session=False))
    db.commit()
