"""Signing in and out of the console (sessions: app/auth/sessions.py)."""

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.auth import sessions
from app.console import security
from app.console.web import StaffDep, render, secure_cookie, see_other
from app.db import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form (its CSRF token is a double-submit cookie: there is no session yet)."""
    return _login_page(request)


def _login_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:

    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status, error=error, login_csrf=token)
    response.set_cookie(
        "spotcheck_login_csrf",
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request),
        path="/console/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Signs in: a new server-side session and its HttpOnly, SameSite=Lax cookie."""

    expected = request.cookies.get("spotcheck_login_csrf", "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(request, "表单已过期，请重新登录 (form expired)", 403)
    # failures per account and source, the second factor, the audit: app/console/security.py
    return security.sign_in_response(request, session, username, password, _login_page)


@router.post("/logout")
def logout(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    sessions.end(session, request.cookies.get(sessions.COOKIE, ""))
    response = see_other("/console/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
