"""API shapes of registry records."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.pagination import PageOut, StrictOut


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    active: bool = True
    version: int | None = None


class TargetOut(_Record):
    """检查对象."""

    uscc: str
    name: str
    kind: str
    level: str
    ownership: str | None = None
    region: str
    address: str | None = None
    legal_rep: str | None = None
    phone: str | None = None
    credit_grade: str | None = None
    tags: list[str] = []
    status: str
    fixmedins_code: str | None = None  # 定点医药机构编码


class ItemOut(_Record):
    """抽查事项."""

    code: str
    name: str
    sub_item: str | None = None
    category: str
    legal_basis: str | None = None
    department: str | None = None
    target_kinds: list[str] = []
    ratio: str | None = None
    frequency: str | None = None
    method: str | None = None
    expertise: list[str] = []


class InspectorOut(_Record):
    """执法检查人员."""

    badge: str
    name: str
    department: str
    region: str
    expertise: list[str] = []
    kind: str
    employer_uscc: str | None = None
    status: str
    conflicts: list[str] = []
    max_tasks: int | None = None


class TargetPage(BaseModel):
    """A page of targets."""

    items: list[TargetOut]
    next_cursor: str | None


class ItemPage(BaseModel):
    """A page of items."""

    items: list[ItemOut]
    next_cursor: str | None


class InspectorPage(BaseModel):
    """A page of inspectors."""

    items: list[InspectorOut]
    next_cursor: str | None


class HistoryEntry(StrictOut):
    """One version of a registry record."""

    version: int
    op: str
    valid_from: datetime
    valid_to: datetime | None
    actor: str
    data: dict[str, Any]


class ImportOut(StrictOut):
    """Counts of a successful import."""

    rows: int
    created: int
    updated: int
    unchanged: int
    file_sha256: str


class HistoryPage(PageOut[HistoryEntry]):
    """A page of a record's versions, oldest first."""
