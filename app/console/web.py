"""The console's plumbing: templates, the signed-in person, CSRF, rendering service errors.

Every page reads the session cookie (app/auth/sessions.py); a page without a live session
redirects to the sign-in form. Every POST carries the session's CSRF token in the form field
`csrf` and is refused (403) without it or with a wrong one. Service errors (app.errors) are
shown on the page, and the request's transaction is rolled back first: a refused action
writes nothing.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth import sessions
from app.auth.accounts import principal_of
from app.auth.service import Principal
from app.clock import local_time
from app.config import Settings
from app.db import SessionDep, begin_write
from app.errors import AppError, validation_problem
from app.inputs import check_texts
from app.models import ConsoleSession, User
from app.regions import region_label
from app.states import plan_label, task_label
from app.stats.render import insufficient, is_estimated, pct

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["bj"] = lambda v: local_time(v) if v else ""
templates.env.filters["task_state"] = lambda v: task_label(v) if v else ""
templates.env.filters["plan_state"] = lambda v: plan_label(v) if v else ""
templates.env.filters["region"] = lambda v: region_label(v) if v else "全部区划"
# rates and 数据不足 as the public statistics pages show them (one rule: app/stats/render.py)
templates.env.globals.update(pct=pct, is_estimated=is_estimated, insufficient=insufficient)

VERSION_KINDS = {
    "create": "新建",
    "edit": "修改草稿",
    "publish": "发布",
    "adjustment": "计划调整",
    "close": "结束",
}
templates.env.filters["version_kind"] = lambda v: VERSION_KINDS.get(v, v)

ROLE_NAMES = {
    "admin": "系统管理员",
    "supervisor": "基金监管人员",
    "inspector": "执法检查人员",
    "credit": "信用模块",
}
templates.env.globals["ROLE_NAMES"] = ROLE_NAMES


class SignInRequired(Exception):
    """No live session (or one not signed in yet): the page redirects to the sign-in form (or
    to the step still to do: the code, the second factor's set-up)."""

    def __init__(self, url: str = "/console/login") -> None:
        super().__init__(url)
        self.url = url


STAGE_PAGES = {"totp": "/console/login/totp", "enrol": "/console/account/totp"}


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


class RoleRefused(Exception):
    """The signed-in person's role may not use this page."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def idle_of(request: Request) -> timedelta:
    return timedelta(minutes=settings_of(request).session_idle_minutes)


def lifetime_of(request: Request) -> timedelta:
    return timedelta(hours=settings_of(request).session_lifetime_hours)


def source_of(request: Request) -> str:
    """The caller's address as the ASGI server reports it (behind a proxy: uvicorn
    --forwarded-allow-ips makes it the client's)."""
    return request.client.host if request.client else "unknown"


def secure_cookie(request: Request) -> bool:
    """Whether the session cookie gets the Secure flag (SPOTCHECK_COOKIE_SECURE)."""
    mode = settings_of(request).cookie_secure.lower()
    if mode == "auto":
        return request.url.scheme == "https"
    return mode in ("1", "true", "yes", "on")


@dataclass
class Staff:
    """The signed-in person: their account, session and the principal services take."""

    user: User
    row: ConsoleSession
    principal: Principal

    @property
    def csrf(self) -> str:
        return self.row.csrf_token


def _session_of(request: Request, session: Session) -> tuple[ConsoleSession, User]:
    value = request.cookies.get(sessions.COOKIE, "")
    post = request.method == "POST"
    idle, lifetime = idle_of(request), lifetime_of(request)
    found = sessions.resolve(session, value, idle=idle, lifetime=lifetime, touch=post)
    if found is None:
        raise SignInRequired()
    row, user = found
    if not post and sessions.needs_touch(row):
        # A read slides the idle expiry too, in a short write of its own (this request's
        # transaction only reads).
        factory = request.app.state.sessionmaker
        with factory() as writer:
            begin_write(writer)
            sessions.resolve(writer, value, idle=idle, lifetime=lifetime, touch=True)
            writer.commit()
    return row, user


async def _pending(request: Request, session: SessionDep) -> Staff:
    """A session in any stage (the pages of the second factor)."""
    row, user = _session_of(request, session)
    if request.method == "POST":
        form = await request.form()
        submitted = form.get("csrf")
        if not sessions.csrf_ok(row, submitted if isinstance(submitted, str) else None):
            raise CsrfRefused()
    return Staff(user=user, row=row, principal=principal_of(user))


PendingDep = Annotated[Staff, Depends(_pending)]


async def _staff(request: Request, session: SessionDep) -> Staff:
    row, user = _session_of(request, session)
    if row.stage != "full":
        raise SignInRequired(STAGE_PAGES.get(row.stage, "/console/login"))
    if request.method == "POST":
        form = await request.form()  # cached by Starlette: the endpoint's Form() reads it too
        submitted = form.get("csrf")
        if not sessions.csrf_ok(row, submitted if isinstance(submitted, str) else None):
            raise CsrfRefused()
        # multipart forms (urlencoded ones were checked by app/limits.py): the input rule
        check_texts((k, v) for k, v in form.multi_items() if isinstance(v, str))
    return Staff(user=user, row=row, principal=principal_of(user))


StaffDep = Annotated[Staff, Depends(_staff)]


def require(staff: Staff, *roles: str) -> None:
    """Refuses (403 page) a person whose role is not in `roles` (admin always passes)."""
    if staff.user.role != "admin" and staff.user.role not in roles:
        raise RoleRefused()


def render(
    request: Request,
    name: str,
    staff: Staff | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page, with its Content-Security-Policy: only the console's own scripts and
    styles, plus an inline script carrying this response's nonce (`csp_nonce`)."""
    nonce = secrets.token_urlsafe(16)
    return templates.TemplateResponse(
        request,
        name,
        {"staff": staff, "csrf": staff.csrf if staff else "", "csp_nonce": nonce, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": csp(nonce)},
    )


def csp(nonce: str) -> str:
    """The console's Content-Security-Policy (等保: no script from elsewhere, no framing)."""
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def problem_of(session: Session, exc: AppError | ValidationError) -> dict[str, Any]:
    """The problem document of a refused action, after rolling the transaction back."""
    session.rollback()
    if isinstance(exc, ValidationError):
        return validation_problem(list(exc.errors()))
    return exc.to_problem()


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
