"""Writing visits: `refresh` derives each given visit from its tasks (app/visits/rule.py) and
stores it, in the caller's transaction — called by every writer that changes what a visit
serves: a draw (its new and joined visits), a re-draw (the superseded draw's), a 回头看, a
result's approval, a task's step. `build_all` (the migration) derives every visit."""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ, local_date
from app.models import Draw, Plan, Result, Task, TaskEvent, TaskMember, Visit, VisitMember
from app.models.base import utcnow
from app.registries.bulk import ENCODE_JSON, bulk_insert, bulk_insert_rows
from app.states import DrawStatus, TaskStatus, VisitState
from app.visits.rule import TaskFacts, VisitRecord, derive

CHUNK = 900  # ids per IN (SQLite's parameter limit)
_VISITS: Table = Visit.__table__  # type: ignore[assignment]
_MEMBERS: Table = VisitMember.__table__  # type: ignore[assignment]


def _window(spec: Any) -> tuple[date | None, date | None]:
    try:
        w = spec["window"]
        return date.fromisoformat(str(w["start"])), date.fromisoformat(str(w["end"]))
    except (KeyError, TypeError, ValueError):
        return None, None


def _public_at(spec: Any, drawn_at: datetime | None) -> datetime | None:
    """When a task list of this plan is public (app/plans/disclosure.py `tasks_public`): an
    `on_draw` plan's at the draw, an `after_window` plan's the day after its window (北京时间)."""
    if isinstance(spec, dict) and spec.get("publish_tasks", "after_window") == "on_draw":
        return drawn_at
    _start, end = _window(spec)
    if end is None:
        return None
    return datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ).astimezone(UTC)


class _Context:
    """The small tables every chunk reads: draws (status, time) and plans (spec)."""

    def __init__(self, session: Session) -> None:
        self.draws: dict[str, tuple[str, datetime]] = {
            d: (s, c) for d, s, c in session.execute(select(Draw.id, Draw.status, Draw.created_at))
        }
        self.specs: dict[str, Any] = dict(session.execute(select(Plan.code, Plan.spec)).all())


def _facts(
    session: Session, ctx: _Context, ids: Sequence[str]
) -> dict[str, tuple[str, list[TaskFacts]]]:
    """Per visit id of `ids`: (USCC, the facts of its tasks). Every task bears its visit id
    (tasks.visit, set for every task since migration 3f8d2c6a1e47): read through its index."""
    rows = session.execute(
        select(
            Task.visit,
            Task.id,
            Task.plan_code,
            Task.draw_id,
            Task.parent_task_id,
            Task.status,
            Task.items,
            Task.uscc,
        ).where(Task.visit.in_(ids))
    ).all()
    task_ids = [r[1] for r in rows]
    results: dict[str, tuple[str, date]] = {}
    teams: dict[str, list[tuple[str, str]]] = {}
    ordered: dict[str, datetime] = {}
    for i in range(0, len(task_ids), CHUNK):
        part = task_ids[i : i + CHUNK]
        for t, result_outcome, result_on in session.execute(
            select(
                Result.task_id,
                Result.outcome,
                func.coalesce(Result.inspected_on, Result.decided_on),
            ).where(Result.task_id.in_(part))
        ):
            results[t] = (result_outcome, result_on)
        for t, badge, role in session.execute(
            select(TaskMember.task_id, TaskMember.badge, TaskMember.role)
            .where(TaskMember.task_id.in_(part))
            .order_by(TaskMember.task_id, TaskMember.position)
        ):
            teams.setdefault(t, []).append((badge, role))
        followups = [r[1] for r in rows[i : i + CHUNK] if r[3] is None]
        if followups:
            for t, at in session.execute(
                select(TaskEvent.task_id, func.min(TaskEvent.at))
                .where(TaskEvent.task_id.in_(followups))
                .group_by(TaskEvent.task_id)
            ):
                ordered[t] = at
    out: dict[str, tuple[str, list[TaskFacts]]] = {}
    for visit, task, plan, draw, _parent, status, items, uscc in rows:
        spec = ctx.specs.get(plan)
        if draw is not None:
            draw_status, drawn_at = ctx.draws.get(draw, (DrawStatus.SUPERSEDED, None))
            kept = draw_status == DrawStatus.CURRENT
            planned_on = _window(spec)[0] or (local_date(drawn_at) if drawn_at else None)
        else:  # a 回头看: kept, planned from the day it was ordered
            kept, drawn_at = True, ordered.get(task)
            planned_on = local_date(drawn_at) if drawn_at else None
        outcome: str | None = None
        on: date | None = None
        if task in results:
            outcome, on = results[task]
        facts = TaskFacts(
            task=task,
            plan=plan,
            draw=draw,
            kept=kept,
            status=status,
            items=tuple(items or ()),
            outcome=outcome,
            inspected_on=on,
            planned_on=planned_on,
            public_at=_public_at(spec, drawn_at),
            team=tuple(teams.get(task, ())),
        )
        out.setdefault(visit or task, (uscc, []))[1].append(facts)
    return out


