"""HTTP endpoints of draw statistics: thin wrappers over app/stats/service.py."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.auth.deps import Supervisor
from app.db import SessionDep
from app.stats import service

router = APIRouter(prefix="/api/v1", tags=["statistics"])


@router.get("/draws/{draw_id}/statistics")
def draw_statistics(
    draw_id: str,
    session: SessionDep,
    _p: Supervisor,
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
) -> dict[str, Any]:
    """发现问题率的 Horvitz–Thompson 估计（分层与总体，含置信区间）及风险加权的检出效果。"""
    return service.draw_statistics(session, draw_id=draw_id, confidence=confidence)
