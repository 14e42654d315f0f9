"""The draw ceremony on the projector, and what it polls."""

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
)

from app.console.pages.plans import plan_context
from app.console.web import (
    StaffDep,
    render,
    require,
)
from app.db import SessionDep
from app.errors import AppError
from app.models.base import utcnow
from app.plans import service as plans

router = APIRouter(include_in_schema=False)


@router.get("/plans/{code}/ceremony")
def ceremony(request: Request, session: SessionDep, staff: StaffDep, code: str) -> HTMLResponse:
    """The full-screen draw ceremony; after the draw, the printable 抽取记录."""
    require(staff, "supervisor")
    try:
        ctx = plan_context(session, staff, code)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    current = next((d for d in reversed(ctx["draws"]) if d.status == "current"), None)
    return render(request, "ceremony.html", staff, draw=current, **ctx)


@router.get("/plans/{code}/ceremony/status")
def ceremony_status(
    request: Request, session: SessionDep, staff: StaffDep, code: str
) -> JSONResponse:
    """What the ceremony view polls: the plan's state and its current draw (a drand plan is
    drawn by the scheduler once its round has come; the projector then shows the record)."""
    require(staff, "supervisor")
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
    except AppError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    draws = [plans.get_draw(session, d) for d in plans.draw_ids(session, code)]
    current = next((d for d in reversed(draws) if d.status == "current"), None)
    return JSONResponse(
        {
            "status": plan.status,
            "version": plan.version,
            "draws": len(draws),
            "current": current.id if current else None,
            "tasks": len(current.body.get("tasks", [])) if current else 0,
            "now": utcnow().isoformat(),
        },
        headers={"Cache-Control": "no-store"},
    )


# --- tasks and results ----------------------------------------------------------------------
