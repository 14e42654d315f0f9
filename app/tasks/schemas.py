"""Results, follow-ups and reports as the API takes and returns them."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from typing_extensions import TypedDict

from app.clock import OfficialDate
from app.models import Task
from app.pagination import PageOut, StrictOut
from app.states import ResultOutcome, task_label

# Result outcomes (docs/rules.md#r9): the values officials use, stored as they are.
NO_PROBLEM = ResultOutcome.NO_PROBLEM.value
CORRECTED = ResultOutcome.CORRECTED.value
PENDING_MEASURES = ResultOutcome.PENDING_MEASURES.value
NON_COOPERATION = ResultOutcome.NON_COOPERATION.value
NOT_INSPECTED = ResultOutcome.NOT_INSPECTED.value
OUTCOMES = (NO_PROBLEM, CORRECTED, PENDING_MEASURES, NON_COOPERATION, NOT_INSPECTED)

TALK = "约谈"
CORRECTION = "责令改正"
RECTIFY = "限期整改"
PENALTY = "行政处罚"
SUSPEND = "暂停医保服务"
TERMINATE = "解除服务协议"
TO_POLICE = "移送公安"
TO_DISCIPLINE = "移送纪检监察"
MEASURE_KINDS = (TALK, CORRECTION, RECTIFY, PENALTY, SUSPEND, TERMINATE, TO_POLICE, TO_DISCIPLINE)

Outcome = Literal[
    "未发现问题",
    "发现问题已责令改正",
    "发现问题待后续处理",
    "不配合检查情节严重",
    "未检查（停业、注销等）",
]
MeasureKind = Literal[
    "约谈",
    "责令改正",
    "限期整改",
    "行政处罚",
    "暂停医保服务",
    "解除服务协议",
    "移送公安",
    "移送纪检监察",
]

_MONEY = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
CENT = Decimal("0.01")


def parse_money(value: object) -> Decimal:
    """A yuan amount from a decimal string: ≥ 0, at most 2 decimals, < 10^12 (no floats)."""
    if not isinstance(value, str):
        raise ValueError('金额须为十进制字符串，如 "5000.00"（不接受数字类型，避免浮点误差）')
    text = value.strip()
    if text.startswith("-"):
        raise ValueError("金额不能为负数")
    if not _MONEY.match(text):
        raise ValueError('金额格式无效：最多 12 位整数、2 位小数，如 "12345.67"')
    return Decimal(text).quantize(CENT)


def money_str(value: Decimal) -> str:
    """A yuan amount as a decimal string with 2 places."""
    return format(value.quantize(CENT), "f")


def parse_optional_money(value: object) -> Decimal | None:
    """Like parse_money; None (omitted/null) stays None."""
    return None if value is None else parse_money(value)


OptionalMoney = Annotated[Decimal | None, BeforeValidator(parse_optional_money)]


class MeasureIn(BaseModel):
    """One measure (处理措施)."""

    model_config = ConfigDict(extra="forbid")

    kind: MeasureKind
    fine_amount: OptionalMoney = Field(None, description="罚款金额（元，十进制字符串），仅行政处罚")
    note: str | None = Field(None, max_length=500)


class ResultIn(BaseModel):
    """A result as PUT /api/v1/tasks/{id}/result takes it (amounts in yuan, decimal strings)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    decided_on: OfficialDate
    inspected_on: OfficialDate | None = Field(
        None, description="检查实施日期（北京时间）；缺省为决定日期。检查次数按此日期计年"
    )
    findings: str = Field("", max_length=10000)
    measures: list[MeasureIn] = Field(default_factory=list, max_length=len(MEASURE_KINDS))
    recovered_amount: OptionalMoney = Field(None, description="追回金额（元，十进制字符串）")


class FollowUpIn(BaseModel):
    """A follow-up (回头看) of a task: a reason and, optionally, another team."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)
    team: list[str] | None = Field(
        None, min_length=2, max_length=10, description="执法证号，第一位为组长；缺省沿用原检查组"
    )


def result_dict(
    *,
    task_id: str,
    version: int,
    outcome: str,
    decided_on: date,
    findings: str,
    measures: list[dict[str, Any]],
    recovered_amount: Decimal,
    fine_amount: Decimal,
    entered_by: str,
    entered_at: Any,
    approved_by: str | None,
    approved_at: Any,
) -> dict[str, Any]:
    """The JSON shape of a result or result version."""
    return {
        "task_id": task_id,
        "version": version,
        "outcome": outcome,
        "decided_on": decided_on.isoformat(),
        "findings": findings,
        "measures": measures,
        "recovered_amount": money_str(recovered_amount),
        "fine_amount": money_str(fine_amount),
        "entered_by": entered_by,
        "entered_at": entered_at.isoformat() if entered_at else None,
        "approved_by": approved_by,
        "approved_at": approved_at.isoformat() if approved_at else None,
    }


WEEKLY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("region", "区（市）名称"),
    ("inspected_units", "累计检查单位（家）"),
    ("talks", "约谈"),
    ("rectifications", "限期整改"),
    ("penalties", "行政处罚"),
    ("suspensions", "暂停医保"),
    ("terminations", "解除医保"),
    ("recovered_wan", "累计追回数额（万元）"),
    ("remarks", "备注"),
)


def task_dict(t: Task, team: list[dict[str, str]]) -> dict[str, Any]:
    """A task as the API shows it (drawn tasks and 回头看 tasks alike; `team` in order)."""
    return {
        "id": t.id,
        "draw_id": t.draw_id,
        "parent_task_id": t.parent_task_id,
        "plan": t.plan_code,
        "uscc": t.uscc,
        "name": t.name,
        "region": t.region,
        "stratum": t.stratum,
        "ticket": t.ticket or None,
        "inclusion_prob": t.inclusion_prob if t.draw_id is not None else None,
        "items": t.items,
        "despite_cooldown": t.despite_cooldown,
        "despite_cap": t.despite_cap,
        "reason": t.reason,
        "team": team,
        "visit": t.visit or t.id,
        "status": t.status,
        "status_label": task_label(t.status),
    }


# --- what the API returns ------------------------------------------------------------------


class TeamMemberOut(StrictOut):
    """One member of a task's team, in order (the first is the 组长)."""

    badge: str
    role: str


