"""Task lifecycle: results and their versions, approval, follow-ups, publication deadlines.

States (SPEC §2 rule 9): 待检查 → 已检查 (a result was entered, awaiting approval) →
待后续处理 (approved 发现问题待后续处理; revisable) or 已办结 (approved, final). Every step is a
`task_events` row and an audit entry. Only approved results (`results`) are publishable.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Draw, Inspector, Result, ResultVersion, Task, TaskEvent, TaskMember
from app.models.base import utcnow
from app.tasks.schemas import (
    CLOSED,
    CORRECTED,
    FOLLOW_UP,
    INSPECTED,
    NO_PROBLEM,
    NOT_INSPECTED,
    PENALTY,
    PENDING_FOLLOW_UP,
    TO_INSPECT,
    FollowUpIn,
    ResultIn,
    money_str,
    result_dict,
)
from app.tasks.workdays import CalendarDataMissing, WorkdayCalendar

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")


def local_date(at: datetime) -> date:
    """The calendar date of `at` in China (decisions and deadlines are local dates)."""
    return at.astimezone(LOCAL_TZ).date()


def today_local() -> date:
    """Today's date in China."""
    return local_date(utcnow())


# --- tasks and access --------------------------------------------------------------------


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
    """Inspectors may act only on tasks of their own team (403); staff roles on all."""
    if principal.role == "inspector" and not is_member(session, task.id, principal.badge):
        raise Forbidden(
            f"执法证号 {principal.badge} 不在任务 {task.id} 的检查组中，只能处理本人任务"
            " (not on this task's team)"
        )


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


def ensure_current(session: Session, task: Task) -> Draw:
    """409 when the task's draw was superseded by an adjustment (no results on old draws)."""
    draw = root_draw(session, task)
    if draw.status != "current":
        raise Conflict(
            f"任务 {task.id} 所属抽取 {draw.id} 已因计划调整作废，不能录入或审核结果"
            f"（作废原因：{draw.superseded_reason or '未说明'}） (draw superseded)"
        )
    return draw


