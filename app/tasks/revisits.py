"""回头看 (revisit) tasks: a later look at a target whose result is approved, same items."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.errors import Conflict
from app.models import Result, Task, TaskEvent
from app.models.base import utcnow
from app.pagination import Page, decode_cursor, decode_int_cursor, int_key, page_of
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.states import TaskStatus
from app.tasks import teams
from app.tasks.access import check_access, ensure_current, get_task, visible_task, visible_tasks
from app.tasks.schemas import FollowUpIn
from app.tasks.service import record_event
from app.visits import service as visit_records


def create_revisit(
    session: Session,
    *,
    task_id: str,
    data: FollowUpIn,
    actor: str,
    principal: Principal | None = None,
) -> Task:
    """A 回头看 task linked to `task_id`: same target and items, same team unless given; a
    task the `principal` may not see (another jurisdiction's) is a 404."""
    parent = get_task(session, task_id, for_update=True)
    if principal is not None:
        check_access(session, parent, principal)
    ensure_current(session, parent)
    if session.scalar(select(Result.id).where(Result.task_id == parent.id)) is None:
        raise Conflict(f"任务 {parent.id} 尚无已审核的检查结果，不能安排回头看")
    if data.team is not None:
        spec = PlanIn.model_validate(plans.get(session, parent.plan_code).spec)
        team = teams.picked_team(
            session,
            uscc=parent.uscc,
            region=parent.region,
            badges=data.team,
            cross_region_level=spec.team.region_level if spec.team.cross_region else None,
        )
    else:
        team = teams.team_of(session, parent.id)
    n = (
        session.scalar(
            select(func.count()).select_from(Task).where(Task.parent_task_id == parent.id)
        )
        or 0
    ) + 1
    now = utcnow()
    child_id = f"{parent.id}-F{n}"
    child = Task(
        id=child_id,
        visit=child_id,  # a 回头看 is a visit of its own
        draw_id=None,
        parent_task_id=parent.id,
        seq=n,
        plan_code=parent.plan_code,
        uscc=parent.uscc,
        name=parent.name,
        region=parent.region,
        stratum=parent.stratum,
        ticket="",
        inclusion_prob=1.0,
        items=list(parent.items),
        despite_cooldown=False,
        reason=data.reason,
        status=TaskStatus.TO_INSPECT,
        updated_at=now,
    )
    session.add(child)
    session.flush()
    teams.save_team(session, child.id, team)
    session.add(
        TaskEvent(
            task_id=child.id,
            action="follow_up.create",
            from_status=None,
            to_status=TaskStatus.TO_INSPECT,
            actor=actor,
            at=now,
            data={"parent": parent.id, "reason": data.reason},
        )
    )
    visit_records.refresh(session, [child.id])  # a visit of its own, planned from today
    record_event(
        session,
        parent,
        action="follow_up.add",
        to_status=parent.status,
        actor=actor,
        data={"follow_up": child.id, "reason": data.reason},
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="task.follow_up",
        entity=f"task:{child.id}",
        data={"parent": parent.id, "reason": data.reason, "team": team},
    )
    return child


def revisits(
    session: Session, *, task_id: str, principal: Principal, cursor: str | None, limit: int
) -> Page[Task]:
    """A page of the follow-ups of a task, oldest first."""
    task = visible_task(session, task_id, principal)
    stmt = select(Task).where(Task.parent_task_id == task.id)
    if cursor:
        stmt = stmt.where(Task.seq > decode_int_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Task.seq).limit(limit + 1)))
    return page_of(rows, limit, lambda t: int_key(t.seq))


def list_revisits(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page[Task]:
    """A page of all follow-up tasks (inspectors: those of their own teams), by id.

    Follow-ups belong to no draw, so the draw-based task lists do not show them.
    """
    stmt = visible_tasks(select(Task).where(Task.parent_task_id.is_not(None)), principal)
    if status:
        stmt = stmt.where(Task.status == status)
    if cursor:
        stmt = stmt.where(Task.id > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Task.id).limit(limit + 1)))
    return page_of(rows, limit, lambda t: t.id)