class TaskOut(StrictOut):
    """A task (drawn, or a 回头看 follow-up: then draw_id, ticket and inclusion_prob are null)."""

    id: str
    draw_id: str | None
    parent_task_id: str | None
    plan: str
    uscc: str
    name: str
    region: str
    stratum: str
    ticket: str | None
    inclusion_prob: float | None
    items: list[str]
    despite_cooldown: bool
    despite_cap: bool  # drawn although at its yearly cap, to fill the floor (rules.md#r4-5)
    reason: str | None
    team: list[TeamMemberOut]
    # 一次检查: shared by the tasks of plans merged into one visit (its own id otherwise).
    visit: str
    status: str
    status_label: str


class TaskPage(PageOut[TaskOut]):
    """A page of tasks."""


class MeasureOut(TypedDict):
    """A measure as recorded: fine_amount only for 行政处罚, note only when given."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    kind: str
    fine_amount: NotRequired[str]
    note: NotRequired[str]


class ResultVersionOut(StrictOut):
    """One version of a task's result (amounts in yuan, decimal strings; times ISO 8601)."""

    task_id: str
    version: int
    outcome: str
    decided_on: str = Field(description="YYYY-MM-DD")
    inspected_on: str | None = Field(None, description="检查实施日期 YYYY-MM-DD")
    findings: str
    measures: list[MeasureOut]
    recovered_amount: str
    fine_amount: str
    entered_by: str
    entered_at: str | None
    approved_by: str | None
    approved_at: str | None
    returned_by: str | None = Field(default=None, description="退回人（退回的版本不会审核）")
    returned_at: str | None = None
    return_reason: str | None = None


class ReturnIn(BaseModel):
    """退回: why the version awaiting approval goes back to the inspectors."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class ApprovedResultOut(ResultVersionOut):
    """The approved result of a task and when it was published (null: not yet)."""

    id: int
    published_at: str | None


class ResultViewOut(StrictOut):
    """A task's approved result, its version awaiting approval, and every version."""

    task_id: str
    status: str
    approved: ApprovedResultOut | None
    pending: ResultVersionOut | None
    versions: list[ResultVersionOut]


class TaskEventOut(StrictOut):
    """One step of a task's life: who, when, from which status to which."""

    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: str
    data: dict[str, Any]


class TaskEventPage(PageOut[TaskEventOut]):
    """A page of a task's events, oldest first."""


class EvidenceOut(StrictOut):
    """One evidence file of a task (stored by SHA-256)."""

    id: int
    task_id: str
    sha256: str
    size: int
    media_type: str
    filename: str
    note: str | None
    uploaded_by: str
    uploaded_at: str


class EvidencePage(PageOut[EvidenceOut]):
    """A page of a task's evidence, oldest first."""


class DeadlineOut(StrictOut):
    """When one result must be public (state: overdue, due_soon, calendar_missing): approved and
    waiting for the publisher, or (stage awaiting_approval) entered and not yet approved."""

    result_id: int | None = Field(description="已审核结果的编号；待审核的为 null")
    task_id: str
    uscc: str
    name: str
    decided_on: str
    due_on: str | None
    state: Literal["overdue", "due_soon", "calendar_missing"]
    workdays_left: int | None
    missing_year: int | None
    message: str
    stage: Literal["approved", "awaiting_approval"]


class DeadlinesOut(StrictOut):
    """Publication deadlines: overdue, due within `within` working days, calendar missing."""

    today: str
    within: int
    workdays: int
    warnings: list[str] = Field(description="缺少日历数据等提醒（自 12 月 1 日起提醒次年）")
    notices: list[str] = Field(description="同一提醒，写给业务人员（不含运维设置）")
    items: list[DeadlineOut]


class WeeklyColumnOut(StrictOut):
    """A column of the weekly report: its key in `rows` and its printed header."""

    key: str
    header: str


class WeeklyRowOut(StrictOut):
    """One 医保区划 of the weekly report (the last row is 合计)."""

    region: str
    region_name: str = Field(description="医保区划名称（合计行为“合计”）")
    inspected_units: int
    talks: int
    rectifications: int
    penalties: int
    suspensions: int
    terminations: int
    recovered_wan: str
    recovered_yuan: str
    remarks: str


class WeeklyReportOut(StrictOut):
    """周报表 (JSON form)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_version: str
    title: str
    from_: str = Field(alias="from")
    to: str
    region: str
    region_name: str = Field(description="所选医保区划的名称（未选为空）")
    columns: list[WeeklyColumnOut]
    rows: list[WeeklyRowOut]
