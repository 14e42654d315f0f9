"""HTTP endpoints of tasks, results, 回头看, notices, evidence, deadlines and reports: thin wrappers."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from app.api import StrictRoute
from app.auth.deps import AnyStaff, Supervisor
from app.clock import OfficialDate, today_local
from app.config import Settings
from app.db import SessionDep
from app.errors import ValidationFailed, problem_responses
from app.events import site_changed
from app.models.base import utcnow
from app.pagination import Page
from app.plans import service as plans
from app.states import TaskStatus
from app.tasks import codes, deadlines, evidence, reports, results, revisits, service
from app.tasks.access import visible_task
from app.tasks.schemas import (
    ApprovedResultOut,
    DeadlinesOut,
    EvidenceOut,
    EvidencePage,
    FollowUpIn,
    ResultIn,
    ResultVersionOut,
    ResultViewOut,
    ReturnIn,
    TaskEventPage,
    TaskOut,
    TaskPage,
    WeeklyReportOut,
)

router = APIRouter(prefix="/api/v1", tags=["tasks"], route_class=StrictRoute)

Cursor = Annotated[str | None, Query(max_length=200, description="上一页的 next_cursor")]
Limit = Annotated[int, Query(ge=1, le=1000)]
NOT_FOUND = problem_responses(404)
NOT_FOUND_OR_CONFLICT = problem_responses(404, 409)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(page: Page[Any]) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/draws/{draw_id}/tasks", response_model=TaskPage, responses=NOT_FOUND)
def draw_tasks(
    draw_id: str,
    session: SessionDep,
    principal: Supervisor,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """一次抽取的任务清单（游标分页）。"""
    plans.visible_draw(session, draw_id, principal.jurisdiction)
    return _page(
        service.list_tasks(
            session, principal=principal, plan=None, draw_id=draw_id, cursor=cursor, limit=limit
        )
    )


@router.get("/tasks", response_model=TaskPage)
def list_tasks(
    session: SessionDep,
    principal: AnyStaff,
    plan: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """任务列表：检查人员只看到本人参加的、现行抽取中的任务。"""
    return _page(
        service.list_tasks(session, principal=principal, plan=plan, cursor=cursor, limit=limit)
    )


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
def get_task(task_id: str, session: SessionDep, principal: AnyStaff) -> dict[str, Any]:
    """一个任务；检查人员只能查看本人任务（他人的任务与不存在的任务一样答 404）。"""
    return service.task_view(session, task_id=task_id, principal=principal)


@router.put(
    "/tasks/{task_id}/result", response_model=ResultVersionOut, responses=NOT_FOUND_OR_CONFLICT
)
def put_result(
    task_id: str, data: ResultIn, session: SessionDep, principal: AnyStaff
) -> dict[str, Any]:
    """录入或修改检查结果（检查人员仅限本人任务；待后续处理的结果可修订，每一版均保留）。"""
    version = results.submit_result(
        session, task_id=task_id, data=data, principal=principal, today=today_local()
    )
    return results.version_dict(version)


@router.get("/tasks/{task_id}/result", response_model=ResultViewOut, responses=NOT_FOUND)
def get_result(task_id: str, session: SessionDep, principal: AnyStaff) -> dict[str, Any]:
    """任务的已审核结果、待审核版本和全部历史版本。"""
    return results.result_view(session, task_id=task_id, principal=principal)


@router.post(
    "/tasks/{task_id}/result/approve",
    response_model=ApprovedResultOut,
    responses=problem_responses(403, 404, 409),
)
def approve_result(
    task_id: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    principal: Supervisor,
) -> dict[str, Any]:
    """审核最新一版结果；审核后的结果进入公示（公开网站随即更新）。"""
    result = results.approve_result(
        session, task_id=task_id, actor=principal.actor, jurisdiction=principal.jurisdiction
    )
    site_changed(request, background, session, f"result:{task_id}")
    return results.approved_dict(result)


@router.post(
    "/tasks/{task_id}/result/return",
    response_model=ResultVersionOut,
    responses=problem_responses(403, 404, 409),
)
def return_result(
    task_id: str, body: ReturnIn, session: SessionDep, principal: Supervisor
) -> dict[str, Any]:
    """退回待审核的结果（须附理由）；检查人员重新录入后再审核。录入人不能审核或退回本人录入的结果。"""
    version = results.return_result(
        session,
        task_id=task_id,
        reason=body.reason,
        actor=principal.actor,
        jurisdiction=principal.jurisdiction,
    )
    return results.version_dict(version)


@router.get("/tasks/{task_id}/events", response_model=TaskEventPage, responses=NOT_FOUND)
def get_events(
    task_id: str,
    session: SessionDep,
    principal: AnyStaff,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """任务的每一步状态变化（谁、何时），从最早的起（游标分页）。"""
    return _page(
        results.task_events(
            session, task_id=task_id, principal=principal, cursor=cursor, limit=limit
        )
    )


@router.post(
    "/tasks/{task_id}/follow-ups",
    status_code=201,
    response_model=TaskOut,
    responses=NOT_FOUND_OR_CONFLICT,
)
def create_follow_up(
    task_id: str, data: FollowUpIn, session: SessionDep, principal: Supervisor
) -> dict[str, Any]:
    """安排回头看：关联原任务，缺省沿用原检查组。"""
    task = revisits.create_revisit(
        session, task_id=task_id, data=data, actor=principal.actor, principal=principal
    )
    return service.task_views(session, [task])[0]


@router.get("/tasks/{task_id}/follow-ups", response_model=TaskPage, responses=NOT_FOUND)
def list_follow_ups(
    task_id: str,
    session: SessionDep,
    principal: AnyStaff,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """一个任务的回头看任务，从最早的起（游标分页）。"""
    page = revisits.revisits(
        session, task_id=task_id, principal=principal, cursor=cursor, limit=limit
    )
    return _page(Page(service.task_views(session, page.items), page.next_cursor))


@router.get("/follow-ups", response_model=TaskPage)
def all_follow_ups(
    session: SessionDep,
    principal: AnyStaff,
    status: Annotated[TaskStatus | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """回头看任务列表（按任务编号，游标分页）：检查人员只看到本人参加的。"""
    page = revisits.list_revisits(
        session, principal=principal, status=status, cursor=cursor, limit=limit
    )
    return _page(Page(service.task_views(session, page.items), page.next_cursor))


@router.get(
    "/tasks/{task_id}/notice",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **NOT_FOUND},
)
def get_notice(
    task_id: str, request: Request, session: SessionDep, principal: AnyStaff
) -> HTMLResponse:
    """检查通知书（可打印的 HTML），附检查码二维码（公开网站上离线核验）。"""
    task = visible_task(session, task_id, principal)
    settings = _settings(request)
    html = reports.render_notice(
        session,
        task,
        issued_at=utcnow(),
        signing_key=codes.load_signing_key(settings.signing_key_file),
        site_url=settings.public_site_url or f"{request.base_url}public/",
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post(
    "/tasks/{task_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    responses={
        200: {"model": EvidenceOut, "description": "同一文件已上传过：原记录 (already stored)"},
        **NOT_FOUND_OR_CONFLICT,
    },
)
def upload_evidence(
    task_id: str,
    request: Request,
    session: SessionDep,
    principal: AnyStaff,
    file: Annotated[UploadFile, File(description="JPEG、PNG 或 PDF")],
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> JSONResponse:
    """上传证据材料（按 SHA-256 存储，永不公开）；同一文件重复上传返回原记录。"""
    settings = _settings(request)
    row, created = evidence.store(
        session,
        task_id=task_id,
        upload=file.file,
        filename=file.filename,
        note=note,
        principal=principal,
        evidence_dir=settings.evidence_dir,
        max_bytes=settings.max_evidence_bytes,
    )
    body = EvidenceOut.model_validate(evidence.evidence_dict(row)).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/tasks/{task_id}/evidence", response_model=EvidencePage, responses=NOT_FOUND)
def list_evidence(
    task_id: str,
    session: SessionDep,
    principal: AnyStaff,
    cursor: Cursor = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """任务的证据材料清单，从最早的起（游标分页；仅检查组成员和监管人员）。"""
    page = evidence.list_for(
        session, task_id=task_id, principal=principal, cursor=cursor, limit=limit
    )
    return _page(Page([evidence.evidence_dict(e) for e in page.items], page.next_cursor))


@router.get(
    "/tasks/{task_id}/evidence/{sha256}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "证据文件 (JPEG, PNG or PDF)",
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in ("image/jpeg", "image/png", "application/pdf")
            },
        },
        **NOT_FOUND,
    },
)
def download_evidence(
    task_id: str, sha256: str, request: Request, session: SessionDep, principal: AnyStaff
) -> FileResponse:
    """下载一份证据材料。"""
    row, path = evidence.open_blob(
        session,
        task_id=task_id,
        sha256=sha256,
        principal=principal,
        evidence_dir=_settings(request).evidence_dir,
    )
    return FileResponse(
        path,
        media_type=row.media_type,
        filename=row.filename,
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/results/deadlines", response_model=DeadlinesOut, responses=problem_responses(500))
def result_deadlines(
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    within: Annotated[int, Query(ge=0, le=250)] = 5,
) -> dict[str, Any]:
    """公示期限：已逾期、即将到期（within 个工作日内）和缺少日历数据的结果（本账号辖区内）。"""
    settings = _settings(request)
    return deadlines.deadlines_report(
        session,
        today=today_local(),
        within=within,
        override_file=settings.calendar_override_file,
        workdays=settings.publish_result_workdays,
        jurisdiction=principal.jurisdiction,
    )


@router.get(
    "/results/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_results(
    session: SessionDep,
    principal: Supervisor,
    start: Annotated[OfficialDate | None, Query(alias="from")] = None,
    end: Annotated[OfficialDate | None, Query(alias="to")] = None,
) -> Response:
    """已审核结果导出（国家企业信用信息公示系统格式，CSV；本账号辖区内）。"""
    body = reports.export_results_csv(
        session, start=start, end=end, jurisdiction=principal.jurisdiction
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="results.csv"'},
    )


@router.get(
    "/reports/weekly",
    response_model=WeeklyReportOut,
    responses={
        200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
    },
)
def weekly_report(
    session: SessionDep,
    principal: Supervisor,
    start: Annotated[OfficialDate, Query(alias="from")],
    end: Annotated[OfficialDate, Query(alias="to")],
    region: Annotated[str | None, Query(pattern=r"^[0-9]{1,6}$")] = None,
    format: Literal["json", "xlsx"] = "json",
) -> dict[str, Any] | Response:
    """周报表：按医保区划统计检查单位数、处理方式和追回金额（万元），含合计行；
    只统计本账号辖区（市级账号汇总其各县区）。"""
    if end < start:
        raise ValidationFailed(
            "统计区间结束日期早于开始日期", errors=[{"field": "to", "message": "早于 from"}]
        )
    region = principal.jurisdiction.narrow(region)
    report = reports.weekly_report(session, start=start, end=end, region=region)
    if format == "json":
        return report
    body = reports.weekly_xlsx(report, filled_on=today_local())
    name = f"weekly-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