def _event(
    session: Session,
    task: Task,
    *,
    action: str,
    to_status: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
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


# --- results -------------------------------------------------------------------------------


def _earliest_decision(session: Session, task: Task, draw: Draw) -> date:
    earliest = local_date(draw.created_at)
    if task.parent_task_id is not None:
        parent_result = session.scalar(select(Result).where(Result.task_id == task.parent_task_id))
        if parent_result is not None:
            earliest = max(earliest, parent_result.decided_on)
    return earliest


def check_result(data: ResultIn, *, earliest: date, today: date) -> None:
    """The consistency rules of a result; 422 naming every offending field."""
    errors: list[dict[str, Any]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if data.decided_on > today:
        bad("decided_on", f"决定日期 {data.decided_on} 晚于今天 {today}，不能填写将来的日期")
    if data.decided_on < earliest:
        bad("decided_on", f"决定日期 {data.decided_on} 早于抽取（或原任务决定）日期 {earliest}")
    seen: dict[str, int] = {}
    for n, m in enumerate(data.measures):
        if m.kind in seen:
            bad(f"measures.{n}.kind", f"处理措施“{m.kind}”重复（已在第 {seen[m.kind] + 1} 项）")
        seen.setdefault(m.kind, n)
        if m.kind == PENALTY:
            if m.fine_amount is None or m.fine_amount <= 0:
                bad(f"measures.{n}.fine_amount", "行政处罚须填写大于 0 的罚款金额（元）")
        elif m.fine_amount is not None:
            bad(f"measures.{n}.fine_amount", f"只有行政处罚可以填写罚款金额，“{m.kind}”不适用")
    recovered = data.recovered_amount or ZERO
    findings = data.findings.strip()
    if data.outcome in (NO_PROBLEM, NOT_INSPECTED):
        if data.measures:
            bad("measures", f"结果为“{data.outcome}”时不能有处理措施")
        if recovered > 0:
            bad("recovered_amount", f"结果为“{data.outcome}”时不能有追回金额")
        if data.outcome == NOT_INSPECTED and not findings:
            bad("findings", "请说明未检查的原因（停业、注销等）")
    else:
        if not findings:
            bad("findings", f"结果为“{data.outcome}”时须填写检查发现")
        if data.outcome == CORRECTED and not data.measures:
            bad("measures", "结果为“发现问题已责令改正”时须至少填写一项处理措施")
    if errors:
        raise ValidationFailed("检查结果未通过校验 (result rejected)", errors=errors)


def _measures_json(data: ResultIn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in data.measures:
        item: dict[str, Any] = {"kind": m.kind}
        if m.fine_amount is not None:
            item["fine_amount"] = money_str(m.fine_amount)
        if m.note:
            item["note"] = m.note
        out.append(item)
    return out


def _latest_version(session: Session, task_id: str) -> ResultVersion | None:
    return session.scalar(
        select(ResultVersion)
        .where(ResultVersion.task_id == task_id)
        .order_by(ResultVersion.version.desc())
        .limit(1)
    )


def submit_result(
    session: Session, *, task_id: str, data: ResultIn, principal: Principal, today: date
) -> ResultVersion:
    """Records a result version (first entry, correction, or revision of 待后续处理)."""
    task = get_task(session, task_id, for_update=True)
    check_access(session, task, principal)
    draw = ensure_current(session, task)
    if task.status == CLOSED:
        raise Conflict(f"任务 {task.id} 已办结，结果不能再修改 (task closed)")
    check_result(data, earliest=_earliest_decision(session, task, draw), today=today)
    latest = _latest_version(session, task.id)
    version = ResultVersion(
        task_id=task.id,
        version=(latest.version + 1) if latest else 1,
        outcome=data.outcome,
        decided_on=data.decided_on,
        findings=data.findings.strip(),
        measures=_measures_json(data),
        recovered_amount=data.recovered_amount or ZERO,
        fine_amount=sum((m.fine_amount or ZERO for m in data.measures), ZERO),
        entered_by=principal.actor,
        entered_at=utcnow(),
    )
    session.add(version)
    action = "result.revise" if task.status == FOLLOW_UP else "result.submit"
    to_status = FOLLOW_UP if task.status == FOLLOW_UP else INSPECTED
    _event(
        session,
        task,
        action=action,
        to_status=to_status,
        actor=principal.actor,
        data={"version": version.version},
    )
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action=action,
        entity=f"task:{task.id}",
        data={"version": version.version, **version_dict(version)},
    )
    return version


def version_dict(v: ResultVersion) -> dict[str, Any]:
    """A result version as JSON."""
    return result_dict(
        task_id=v.task_id,
        version=v.version,
        outcome=v.outcome,
        decided_on=v.decided_on,
        findings=v.findings,
        measures=v.measures,
        recovered_amount=v.recovered_amount,
        fine_amount=v.fine_amount,
        entered_by=v.entered_by,
        entered_at=v.entered_at,
        approved_by=v.approved_by,
        approved_at=v.approved_at,
    )


def approved_dict(r: Result) -> dict[str, Any]:
    """An approved result as JSON (with its publication state)."""
    body = result_dict(
        task_id=r.task_id,
        version=r.version,
        outcome=r.outcome,
        decided_on=r.decided_on,
        findings=r.findings,
        measures=r.measures,
        recovered_amount=r.recovered_amount,
        fine_amount=r.fine_amount,
        entered_by=r.entered_by,
        entered_at=r.entered_at,
        approved_by=r.approved_by,
        approved_at=r.approved_at,
    )
    body["id"] = r.id
    body["published_at"] = r.published_at.isoformat() if r.published_at else None
    return body


def approve_result(session: Session, *, task_id: str, actor: str) -> Result:
    """Approves the newest submitted version: it becomes the task's publishable result."""
    task = get_task(session, task_id, for_update=True)
    ensure_current(session, task)
    latest = _latest_version(session, task.id)
    if latest is None:
        raise Conflict(f"任务 {task.id} 尚未录入检查结果，无可审核内容")
    if latest.approved_at is not None:
        raise Conflict(f"任务 {task.id} 的结果（第 {latest.version} 版）已审核，无待审核的新版本")
    now = utcnow()
    latest.approved_by, latest.approved_at = actor, now
    result = session.scalar(select(Result).where(Result.task_id == task.id))
    if result is None:
        result = Result(task_id=task.id)
        session.add(result)
    result.version = latest.version
    result.outcome = latest.outcome
    result.decided_on = latest.decided_on
    result.findings = latest.findings
    result.measures = latest.measures
    result.recovered_amount = latest.recovered_amount
    result.fine_amount = latest.fine_amount
    result.entered_by, result.entered_at = latest.entered_by, latest.entered_at
    result.approved_by, result.approved_at = actor, now
    result.published_at = None  # this version still has to be published
    to_status = FOLLOW_UP if latest.outcome == PENDING_FOLLOW_UP else CLOSED
    _event(
        session,
        task,
        action="result.approve",
        to_status=to_status,
        actor=actor,
        data={"version": latest.version},
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="result.approve",
        entity=f"task:{task.id}",
        data={"version": latest.version, "result_id": result.id, "status": to_status},
    )
    return result


def result_view(session: Session, *, task_id: str, principal: Principal) -> dict[str, Any]:
    """A task's approved result, its pending version and every version."""
    task = get_task(session, task_id)
    check_access(session, task, principal)
    approved = session.scalar(select(Result).where(Result.task_id == task.id))
    versions = list(
        session.scalars(
            select(ResultVersion)
            .where(ResultVersion.task_id == task.id)
            .order_by(ResultVersion.version)
        )
    )
    pending = versions[-1] if versions and versions[-1].approved_at is None else None
    return {
        "task_id": task.id,
        "status": task.status,
        "approved": approved_dict(approved) if approved else None,
        "pending": version_dict(pending) if pending else None,
        "versions": [version_dict(v) for v in versions],
    }


def task_events(session: Session, *, task_id: str, principal: Principal) -> list[dict[str, Any]]:
    """Every step of a task's life, oldest first."""
    task = get_task(session, task_id)
    check_access(session, task, principal)
    rows = session.scalars(
        select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)
    )
    return [
        {
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor,
            "at": e.at.isoformat(),
            "data": e.data,
        }
        for e in rows
    ]


def mark_published(session: Session, result_ids: Sequence[int], at: datetime) -> int:
    """Records that these approved results went public at `at` (first publication kept)."""
    ids = sorted(set(result_ids))
    if not ids:
        return 0
    changed = 0
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        res = session.execute(
            update(Result)
            .where(Result.id.in_(chunk), Result.published_at.is_(None))
            .values(published_at=at)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(res, "rowcount", 0) or 0)
    if changed:
        audit.append(
            session,
            actor="publish",
            action="result.publish",
            entity="results",
            data={"ids": ids, "at": at.isoformat(), "newly_published": changed},
        )
    session.flush()
    return changed


# --- follow-up (回头看) -------------------------------------------------------------------


def _follow_up_team(session: Session, task: Task, badges: list[str]) -> list[dict[str, str]]:
    if len(set(badges)) != len(badges):
        raise ValidationFailed(
            "检查组成员重复", errors=[{"field": "team", "message": "执法证号重复"}]
        )
    found = {
        i.badge: i for i in session.scalars(select(Inspector).where(Inspector.badge.in_(badges)))
    }
    errors: list[dict[str, Any]] = []
    for n, badge in enumerate(badges):
        person = found.get(badge)
        if person is None or not person.active:
            errors.append({"field": f"team.{n}", "message": f"{badge} 不在执法检查人员名录库中"})
        elif person.status != "在岗":
            errors.append({"field": f"team.{n}", "message": f"{badge} 状态为{person.status}"})
        elif task.uscc in person.conflicts or person.employer_uscc == task.uscc:
            errors.append(
                {"field": f"team.{n}", "message": f"{badge} 与检查对象 {task.uscc} 存在回避关系"}
            )
    officers = [b for b in badges if b in found and found[b].kind == "执法人员"]
    if len(officers) < 2:
        errors.append({"field": "team", "message": "检查组须至少有 2 名执法人员"})
    elif badges[0] not in officers:
        errors.append({"field": "team.0", "message": "组长须为执法人员"})
    if errors:
        raise ValidationFailed("回头看检查组未通过校验", errors=errors)
    team = []
    for n, badge in enumerate(badges):
        role = "组长" if n == 0 else ("专家" if found[badge].kind == "专家" else "组员")
        team.append({"badge": badge, "role": role})
    return team


def create_follow_up(session: Session, *, task_id: str, data: FollowUpIn, actor: str) -> Task:
    """A 回头看 task linked to `task_id`: same target and items, same team unless given."""
    parent = get_task(session, task_id, for_update=True)
    ensure_current(session, parent)
    if session.scalar(select(Result.id).where(Result.task_id == parent.id)) is None:
        raise Conflict(f"任务 {parent.id} 尚无已审核的检查结果，不能安排回头看")
    if data.team is not None:
        team = _follow_up_team(session, parent, data.team)
    else:
        team = [{"badge": m["badge"], "role": m["role"]} for m in parent.team]
    n = (
        session.scalar(
            select(func.count()).select_from(Task).where(Task.parent_task_id == parent.id)
        )
        or 0
    ) + 1
    now = utcnow()
    child = Task(
        id=f"{parent.id}-F{n}",
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
        team=team,
        status=TO_INSPECT,
        updated_at=now,
    )
    session.add(child)
    session.flush()
    for m in team:
        session.add(TaskMember(task_id=child.id, badge=m["badge"], role=m["role"]))
    session.add(
        TaskEvent(
            task_id=child.id,
            action="follow_up.create",
            from_status=None,
            to_status=TO_INSPECT,
            actor=actor,
            at=now,
            data={"parent": parent.id, "reason": data.reason},
        )
    )
    _event(
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


def follow_ups(session: Session, *, task_id: str, principal: Principal) -> list[Task]:
    """The follow-ups of a task, oldest first."""
    task = get_task(session, task_id)
    check_access(session, task, principal)
    return list(
        session.scalars(select(Task).where(Task.parent_task_id == task.id).order_by(Task.seq))
    )


def list_follow_ups(
    session: Session, *, principal: Principal, status: str | None = None
) -> list[Task]:
    """All follow-up tasks (inspectors: those of their own teams), by id.

    Follow-ups belong to no draw, so the draw-based task lists do not show them.
    """
    stmt = select(Task).where(Task.parent_task_id.is_not(None))
    if principal.role == "inspector":
        stmt = stmt.join(TaskMember, TaskMember.task_id == Task.id).where(
            TaskMember.badge == principal.badge
        )
    if status:
        stmt = stmt.where(Task.status == status)
    return list(session.scalars(stmt.order_by(Task.id).limit(5000)))


def task_dict(t: Task) -> dict[str, Any]:
    """A task as JSON (follow-ups carry parent_task_id and no draw)."""
    return {
        "id": t.id,
        "draw_id": t.draw_id,
        "parent_task_id": t.parent_task_id,
        "plan": t.plan_code,
        "uscc": t.uscc,
        "name": t.name,
        "region": t.region,
        "items": t.items,
        "reason": t.reason,
        "team": t.team,
        "status": t.status,
    }


# --- publication deadlines (SPEC §2 rule 8) ----------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """When one approved result must be public, or why that cannot be computed."""

    result_id: int
    task_id: str
    uscc: str
    name: str
    decided_on: date
    due_on: date | None
    state: str  # overdue | due_soon | calendar_missing
    workdays_left: int | None
    missing_year: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "result_id": self.result_id,
            "task_id": self.task_id,
            "uscc": self.uscc,
            "name": self.name,
            "decided_on": self.decided_on.isoformat(),
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "state": self.state,
            "workdays_left": self.workdays_left,
            "missing_year": self.missing_year,
            "message": self.message,
        }


def _mark(
    base: Deadline, state: str, due: date | None, left: int | None, year: int | None, message: str
) -> Deadline:
    return replace(
        base, due_on=due, state=state, workdays_left=left, missing_year=year, message=message
    )


def publication_due(calendar: WorkdayCalendar, decided_on: date, workdays: int) -> date:
    """The last day to publish: `workdays` working days after the decision (day 0)."""
    return calendar.add_workdays(decided_on, workdays)


def deadlines(
    session: Session,
    *,
    today: date,
    within: int,
    calendar: WorkdayCalendar,
    workdays: int,
) -> list[Deadline]:
    """Unpublished approved results that are overdue, due within `within` working days, or
    whose deadline cannot be computed for lack of calendar data (said explicitly)."""
    rows = session.execute(
        select(Result.id, Result.task_id, Result.decided_on, Task.uscc, Task.name)
        .join(Task, Task.id == Result.task_id)
        .where(Result.published_at.is_(None))
        .order_by(Result.decided_on, Result.task_id)
    )
    out: list[Deadline] = []
    for rid, task_id, decided_on, uscc, name in rows:
        base = Deadline(
            result_id=rid,
            task_id=task_id,
            uscc=uscc,
            name=name,
            decided_on=decided_on,
            due_on=None,
            state="",
            workdays_left=None,
            missing_year=None,
            message="",
        )

        try:
            due = publication_due(calendar, decided_on, workdays)
            if today > due:
                late = calendar.workdays_between(due, today)
                out.append(
                    _mark(
                        base,
                        "overdue",
                        due,
                        -late,
                        None,
                        f"已逾期 {late} 个工作日（应于 {due} 前公示）",
                    )
                )
                continue
            left = calendar.workdays_between(today, due)
        except CalendarDataMissing as exc:
            out.append(
                _mark(base, "calendar_missing", None, None, exc.year, f"无法计算公示期限：{exc}")
            )
            continue
        if left <= within:
            out.append(
                _mark(base, "due_soon", due, left, None, f"还剩 {left} 个工作日（{due} 前公示）")
            )
    return out
