"""信用 (credit) grades pushed by the credit module, every push kept."""

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class CreditGrade(Base):
    """One pushed grade of one target, valid from `as_of` until a later `as_of` of that target."""

    __tablename__ = "credit_grades"
    __table_args__ = (Index("ix_credit_grades_lookup", "uscc", "as_of", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    push_id: Mapped[str] = mapped_column(String(32), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    grade: Mapped[str] = mapped_column(String(4))
    score: Mapped[float | None] = mapped_column(Float)
    as_of: Mapped[datetime]
    received_at: Mapped[datetime]
    token_name: Mapped[str] = mapped_column(String(100))
