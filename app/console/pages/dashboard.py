"""The 工作台: own tasks, results awaiting approval, plans, the 公示期限 card."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
)
from sqlalchemy.orm import Session

from app.clock import today_local
from app.console.web import (
    Staff,
    StaffDep,
    render,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.plans import service as plans
from app.tasks import deadlines, results
from app.tasks import service as tasks
from app.tlog import service as tlog

router = APIRouter(include_in_schema=False)

# --- dashboard ------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    p = staff.principal
    my_tasks = tasks.list_tasks(session, principal=p, plan=None, cursor=None, limit=20).items
    queue = (
        results.awaiting_approval(session, principal=p, limit=20)
        if p.role in ("admin", "supervisor")
        else []
    )
    plan_rows = (
        plans.list_plans(session, cursor=None, limit=10, jurisdiction=p.jurisdiction).items
        if p.role in ("admin", "supervisor")
        else []
    )
    due = _deadline_counts(request, session, staff) if p.role in ("admin", "supervisor") else None
    witnesses = (
        tlog.witness_notice(session, settings_of(request))
        if p.role in ("admin", "supervisor")
        else None
    )
    return render(
        request,
        "dashboard.html",
        staff,
        tasks=my_tasks,
        queue=queue,
        plans=plan_rows,
        due=due,
        witnesses=witnesses,
    )


def _deadline_counts(request: Request, session: Session, staff: Staff) -> dict[str, Any] | None:
    """The dashboard's 公示期限 card: counts by state and the calendar warnings."""
    s = settings_of(request)
    try:
        report = deadlines.deadlines_report(
            session,
            today=today_local(),
            within=5,
            override_file=s.calendar_override_file,
            workdays=s.publish_result_workdays,
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError:
        return None  # the 公示期限 page names the problem
    counts = {"overdue": 0, "due_soon": 0, "calendar_missing": 0}
    for item in report["items"]:
        counts[item["state"]] = counts.get(item["state"], 0) + 1
    return {"counts": counts, "warnings": report["notices"]}
