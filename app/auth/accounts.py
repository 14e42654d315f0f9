"""Staff accounts of the console: argon2id password hashes, the password policy, roles,
jurisdiction, the second factor's reset.

Signing in (failures per account and source, the second factor, the sign-in audit) is
app/auth/signin.py. A disabled account cannot sign in and its sessions end at once.

Password policy (等保 2.0 §8.1.4.1 a: 口令复杂度): at least `password_min_length` characters
(12), at least three of four kinds (lower case, upper case, digits, others: symbols, spaces,
Chinese…), not the published demo password, not containing the account name. Demo accounts
(`spotcheck demo`) are the only ones made without it; they carry the `demo` flag.
"""

from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import Jurisdiction, check_prefix
from app.auth.service import Principal, check_role_badge
from app.config import get_settings
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import ConsoleSession, User
from app.models import base as _base

# The demo accounts' password, printed by `spotcheck demo` and written in the README: never
# accepted for an account that is not a demo account.
DEMO_PASSWORD = "spotcheck-demo-2026"
hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# Verified against when the username is unknown, so that the answer takes as long.
DUMMY_HASH = hasher.hash("spotcheck-no-such-user")


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "message": message}])


def _kinds(password: str) -> int:
    lower = any(c.islower() and c.isascii() for c in password)
    upper = any(c.isupper() and c.isascii() for c in password)
    digit = any(c.isdigit() and c.isascii() for c in password)
    other = any(not (c.isascii() and c.isalnum()) for c in password)
    return lower + upper + digit + other


def check_password(password: str, username: str = "") -> str:
    """A password that keeps the policy (module docstring), or a 422 saying what is wrong."""
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise _bad("password", f"密码至少 {minimum} 个字符")
    if _kinds(password) < 3:
        raise _bad(
            "password",
            "密码须包含小写字母、大写字母、数字、其他字符（符号、空格、汉字）中的至少三类",
        )
    folded = password.casefold()
    if DEMO_PASSWORD.casefold() in folded:
        raise _bad("password", "不得使用公开的演示密码")
    name = username.strip().casefold()
    if len(name) >= 3 and name in folded:
        raise _bad("password", "密码不得包含用户名")
    return password


def hash_password(password: str, username: str = "", *, demo: bool = False) -> str:
    """The argon2id hash of `password` (a demo account's is not held to the policy)."""
    return hasher.hash(password if demo else check_password(password, username))


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
    demo: bool = False,
) -> User:
    """Creates an account (the password is hashed, never stored). `within`: the creator's
    jurisdiction, which the account's must lie in. `demo`: a demo account (`spotcheck demo`
    only), its password not held to the policy."""
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
        password_hash=hash_password(password, username, demo=demo),
        demo=demo,
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
        data={
            "role": role,
            "region": region,
            "department": user.department,
            "inspector": badge,
            **({"demo": True} if demo else {}),
        },
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
    user.password_hash = hash_password(password, username)
    user.demo = False  # a password of one's own: held to the policy, no longer a demo account
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
        "totp": bool(u.totp_secret),
        "demo": u.demo,
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


def reset_totp(
    session: Session, *, username: str, actor: str, within: Jurisdiction | None = None
) -> User:
    """Removes an account's second factor (a lost phone): it sets one up again at its next
    sign-in if its role needs one. Its sessions end."""
    user = get_user_within(session, username, within or Jurisdiction())
    user.totp_secret, user.totp_last_step = None, None
    end_sessions(session, user)
    audit.append(session, actor=actor, action="user.totp_reset", entity=f"user:{username}", data={})
    return user
