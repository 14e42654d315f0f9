"""Results of tasks: versions as entered, approval (录入/审核), publication marks."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.auth.service import Principal
from app.clock import local_date
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Draw, Result, ResultVersion, Task, TaskEvent
from app.models.base import utcnow
from app.pagination import Page, decode_int_cursor, int_key, page_of
from app.plans import disclosure
from app.states import TaskStatus
from app.tasks.access import (
    check_access,
    ensure_current,
    get_task,
    task_public,
    visible_task,
    visible_tasks,
)
from app.tasks.schemas import (
    CORRECTED,
    NO_PROBLEM,
    NOT_INSPECTED,
    PENALTY,
    PENDING_MEASURES,
    ResultIn,
    money_str,
    result_dict,
)
from app.tasks.service import record_event

ZERO = Decimal("0.00")


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
    if data.inspected_on is not None and data.inspected_on > data.decided_on:
        bad("inspected_on", f"检查实施日期 {data.inspected_on} 晚于决定日期 {data.decided_on}")
    elif data.inspected_on is not None and data.inspected_on < earliest:
        bad(
            "inspected_on",
            f"检查实施日期 {data.inspected_on} 早于抽取（或原任务决定）日期 {earliest}",
        )
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
    if task.status == TaskStatus.CLOSED:
        raise Conflict(f"任务 {task.id} 已办结，结果不能再修改 (task closed)")
    check_result(data, earliest=_earliest_decision(session, task, draw), today=today)
    latest = _latest_version(session, task.id)
    version = ResultVersion(
        task_id=task.id,
        version=(latest.version + 1) if latest else 1,
        outcome=data.outcome,
        decided_on=data.decided_on,
        inspected_on=data.inspected_on or data.decided_on,
        findings=data.findings.strip(),
        measures=_measures_json(data),
        recovered_amount=data.recovered_amount or ZERO,
        fine_amount=sum((m.fine_amount or ZERO for m in data.measures), ZERO),
        entered_by=principal.actor,
        entered_at=utcnow(),
    )
    session.add(version)
    action = "result.revise" if task.status == TaskStatus.PENDING_MEASURES else "result.submit"
    to_status = (
        TaskStatus.PENDING_MEASURES
        if task.status == TaskStatus.PENDING_MEASURES
        else TaskStatus.INSPECTED
    )
    record_event(
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
    """A result version as JSON (with whether and why it was sent back)."""
    body = result_dict(
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
    body["inspected_on"] = (v.inspected_on or v.decided_on).isoformat()
    body["returned_by"] = v.returned_by
    body["returned_at"] = v.returned_at.isoformat() if v.returned_at else None
    body["return_reason"] = v.return_reason
    return body


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
    body["inspected_on"] = (r.inspected_on or r.decided_on).isoformat()
    body["published_at"] = r.published_at.isoformat() if r.published_at else None
    return body


def _pending_version(
    session: Session, task_id: str, actor: str, jurisdiction: Jurisdiction
) -> tuple[Task, ResultVersion]:
    """The task and its version awaiting approval; 409 if none; 403 for the person who
    entered it (录入/审核分离: the approver is never who entered the result)."""
    task = get_task(session, task_id, for_update=True)
    if not jurisdiction.covers(task.region):
        raise NotFound(f"没有任务 {task.id}")
    ensure_current(session, task)
    latest = _latest_version(session, task.id)
    if latest is None:
        raise Conflict(f"任务 {task.id} 尚未录入检查结果，无可审核内容")
    if latest.approved_at is not None:
        raise Conflict(f"任务 {task.id} 的结果（第 {latest.version} 版）已审核，无待审核的新版本")
    if latest.returned_at is not None:
        raise Conflict(f"任务 {task.id} 的结果（第 {latest.version} 版）已退回，待重新录入")
    if latest.entered_by == actor:
        raise Forbidden(
            f"录入与审核须由不同人员完成：第 {latest.version} 版由 {actor} 录入，不能由其本人审核"
            " (the person who entered a result cannot approve it)"
        )
    return task, latest


def approve_result(
    session: Session, *, task_id: str, actor: str, jurisdiction: Jurisdiction = EVERYWHERE
) -> Result:
    """Approves the newest submitted version: it becomes the task's publishable result."""
    task, latest = _pending_version(session, task_id, actor, jurisdiction)
    now = utcnow()
    latest.approved_by, latest.approved_at = actor, now
    result = session.scalar(select(Result).where(Result.task_id == task.id))
    if result is None:
        result = Result(task_id=task.id)
        session.add(result)
    result.version = latest.version
    result.outcome = latest.outcome
    result.decided_on = latest.decided_on
    result.inspected_on = latest.inspected_on or latest.decided_on
    result.findings = latest.findings
    result.measures = latest.measures
    result.recovered_amount = latest.recovered_amount
    result.fine_amount = latest.fine_amount
    result.entered_by, result.entered_at = latest.entered_by, latest.entered_at
    result.approved_by, result.approved_at = actor, now
    # The credit feed delivers a withheld draw's results only once its task list is public.
    disclosed = disclosure.draw_disclosure(session, local_date(now))
    result.feed_at = now if task_public(session, task, disclosed) else None
    result.published_at = None  # this version still has to be published
    to_status = (
        TaskStatus.PENDING_MEASURES if latest.outcome == PENDING_MEASURES else TaskStatus.CLOSED
    )
    record_event(
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


def return_result(
    session: Session,
    *,
    task_id: str,
    reason: str,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> ResultVersion:
    """Sends the version awaiting approval back (退回) with a reason: it is kept, never
    approved, and the inspectors enter a corrected version."""
    reason = reason.strip()
    if len(reason) < 2:
        raise ValidationFailed(
            "退回须说明理由", errors=[{"field": "reason", "message": "至少 2 个字"}]
        )
    task, latest = _pending_version(session, task_id, actor, jurisdiction)
    latest.returned_by, latest.returned_at, latest.return_reason = actor, utcnow(), reason
    back = (
        TaskStatus.PENDING_MEASURES
        if task.status == TaskStatus.PENDING_MEASURES
        else (TaskStatus.TO_INSPECT)
    )
    record_event(
        session,
        task,
        action="result.return",
        to_status=back,
        actor=actor,
        data={"version": latest.version, "reason": reason},
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="result.return",
        entity=f"task:{task.id}",
        data={"version": latest.version, "reason": reason},
    )
    return latest


def awaiting_approval(session: Session, *, principal: Principal, limit: int = 200) -> list[Task]:
    """The approval queue: tasks whose newest result version is neither approved nor sent
    back, inside the principal's jurisdiction, oldest entry first."""
    newest = (
        select(ResultVersion.task_id, func.max(ResultVersion.version).label("v"))
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    stmt = (
        select(Task)
        .join(newest, newest.c.task_id == Task.id)
        .join(
            ResultVersion,
            (ResultVersion.task_id == Task.id) & (ResultVersion.version == newest.c.v),
        )
        .where(ResultVersion.approved_at.is_(None), ResultVersion.returned_at.is_(None))
        .order_by(ResultVersion.entered_at, Task.id)
        .limit(limit)
    )
    return list(session.scalars(visible_tasks(stmt, principal)))


def result_view(session: Session, *, task_id: str, principal: Principal) -> dict[str, Any]:
    """A task's approved result, its pending version and every version."""
    task = visible_task(session, task_id, principal)
    approved = session.scalar(select(Result).where(Result.task_id == task.id))
    versions = list(
        session.scalars(
            select(ResultVersion)
            .where(ResultVersion.task_id == task.id)
            .order_by(ResultVersion.version)
        )
    )
    last = versions[-1] if versions else None
    pending = last if last and last.approved_at is None and last.returned_at is None else None
    return {
        "task_id": task.id,
        "status": task.status,
        "approved": approved_dict(approved) if approved else None,
        "pending": version_dict(pending) if pending else None,
        "versions": [version_dict(v) for v in versions],
    }


def task_events(
    session: Session, *, task_id: str, principal: Principal, cursor: str | None, limit: int
) -> Page[dict[str, Any]]:
    """A page of the steps of a task's life, oldest first."""
    task = visible_task(session, task_id, principal)
    stmt = select(TaskEvent).where(TaskEvent.task_id == task.id)
    if cursor:
        stmt = stmt.where(TaskEvent.id > decode_int_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(TaskEvent.id).limit(limit + 1)))
    page = page_of(rows, limit, lambda e: int_key(e.id))
    items = [
        {
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor,
            "at": e.at.isoformat(),
            "data": e.data,
        }
        for e in page.items
    ]
    return Page(items, page.next_cursor)


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
