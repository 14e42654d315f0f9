"""Approved results (抽查结果) as published: no evidence, no inspector data, no free-form notes.

Read by page, never all at once (a national season approves ~50,000): the published results
are paged by their id (`RESULTS_PER_PAGE` each, app/publish/collect.py; a result keeps its id
when revised), each page summarised by one SQL aggregate (`page_summaries`: the fingerprint of its files, app/publish/
write.py) and its rows read only when it is rendered (`page_rows`). So one approval reads and
rewrites one page, whatever the number of earlier results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.models import Task
from app.models.results import Result
from app.publish import collect as site

CHUNK = 900


def _page_column() -> ColumnElement[int]:
    return ((Result.id - 1) // site.RESULTS_PER_PAGE + 1).label("page")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def root_draws(session: Session, task_ids: Iterable[str]) -> dict[str, str]:
    """Task id → the draw its follow-up chain starts from, for these tasks only (one query per
    link of the longest chain, not a read of every task)."""
    out: dict[str, str] = {}
    pending = {tid: tid for tid in task_ids}  # task → the task of its chain looked up next
    for _ in range(100):
        if not pending:
            break
        wanted = sorted(set(pending.values()))
        links: dict[str, tuple[str | None, str | None]] = {}
        for i in range(0, len(wanted), CHUNK):
            stmt = select(Task.id, Task.draw_id, Task.parent_task_id).where(
                Task.id.in_(wanted[i : i + CHUNK])
            )
            for tid, draw_id, parent_id in session.execute(stmt):
                links[tid] = (draw_id, parent_id)
        following: dict[str, str] = {}
        for tid, current in pending.items():
            draw_id, parent_id = links.get(current, (None, None))
            if draw_id is not None:
                out[tid] = draw_id
            elif parent_id is not None:
                following[tid] = parent_id
        pending = following
    return out


def _rows(session: Session, where: Sequence[ColumnElement[bool]], *, newest: int = 0) -> list[Any]:
    stmt = select(Result, Task).join(Task, Task.id == Result.task_id).where(*where)
    if newest:
        stmt = stmt.order_by(Result.published_at.desc(), Result.id.desc()).limit(newest)
    else:
        stmt = stmt.order_by(Result.id)
    return list(session.execute(stmt))


def _as_dicts(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    roots = root_draws(session, (t.id for _r, t in rows))
    return [
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
            "approved_at": _iso(r.approved_at),
            "published_at": _iso(r.published_at),
        }
        for r, t in rows
    ]


def unpublished_results(session: Session) -> list[dict[str, Any]]:
    """Approved results not published yet (new approvals, and those of withheld draws waiting
    for their release day), with their root draw."""
    return _as_dicts(session, _rows(session, [Result.published_at.is_(None)]))


def page_summaries(session: Session) -> dict[int, dict[str, Any]]:
    """Per results page: how many published results it holds and what changes when one of them
    is approved, revised or published (newest approval and publication, sum of versions)."""
    stmt = (
        select(
            _page_column(),
            func.count(),
            func.max(Result.approved_at),
            func.max(Result.published_at),
            func.sum(Result.version),
        )
        .where(Result.published_at.is_not(None))
        .group_by("page")
        .order_by("page")
    )
    return {
        int(page): {
            "count": int(count),
            "approved": _iso(approved),
            "published": _iso(published),
            "versions": int(versions or 0),
        }
        for page, count, approved, published, versions in session.execute(stmt)
    }


def page_rows(session: Session, page: int) -> list[dict[str, Any]]:
    """The published results of one page, in id order."""
    low = (page - 1) * site.RESULTS_PER_PAGE + 1
    where = [
        Result.id >= low,
        Result.id < low + site.RESULTS_PER_PAGE,
        Result.published_at.is_not(None),
    ]
    return _as_dicts(session, _rows(session, where))


def newest_results(session: Session, limit: int) -> list[dict[str, Any]]:
    """The `limit` most recently published results (the feed and the home page)."""
    return _as_dicts(session, _rows(session, [Result.published_at.is_not(None)], newest=limit))


def draw_result_summaries(session: Session) -> dict[str, dict[str, Any]]:
    """Per draw: what its statistics depend on among the approved results of its tasks (count,
    newest approval, sum of versions) — the statistics unit's fingerprint, one aggregate."""
    stmt = (
        select(Task.draw_id, func.count(), func.max(Result.approved_at), func.sum(Result.version))
        .join(Task, Task.id == Result.task_id)
        .where(Task.draw_id.is_not(None))
        .group_by(Task.draw_id)
    )
    return {
        str(draw_id): {"count": int(n), "approved": _iso(at), "versions": int(v or 0)}
        for draw_id, n, at, v in session.execute(stmt)
    }


def decided(result: dict[str, Any]) -> date:
    """The decision day of a result dict."""
    return date.fromisoformat(result["decided_on"])