def refresh(session: Session, visit_ids: Iterable[str]) -> list[VisitRecord]:
    """Derives and stores the given visits (a visit no task bears any more is removed)."""
    ids = sorted(set(visit_ids))
    if not ids:
        return []
    session.flush()
    ctx = _Context(session)
    now = utcnow()
    out: list[VisitRecord] = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        # Lock the records first (FOR UPDATE; PostgreSQL): two approvals of two tasks of one
        # visit take turns, the second reading its facts once the first has committed.
        created = dict(
            session.execute(
                select(Visit.id, Visit.created_at)
                .where(Visit.id.in_(part))
                .order_by(Visit.id)
                .with_for_update()
            ).all()
        )
        facts = _facts(session, ctx, part)
        session.execute(delete(VisitMember).where(VisitMember.visit_id.in_(part)))
        session.execute(delete(Visit).where(Visit.id.in_(part)))
        records = [derive(v, uscc, f) for v, (uscc, f) in sorted(facts.items())]
        _insert(session, records, created, now)
        out += records
    return out


def _insert(
    session: Session, records: Sequence[VisitRecord], created: dict[str, datetime], now: datetime
) -> None:
    bulk_insert(
        session,
        _VISITS,
        [
            {
                "id": r.id,
                "uscc": r.uscc,
                "state": r.state.value,
                "inspected_on": r.inspected_on,
                "counted_year": r.counted_year,
                "planned_on": r.planned_on,
                "busy": r.busy,
                "parts": r.parts,
                "public_at": r.public_at,
                "created_at": created.get(r.id, now),
                "updated_at": now,
            }
            for r in records
        ],
    )
    bulk_insert(
        session,
        _MEMBERS,
        [
            {"visit_id": r.id, "badge": badge, "role": role, "position": k}
            for r in records
            for k, (badge, role) in enumerate(r.team)
        ],
    )


_VISIT_COLUMNS = (
    "id",
    "uscc",
    "state",
    "inspected_on",
    "counted_year",
    "planned_on",
    "busy",
    "parts",
    "public_at",
    "created_at",
    "updated_at",
)
_MEMBER_COLUMNS = ("visit_id", "badge", "role", "position")


def start_visits(
    session: Session,
    *,
    draw: Draw,
    spec: Any,
    tasks: Iterable[tuple[str, str, str, Sequence[str], str]],
    teams: dict[str, list[tuple[str, str]]],
) -> None:
    """The visits a new draw starts (tasks whose `visit` is their own id), written from the rows
    just written — each task as (id, uscc, status, items, visit) — without reading them back (a national draw starts a million): each open,
    planned from the plan's window start, served by its one task — what `derive` makes of that
    one task's facts (tests/visits/test_start_visits.py holds them equal), built here as value
    tuples in one pass, the `parts` JSON encoded once per distinct item list (only the task id
    differs between rows). Joined visits are `refresh`ed."""
    planned = _window(spec)[0] or local_date(draw.created_at)
    public_at = _public_at(spec, draw.created_at)
    now = utcnow()
    plan, draw_id = draw.plan_code, draw.id
    state, closed = VisitState.OPEN.value, TaskStatus.CLOSED.value
    # the parts of a one-task visit as `derive` gives them, encoded as bulk_insert encodes
    # them ("[{" + '"task": <id>, ' + the rest): the rest per distinct item list
    rest_of: dict[tuple[str, ...], str] = {}
    visit_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[str, str, str, int]] = []
    for task, uscc, status, task_items, visit in tasks:
        if visit != task:
            continue
        items = tuple(task_items)
        rest = rest_of.get(items)
        if rest is None:
            rest = rest_of[items] = ENCODE_JSON(
                {
                    "plan": plan,
                    "draw": draw_id,
                    "items": sorted(set(items)),
                    "kept": True,
                    "counts": True,
                }
            )[1:]
        parts = '[{"task": ' + ENCODE_JSON(task) + ", " + rest + "]"
        busy = status != closed
        visit_rows.append(
            (task, uscc, state, None, None, planned, busy, parts, public_at, now, now)
        )
        seen: set[str] = set()
        for badge, role in teams.get(task, ()):
            if badge not in seen:  # a team lists an inspector once (derive's order)
                member_rows.append((task, badge, role, len(seen)))
                seen.add(badge)
    bulk_insert_rows(session, _VISITS, _VISIT_COLUMNS, visit_rows, json_text=("parts",))
    bulk_insert_rows(session, _MEMBERS, _MEMBER_COLUMNS, member_rows)


def refresh_tasks(session: Session, task_ids: Iterable[str]) -> list[VisitRecord]:
    """Refreshes the visits of the given tasks."""
    ids = sorted(set(task_ids))
    visits: set[str] = set()
    for i in range(0, len(ids), CHUNK):
        visits.update(
            session.scalars(
                select(func.coalesce(Task.visit, Task.id)).where(Task.id.in_(ids[i : i + CHUNK]))
            )
        )
    return refresh(session, visits)


def refresh_draw(session: Session, draw_id: str) -> list[VisitRecord]:
    """Refreshes the visits of a draw's tasks (at the draw, and when a re-draw supersedes it)."""
    session.flush()
    visits = session.scalars(
        select(func.coalesce(Task.visit, Task.id)).where(Task.draw_id == draw_id).distinct()
    )
    return refresh(session, list(visits))


def build_all(session: Session) -> int:
    """Derives every visit from the tasks (the migration that introduced visits)."""
    session.execute(update(Task).where(Task.visit.is_(None)).values(visit=Task.id))
    visits = list(session.scalars(select(func.coalesce(Task.visit, Task.id)).distinct()))
    return len(refresh(session, visits))
