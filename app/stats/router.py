"""HTTP endpoints of draw statistics: thin wrappers over app/stats/service.py."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api import StrictRoute
from app.auth.deps import Supervisor
from app.db import SessionDep
from app.errors import problem_responses
from app.plans import service as plans
from app.stats import service
from app.stats.schemas import DrawStatisticsOut

router = APIRouter(prefix="/api/v1", tags=["statistics"], route_class=StrictRoute)


@router.get(
    "/draws/{draw_id}/statistics",
    response_model=DrawStatisticsOut,
    responses=problem_responses(404),
)
def draw_statistics(
    draw_id: str,
    session: SessionDep,
    principal: Supervisor,
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
) -> dict[str, Any]:
    """发现问题率的 π 加权估计（Hájek）（分层与总体，含置信区间）及风险加权的检出效果。"""
    plans.visible_draw(session, draw_id, principal.jurisdiction)  # 404 outside
    return service.draw_statistics(session, draw_id=draw_id, confidence=confidence)
