"""Publication deadlines of approved results (docs/rules.md#r8): 20 working days by default."""

import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.errors import AppError
from app.models import Result, ResultVersion, Task
from app.tasks.workdays import (
    CalendarDataMissing,
    CalendarOverrideError,
    WorkdayCalendar,
    load_calendar,
)

log = logging.getLogger(__name__)
# warning text → the day it was last logged: each warning reaches the log once per process/day
_LOGGED_ON: dict[str, date] = {}


@dataclass(frozen=True)
class Deadline:
    """When one approved result must be public, or why that cannot be computed."""

    result_id: int | None  # the approved result's; None while awaiting approval
    task_id: str
    uscc: str
    name: str
    decided_on: date
    due_on: date | None
    state: str  # overdue | due_soon | calendar_missing
    workdays_left: int | None
    missing_year: int | None
    message: str
    # approved (waiting for the publisher), or awaiting_approval: entered, not yet approved —
    # the clock runs from the decision all the same, so a result stuck in the queue shows
    stage: str = "approved"

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
            "stage": self.stage,
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
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> list[Deadline]:
    """Unpublished results — approved, or entered and still awaiting approval (the deadline
    runs from the decision either way) — that are overdue, due within `within` working days,
    or whose deadline cannot be computed for lack of calendar data (said explicitly); only
    those of tasks inside `jurisdiction`."""
    approved = session.execute(
        select(Result.id, Result.task_id, Result.decided_on, Task.uscc, Task.name)
        .join(Task, Task.id == Result.task_id)
        .where(Result.published_at.is_(None), jurisdiction.clause(Task.region))
    ).all()
    listed = {task_id for _rid, task_id, *_ in approved}
    newest = (
        select(ResultVersion.task_id, func.max(ResultVersion.version).label("v"))
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    pending = session.execute(
        select(ResultVersion.id, Task.id, ResultVersion.decided_on, Task.uscc, Task.name)
        .join(newest, newest.c.task_id == Task.id)
        .join(
            ResultVersion,
            (ResultVersion.task_id == Task.id) & (ResultVersion.version == newest.c.v),
        )
        .where(
            ResultVersion.approved_at.is_(None),
            ResultVersion.returned_at.is_(None),
            jurisdiction.clause(Task.region),
        )
    ).all()
    rows = [(*r, "approved") for r in approved] + [
        (None, *r[1:], "awaiting_approval") for r in pending if r[1] not in listed
    ]
    rows.sort(key=lambda r: (r[2], r[1]))
    out: list[Deadline] = []
    for rid, task_id, decided_on, uscc, name, stage in rows:
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
            stage=stage,
        )
        found = _deadline(base, today=today, within=within, calendar=calendar, workdays=workdays)
        if found is not None:
            out.append(found)
    return out


def _deadline(
    base: Deadline, *, today: date, within: int, calendar: WorkdayCalendar, workdays: int
) -> Deadline | None:
    """`base` overdue, due soon or without calendar data — or None when none of these."""
    waiting = "（尚待审核）" if base.stage == "awaiting_approval" else ""
    try:
        due = publication_due(calendar, base.decided_on, workdays)
    except CalendarDataMissing as exc:
        # the deadline itself reaches into a year without calendar data
        return _mark(base, "calendar_missing", None, None, exc.year, f"无法计算公示期限：{exc}")
    if today > due:
        # A deadline fixed by known calendar data stays fixed; only the count of late
        # working days needs the data of the year we are in now.
        try:
            late: int | None = calendar.workdays_between(due, today)
            message = f"已逾期 {late} 个工作日（应于 {due} 前公示）{waiting}"
        except CalendarDataMissing as exc:
            late = None
            message = f"已逾期（应于 {due} 前公示；缺少 {exc.year} 年日历数据，逾期工作日数暂无法计算）{waiting}"
        return _mark(base, "overdue", due, -late if late is not None else None, None, message)
    left = calendar.workdays_between(today, due)  # today ≤ due: years known up to due
    if left <= within:
        return _mark(
            base, "due_soon", due, left, None, f"还剩 {left} 个工作日（{due} 前公示）{waiting}"
        )
    return None


def _missing_years(calendar: WorkdayCalendar, today: date) -> list[int]:
    missing = [y for y in (today.year, today.year + 1) if y not in calendar.years]
    if today.month < 12:
        missing = [y for y in missing if y == today.year]
    return missing


def calendar_notices(calendar: WorkdayCalendar, today: date) -> list[str]:
    """`calendar_warnings` for the officials who read the deadlines: what it means for them and
    whom to ask (the setting that fixes it is the operator's business)."""
    return [
        f"系统缺少 {y} 年的节假日安排，跨入 {y} 年的公示期限暂时无法计算；"
        f"请联系系统管理员更新节假日日历。"
        for y in _missing_years(calendar, today)
    ]


def calendar_warnings(calendar: WorkdayCalendar, today: date) -> list[str]:
    """From 1 December on, a warning for each of this and next year without calendar data
    (for the operator: the log and the API)."""
    missing = _missing_years(calendar, today)
    return [
        f"缺少 {y} 年节假日日历数据：请升级 chinesecalendar 或提供日历覆盖文件"
        f"（SPOTCHECK_CALENDAR_OVERRIDE_FILE，见 docs/operations.md）；"
        f"跨入该年的公示期限将无法计算 (calendar data for {y} missing)"
        for y in missing
    ]


def log_calendar_warnings(calendar: WorkdayCalendar, today: date) -> list[str]:
    """`calendar_warnings`, each also logged (WARNING) the first time it comes up in a day."""
    warnings = calendar_warnings(calendar, today)
    for text in warnings:
        if _LOGGED_ON.get(text) != today:
            _LOGGED_ON[text] = today
            log.warning(text)
    return warnings


def deadlines_report(
    session: Session,
    *,
    today: date,
    within: int,
    override_file: Path | None,
    workdays: int,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> dict[str, Any]:
    """The deadlines list as the API and the console show it: today, the items inside the
    jurisdiction and the calendar warnings (a broken override file is a 500 naming it)."""
    try:
        calendar = load_calendar(override_file)
    except CalendarOverrideError as exc:
        raise AppError(f"节假日覆盖文件有误：{exc}") from None
    items = deadlines(
        session,
        today=today,
        within=within,
        calendar=calendar,
        workdays=workdays,
        jurisdiction=jurisdiction,
    )
    return {
        "today": today.isoformat(),
        "within": within,
        "workdays": workdays,
        "warnings": log_calendar_warnings(calendar, today),
        "notices": calendar_notices(calendar, today),
        "items": [d.to_dict() for d in items],
    }


def warn_at_startup(override_file: Path | None, today: date) -> None:
    """Logs the calendar warnings of `today` when the service starts (a broken override file
    is logged as an error here; the deadline list answers it with a 500)."""
    try:
        calendar = load_calendar(override_file)
    except CalendarOverrideError as exc:
        log.error("节假日覆盖文件有误 (calendar override file invalid)：%s", exc)
        return
    log_calendar_warnings(calendar, today)
