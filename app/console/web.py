"""The console's plumbing: templates, the signed-in person, CSRF, rendering service errors.

Every page reads the session cookie (app/auth/sessions.py); a page without a live session
redirects to the sign-in form. Every POST carries the session's CSRF token in the form field
`csrf` and is refused (403) without it or with a wrong one. Service errors (app.errors) are
shown on the page, and the request's transaction is rolled back first: a refused action
writes nothing.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth import sessions
from app.auth.accounts import principal_of
from app.auth.service import Principal
from app.clock import local_time
from app.config import Settings
from app.console import plan_form
from app.console.names import ROLE_NAMES, Names, action_label, entity_label
from app.console.plan_text import source_text
from app.db import SessionDep, begin_write
from app.errors import AppError, validation_problem
from app.inputs import check_texts
from app.models import ConsoleSession, User
from app.regions import region_label, stratum_name
from app.states import plan_label, task_label
from app.stats.render import insufficient, is_estimated, pct

HERE = Path(__file__).parent
PAGE = 50  # rows of a listed page
Text = Annotated[str, Form(max_length=10000)]  # a text field of a console form
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["bj"] = lambda v: local_time(v) if v else ""
templates.env.filters["bj_short"] = lambda v: local_time(v, label=False) if v else ""
templates.env.filters["task_state"] = lambda v: task_label(v) if v else ""
templates.env.filters["plan_state"] = lambda v: plan_label(v) if v else ""
templates.env.filters["region"] = lambda v: region_label(v) if v else "全部区划"
templates.env.filters["stratum"] = stratum_name
templates.env.filters["source"] = source_text
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

# Fields of the console's other forms (the plan form has its own: app/console/plan_form.py).
FIELD_LABELS = {
    "reason": "理由",
    "entropy": "随机数",
    "beacon": "信标",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "region": "医保区划",
    "department": "部门",
    "inspector": "执法证号",
    "badge": "执法证号",
    "name": "名称",
    "outcome": "检查结果",
    "decided_on": "决定日期",
    "findings": "发现的问题",
    "measures": "处理措施",
    "fine_amount": "罚款金额",
    "recovered_amount": "追回金额",
    "note": "说明",
    "file": "文件",
    "as_of": "查询时间",
}


def sentences(problem: dict[str, Any]) -> list[str]:
    """A refusal's errors as Chinese sentences, each naming its field in Chinese (never a
    field path, a pattern or English)."""
    out: list[str] = []
    for err in problem.get("errors") or []:
        path = str(err.get("field", ""))
        control = plan_form.field_errors([err])
        name = path.split(".")[-1] if path else ""
        if "form" not in control and next(iter(control)) in plan_form.LABELS:
            text = next(iter(control.values()))
        else:
            text = plan_form.sentence(name, err, FIELD_LABELS.get(name, ""))
        if text not in out:
            out.append(text)
    return out


templates.env.filters["sentences"] = sentences
templates.env.filters["chinese"] = plan_form.chinese


def beside(
    problem: dict[str, Any], control: Callable[[str], str] = lambda p: p.split(".")[0]
) -> dict[str, str]:
    """A refusal's errors beside the controls they are about (`control` of a field path), one
    Chinese sentence each."""
    out: dict[str, str] = {}
    for err in problem.get("errors") or []:
        name = control(str(err.get("field", "")))
        out.setdefault(name, plan_form.sentence(name, err, FIELD_LABELS.get(name, "")))
    return out


templates.env.globals["ROLE_NAMES"] = ROLE_NAMES
templates.env.filters["action"] = action_label
templates.env.filters["entity"] = entity_label


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
    names: Names  # the names beside the codes this page shows

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
    return Staff(user=user, row=row, principal=principal_of(user), names=Names(session))


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
    return Staff(user=user, row=row, principal=principal_of(user), names=Names(session))


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
        {
            "staff": staff,
            "csrf": staff.csrf if staff else "",
            "csp_nonce": nonce,
            "names": staff.names if staff else None,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": csp(nonce)},
    )


def csp(nonce: str) -> str:
    """The console's Content-Security-Policy (等保: no script from elsewhere, no framing)."""
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        # the 抽取记录's @page header (plan code, commitment) is this response's own style
        f"style-src 'self' 'nonce-{nonce}'; "
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


def exc_status(exc: Exception) -> int:
    """The HTTP status of a refusal: the service's own, 422 for a schema's."""
    return exc.status if isinstance(exc, AppError) else 422


T = TypeVar("T")
Refused = Callable[[dict[str, Any], int], Response]


def act(
    session: Session,
    action: Callable[[], T],
    *,
    then: str | Callable[[T], str],
    refused: Refused,
) -> Response:
    """Runs `action` (a service call); on success a 303 to `then`, on a refusal (a service error
    or a schema's) the transaction is rolled back and `refused(problem, status)` shows the form
    again with the problem beside its fields — the one shape of every console POST."""
    try:
        done = action()
    except (AppError, ValidationError) as exc:
        return refused(problem_of(session, exc), exc_status(exc))
    return see_other(then(done) if callable(then) else then)
