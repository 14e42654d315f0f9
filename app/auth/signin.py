"""Signing in to the console so that it cannot be turned against the people who use it.

- Failures are counted per account name *and* source address (`SignInThrottle`): five in a row
  lock that pair only — someone elsewhere cannot lock `admin` out for everyone — for
  `login_lockout_minutes`, each further lockout of the pair twice as long (up to
  `login_lockout_max_minutes`). A success resets the pair.
- Unknown account names are treated exactly as known ones (a hash is verified, failures count,
  the pair locks): the answer never tells which names exist. Every refusal is a 401.
- A person whose account has a second factor (TOTP, app/auth/totp.py) gives a code next; one
  whose role needs one (`totp_required_roles`, admins by default) and has none sets it up
  first. Until then the session opens nothing else (`ConsoleSession.stage`).
- Every attempt is written to the sign-in audit (`SignIn`: time, name, source, outcome), kept
  at least six months (`sign_in_retention_days`, pruned by the scheduler after that).
- Demo accounts (`spotcheck demo`, a published password) sign in only where they are allowed
  (`demo_accounts`: the embedded SQLite database by default).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth import totp
from app.auth.accounts import DUMMY_HASH, hasher
from app.config import Settings
from app.models import ConsoleSession, SignIn, SignInThrottle, User

WRONG = "用户名或密码错误 (wrong username or password)"
WRONG_CODE = "动态验证码错误或已使用 (wrong or used one-time code)"
DISABLED = "账号已停用 (account disabled)"
DEMO_REFUSED = "演示账号只能在演示环境中使用 (demo accounts are not allowed here)"

# outcomes in the sign-in audit
OK, PASSWORD_OK, FAILED, LOCKED_OUT, LOCKED = "ok", "password_ok", "failed", "locked_out", "locked"
TOTP_FAILED, TOTP_ENROLLED, REFUSED, SIGNED_OUT = "totp_failed", "totp_enrolled", "refused", "out"


@dataclass(frozen=True)
class SignInPolicy:
    """The rules of signing in (from the settings)."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    max_lockout: timedelta = timedelta(hours=24)
    totp_roles: frozenset[str] = field(default_factory=lambda: frozenset({"admin"}))
    demo_allowed: bool = True
    retention: timedelta = timedelta(days=365)

    @classmethod
    def of(cls, s: Settings) -> SignInPolicy:
        return cls(
            max_failures=s.login_max_failures,
            lockout=timedelta(minutes=s.login_lockout_minutes),
            max_lockout=timedelta(minutes=s.login_lockout_max_minutes),
            totp_roles=s.totp_roles,
            demo_allowed=s.demo_accounts_allowed,
            retention=timedelta(days=s.sign_in_retention_days),
        )


