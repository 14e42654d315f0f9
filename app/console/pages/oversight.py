"""公示期限, 周报表 and the 审计日志."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)

from app.audit.service import verify_chain
from app.clock import OfficialDate, today_local
from app.console.web import (
    StaffDep,
    problem_of,
    render,
    require,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.regions import regions_under
from app.tasks import deadlines, reports

router = APIRouter(include_in_schema=False)


@router.get("/deadlines")
def deadlines_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    within: Annotated[int, Query(ge=0, le=250)] = 5,
) -> HTMLResponse:
    """公示期限: overdue and due-soon results of the jurisdiction (the API's deadlines list),
    with the calendar warnings from 1 December."""
    require(staff, "supervisor")
    s = settings_of(request)
    problem = None
    report = None
    try:
        report = deadlines.deadlines_report(
            session,
            today=today_local(),
            within=within,
            override_file=s.calendar_override_file,
            workdays=s.publish_result_workdays,
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError as exc:
        problem = problem_of(session, exc)
    return render(
        request,
        "deadlines.html",
        staff,
        500 if problem else 200,
        report=report,
        within=within,
        problem=problem,
    )


@router.get("/reports")
def reports_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    start: Annotated[OfficialDate | None, Query(alias="from")] = None,
    end: Annotated[OfficialDate | None, Query(alias="to")] = None,
    region: Annotated[str, Query(max_length=6)] = "",
    format: Annotated[str, Query(pattern="^(html|xlsx)$")] = "html",
) -> Response:
    require(staff, "supervisor")
    today = today_local()
    start = start or today - timedelta(days=today.weekday())
    end = end or start + timedelta(days=6)
    problem = None
    report = None
    try:
        narrowed = staff.principal.jurisdiction.narrow(region or None)
        report = reports.weekly_report(session, start=start, end=end, region=narrowed)
    except AppError as exc:
        problem = problem_of(session, exc)
    if report is not None and format == "xlsx":
        body = reports.weekly_xlsx(report, filled_on=today)
        name = f"weekly-{start.isoformat()}-{end.isoformat()}.xlsx"
        return Response(
            body,
            media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render(
        request,
        "reports.html",
        staff,
        report=report,
        start=start,
        end=end,
        region=region,
        regions=regions_under(staff.user.region_prefix),
        problem=problem,
    )


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    from app.auth.audit_view import recent_entries

    report = verify_chain(session)
    j = staff.principal.jurisdiction
    recent = recent_entries(session, jurisdiction=j, limit=100)
    return render(request, "audit.html", staff, report=report, entries=recent, jurisdiction=j)


# --- admin ----------------------------------------------------------------------------------
