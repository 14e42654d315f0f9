"""Which tasks a principal may see and act on, and the draw a task belongs to."""

from collections.abc import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.errors import Conflict, NotFound
from app.models import Draw, Task, TaskMember
from app.states import DrawStatus


def get_task(session: Session, task_id: str, *, for_update: bool = False) -> Task:
    """The task `task_id` (row-locked when asked); 404 if unknown."""
    stmt = select(Task).where(Task.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()
    task = session.scalar(stmt)
    if task is None:
        raise NotFound(f"没有任务 {task_id}")
    return task


def is_member(session: Session, task_id: str, badge: str | None) -> bool:
    """Whether the inspector `badge` is on the task's team."""
    if not badge:
        return False
    row = session.get(TaskMember, (task_id, badge))
    return row is not None


def check_access(session: Session, task: Task, principal: Principal) -> None:
    """The one visibility rule of tasks: an inspector sees and acts on the tasks of their own
    team only; to anyone else a task of another team does not exist (404, the same answer as
    for an unknown id, so ids cannot be probed). Staff roles see every task of their
    jurisdiction (the target's 医保区划 under their prefix, app/auth/jurisdiction.py)."""
    if principal.role == "inspector" and not is_member(session, task.id, principal.badge):
        raise NotFound(f"没有任务 {task.id}")
    if not principal.jurisdiction.covers(task.region):
        raise NotFound(f"没有任务 {task.id}")


def visible_tasks(stmt: Select[Task], principal: Principal) -> Select[Task]:
    """`stmt` (a select of tasks) narrowed by the visibility rule of check_access."""
    stmt = stmt.where(principal.jurisdiction.clause(Task.region))
    if principal.role == "inspector":
        return stmt.join(TaskMember, TaskMember.task_id == Task.id).where(
            TaskMember.badge == principal.badge
        )
    return stmt


def visible_task(session: Session, task_id: str, principal: Principal) -> Task:
    """The task `task_id` if the principal may see it; 404 otherwise."""
    task = get_task(session, task_id)
    check_access(session, task, principal)
    return task


def root_draw(session: Session, task: Task) -> Draw:
    """The draw a task (or the task a follow-up chain starts from) belongs to."""
    current = task
    for _ in range(100):
        if current.draw_id is not None:
            draw = session.get(Draw, current.draw_id)
            assert draw is not None
            return draw
        assert current.parent_task_id is not None
        parent = session.get(Task, current.parent_task_id)
        assert parent is not None
        current = parent
    raise Conflict("回头看链过长 (follow-up chain too long)")


def task_public(
    session: Session, task: Task, disclosed: Mapping[str, tuple[bool, str | None]]
) -> bool:
    """Whether the task's draw (a follow-up's: the draw its chain starts from) is public, by
    `disclosed` = app.plans.disclosure.draw_disclosure(…)."""
    return disclosed.get(root_draw(session, task).id, (False, None))[0]


def ensure_current(session: Session, task: Task) -> Draw:
    """409 when the task's draw was superseded by an adjustment (no results on old draws)."""
    draw = root_draw(session, task)
    if draw.status != DrawStatus.CURRENT:
        raise Conflict(
            f"任务 {task.id} 所属抽取 {draw.id} 已因计划调整作废，不能录入或审核结果"
            f"（作废原因：{draw.superseded_reason or '未说明'}） (draw superseded)"
        )
    return draw
