"""Statistics of a draw from its published π and approved results (HT estimates, the 统计分析 pages)."""

from __future__ import annotations

import json
import sqlite3
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import NotFound
from app.models import Draw, Result, Task
from app.stats import Frame, Observation, estimate, frames_from_draw
from app.stats.estimators import COOLING_SUFFIX
from app.stats.render import statistics_pages
from app.tasks.schemas import CORRECTED, NO_PROBLEM, NON_COOPERATION, PENDING_MEASURES

# 发现问题: every outcome that records a problem (a serious refusal is one itself);
# 未检查（停业、注销等） and tasks without an approved result are missing data.
FOUND = {CORRECTED: True, PENDING_MEASURES: True, NON_COOPERATION: True, NO_PROBLEM: False}


# A draw's tasks as the estimates need them (frame and π of each, in draw order): fixed once
# drawn, so kept in the process — the publisher re-estimates a draw after each approval and then
# reads only its results, not its 50,000 tasks again. Bounded by tasks, not draws (four national
# draws, or a season of hundreds of city draws), the least recently used dropped first.
_TASKS_KEPT = 200_000


@dataclass(frozen=True)
class _DrawTasks:
    # Each task's observation while it has no result, draw order. Tasks of one frame with the
    # same π share one (frozen) Observation and every one its frame's key: a national draw's
    # 54,068 tasks are a list of pointers, not 54,068 rows of strings.
    unobserved: list[Observation]
    # Task.seq of each, ascending: a result's task found by bisection. None when a draw's seqs
    # are not unique (never for a draw made by app/plans): then `ids` maps task id -> position.
    seqs: array[int] | None
    ids: dict[str, int] | None
    frames: list[Frame]  # of the draw's published strata (N_h, n_h …), fixed once drawn
    weighted: bool

    def __len__(self) -> int:
        return len(self.unobserved)


_tasks_cache: dict[tuple[str, str, str], _DrawTasks] = {}
_cache_lock = threading.Lock()

_TASKS_KEY = b'"tasks":'
_BLOB_CHUNK = 1 << 20


def _head_from_blob(session: Session, draw_id: str) -> dict[str, Any] | None:
    """SQLite: the body's keys before "tasks", read through an incremental blob handle a chunk
    at a time up to its "tasks" key — never the whole stored text (tens of MB at national
    scale; json_extract parses all of it into a node array, +147 MB resident at 1,000,000
    targets). None when that is not possible (the caller reads the JSON paths instead)."""
    raw = session.connection().connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        return None
    rowid = session.execute(text("SELECT rowid FROM draws WHERE id = :id"), {"id": draw_id})
    row = rowid.scalar_one_or_none()
    if row is None:
        return None
    parts: list[bytes] = []
    carry = b""
    try:
        with raw.blobopen("draws", "body", row, readonly=True) as blob:
            while True:
                chunk = blob.read(_BLOB_CHUNK)
                if not chunk:
                    return None  # no "tasks" key
                buf = carry + chunk
                # `"tasks":` cannot occur inside a JSON string (its quotes would be escaped):
                # the first is a key — the top-level one unless the head then fails to parse.
                at = buf.find(_TASKS_KEY)
                if at >= 0:
                    parts.append(buf[:at])
                    break
                keep = len(_TASKS_KEY) - 1
                parts.append(buf[:-keep])
                carry = buf[-keep:]
    except sqlite3.Error:
        return None
    head = b"".join(parts).decode().rstrip(" \t\n\r")
    head = head[:-1] if head.endswith(",") else head
    try:
        doc = json.loads(head + "}")
    except ValueError:  # a nested "tasks" key came first: not the top level
        return None
    return doc if isinstance(doc, dict) else None


