"""Visits (一次检查): the one stored record of each inspection, across plans.

A visit is started by a drawn task (its id is that task's id, the public visit code) or by a
回头看, and joined by the tasks of later plans (tasks.visit). It is rewritten by
app/visits/service.py `refresh` in the transaction of every change to what it serves (a draw,
a re-draw, a 回头看, a result's approval, a task's step); the rule of what it is and what it
counts for is app/visits/rule.py.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Visit(Base):
    """One visit (一次检查): its state, the day it was carried out and the year it counts in (北京时间),
    the tasks and plans it serves (`parts`), and when it becomes public."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_state_uscc", "state", "uscc"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    state: Mapped[str] = mapped_column(String(16))  # app.states.VisitState
    # the day it was carried out (北京时间): the earliest inspected_on of its inspected results
    inspected_on: Mapped[date | None] = mapped_column(Date)
    counted_year: Mapped[int | None] = mapped_column(Integer, index=True)
    # the day it is planned from: the first task's plan window start, a 回头看's order date
    planned_on: Mapped[date] = mapped_column(Date)
    # some kept task of it is not 已办结 (its team's open load, docs/rules.md#r5-4)
    busy: Mapped[bool] = mapped_column(default=True)
    # [{"task", "plan", "draw", "items", "kept", "counts"}], the first task first: `kept` a
    # task of a current draw or a 回头看; `counts` kept, or carried out in a draw since superseded
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # when its first task list is public (None: a withheld plan's, date not yet known)
    public_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VisitMember(Base):
    """An inspector of a visit's one team (组长 first): the members of the tasks it serves."""

    __tablename__ = "visit_members"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, server_default="0")
