"""HTTP endpoints of the credit integration (grades in, results out): thin wrappers."""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.api import StrictRoute
from app.auth.deps import CreditRole
from app.credit import service
from app.credit.schemas import MAX_GRADES_PER_PUSH, GradeIn, GradesOut, ResultsPage
from app.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["credit"], route_class=StrictRoute)


@router.put("/credit/grades", response_model=GradesOut)
def push_grades(
    entries: Annotated[list[GradeIn], Body(max_length=MAX_GRADES_PER_PUSH)],
    session: SessionDep,
    principal: CreditRole,
) -> GradesOut:
    """信用模块推送信用等级（全部成功或全部不写入）；生效时间在未来的届时生效。"""
    return service.push_grades(
        session,
        entries=entries,
        token_name=principal.name,
        actor=principal.actor,
        jurisdiction=principal.jurisdiction,
    )


@router.get("/credit/results", response_model=ResultsPage)
def results_feed(
    session: SessionDep,
    principal: CreditRole,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> ResultsPage:
    """已审核的抽查结果（按审核顺序，可断点续取）；再次审核的结果会再次出现。
    只含令牌辖区内的检查对象（省级令牌无前缀，取全部）。"""
    return service.results_feed(
        session, cursor=cursor, limit=limit, jurisdiction=principal.jurisdiction
    )
