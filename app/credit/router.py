"""HTTP endpoints of the credit integration and of draw statistics: thin wrappers."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.auth.deps import CreditRole, Supervisor
from app.credit import service, statistics
from app.credit.schemas import MAX_GRADES_PER_PUSH, GradeIn, GradesOut, ResultsPage
from app.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["credit"])


@router.put("/credit/grades", response_model=GradesOut)
def push_grades(
    entries: Annotated[list[GradeIn], Body(max_length=MAX_GRADES_PER_PUSH)],
    session: SessionDep,
    principal: CreditRole,
) -> GradesOut:
    """信用模块推送信用等级（全部成功或全部不写入）；生效时间在未来的届时生效。"""
    return service.push_grades(
        session, entries=entries, token_name=principal.name, actor=principal.actor
    )


@router.get("/credit/results", response_model=ResultsPage)
def results_feed(
    session: SessionDep,
    _p: CreditRole,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> ResultsPage:
    """已审核的抽查结果（按审核顺序，可断点续取）；再次审核的结果会再次出现。"""
    return service.results_feed(session, cursor=cursor, limit=limit)


@router.get("/plans/{code}/inclusion")
def plan_inclusion(code: str, session: SessionDep, _p: Supervisor) -> dict[str, Any]:
    """按当前名录库预览各层入样概率 π（不抽取）。"""
    return statistics.inclusion_preview(session, code=code)


@router.get("/draws/{draw_id}/statistics")
def draw_statistics(
    draw_id: str,
    session: SessionDep,
    _p: Supervisor,
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
) -> dict[str, Any]:
    """发现问题率的 Horvitz–Thompson 估计（分层与总体，含置信区间）及风险加权的检出效果。"""
    return statistics.draw_statistics(session, draw_id=draw_id, confidence=confidence)
