"""Credit grades pushed by the 信用 module, as valid at a moment (the registry's grade history)."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import CreditGrade

CHUNK = 500


def effective_grades(
    session: Session, at: datetime, usccs: Iterable[str] | None = None
) -> dict[str, tuple[int, str]]:
    """Per USCC, (row id, grade) of the pushed grade valid at `at`."""
    cg = CreditGrade
    rank = (
        func.row_number()
        .over(partition_by=cg.uscc, order_by=(cg.as_of.desc(), cg.id.desc()))
        .label("rank")
    )
    out: dict[str, tuple[int, str]] = {}
    keys = None if usccs is None else sorted(set(usccs))
    parts: list[list[str] | None] = (
        [None] if keys is None else [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]
    )
    for part in parts:
        inner = select(cg.id, cg.uscc, cg.grade, rank).where(cg.as_of <= at)
        if part is not None:
            inner = inner.where(cg.uscc.in_(part))
        sub = inner.subquery()
        stmt = select(sub.c.uscc, sub.c.id, sub.c.grade).where(sub.c.rank == 1)
        for uscc, rid, grade in session.execute(stmt.execution_options(yield_per=5000)):
            out[uscc] = (rid, grade)
    return out


def grades_at(session: Session, at: datetime, usccs: Iterable[str] | None = None) -> dict[str, str]:
    """Per USCC, the pushed grade valid at `at` (latest as_of ≤ at, then latest push).

    Targets never graded by the credit module are absent: their registry grade stands.
    """
    return {u: g for u, (_, g) in effective_grades(session, at, usccs).items()}