class SignInRefused(Exception):
    """A sign-in step that did not succeed; `message` is what the person is told (the same
    for an unknown name and a wrong password), `retry_after` seconds when the pair is locked."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """Who is trying, from where."""

    username: str
    source: str
    user_agent: str = ""

    @property
    def name(self) -> str:
        return self.username.strip()[:64]


def record(
    session: Session, attempt: Attempt, outcome: str, user: User | None, now: datetime
) -> None:
    """One line of the sign-in audit."""
    session.add(
        SignIn(
            at=now,
            username=attempt.name,
            user_id=user.id if user is not None else None,
            source=attempt.source[:64],
            outcome=outcome,
            user_agent=attempt.user_agent[:200],
        )
    )
    session.flush()


def locked_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return (
        f"从您所在的地址登录此账号失败次数过多，请 {minutes} 分钟后再试 "
        f"(too many failures from here, retry in {minutes} min)"
    )


def _throttle(session: Session, attempt: Attempt) -> SignInThrottle | None:
    return session.get(SignInThrottle, (attempt.name, attempt.source[:64]))


def _still_locked(row: SignInThrottle | None, now: datetime) -> int | None:
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return max(1, int((row.locked_until - now).total_seconds()))


def _failed(
    session: Session,
    attempt: Attempt,
    user: User | None,
    policy: SignInPolicy,
    now: datetime,
    outcome: str = FAILED,
    message: str = WRONG,
) -> SignInRefused:
    """Counts a failure of the pair; locks it after `max_failures`; the refusal to raise."""
    row = _throttle(session, attempt)
    if row is None:
        row = SignInThrottle(
            username=attempt.name, source=attempt.source[:64], failures=0, lockouts=0
        )
        session.add(row)
    row.failures += 1
    row.updated_at = now
    if row.failures < policy.max_failures:
        session.flush()
        record(session, attempt, outcome, user, now)
        return SignInRefused(message)
    row.failures = 0
    row.lockouts += 1
    wait = min(policy.lockout * (2 ** min(row.lockouts - 1, 20)), policy.max_lockout)
    row.locked_until = now + wait
    session.flush()
    record(session, attempt, LOCKED_OUT, user, now)
    if user is not None:
        audit.append(
            session,
            actor=f"user:{user.username}",
            action="user.lock",
            entity=f"user:{user.username}",
            data={"source": attempt.source[:64], "minutes": int(wait.total_seconds() // 60)},
        )
    seconds = int(wait.total_seconds())
    return SignInRefused(locked_message(seconds), retry_after=seconds)


def next_stage(user: User, policy: SignInPolicy) -> str:
    """What the session is once the password was right: "totp" (a code next), "enrol" (a
    second factor to set up first) or "full"."""
    if user.totp_secret:
        return "totp"
    if user.role in policy.totp_roles and not user.demo:
        return "enrol"
    return "full"


def authenticate(
    session: Session, attempt: Attempt, password: str, policy: SignInPolicy, now: datetime
) -> User:
    """The account if its password is right and it may sign in; SignInRefused otherwise. The
    caller commits either way: failures and the audit must stick."""
    wait = _still_locked(_throttle(session, attempt), now)
    if wait is not None:
        record(session, attempt, LOCKED, None, now)
        raise SignInRefused(locked_message(wait), retry_after=wait)
    user = session.scalar(select(User).where(User.username == attempt.name))
    if user is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(DUMMY_HASH, password)
        raise _failed(session, attempt, None, policy, now)
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise _failed(session, attempt, user, policy, now) from None
    if user.disabled_at is not None:
        record(session, attempt, REFUSED, user, now)
        raise SignInRefused(DISABLED)
    if user.demo and not policy.demo_allowed:
        record(session, attempt, REFUSED, user, now)
        raise SignInRefused(DEMO_REFUSED)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.username == attempt.name,
            SignInThrottle.source == attempt.source[:64],
        )
    )
    stage = next_stage(user, policy)
    if stage == "full":
        user.last_login_at = now
    record(session, attempt, OK if stage == "full" else PASSWORD_OK, user, now)
    return user


def second_factor(
    session: Session,
    row: ConsoleSession,
    user: User,
    code: str,
    attempt: Attempt,
    policy: SignInPolicy,
    now: datetime,
) -> None:
    """Completes a sign-in waiting for its code; SignInRefused (counted like a wrong
    password, the pair locks the same way) otherwise."""
    wait = _still_locked(_throttle(session, attempt), now)
    if wait is not None:
        record(session, attempt, LOCKED, user, now)
        raise SignInRefused(locked_message(wait), retry_after=wait)
    seed = totp.unseal(user.totp_secret or "", user.username)
    step = None if seed is None else totp.accept(seed, code, now, user.totp_last_step)
    if step is None:
        raise _failed(session, attempt, user, policy, now, TOTP_FAILED, WRONG_CODE)
    user.totp_last_step = step
    user.last_login_at = now
    row.stage = "full"
    session.flush()
    record(session, attempt, OK, user, now)


def begin_enrolment(session: Session, row: ConsoleSession, user: User) -> str:
    """A new seed for `user` to scan, kept (encrypted) in the session until confirmed."""
    seed = totp.new_seed()
    row.pending_totp = totp.seal(seed, user.username)
    session.flush()
    return seed


def pending_seed(row: ConsoleSession, user: User) -> str | None:
    """The seed being enrolled in this session, if any."""
    return totp.unseal(row.pending_totp, user.username) if row.pending_totp else None


def confirm_enrolment(
    session: Session,
    row: ConsoleSession,
    user: User,
    code: str,
    attempt: Attempt,
    policy: SignInPolicy,
    now: datetime,
) -> None:
    """Sets the second factor once a code of the pending seed proves the app has it."""
    seed = pending_seed(row, user)
    step = None if seed is None else totp.accept(seed, code, now, None)
    if seed is None or step is None:
        raise _failed(session, attempt, user, policy, now, TOTP_FAILED, WRONG_CODE)
    user.totp_secret = row.pending_totp
    user.totp_last_step = step
    row.pending_totp = None
    if row.stage == "enrol":
        user.last_login_at = now
    row.stage = "full"
    session.flush()
    record(session, attempt, TOTP_ENROLLED, user, now)
    audit.append(
        session,
        actor=f"user:{user.username}",
        action="user.totp_enrol",
        entity=f"user:{user.username}",
        data={},
    )


def prune(session: Session, now: datetime, policy: SignInPolicy) -> int:
    """Deletes sign-in audit lines older than the retention (never less than six months) and
    expired throttle rows; how many audit lines were deleted."""
    cutoff = now - max(policy.retention, timedelta(days=183))
    done = session.execute(delete(SignIn).where(SignIn.at < cutoff))
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.updated_at < now - policy.max_lockout - timedelta(days=1)
        )
    )
    session.flush()
    return int(getattr(done, "rowcount", 0) or 0)


def recent(session: Session, *, limit: int = 200, username: str | None = None) -> list[SignIn]:
    """The newest sign-in audit lines (the security page)."""
    q = select(SignIn).order_by(SignIn.id.desc()).limit(limit)
    if username:
        q = q.where(SignIn.username == username)
    return list(session.scalars(q))
