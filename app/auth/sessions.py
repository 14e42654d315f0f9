"""Console sign-in sessions: server-side rows, the cookie holds only a random id.

No signing key is needed: the cookie value is 256 random bits, the database keeps its SHA-256,
so neither a copy of the database nor of the code lets anyone forge a session. Each session
has its own CSRF token (synchronizer token), embedded in every form of the console and checked
on every POST. A session ends on sign-out, on disabling or re-passwording the account, after
`idle` without use (30 minutes by default) and `lifetime` after it began however used (12 hours
by default). Its `stage` says whether it is signed in yet (app/auth/signin.py).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ConsoleSession, User
from app.models import base as _base

COOKIE = "spotcheck_session"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(
    session: Session,
    user: User,
    *,
    idle: timedelta,
    lifetime: timedelta | None = None,
    stage: str = "full",
    source: str = "",
) -> tuple[str, ConsoleSession]:
    """A new session of `user`: (cookie value, row)."""
    value = secrets.token_urlsafe(32)
    now = _base.utcnow()
    row = ConsoleSession(
        id_sha256=_digest(value),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + min(idle, lifetime or idle),
        stage=stage,
        source=source[:64],
    )
    session.add(row)
    session.flush()
    return value, row


def resolve(
    session: Session,
    value: str,
    *,
    idle: timedelta,
    lifetime: timedelta | None = None,
    touch: bool = False,
) -> tuple[ConsoleSession, User] | None:
    """The live session behind a cookie value and its (enabled) account, or None. `touch`
    slides its expiry by `idle`, never past `lifetime` after it began."""
    if not value:
        return None
    row = session.get(ConsoleSession, _digest(value))
    now = _base.utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if lifetime is not None and row.created_at + lifetime <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if touch:
        end = now + idle
        if lifetime is not None:
            end = min(end, row.created_at + lifetime)
        row.last_seen_at, row.expires_at = now, end
    return row, user


def needs_touch(row: ConsoleSession) -> bool:
    """Whether a read should slide the expiry (at most once a minute: a write per page view
    would be wasteful)."""
    return (_base.utcnow() - row.last_seen_at) >= timedelta(seconds=60)


def end(session: Session, value: str) -> None:
    """Signs the session out."""
    row = session.get(ConsoleSession, _digest(value))
    if row is not None and row.ended_at is None:
        row.ended_at = _base.utcnow()
        session.flush()


def csrf_ok(row: ConsoleSession, submitted: str | None) -> bool:
    """Whether a form carried this session's CSRF token (constant-time comparison)."""
    return bool(submitted) and hmac.compare_digest(row.csrf_token, submitted or "")


def open_sessions(session: Session, user: User) -> list[ConsoleSession]:
    """The user's sessions that have not ended (for tests and the admin page)."""
    return list(
        session.scalars(
            select(ConsoleSession).where(
                ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None)
            )
        )
    )
