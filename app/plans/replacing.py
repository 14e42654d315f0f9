"""Replacing an unavailable inspector on a drawn team (docs/draw-spec-teams.md §14): the
published, deterministic replacement step — never a redraw, never a hand-picked member.

The rule is app/draw/replacement.py (pure, replayed by the verifiers); this service checks what
may be replaced (a current spotcheck-draw/3 draw, tasks not yet carried out), asks the rule with
the frozen frame's true recusals, and writes each step append-only (draw_replacements), the new
member into the task's team (task_members: the notice then lists the new team) and the visit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import keys
from app.audit import service as audit
from app.auth.jurisdiction import Jurisdiction
from app.draw.replacement import (
    REPLACEMENT_ALGORITHM,
    ReplacementError,
    Replacements,
    published_recusals,
)
from app.draw.team_frame import openings
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Draw, DrawReplacement, PlanTeamFrame, Task, TaskMember
from app.models.base import utcnow
from app.plans import service as plans
from app.states import DrawStatus, TaskStatus
from app.visits import service as visit_records

_CJK = re.compile(r"[\u4e00-\u9fff]")


def steps(session: Session, draw_id: str) -> list[DrawReplacement]:
    """The draw's replacement steps in order."""
    return list(
        session.scalars(
            select(DrawReplacement)
            .where(DrawReplacement.draw_id == draw_id)
            .order_by(DrawReplacement.seq)
        )
    )


def task_steps(session: Session, task_id: str) -> list[DrawReplacement]:
    """The replacement steps of one task in order."""
    return list(
        session.scalars(
            select(DrawReplacement)
            .where(DrawReplacement.task_id == task_id)
            .order_by(DrawReplacement.seq)
        )
    )


def step_dict(r: DrawReplacement) -> dict[str, Any]:
    """A step as published (draws/{id}.replacements.json) and returned by the API."""
    return {
        "seq": r.seq,
        "task": r.task_id,
        "uscc": r.uscc,
        "badge": r.badge,
        "role": r.role,
        "reason": r.reason,
        "at": r.created_at.isoformat(),
        "replacement": r.replacement,
        "recused": list(r.recused),
        "recusal_openings": list(r.openings),
        "failure": r.failure,
    }


def published(draw_id: str, rows: Sequence[DrawReplacement]) -> dict[str, Any]:
    """The public file of a draw's replacements."""
    return {
        "draw": draw_id,
        "algorithm": REPLACEMENT_ALGORITHM,
        "steps": [step_dict(r) for r in rows],
    }


def state(draw: Draw, rows: Sequence[DrawReplacement]) -> Replacements:
    """The teams, loads and unavailable inspectors after the stored steps."""
    st = Replacements(draw.body)
    for r in rows:
        st.step(r.task_id, r.badge, published_recusals(r.recused))
    return st


