"""Accounts and tokens (系统管理员)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)
from sqlalchemy.orm import Session

from app.auth import accounts
from app.auth.service import issue_token, list_tokens, revoke_token
from app.console.web import (
    Staff,
    StaffDep,
    Text,
    act,
    beside,
    problem_of,
    render,
    require,
)
from app.db import SessionDep
from app.errors import AppError

router = APIRouter(include_in_schema=False)

# --- admin ----------------------------------------------------------------------------------


def _admin_page(
    request: Request,
    session: Session,
    staff: Staff,
    status: int = 200,
    problem: dict[str, Any] | None = None,
    new_token: str = "",
) -> HTMLResponse:
    j = staff.principal.jurisdiction
    return render(
        request,
        "admin.html",
        staff,
        status,
        users=accounts.list_users(session, jurisdiction=j),
        tokens=list_tokens(session, jurisdiction=j),
        problem=problem,
        errors=beside(problem) if problem else {},
        new_token=new_token,
    )


@router.get("/admin")
def admin_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff)
    return _admin_page(request, session, staff)


def _admin_action(
    request: Request, session: Session, staff: Staff, action: Callable[[], object]
) -> Response:
    """An admin action: back to the accounts page, or that page with the refusal."""
    require(staff)
    return act(
        session,
        action,
        then="/console/admin",
        refused=lambda problem, status: _admin_page(request, session, staff, status, problem),
    )


@router.post("/admin/users")
def admin_create_user(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    username: Text = "",
    password: Text = "",
    role: Text = "",
    department: Text = "",
    region: Text = "",
    inspector: Text = "",
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: accounts.create_user(
            session,
            username=username,
            password=password,
            role=role,
            department=department,
            region=region,
            badge=inspector or None,
            actor=staff.principal.actor,
            within=staff.principal.jurisdiction,
        ),
    )


@router.post("/admin/users/{username}/disable")
def admin_disable_user(
    request: Request, session: SessionDep, staff: StaffDep, username: str
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: accounts.disable_user(
            session,
            username=username,
            actor=staff.principal.actor,
            within=staff.principal.jurisdiction,
        ),
    )


@router.post("/admin/tokens")
def admin_create_token(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    name: Text = "",
    role: Text = "",
    region: Text = "",
    department: Text = "",
    inspector: Text = "",
) -> Response:
    require(staff)
    try:
        value, _row = issue_token(
            session,
            role=role,
            name=name,
            badge=inspector or None,
            actor=staff.principal.actor,
            region=region,
            department=department,
            within=staff.principal.jurisdiction,
        )
    except AppError as exc:
        return _admin_page(request, session, staff, exc.status, problem_of(session, exc))
    return _admin_page(request, session, staff, new_token=value)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    request: Request, session: SessionDep, staff: StaffDep, token_id: int
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: revoke_token(
            session,
            token_id=token_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        ),
    )
