"""Staff accounts of the console: argon2id password hashes, roles, jurisdiction, lockout.

A wrong password counts against the account; `login_max_failures` in a row lock it for
`login_lockout_minutes` (a correct password during the lockout is refused too, and does not
reset the count). A disabled account cannot sign in and its sessions end at once.
"""

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import Jurisdiction, check_prefix
from app.auth.service import Principal, check_role_badge
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import ConsoleSession, User
from app.models import base as _base

MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# Verified against when the username is unknown, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash("spotcheck-no-such-user")


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures in a row lock an account, and for how long."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


class LoginRefused(Exception):
    """A sign-in that did not succeed; `message` is what the person is told."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.locked = locked


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "message": message}])


def check_password(password: str) -> str:
    """A password long enough, or a 422."""
    if len(password) < MIN_PASSWORD:
        raise _bad("password", f"密码至少 {MIN_PASSWORD} 个字符")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of `password`."""
    return _hasher.hash(check_password(password))


def get_user(session: Session, username: str) -> User:
    """The account `username`; 404 if unknown."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有账号 {username}")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    department: str = "",
    region: str = "",
    badge: str | None = None,
    display_name: str = "",
    actor: str = "cli",
    within: Jurisdiction | None = None,
) -> User:
    """Creates an account (the password is hashed, never stored). `within`: the creator's
    jurisdiction, which the account's must lie in."""
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise _bad("username", "用户名须为 1–64 个可见字符，不含空格")
    check_role_badge(session, role=role, badge=badge)
    region = check_prefix(region)
    if within is not None:
        within.require_regions([region] if region else [], field="region")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"账号 {username} 已存在")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        inspector_badge=badge,
        department=department.strip(),
        region_prefix=region,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.create",
        entity=f"user:{username}",
        data={"role": role, "region": region, "department": user.department, "inspector": badge},
    )
    return user


def get_user_within(session: Session, username: str, jurisdiction: Jurisdiction) -> User:
    """The account `username` if inside the jurisdiction; 404 otherwise."""
    user = get_user(session, username)
    if not jurisdiction.covers(user.region_prefix):
        raise NotFound(f"没有账号 {username}")
    return user


def set_password(
    session: Session,
    *,
    username: str,
    password: str,
    actor: str,
    within: Jurisdiction | None = None,
) -> User:
    """Replaces the password; unlocks the account and ends its sessions."""
    user = get_user_within(session, username, within or Jurisdiction())
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    end_sessions(session, user)
    audit.append(session, actor=actor, action="user.passwd", entity=f"user:{username}", data={})
    return user


def disable_user(
    session: Session, *, username: str, actor: str, within: Jurisdiction | None = None
) -> User:
    """Disables the account: no sign-in, its sessions end now. Twice is a 409."""
    user = get_user_within(session, username, within or Jurisdiction())
    if user.disabled_at is not None:
        raise Conflict(f"账号 {username} 已停用")
    user.disabled_at = _base.utcnow()
    end_sessions(session, user)
    audit.append(session, actor=actor, action="user.disable", entity=f"user:{username}", data={})
    return user


def end_sessions(session: Session, user: User) -> None:
    """Ends every open console session of `user`."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=_base.utcnow())
    )
    session.flush()


def list_users(session: Session, *, jurisdiction: Jurisdiction) -> list[User]:
    """The accounts inside the jurisdiction, by username."""
    rows = session.scalars(select(User).order_by(User.username))
    return [u for u in rows if jurisdiction.covers(u.region_prefix)]


def user_dict(u: User) -> dict[str, Any]:
    """An account as the admin sees it (never its hash)."""
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "inspector": u.inspector_badge,
        "department": u.department,
        "region": u.region_prefix,
        "created_at": u.created_at,
        "disabled_at": u.disabled_at,
        "locked_until": u.locked_until,
        "last_login_at": u.last_login_at,
    }


def principal_of(user: User) -> Principal:
    """The caller a signed-in person is, for the same services the API calls."""
    return Principal(
        token_id=0,
        name=user.username,
        role=user.role,
        badge=user.inspector_badge,
        region=user.region_prefix,
        department=user.department,
        user_id=user.id,
    )


def authenticate(session: Session, *, username: str, password: str, policy: LoginPolicy) -> User:
    """The account if the password is right and it may sign in; LoginRefused otherwise.
    The caller commits either way: a failure's count must stick."""
    now = _base.utcnow()
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise LoginRefused("用户名或密码错误 (wrong username or password)")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(
            "失败次数过多，账号已暂时锁定，请稍后再试 (account locked, try later)", locked=True
        )
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        locked = user.failed_logins >= policy.max_failures
        if locked:
            user.locked_until = now + policy.lockout
            user.failed_logins = 0
        session.flush()
        audit.append(
            session,
            actor=f"user:{user.username}",
            action="user.lock" if locked else "user.login_failed",
            entity=f"user:{user.username}",
            data={},
        )
        if locked:
            raise LoginRefused(
                "失败次数过多，账号已暂时锁定，请稍后再试 (account locked, try later)",
                locked=True,
            ) from None
        raise LoginRefused("用户名或密码错误 (wrong username or password)") from None
    if user.disabled_at is not None:
        raise LoginRefused("账号已停用 (account disabled)")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user
