"""Every lifecycle state the service stores, as StrEnums, and its Chinese label (one place).

Our own states are stored as English identifiers; what people read is the label
(docs/glossary.md#one-name). The states of registry records come from officials' spreadsheets
(正常/暂停/解除, 在岗/停用) and are stored as they are written there.
"""

from enum import StrEnum


class PlanStatus(StrEnum):
    """A plan: draft → published → drawn → closed (an adjustment after a draw: drawn → published)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    DRAWN = "drawn"
    CLOSED = "closed"


class DrawStatus(StrEnum):
    """A draw: current until a re-draw supersedes it (both stay on record); a failed attempt
    (no valid team) is recorded and published too, with its error and no tasks."""

    CURRENT = "current"
    SUPERSEDED = "superseded"
    FAILED = "failed"


class TaskStatus(StrEnum):
    """A task: to_inspect → inspected → closed, or → pending_measures (待后续处理) → closed."""

    TO_INSPECT = "to_inspect"
    INSPECTED = "inspected"
    PENDING_MEASURES = "pending_measures"
    CLOSED = "closed"


class VisitState(StrEnum):
    """A visit (一次检查, app/visits): open until carried out (inspected, dated the day it was
    carried out) or found not inspectable (未检查（停业、注销等）); void when nothing it served is
    kept (its draws superseded before anyone went). The rule: app/visits/rule.py."""

    OPEN = "open"
    INSPECTED = "inspected"
    NOT_INSPECTED = "not_inspected"
    VOID = "void"


class ResultOutcome(StrEnum):
    """A result's outcome (结果类型): the officials' own words, stored as they are."""

    NO_PROBLEM = "未发现问题"
    CORRECTED = "发现问题已责令改正"
    PENDING_MEASURES = "发现问题待后续处理"
    NON_COOPERATION = "不配合检查情节严重"
    NOT_INSPECTED = "未检查（停业、注销等）"


class TargetStatus(StrEnum):
    """A 检查对象's 状态 column (only 正常 targets are drawn)."""

    NORMAL = "正常"
    SUSPENDED = "暂停"
    TERMINATED = "解除"


class InspectorStatus(StrEnum):
    """An inspector's 状态 column (only 在岗 inspectors are drawn)."""

    ON_DUTY = "在岗"
    DISABLED = "停用"


# Keyed by (enum, member): members of different enums with the same value ("closed" of a plan
# and of a task) are equal as strings, and would otherwise share one label.
LABELS: dict[tuple[type[StrEnum], StrEnum], str] = {
    (type(member), member): label
    for member, label in (
        (PlanStatus.DRAFT, "草稿"),
        (PlanStatus.PUBLISHED, "已发布"),
        (PlanStatus.DRAWN, "已抽取"),
        (PlanStatus.CLOSED, "已结束"),
        (DrawStatus.CURRENT, "现行"),
        (DrawStatus.SUPERSEDED, "已作废"),
        (DrawStatus.FAILED, "抽取失败"),
        (TaskStatus.TO_INSPECT, "待检查"),
        (TaskStatus.INSPECTED, "已检查"),
        (TaskStatus.PENDING_MEASURES, "待后续处理"),
        (TaskStatus.CLOSED, "已办结"),
        (VisitState.OPEN, "待检查"),
        (VisitState.INSPECTED, "已检查"),
        (VisitState.NOT_INSPECTED, "未检查"),
        (VisitState.VOID, "已作废"),
    )
}


def plan_label(status: str) -> str:
    """The Chinese label of a stored plan status (the value itself if unknown)."""
    return _label(PlanStatus, status)


def draw_label(status: str) -> str:
    """The Chinese label of a stored draw status."""
    return _label(DrawStatus, status)


def task_label(status: str) -> str:
    """The Chinese label of a stored task status."""
    return _label(TaskStatus, status)


def visit_label(status: str) -> str:
    """The Chinese label of a stored visit state."""
    return _label(VisitState, status)


def _label(enum: type[StrEnum], status: str) -> str:
    try:
        return LABELS[(enum, enum(status))]
    except ValueError:
        return status
