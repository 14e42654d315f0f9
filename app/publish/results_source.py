"""Approved results (抽查结果) as published: no evidence, no inspector data, no free-form notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Task
from app.models.results import Result


def _root_draws(session: Session) -> dict[str, str]:
    """Task id → the draw its follow-up chain starts from."""
    parent: dict[str, tuple[str | None, str | None]] = {
        tid: (draw_id, parent_id)
        for tid, draw_id, parent_id in session.execute(
            select(Task.id, Task.draw_id, Task.parent_task_id)
        )
    }
    out: dict[str, str] = {}
    for tid in parent:
        current: str | None = tid
        for _ in range(100):
            if current is None:
                break
            draw_id, parent_id = parent[current]
            if draw_id is not None:
                out[tid] = draw_id
                break
            current = parent_id
    return out


def collect_results(session: Session) -> list[dict[str, Any]]:
    """Every approved result with its task's public identity, oldest decision first."""
    roots = _root_draws(session)
    stmt = (
        select(Result, Task)
        .join(Task, Task.id == Result.task_id)
        .order_by(Result.decided_on, Result.task_id)
    )
    out = []
    for r, t in session.execute(stmt):
        out.append(
            {
                "id": r.id,
                "task_id": r.task_id,
                "visit": t.visit or t.id,  # 一次检查: results of one visit share it
                "draw_id": roots.get(t.id),
                "plan": t.plan_code,
                "uscc": t.uscc,
                "name": t.name,
                "region": t.region,
                "version": r.version,
                "outcome": r.outcome,
                "decided_on": r.decided_on.isoformat(),
                "findings": r.findings,
                "measures": [
                    {k: m[k] for k in ("kind", "fine_amount") if m.get(k) is not None}
                    for m in r.measures
                ],
                "recovered_amount": f"{r.recovered_amount:.2f}",
                "fine_amount": f"{r.fine_amount:.2f}",
                "approved_at": r.approved_at.isoformat(),
                "published_at": r.published_at.isoformat() if r.published_at else None,
            }
        )
    return out
