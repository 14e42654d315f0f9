"""The console's sign-in steps and security pages: the password step's answer, the second
factor (a code; setting one up with a QR code), the account page (password, second factor)
and the sign-in audit for administrators. The rules are app/auth/signin.py."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.auth import accounts, sessions, signin, totp
from app.auth.signin import Attempt, SignInPolicy, SignInRefused
from app.console.web import (
    STAGE_PAGES,
    PendingDep,
    StaffDep,
    idle_of,
    lifetime_of,
    problem_of,
    render,
    require,
    secure_cookie,
    see_other,
    settings_of,
    source_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.models import base as _base

router = APIRouter(prefix="/console", include_in_schema=False)
Code = Annotated[str, Form(max_length=20)]


def _attempt(request: Request, username: str) -> Attempt:
    return Attempt(username, source_of(request), request.headers.get("user-agent", ""))


def _policy(request: Request) -> SignInPolicy:
    return SignInPolicy.of(settings_of(request))


def sign_in_response(
    request: Request,
    session: Session,
    username: str,
    password: str,
    page: Callable[[Request, str, int], Response],
) -> Response:
    """The answer to the password step (after its CSRF check): the session and where it goes
    next, or the form again with one message for every refusal (always 401, 429 when the
    address as a whole tried too often)."""
    limiter = request.app.state.auth_limiter
    client = source_of(request)
    wait = limiter.retry_after(client)
    if wait is not None:
        return page(request, f"登录失败次数过多，请 {wait} 秒后重试", 429)
    policy = _policy(request)
    try:
        user = signin.authenticate(
            session, _attempt(request, username), password, policy, _base.utcnow()
        )
    except SignInRefused as refused:
        limiter.failed(client)
        return page(request, refused.message, 401)  # the request's session commits the count
    stage = signin.next_stage(user, policy)
    value, _row = sessions.start(
        session,
        user,
        idle=idle_of(request),
        lifetime=lifetime_of(request),
        stage=stage,
        source=client,
    )
    response = see_other(STAGE_PAGES.get(stage, "/console/"))
    response.set_cookie(
        sessions.COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request),
        path="/",
        max_age=int(lifetime_of(request).total_seconds()),
    )
    response.delete_cookie("spotcheck_login_csrf", path="/console/login")
    return response


# --- the code ---------------------------------------------------------------------------------


@router.get("/login/totp")
def totp_form(request: Request, staff: PendingDep) -> Response:
    if staff.row.stage != "totp":
        return see_other("/console/")
    return render(request, "login_totp.html", staff, pending=True)


@router.post("/login/totp")
def totp_submit(request: Request, session: SessionDep, staff: PendingDep, code: Code) -> Response:
    if staff.row.stage != "totp":
        return see_other("/console/")
    try:
        signin.second_factor(
            session,
            staff.row,
            staff.user,
            code,
            _attempt(request, staff.user.username),
            _policy(request),
            _base.utcnow(),
        )
    except SignInRefused as refused:
        return render(request, "login_totp.html", staff, 401, pending=True, error=refused.message)
    return see_other("/console/")


# --- setting up the second factor -------------------------------------------------------------


def _enrol_page(
    request: Request, session: Session, staff: PendingDep, error: str = "", status: int = 200
) -> HTMLResponse:
    seed = signin.pending_seed(staff.row, staff.user)
    if seed is None:
        seed = signin.begin_enrolment(session, staff.row, staff.user)
    uri = totp.provisioning_uri(seed, staff.user.username)
    return render(
        request,
        "totp_enrol.html",
        staff,
        status,
        pending=staff.row.stage != "full",
        qr=totp.qr_svg(uri),
        seed=" ".join(seed[i : i + 4] for i in range(0, len(seed), 4)),
        required=staff.user.role in _policy(request).totp_roles,
        error=error,
    )


@router.get("/account/totp")
def enrol_form(request: Request, session: SessionDep, staff: PendingDep) -> Response:
    if staff.row.stage == "totp":
        return see_other("/console/login/totp")
    return _enrol_page(request, session, staff)


@router.post("/account/totp")
def enrol_submit(request: Request, session: SessionDep, staff: PendingDep, code: Code) -> Response:
    if staff.row.stage == "totp":
        return see_other("/console/login/totp")
    try:
        signin.confirm_enrolment(
            session,
            staff.row,
            staff.user,
            code,
            _attempt(request, staff.user.username),
            _policy(request),
            _base.utcnow(),
        )
    except SignInRefused as refused:
        return _enrol_page(request, session, staff, refused.message, 401)
    return see_other("/console/account?done=totp")


# --- the account page -------------------------------------------------------------------------


@router.get("/account")
def account(request: Request, staff: StaffDep, done: str = "") -> HTMLResponse:
    return render(
        request,
        "account.html",
        staff,
        done=done,
        required=staff.user.role in _policy(request).totp_roles,
        idle=settings_of(request).session_idle_minutes,
        lifetime=settings_of(request).session_lifetime_hours,
    )


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
) -> Response:
    """A new password (the current one first); every session of the account ends."""
    from argon2.exceptions import InvalidHashError, VerificationError

    def again(message: str, status: int) -> HTMLResponse:
        return render(
            request,
            "account.html",
            staff,
            status,
            error=message,
            required=staff.user.role in _policy(request).totp_roles,
            idle=settings_of(request).session_idle_minutes,
            lifetime=settings_of(request).session_lifetime_hours,
        )

    try:
        accounts.hasher.verify(staff.user.password_hash, current)
    except (VerificationError, InvalidHashError):
        return again("当前密码不正确 (wrong current password)", 401)
    try:
        accounts.set_password(
            session, username=staff.user.username, password=new, actor=staff.principal.actor
        )
    except AppError as exc:
        problem = problem_of(session, exc)
        return again(problem["detail"], 422)
    response = see_other("/console/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


# --- the sign-in audit ------------------------------------------------------------------------

OUTCOMES = {
    signin.OK: "登录成功",
    signin.PASSWORD_OK: "密码正确，待第二因素",
    signin.FAILED: "用户名或密码错误",
    signin.LOCKED_OUT: "失败过多，已锁定",
    signin.LOCKED: "锁定期间尝试",
    signin.TOTP_FAILED: "动态验证码错误",
    signin.TOTP_ENROLLED: "设置第二因素",
    signin.REFUSED: "账号停用或不允许",
}


@router.get("/security")
def security(
    request: Request, session: SessionDep, staff: StaffDep, username: str = ""
) -> HTMLResponse:
    """登录审计: every sign-in attempt, newest first (administrators)."""
    require(staff)
    rows = signin.recent(session, username=username.strip() or None)
    return render(
        request,
        "security.html",
        staff,
        rows=rows,
        outcomes=OUTCOMES,
        username=username,
        retention=settings_of(request).sign_in_retention_days,
    )
