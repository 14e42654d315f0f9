"""Tasks and results: the list, a task's page, the 检查通知书, result entry, 回头看, evidence."""

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    Response,
)
from pydantic import ValidationError

from app.clock import today_local
from app.console.web import (
    PAGE,
    StaffDep,
    Text,
    exc_status,
    problem_of,
    render,
    require,
    see_other,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.models.base import utcnow
from app.tasks import evidence, reports, results
from app.tasks import service as tasks
from app.tasks.schemas import MEASURE_KINDS, OUTCOMES, PENALTY, ResultIn

router = APIRouter(include_in_schema=False)

# --- tasks and results ----------------------------------------------------------------------


@router.get("/tasks")
def tasks_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    page = tasks.list_tasks(
        session, principal=staff.principal, plan=None, cursor=cursor, limit=PAGE
    )
    return render(request, "tasks.html", staff, page=page)


def _task_page(
    request: Request,
    session: Any,
    staff: Any,
    task_id: str,
    problem: Any = None,
    form: Any = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        task = tasks.task_view(session, task_id=task_id, principal=staff.principal)
        view = results.result_view(session, task_id=task_id, principal=staff.principal)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    attached = evidence.list_for(
        session, task_id=task_id, principal=staff.principal, cursor=None, limit=200
    ).items
    errors: dict[str, str] = {}
    for err in (problem or {}).get("errors") or []:
        errors.setdefault(str(err.get("field", "")), str(err.get("message")))
    return render(
        request,
        "task.html",
        staff,
        status,
        task=task,
        view=view,
        evidence=attached,
        problem=problem,
        errors=errors,
        outcomes=OUTCOMES,
        measure_kinds=MEASURE_KINDS,
        penalty=PENALTY,
        form=form or {"decided_on": today_local().isoformat(), "measures": []},
    )


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: SessionDep, staff: StaffDep, task_id: str) -> Response:
    return _task_page(request, session, staff, task_id)


@router.get("/tasks/{task_id}/notice")
def task_notice(request: Request, session: SessionDep, staff: StaffDep, task_id: str) -> Response:
    """The printable 检查通知书 (the same rendering as GET /api/v1/tasks/{id}/notice)."""
    from app.tasks.access import visible_task

    try:
        task = visible_task(session, task_id, staff.principal)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    from app.config import get_settings
    from app.tasks import codes

    settings = get_settings()
    html = reports.render_notice(
        session,
        task,
        issued_at=utcnow(),
        signing_key=codes.load_signing_key(settings.signing_key_file),
        site_url=settings.public_site_url or f"{request.base_url}public/",
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _money(text: str) -> str | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        Decimal(text)
    except InvalidOperation:
        return text  # the schema names the field
    return text


@router.post("/tasks/{task_id}/result")
async def task_result(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str
) -> Response:
    """Enters a result through results.submit_result (the API's PUT)."""
    raw = await request.form()
    chosen = [str(k) for k in raw.getlist("measures")]
    fine = str(raw.get("fine_amount", ""))
    recovered = str(raw.get("recovered_amount", ""))
    form: dict[str, Any] = {
        "outcome": str(raw.get("outcome", "")),
        "decided_on": str(raw.get("decided_on", "")),
        "findings": str(raw.get("findings", "")),
        "measures": chosen,
        "fine_amount": str(raw.get("fine_amount", "")),
        "recovered_amount": str(raw.get("recovered_amount", "")),
    }
    body: dict[str, Any] = {
        "outcome": form["outcome"],
        "decided_on": form["decided_on"],
        "findings": form["findings"],
        "measures": [
            {"kind": k, **({"fine_amount": _money(fine)} if k == PENALTY else {})} for k in chosen
        ],
        "recovered_amount": _money(recovered),
    }
    try:
        data = ResultIn.model_validate(body)
        results.submit_result(
            session, task_id=task_id, data=data, principal=staff.principal, today=today_local()
        )
    except (AppError, ValidationError) as exc:
        return _task_page(request, session, staff, task_id, problem_of(session, exc), form, 422)
    return see_other(f"/console/tasks/{task_id}?saved=1")


@router.post("/tasks/{task_id}/follow-up")
def task_follow_up(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    """安排回头看 through revisits.create_revisit (the API's POST …/follow-ups)."""
    from app.tasks import revisits
    from app.tasks.schemas import FollowUpIn

    require(staff, "supervisor")
    try:
        child = revisits.create_revisit(
            session,
            task_id=task_id,
            data=FollowUpIn.model_validate({"reason": reason}),
            actor=staff.principal.actor,
            principal=staff.principal,
        )
    except (AppError, ValidationError) as exc:
        return _task_page(
            request, session, staff, task_id, problem_of(session, exc), None, exc_status(exc)
        )
    return see_other(f"/console/tasks/{child.id}")


@router.post("/tasks/{task_id}/evidence")
def task_evidence(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    file: UploadFile,
    note: Text = "",
) -> Response:
    """Attaches evidence (a photo from the phone's camera, or a PDF) through evidence.store,
    as the API's upload does."""
    s = settings_of(request)
    try:
        evidence.store(
            session,
            task_id=task_id,
            upload=file.file,
            filename=file.filename,
            note=note,
            principal=staff.principal,
            evidence_dir=s.evidence_dir,
            max_bytes=s.max_evidence_bytes,
        )
    except AppError as exc:
        problem = problem_of(session, exc)
        return _task_page(request, session, staff, task_id, problem, None, exc.status)
    return see_other(f"/console/tasks/{task_id}?attached=1#evidence")


@router.get("/tasks/{task_id}/evidence/{sha256}")
def task_evidence_file(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, sha256: str
) -> Response:
    try:
        row, path = evidence.open_blob(
            session,
            task_id=task_id,
            sha256=sha256,
            principal=staff.principal,
            evidence_dir=settings_of(request).evidence_dir,
        )
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    return FileResponse(
        path,
        media_type=row.media_type,
        filename=row.filename,
        headers={"Cache-Control": "private, no-store"},
    )
