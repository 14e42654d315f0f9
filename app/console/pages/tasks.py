"""Tasks and results: the list, a task's page, the 检查通知书, result entry, 回头看, evidence."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, UploadFile
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    Response,
)
from sqlalchemy.orm import Session

from app.clock import today_local
from app.console.web import (
    PAGE,
    Staff,
    StaffDep,
    Text,
    act,
    beside,
    render,
    require,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError, ValidationFailed
from app.events import site_changed
from app.models.base import utcnow
from app.plans import service as plans
from app.regions import regions_under
from app.states import TaskStatus, task_label
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
    plan: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    region: Annotated[str, Query(max_length=6)] = "",
) -> HTMLResponse:
    """The tasks the signed-in person may see, by plan, status and region, with their total."""
    p = staff.principal
    wanted = {"plan": plan or None, "status": status or None, "region": region or None}
    page = tasks.list_tasks(session, principal=p, cursor=cursor, limit=PAGE, **wanted)
    staff.names.preload([m["badge"] for t in page.items for m in t["team"]])
    plan_rows = (
        plans.list_plans(session, cursor=None, limit=200, jurisdiction=p.jurisdiction).items
        if p.role in ("admin", "supervisor")
        else []
    )
    return render(
        request,
        "tasks.html",
        staff,
        page=page,
        total=tasks.count_tasks(session, principal=p, **wanted),
        plan=plan,
        status=status,
        region=region,
        plans=plan_rows,
        statuses=[(s.value, task_label(s.value)) for s in TaskStatus],
        regions=regions_under(staff.user.region_prefix),
    )


def _beside(path: str) -> str:
    """The result form's control an error is about (a fine belongs to its own input)."""
    parts = path.split(".")
    if parts[-1] == "fine_amount":
        return "fine_amount"
    return parts[0]


def _task_page(
    request: Request,
    session: Session,
    staff: Staff,
    task_id: str,
    problem: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        task = tasks.task_view(session, task_id=task_id, principal=staff.principal)
        view = results.result_view(session, task_id=task_id, principal=staff.principal)
        parent = (
            tasks.task_view(session, task_id=task["parent_task_id"], principal=staff.principal)
            if task["parent_task_id"]
            else None
        )
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    attached = evidence.list_for(
        session, task_id=task_id, principal=staff.principal, cursor=None, limit=200
    ).items
    from app.plans import replacing

    replaced = (
        [replacing.step_dict(r) for r in replacing.task_steps(session, task_id)]
        if task["draw_id"]
        else []
    )
    return render(
        request,
        "task.html",
        staff,
        status,
        task=task,
        parent=parent,
        view=view,
        evidence=attached,
        replaced=replaced,
        problem=problem,
        errors=beside(problem, _beside) if problem else {},
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
    text = text.strip().replace(",", "").replace("，", "")
    return text or None  # a text that is no amount: the schema names the field


# A fine typed without 行政处罚 ticked would be lost: the form says so instead.
FINE_WITHOUT_PENALTY = {
    "detail": "罚款金额未保存",
    "errors": [
        {
            "field": "fine_amount",
            "message": "填写了罚款金额，但没有勾选“行政处罚”：请勾选行政处罚，或清空罚款金额",
        }
    ],
}


@router.post("/tasks/{task_id}/result")
async def task_result(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str
) -> Response:
    """Enters a result through results.submit_result (the API's PUT)."""
    raw = await request.form()
    form: dict[str, Any] = {
        "outcome": str(raw.get("outcome", "")),
        "decided_on": str(raw.get("decided_on", "")),
        "inspected_on": str(raw.get("inspected_on", "")),
        "findings": str(raw.get("findings", "")),
        "measures": [str(k) for k in raw.getlist("measures")],
        "fine_amount": str(raw.get("fine_amount", "")),
        "recovered_amount": str(raw.get("recovered_amount", "")),
    }
    fine = _money(form["fine_amount"])
    if fine is not None and PENALTY not in form["measures"]:
        return _task_page(request, session, staff, task_id, FINE_WITHOUT_PENALTY, form, 422)
    body: dict[str, Any] = {
        "outcome": form["outcome"],
        "decided_on": form["decided_on"],
        "inspected_on": form["inspected_on"] or None,  # empty: the decision day
        "findings": form["findings"],
        "measures": [
            {"kind": k, **({"fine_amount": fine} if k == PENALTY else {})} for k in form["measures"]
        ],
        "recovered_amount": _money(form["recovered_amount"]),
    }
    return act(
        session,
        lambda: results.submit_result(
            session,
            task_id=task_id,
            data=ResultIn.model_validate(body),
            principal=staff.principal,
            today=today_local(),
        ),
        then=f"/console/tasks/{task_id}?saved=1",
        refused=lambda problem, status: _task_page(
            request, session, staff, task_id, problem, form, status
        ),
    )


@router.post("/tasks/{task_id}/follow-up")
def task_follow_up(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    """安排回头看 through revisits.create_revisit (the API's POST …/follow-ups)."""
    from app.tasks import revisits
    from app.tasks.schemas import FollowUpIn

    require(staff, "supervisor")
    return act(
        session,
        lambda: revisits.create_revisit(
            session,
            task_id=task_id,
            data=FollowUpIn.model_validate({"reason": reason}),
            actor=staff.principal.actor,
            principal=staff.principal,
        ),
        then=lambda child: f"/console/tasks/{child.id}",
        refused=lambda problem, status: _task_page(
            request, session, staff, task_id, problem, None, status
        ),
    )


@router.post("/tasks/{task_id}/replace")
def task_replace(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    background: BackgroundTasks,
    badge: Text = "",
    reason: Text = "",
) -> Response:
    """替换检查组成员 through replacing.replace (the API's POST /draws/{id}/replacements)."""
    from app.models import Task
    from app.plans import replacing

    require(staff, "supervisor")
    task = session.get(Task, task_id)
    draw_id = task.draw_id if task is not None else None

    def replace() -> None:
        if draw_id is None:
            raise ValidationFailed(f"任务 {task_id} 不是抽取产生的任务，不能按替换规则替换")
        replacing.replace(
            session,
            draw_id=draw_id,
            badge=badge,
            reason=reason,
            task_id=task_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
        site_changed(request, background, session, f"draw:{draw_id}")

    return act(
        session,
        replace,
        then=f"/console/tasks/{task_id}?replaced=1",
        refused=lambda problem, status: _task_page(
            request, session, staff, task_id, problem, None, status
        ),
    )


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
    return act(
        session,
        lambda: evidence.store(
            session,
            task_id=task_id,
            upload=file.file,
            filename=file.filename,
            note=note,
            principal=staff.principal,
            evidence_dir=s.evidence_dir,
            max_bytes=s.max_evidence_bytes,
        ),
        then=f"/console/tasks/{task_id}?attached=1#evidence",
        refused=lambda problem, status: _task_page(
            request, session, staff, task_id, problem, None, status
        ),
    )


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