def _strata_and_weighted(session: Session, draw_id: str) -> tuple[Any, Any]:
    """The draw's published strata and params.weighted, as stored."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    head = _head_from_blob(session, draw_id) if sqlite else None
    if head is not None and "strata" in head:
        params = head.get("params")
        return head["strata"], params.get("weighted") if isinstance(params, dict) else None
    # PostgreSQL extracts the paths on the server; on SQLite json_extract parses the whole
    # body for each call, so the body is read once per draw (kept below).
    return session.execute(
        select(Draw.body["strata"], Draw.body["params"]["weighted"]).where(Draw.id == draw_id)
    ).one()


def _draw_tasks(session: Session, draw_id: str, identity: tuple[str, str, str]) -> _DrawTasks:
    """The tasks of a draw in draw order; `identity` (id, seed, population hash) names exactly
    which tasks they are (a draw rolled back and made again under the same id has another seed)."""
    with _cache_lock:
        kept = _tasks_cache.pop(identity, None)
        if kept is not None:
            _tasks_cache[identity] = kept  # now the most recently used
            return kept
    strata, weighted = _strata_and_weighted(session, draw_id)
    frames = frames_from_draw(strata or [])
    del strata
    frame_keys = {f.key: f.key for f in frames}  # one string per frame, shared by its tasks
    shared: dict[tuple[str, float], Observation] = {}
    unobserved: list[Observation] = []
    seqs: array[int] | None = array("q")
    ordered = (Task.seq, Task.id)  # ids only break ties (none in a draw made by app/plans)
    for seq, stratum, pi, cooling, capped in session.execute(
        select(Task.seq, Task.stratum, Task.inclusion_prob, Task.despite_cooldown, Task.despite_cap)
        .where(Task.draw_id == draw_id)
        .order_by(*ordered)
    ):
        # as observation_of: a floor fill (cooling or capped) is in its stratum's resting frame
        key = str(stratum) + (COOLING_SUFFIX if cooling or capped else "")
        key = frame_keys.get(key, key)
        p = float(pi)
        obs = shared.get((key, p))
        if obs is None:
            obs = shared[(key, p)] = Observation(frame=key, inclusion_prob=p, found=None)
        if seqs is not None:
            if seqs and seq <= seqs[-1]:
                seqs = None  # not unique: results are found by task id
            else:
                seqs.append(seq)
        unobserved.append(obs)
    del shared
    ids = None
    if seqs is None:
        ids = {
            task_id: i
            for i, task_id in enumerate(
                session.scalars(select(Task.id).where(Task.draw_id == draw_id).order_by(*ordered))
            )
        }
    kept = _DrawTasks(
        unobserved=unobserved, seqs=seqs, ids=ids, frames=frames, weighted=bool(weighted)
    )
    with _cache_lock:
        _tasks_cache[identity] = kept
        kept_rows = sum(len(k) for k in _tasks_cache.values())
        while kept_rows > _TASKS_KEPT and len(_tasks_cache) > 1:  # the newest always stays
            kept_rows -= len(_tasks_cache.pop(next(iter(_tasks_cache))))
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
    tasks = _draw_tasks(session, draw_id, (draw.id, draw.seed, draw.population_sha256))
    observations = list(tasks.unobserved)  # then the tasks that have a result
    # A result's task by its seq (bisection), or by its id when the draw's seqs are not unique.
    seqs, ids = tasks.seqs, tasks.ids
    which: Any = Task.seq if seqs is not None else Result.task_id
    results = 0
    for task, outcome in session.execute(
        select(which, Result.outcome)
        .join(Task, Task.id == Result.task_id)
        .where(Task.draw_id == draw_id)
    ):
        if seqs is not None:
            i = bisect_left(seqs, task)
            if i == len(seqs) or seqs[i] != task:
                raise KeyError(task)  # as the lookup by id did: a task not of the draw
        else:
            i = ids[task]  # type: ignore[index]
        o = observations[i]
        # 未检查 is a final result (nonresponse), not pending
        observations[i] = Observation(o.frame, o.inclusion_prob, FOUND.get(outcome), True)
        results += 1
    stats = estimate(tasks.frames, observations, confidence=confidence)
    del observations
    return {
        "schema_version": "1",
        "draw": draw.id,
        "plan": draw.plan_code,
        "status": draw.status,
        "weighted": tasks.weighted,
        "results": results,
        "tasks": len(tasks),
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
