"""The draw ceremony on the projector, and what it polls."""

from typing import Any

import segno
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    Response,
)
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.console.pages.plans import plan_context
from app.console.web import (
    Staff,
    StaffDep,
    Text,
    act,
    render,
    require,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.events import site_changed
from app.models.base import utcnow
from app.plans import drawing
from app.plans import service as plans
from app.plans.schemas import DrawIn

router = APIRouter(include_in_schema=False)


def _ceremony_page(
    request: Request,
    session: Session,
    staff: Staff,
    code: str,
    status: int = 200,
    problem: dict[str, Any] | None = None,
    entered: str = "",
) -> HTMLResponse:
    """The ceremony on the projector (what was typed kept when the draw was refused), or after
    the draw the printable 抽取记录 with the full verify address and its QR code."""
    try:
        ctx = plan_context(session, staff, code)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    current = next((d for d in reversed(ctx["draws"]) if d.status == "current"), None)
    verify = ""
    qr = Markup("")
    if current is not None:
        staff.names.preload([m["badge"] for t in current.body["tasks"] for m in t["team"]])
        base = settings_of(request).public_site_url or f"{request.base_url}public/"
        verify = f"{base.rstrip('/')}/draws/{current.id}/verify.html"
        code_image = segno.make(verify, error="m", boost_error=False)
        qr = Markup(code_image.svg_inline(scale=2, border=1, title="公开复核地址"))
    return render(
        request,
        "ceremony.html",
        staff,
        status,
        draw=current,
        verify_url=verify,
        verify_qr=qr,
        entered=entered,
        now=utcnow(),
        **{**ctx, "problem": problem},
    )


@router.get("/plans/{code}/ceremony")
def ceremony(request: Request, session: SessionDep, staff: StaffDep, code: str) -> HTMLResponse:
    """The full-screen draw ceremony; after the draw, the printable 抽取记录."""
    require(staff, "supervisor")
    return _ceremony_page(request, session, staff, code)


@router.post("/plans/{code}/draw")
def plan_draw(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
    entropy: Text = "",
) -> Response:
    """The draw, from the ceremony: refused (too early, not the announced form) it shows the
    ceremony again with the problem and what was typed; a failed attempt is kept and shown."""
    require(staff, "supervisor")
    failed: list[dict[str, Any]] = []

    def draw() -> None:
        plans.visible(session, code, staff.principal.jurisdiction)
        # A drand plan takes no typed entropy: the service fetches and verifies the round.
        body = DrawIn(entropy=entropy.strip() or None)
        outcome = drawing.perform_draw(session, code=code, body=body, actor=staff.principal.actor)
        site_changed(request, background, session, f"draw:{outcome.draw.id}")
        if outcome.problem is not None:  # recorded and kept: a failed attempt is public
            failed.append(outcome.problem.to_problem() | {"draw": outcome.draw.id})

    response = act(
        session,
        draw,
        then=f"/console/plans/{code}/ceremony",
        refused=lambda problem, status: _ceremony_page(
            request, session, staff, code, status, problem, entropy
        ),
    )
    if failed:
        return _ceremony_page(request, session, staff, code, 422, failed[0], entropy)
    return response


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