def replace(
    session: Session,
    *,
    draw_id: str,
    badge: str,
    reason: str,
    task_id: str | None,
    actor: str,
    jurisdiction: Jurisdiction,
) -> list[DrawReplacement]:
    """Replaces `badge` on task `task_id` (None: on every open task of the draw it is on);
    returns the steps written (a failed step too: the team is then unchanged)."""
    reason = reason.strip()
    if not reason or not _CJK.search(reason):
        raise ValidationFailed(
            "须以中文写明替换原因（如 离职、病假、新发现的回避关系）",
            errors=[{"field": "reason", "message": "替换原因必填，须为中文"}],
        )
    draw = plans.visible_draw(session, draw_id, jurisdiction)
    if draw.status != DrawStatus.CURRENT:
        raise Conflict(f"抽取 {draw_id} 已失败或已被重新抽取取代，不能替换检查组成员")
    body = draw.body
    if "team_frame_file" not in body:
        raise Conflict(
            f"抽取 {draw_id} 不是在冻结的执法人员名录上抽取的（spotcheck-draw/3 之前），"
            "不能按公开的替换规则替换；请以计划调整重新抽取"
        )
    rows = steps(session, draw_id)
    st = state(draw, rows)
    targets = _targets(session, draw, st, badge, task_id)
    frame = session.get(PlanTeamFrame, (draw.plan_code, body["plan_version"]))
    assert frame is not None, "a /3 draw's version has its frozen frame"
    truth = {(b, u) for b, u in frame.recusals}
    key = keys.team_frame_key(draw.plan_code, body["plan_version"])
    now = utcnow()
    written: list[DrawReplacement] = []
    seq = len(rows)
    for task in targets:
        try:
            got = st.step(task.id, badge, lambda b, u: (b, u) in truth)
        except ReplacementError as exc:
            raise ValidationFailed(
                str(exc), errors=[{"field": "badge", "message": str(exc)}]
            ) from None
        seq += 1
        row = DrawReplacement(
            draw_id=draw_id,
            seq=seq,
            task_id=task.id,
            uscc=got["uscc"],
            badge=badge,
            role=got["role"],
            replacement=got["replacement"],
            reason=reason,
            recused=got["recused"],
            openings=openings(key, [(b, got["uscc"]) for b in got["recused"]]),
            failure=got["failure"],
            created_at=now,
            actor=actor,
        )
        session.add(row)
        written.append(row)
        if got["replacement"] is not None:
            _swap(session, task, badge, got["replacement"])
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("另一请求同时替换了该抽取的检查组成员，请重试") from None
    visit_records.refresh_tasks(session, [t.id for t in targets])
    audit.append(
        session,
        actor=actor,
        action="draw.replace",
        entity=f"draw:{draw_id}",
        data={"steps": [step_dict(r) for r in written]},
    )
    return written


def _targets(
    session: Session, draw: Draw, st: Replacements, badge: str, task_id: str | None
) -> list[Task]:
    """The open tasks of the draw to replace `badge` on, in task order."""
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None or task.draw_id != draw.id:
            raise NotFound(f"抽取 {draw.id} 中没有任务 {task_id}")
        if task.status != TaskStatus.TO_INSPECT:
            raise Conflict(f"任务 {task_id} 已检查或已办结，不能再替换检查组成员")
        try:
            team = st.teams[st.uscc_of(task_id)]
        except ReplacementError as exc:
            raise ValidationFailed(
                f"任务 {task_id} 合并在其他计划的检查中，须在该检查所属的抽取中替换",
                errors=[{"field": "task", "message": str(exc)}],
            ) from None
        if all(m["badge"] != badge for m in team):
            raise ValidationFailed(
                f"{badge} 不在任务 {task_id} 的检查组中",
                errors=[{"field": "badge", "message": "不在该任务的检查组中"}],
            )
        return [task]
    on = {u for u, team in st.teams.items() if any(m["badge"] == badge for m in team)}
    tasks = [
        t
        for t in session.scalars(
            select(Task)
            .where(Task.draw_id == draw.id, Task.status == TaskStatus.TO_INSPECT)
            .order_by(Task.seq)
        )
        if t.uscc in on and t.id in st.ids
    ]
    if not tasks:
        raise ValidationFailed(
            f"{badge} 不在抽取 {draw.id} 任何待检查任务的检查组中",
            errors=[{"field": "badge", "message": "不在任何待检查任务的检查组中"}],
        )
    return tasks


def _swap(session: Session, task: Task, old: str, new: str) -> None:
    """The new member takes the old one's place (role and position) on the task and on the
    open tasks of later plans that joined its visit (one visit, one team)."""
    joined = select(Task.id).where(
        Task.visit == task.id, Task.id != task.id, Task.status == TaskStatus.TO_INSPECT
    )
    ids = [task.id, *session.scalars(joined)]
    for m in session.scalars(
        select(TaskMember).where(TaskMember.task_id.in_(ids), TaskMember.badge == old)
    ):
        taken = session.scalar(
            select(func.count())
            .select_from(TaskMember)
            .where(TaskMember.task_id == m.task_id, TaskMember.badge == new)
        )
        if taken:
            continue  # already on that joined task's team (cannot sit twice)
        session.add(TaskMember(task_id=m.task_id, badge=new, role=m.role, position=m.position))
        session.delete(m)
