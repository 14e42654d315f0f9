"""Statistics of a draw from its published π and approved results (HT estimates, the 统计分析 pages)."""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import NotFound
from app.models import Draw, Result, Task
from app.stats import Observation, estimate, frames_from_draw, observation_of
from app.stats.render import statistics_pages
from app.tasks.schemas import CORRECTED, NO_PROBLEM, NON_COOPERATION, PENDING_MEASURES

# 发现问题: every outcome that records a problem (a serious refusal is one itself);
# 未检查（停业、注销等） and tasks without an approved result are missing data.
FOUND = {CORRECTED: True, PENDING_MEASURES: True, NON_COOPERATION: True, NO_PROBLEM: False}


# A draw's tasks as the estimates need them (stratum, π, cooldown flag): fixed once drawn, so
# kept in the process — the publisher re-estimates a draw after each approval and then reads
# only its results, not its 50,000 tasks again. Bounded by tasks, not draws (four national
# draws, or a season of hundreds of city draws), the least recently used dropped first.
_TASKS_KEPT = 200_000


@dataclass(frozen=True)
class _DrawTasks:
    # (id, stratum, π, despite_cooldown, despite_cap), draw order
    rows: list[tuple[str, str, float, bool, bool]]
    index: dict[str, int]  # task id -> position
    unobserved: list[Observation]  # each task's observation while it has no result
    strata: list[dict[str, Any]]  # the draw's published strata (N_h, n_h …), fixed once drawn
    weighted: bool


_tasks_cache: dict[tuple[str, str, str], _DrawTasks] = {}
_cache_lock = threading.Lock()


def _task_dict(row: tuple[str, str, float, bool, bool]) -> dict[str, Any]:
    return {
        "stratum": row[1],
        "inclusion_prob": row[2],
        "despite_cooldown": row[3],
        "despite_cap": row[4],
    }


def _draw_tasks(session: Session, draw_id: str, identity: tuple[str, str, str]) -> _DrawTasks:
    """The tasks of a draw in draw order; `identity` (id, seed, population hash) names exactly
    which tasks they are (a draw rolled back and made again under the same id has another seed)."""
    with _cache_lock:
        kept = _tasks_cache.pop(identity, None)
        if kept is not None:
            _tasks_cache[identity] = kept  # now the most recently used
            return kept
    # Read from the body once per draw: SQLite's json_extract parses a national draw's whole
    # body (tens of MB) for each call.
    strata, weighted = session.execute(
        select(Draw.body["strata"], Draw.body["params"]["weighted"]).where(Draw.id == draw_id)
    ).one()
    rows = [
        (task_id, stratum, float(pi), bool(cooling), bool(capped))
        for task_id, stratum, pi, cooling, capped in session.execute(
            select(
                Task.id, Task.stratum, Task.inclusion_prob, Task.despite_cooldown, Task.despite_cap
            )
            .where(Task.draw_id == draw_id)
            .order_by(Task.seq)
        )
    ]
    kept = _DrawTasks(
        rows=rows,
        index={row[0]: i for i, row in enumerate(rows)},
        unobserved=[observation_of(_task_dict(row), None, final=False) for row in rows],
        strata=list(strata or []),
        weighted=bool(weighted),
    )
    with _cache_lock:
        _tasks_cache[identity] = kept
        kept_rows = sum(len(k.rows) for k in _tasks_cache.values())
        while kept_rows > _TASKS_KEPT and len(_tasks_cache) > 1:  # the newest always stays
            kept_rows -= len(_tasks_cache.pop(next(iter(_tasks_cache))).rows)
    return kept


def draw_statistics(session: Session, *, draw_id: str, confidence: float = 0.95) -> dict[str, Any]:
    """π-weighted estimates of the 发现问题率 of one draw (docs/statistics.md)."""
    # Not the body (the 50,000 published tasks): its strata are read with the tasks, once.
    draw = session.execute(
        select(Draw.id, Draw.plan_code, Draw.status, Draw.seed, Draw.population_sha256).where(
            Draw.id == draw_id
        )
    ).one_or_none()
    if draw is None:
        raise NotFound(f"没有抽取 {draw_id}")
    outcomes = dict(
        session.execute(
            select(Result.task_id, Result.outcome)
            .join(Task, Task.id == Result.task_id)
            .where(Task.draw_id == draw_id)
        ).all()
    )
    tasks = _draw_tasks(session, draw_id, (draw.id, draw.seed, draw.population_sha256))
    observations = list(tasks.unobserved)  # then the tasks that have a result
    for task_id, outcome in outcomes.items():
        i = tasks.index[task_id]
        # 未检查 is a final result (nonresponse), not pending
        observations[i] = observation_of(_task_dict(tasks.rows[i]), FOUND.get(outcome), final=True)
    stats = estimate(frames_from_draw(tasks.strata), observations, confidence=confidence)
    return {
        "schema_version": "1",
        "draw": draw.id,
        "plan": draw.plan_code,
        "status": draw.status,
        "weighted": tasks.weighted,
        "results": len(outcomes),
        "tasks": len(observations),
        "found_outcomes": sorted(k for k, v in FOUND.items() if v),
        **stats.to_dict(),
    }


def site_statistics(
    session: Session, draw_ids: Iterable[str], generated_at: datetime
) -> dict[str, bytes]:
    """The public 统计分析 pages of the given (published, current) draws."""
    stats = [draw_statistics(session, draw_id=d) for d in draw_ids]
    seq, head = audit.head(session)
    base = {"audit_seq": seq, "audit_hash": head}  # footer of the site's base.html
    return statistics_pages(stats, generated_at, "index.html#method", base)
