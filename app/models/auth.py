"""API tokens (stored only as SHA-256 hashes), staff accounts and their console sessions."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class ApiToken(Base):
    """A bearer token for one role (and, for inspectors, one 执法证号), bound to a jurisdiction:
    a 医保区划 prefix ("" = every region) and a department."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    inspector_badge: Mapped[str | None] = mapped_column(String(32))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    region_prefix: Mapped[str] = mapped_column(String(6), default="", server_default="")
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")


class User(Base):
    """A person who signs in to the console: one role, one jurisdiction, an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    inspector_badge: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(100), default="")
    region_prefix: Mapped[str] = mapped_column(String(6), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    # Unused since sign-in failures are counted per account and source (SignInThrottle).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # TOTP second factor (app/auth/totp.py): the seed encrypted under a key derived from the
    # server key (a database dump alone does not give it), and the last time step accepted
    # (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # A demo account made by `spotcheck demo` (published password, no second factor): it may
    # sign in only where demo accounts are allowed (SPOTCHECK_DEMO_ACCOUNTS).
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds a random id, the row only its SHA-256."""

    __tablename__ = "console_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # "full" once signed in; "totp" while the second factor is awaited; "enrol" while a person
    # whose role needs a second factor sets one up (then only the enrolment page opens).
    stage: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    # The TOTP seed being enrolled (encrypted like users.totp_secret), until confirmed.
    pending_totp: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64), default="", server_default="")


class SignInThrottle(Base):
    """Failed sign-ins of one account name from one source address: five in a row lock that
    pair (not the account for everyone), each further lockout twice as long."""

    __tablename__ = "sign_in_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignIn(Base):
    """Every sign-in attempt (安全审计): when, which account name, from where, and how it
    ended. Kept at least `sign_in_retention_days` (≥ 183, six months)."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24))
    user_agent: Mapped[str] = mapped_column(String(200), default="")
