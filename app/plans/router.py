"""HTTP endpoints of plans and their draws: thin wrappers over the services."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from app.api import StrictRoute
from app.auth.deps import Supervisor
from app.db import SessionDep
from app.errors import problem_response, problem_responses
from app.events import site_changed
from app.models import Plan
from app.plans import drawing, preview, replacing, service
from app.plans.schemas import (
    AdjustmentIn,
    CloseIn,
    DrawIn,
    DrawOut,
    DrawViewOut,
    InclusionPreviewOut,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanVersionOut,
    PlanVersionPage,
    ReplacementIn,
    ReplacementsOut,
)

router = APIRouter(prefix="/api/v1", tags=["plans"], route_class=StrictRoute)

Cursor = Annotated[str | None, Query(max_length=200, description="上一页的 next_cursor")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _plan_out(session: Session, plan: Plan) -> PlanOut:
    return PlanOut(
        code=plan.code,
        title=plan.title,
        status=plan.status,
        version=plan.version,
        spec=plan.spec,
        commitment=plan.commitment,
        secret=service.revealed_secret(plan),
        published_at=plan.published_at,
        draws=service.draw_ids(session, plan.code),
    )


@router.post("/plans", status_code=201, response_model=PlanOut, responses=problem_responses(409))
def create_plan(data: PlanIn, session: SessionDep, principal: Supervisor) -> PlanOut:
    """新建抽查计划（草稿）。"""
    plan = service.create(
        session, data=data, actor=principal.actor, jurisdiction=principal.jurisdiction
    )
    return _plan_out(session, plan)


@router.get("/plans", response_model=PlanPage)
def list_plans(
    session: SessionDep, principal: Supervisor, cursor: Cursor = None, limit: Limit = 200
) -> PlanPage:
    """辖区内的抽查计划列表，新建的在前（游标分页）。"""
    page = service.list_plans(
        session, cursor=cursor, limit=limit, jurisdiction=principal.jurisdiction
    )
    return PlanPage(items=[_plan_out(session, p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/plans/{code}", response_model=PlanOut, responses=problem_responses(404))
def get_plan(code: str, session: SessionDep, principal: Supervisor) -> PlanOut:
    """一个抽查计划（辖区外的计划答 404）。"""
    return _plan_out(session, service.visible(session, code, principal.jurisdiction))


@router.put("/plans/{code}", response_model=PlanOut, responses=problem_responses(404, 409))
def replace_plan(code: str, data: PlanIn, session: SessionDep, principal: Supervisor) -> PlanOut:
    """修改草稿计划（发布后须走计划调整）。"""
    service.visible(session, code, principal.jurisdiction)
    return _plan_out(
        session,
        service.replace_draft(
            session,
            code=code,
            data=data,
            actor=principal.actor,
            jurisdiction=principal.jurisdiction,
        ),
    )


@router.post("/plans/{code}/publish", response_model=PlanOut, responses=problem_responses(404, 409))
def publish_plan(
    code: str,
    session: SessionDep,
    principal: Supervisor,
    request: Request,
    background: BackgroundTasks,
) -> PlanOut:
    """发布计划并公布承诺值（服务器密钥的哈希）；公开网站随后自动更新。"""
    service.visible(session, code, principal.jurisdiction)
    out = _plan_out(session, service.publish(session, code=code, actor=principal.actor))
    site_changed(request, background, session, f"plan:{code}")
    return out


@router.post(
    "/plans/{code}/adjustments",
    status_code=201,
    response_model=PlanOut,
    responses=problem_responses(404, 409),
)
def adjust_plan(
    code: str,
    adj: AdjustmentIn,
    session: SessionDep,
    principal: Supervisor,
    request: Request,
    background: BackgroundTasks,
) -> PlanOut:
    """计划调整（须附理由）；重抽时原抽取标记为已作废并保留；公开网站随后自动更新。"""
    service.visible(session, code, principal.jurisdiction)
    plan = service.adjust(
        session, code=code, adj=adj, actor=principal.actor, jurisdiction=principal.jurisdiction
    )
    out = _plan_out(session, plan)
    site_changed(request, background, session, f"plan:{code}")
    return out


@router.post("/plans/{code}/close", response_model=PlanOut, responses=problem_responses(404, 409))
def close_plan(
    code: str,
    body: CloseIn,
    session: SessionDep,
    principal: Supervisor,
    request: Request,
    background: BackgroundTasks,
) -> PlanOut:
    """结束抽查计划（已抽取的计划；不再接受调整或重抽）；公开网站随后自动更新。"""
    service.visible(session, code, principal.jurisdiction)
    out = _plan_out(
        session, service.close(session, code=code, reason=body.reason, actor=principal.actor)
    )
    site_changed(request, background, session, f"plan:{code}")
    return out


@router.get(
    "/plans/{code}/versions", response_model=PlanVersionPage, responses=problem_responses(404)
)
def plan_versions(
    code: str, session: SessionDep, principal: Supervisor, cursor: Cursor = None, limit: Limit = 200
) -> PlanVersionPage:
    """计划的各个版本（含调整理由），从第 1 版起（游标分页）。"""
    service.visible(session, code, principal.jurisdiction)
    page = service.versions(session, code, cursor=cursor, limit=limit)
    return PlanVersionPage(
        items=[PlanVersionOut.model_validate(v, from_attributes=True) for v in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/plans/{code}/inclusion",
    response_model=InclusionPreviewOut,
    responses=problem_responses(404),
)
def plan_inclusion(code: str, session: SessionDep, principal: Supervisor) -> dict[str, Any]:
    """按当前名录库预览各层入样概率 π（不抽取）。"""
    service.visible(session, code, principal.jurisdiction)
    return preview.inclusion_preview(session, code=code)


@router.post(
    "/plans/{code}/draw",
    status_code=201,
    response_model=DrawOut,
    response_model_exclude_unset=True,
    responses=problem_responses(404, 409),
)
def draw_plan(
    code: str,
    body: DrawIn,
    session: SessionDep,
    principal: Supervisor,
    request: Request,
    background: BackgroundTasks,
) -> Any:
    """抽取：以承诺的密钥、冻结的抽样框与事先公布的随机源（drand 信标、公开记录、骰子）生成种子，
    一次性抽取。无法组队时本次抽取记为失败并公开（422，附 `draw`），计划须调整后再抽。"""
    service.visible(session, code, principal.jurisdiction)
    outcome = drawing.perform_draw(session, code=code, body=body, actor=principal.actor)
    site_changed(request, background, session, f"draw:{outcome.draw.id}")
    if outcome.problem is not None:  # recorded and committed: a failed attempt is public
        return problem_response(outcome.problem.to_problem() | {"draw": outcome.draw.id})
    return outcome.draw.body


@router.get(
    "/draws/{draw_id}",
    response_model=DrawViewOut,
    response_model_exclude_unset=True,
    responses=problem_responses(404),
)
def get_draw(draw_id: str, session: SessionDep, principal: Supervisor) -> Any:
    """抽取结果（可独立复核的完整 JSON）。"""
    draw = service.visible_draw(session, draw_id, principal.jurisdiction)
    return {**draw.body, "status": draw.status, "superseded_reason": draw.superseded_reason}


@router.get(
    "/draws/{draw_id}/population",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses(404),
    },
)
def get_population(draw_id: str, session: SessionDep, principal: Supervisor) -> PlainTextResponse:
    """抽样总体快照（CSV，哈希即 population_sha256）。"""
    service.visible_draw(session, draw_id, principal.jurisdiction)
    return PlainTextResponse(
        drawing.population_text(session, draw_id), media_type="text/csv; charset=utf-8"
    )


@router.post(
    "/draws/{draw_id}/replacements",
    status_code=201,
    response_model=ReplacementsOut,
    responses=problem_responses(404, 409),
)
def replace_member(
    draw_id: str,
    body: ReplacementIn,
    session: SessionDep,
    principal: Supervisor,
    request: Request,
    background: BackgroundTasks,
) -> Any:
    """替换检查组成员：抽取后不能参加检查的人员（离职、病假、新发现的回避关系等），按公开的替换规则
    由本次抽取顺序中的下一位符合条件的人员替换（不重新抽取、不人工指定），原因与结果公开并可独立复核。
    无符合条件的人员时，该步记为替换失败并写明原因。返回本次写入的步骤。"""
    written = replacing.replace(
        session,
        draw_id=draw_id,
        badge=body.badge,
        reason=body.reason,
        task_id=body.task,
        actor=principal.actor,
        jurisdiction=principal.jurisdiction,
    )
    site_changed(request, background, session, f"draw:{draw_id}")
    return replacing.published(draw_id, written)


@router.get(
    "/draws/{draw_id}/replacements",
    response_model=ReplacementsOut,
    responses=problem_responses(404),
)
def list_replacements(draw_id: str, session: SessionDep, principal: Supervisor) -> Any:
    """本次抽取的全部替换步骤（与公开的 replacements.json 相同）。"""
    service.visible_draw(session, draw_id, principal.jurisdiction)
    return replacing.published(draw_id, replacing.steps(session, draw_id))
