"""Results (抽查结果) with every submitted version, task state events and evidence files.

`results` holds exactly one row per task once a supervisor has approved a version: the
approved, publishable content (what the public site, the weekly report, the export and the
credit feed read). Every submission — first entry, corrections before approval, revisions of a
待后续处理 result — is a row of `result_versions`; approval copies a version into `results`.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

# Exact yuan amounts: 12 integer digits, 2 decimals.
Money = Numeric(14, 2, asdecimal=True)


class Result(Base):
    """The approved result of one task (publishable); revised results are re-approved here."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    decided_on: Mapped[date] = mapped_column(Date, index=True)
    # the day the inspection was carried out (北京时间); None: the decision day (decided_on)
    inspected_on: Mapped[date | None] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    # [{"kind": "行政处罚", "fine_amount": "5000.00", "note": "…"}], amounts as decimal strings.
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    recovered_amount: Mapped[Decimal] = mapped_column(Money)
    fine_amount: Mapped[Decimal] = mapped_column(Money)
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime]
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(index=True)
    # When the credit feed may deliver this version: at approval when its draw is public, else
    # when the draw's task list becomes public (app/credit/service.py releases it).
    feed_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set by the publish step (app.tasks.service.mark_published); reset on re-approval.
    published_at: Mapped[datetime | None]


class ResultVersion(Base):
    """Every submitted version of a task's result, kept forever."""

    __tablename__ = "result_versions"
    __table_args__ = (UniqueConstraint("task_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    inspected_on: Mapped[date | None] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    recovered_amount: Mapped[Decimal] = mapped_column(Money)
    fine_amount: Mapped[Decimal] = mapped_column(Money)
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    # Sent back by the approver (退回): the version stays in the history, never approved.
    returned_by: Mapped[str | None] = mapped_column(String(100))
    returned_at: Mapped[datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)


class TaskEvent(Base):
    """One step of a task's life (待检查 → 已检查 → 待后续处理 → 已办结): who, when, what."""

    __tablename__ = "task_events"
    __table_args__ = (Index("ix_task_events_task_at", "task_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]]


class Evidence(Base):
    """An evidence file of a task, stored content-addressed by SHA-256; never published."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("task_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
