"""审核: results awaiting approval, approve or send back."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)
from sqlalchemy.orm import Session

from app.console.web import (
    Staff,
    StaffDep,
    Text,
    act,
    render,
    require,
)
from app.db import SessionDep
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


def _approval_action(
    request: Request, session: Session, staff: Staff, action: Callable[[], object]
) -> Response:
    """Approve or send back: the queue again, or the queue with the refusal."""
    require(staff, "supervisor")

    def refused(problem: dict[str, Any], status: int) -> Response:
        queue = results.awaiting_approval(session, principal=staff.principal)
        views = [
            results.result_view(session, task_id=t.id, principal=staff.principal) for t in queue
        ]
        items = list(zip(queue, views, strict=True))
        return render(request, "approvals.html", staff, status, items=items, problem=problem)

    return act(session, action, then="/console/approvals", refused=refused)


@router.post("/tasks/{task_id}/approve")
def approve(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    background: BackgroundTasks,
) -> Response:
    def approve() -> None:
        results.approve_result(
            session,
            task_id=task_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
        site_changed(request, background, session, f"result:{task_id}")

    return _approval_action(request, session, staff, approve)


@router.post("/tasks/{task_id}/return")
def send_back(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    def send() -> None:
        results.return_result(
            session,
            task_id=task_id,
            reason=reason,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )

    return _approval_action(request, session, staff, send)


# --- reports, deadlines, audit --------------------------------------------------------------
