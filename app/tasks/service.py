"""Tasks: lists and views (with their teams), and the one recorder of a task's steps.

States (docs/rules.md#r9, app/states.py): to_inspect 待检查 → inspected 已检查 (a result was
entered, awaiting approval) → pending_measures 待后续处理 (approved 发现问题待后续处理;
revisable) or closed 已办结 (approved, final). Every step is a `task_events` row and an audit
entry. Results live in app/tasks/results.py, 回头看 tasks in app/tasks/revisits.py.
"""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.models import Draw, Task, TaskEvent
from app.models.base import utcnow
from app.pagination import Page, decode_cursor, page_of
from app.plans.frame import teams_of
from app.states import DrawStatus
from app.tasks.access import visible_task, visible_tasks
from app.tasks.schemas import task_dict
from app.visits import service as visit_records


def record_event(
    session: Session,
    task: Task,
    *,
    action: str,
    to_status: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """A task's step: a task_events row and its new status."""
    from_status = task.status
    now = utcnow()
    session.add(
        TaskEvent(
            task_id=task.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            at=now,
            data=data or {},
        )
    )
    task.status = to_status
    task.updated_at = now
    visit_records.refresh_tasks(session, [task.id])  # its state, busy, the day carried out


def _dicts(session: Session, tasks: list[Task]) -> list[dict[str, Any]]:
    team_of = teams_of(session, [t.id for t in tasks])
    return [task_dict(t, team_of.get(t.id, [])) for t in tasks]


def task_view(session: Session, *, task_id: str, principal: Principal) -> dict[str, Any]:
    """One task as JSON, if the principal may see it."""
    return _dicts(session, [visible_task(session, task_id, principal)])[0]


def task_views(session: Session, tasks: list[Task]) -> list[dict[str, Any]]:
    """Tasks as JSON with their teams (one query for all teams)."""
    return _dicts(session, tasks)


def _listed(
    principal: Principal,
    plan: str | None,
    draw_id: str | None,
    status: str | None,
    region: str | None,
) -> Select[Task]:
    stmt = select(Task)
    if draw_id is not None:
        stmt = stmt.where(Task.draw_id == draw_id)
    else:
        stmt = stmt.join(Draw, Draw.id == Task.draw_id).where(Draw.status == DrawStatus.CURRENT)
    stmt = visible_tasks(stmt, principal)
    if plan:
        stmt = stmt.where(Task.plan_code == plan)
    if status:
        stmt = stmt.where(Task.status == status)
    if region:
        stmt = stmt.where(Task.region.startswith(region, autoescape=True))
    return stmt


def list_tasks(
    session: Session,
    *,
    principal: Principal,
    plan: str | None,
    draw_id: str | None = None,
    cursor: str | None,
    limit: int,
    status: str | None = None,
    region: str | None = None,
) -> Page[dict[str, Any]]:
    """A page of drawn tasks the principal may see: of one draw, or of every current draw;
    of one plan, status or region (prefix) when asked."""
    stmt = _listed(principal, plan, draw_id, status, region)
    if cursor:
        stmt = stmt.where(Task.id > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Task.id).limit(limit + 1)))
    page = page_of(rows, limit, lambda t: t.id)
    return Page(_dicts(session, page.items), page.next_cursor)


def count_tasks(
    session: Session,
    *,
    principal: Principal,
    plan: str | None = None,
    status: str | None = None,
    region: str | None = None,
) -> int:
    """How many tasks `list_tasks` lists with the same filters."""
    stmt = _listed(principal, plan, None, status, region)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
