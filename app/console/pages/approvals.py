"""审核: results awaiting approval, approve or send back."""

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)
from pydantic import ValidationError

from app.console.web import (
    StaffDep,
    Text,
    exc_status,
    problem_of,
    render,
    require,
    see_other,
)
from app.db import SessionDep
from app.errors import AppError
from app.events import site_changed
from app.tasks import results

router = APIRouter(include_in_schema=False)


@router.get("/approvals")
def approvals(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    queue = results.awaiting_approval(session, principal=staff.principal)
    views = [results.result_view(session, task_id=t.id, principal=staff.principal) for t in queue]
    return render(
        request, "approvals.html", staff, items=list(zip(queue, views, strict=True)), problem=None
    )


def _approval_action(request: Request, session: Any, staff: Any, action: Any) -> Response:
    require(staff, "supervisor")
    try:
        action()
    except (AppError, ValidationError) as exc:
        problem = problem_of(session, exc)
        queue = results.awaiting_approval(session, principal=staff.principal)
        views = [
            results.result_view(session, task_id=t.id, principal=staff.principal) for t in queue
        ]
        return render(
            request,
            "approvals.html",
            staff,
            exc_status(exc),
            items=list(zip(queue, views, strict=True)),
            problem=problem,
        )
    return see_other("/console/approvals")


@router.post("/tasks/{task_id}/approve")
def approve(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    background: BackgroundTasks,
) -> Response:
    def act() -> None:
        results.approve_result(
            session,
            task_id=task_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
        site_changed(request, background, session, f"result:{task_id}")

    return _approval_action(request, session, staff, act)


@router.post("/tasks/{task_id}/return")
def send_back(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    def act() -> None:
        results.return_result(
            session,
            task_id=task_id,
            reason=reason,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )

    return _approval_action(request, session, staff, act)


# --- reports, deadlines, audit --------------------------------------------------------------
