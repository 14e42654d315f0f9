"""一单两库: inspection items, target institutions, inspectors, and their history."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Item(Base):
    """抽查事项清单: one inspection item."""

    __tablename__ = "items"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sub_item: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(8))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(100))
    target_kinds: Mapped[list[str]] = mapped_column(JSON)
    ratio: Mapped[str | None] = mapped_column(String(16))
    frequency: Mapped[str | None] = mapped_column(String(50))
    method: Mapped[str | None] = mapped_column(String(16))
    expertise: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    # The hash of the file row an import made this version from, and that version
    # (app/registries/rowhash.py): a re-import skips the row while both still hold.
    row_hash: Mapped[str | None] = mapped_column(String(32))
    row_hash_version: Mapped[int | None] = mapped_column(Integer)


class Target(Base):
    """检查对象名录库: one institution, keyed by its 统一社会信用代码."""

    __tablename__ = "targets"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(8))
    ownership: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    legal_rep: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    credit_grade: Mapped[str | None] = mapped_column(String(4))
    tags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8))
    # 定点医药机构编码 (H/P + 6-digit 医保区划 + 5 digits), beside the USCC
    fixmedins_code: Mapped[str | None] = mapped_column(String(12), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    # The hash of the file row an import made this version from, and that version
    # (app/registries/rowhash.py): a re-import skips the row while both still hold.
    row_hash: Mapped[str | None] = mapped_column(String(32))
    row_hash_version: Mapped[int | None] = mapped_column(Integer)


class Inspector(Base):
    """执法检查人员名录库: one inspector or outside expert, keyed by 执法证号."""

    __tablename__ = "inspectors"

    badge: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100), index=True)
    region: Mapped[str] = mapped_column(String(6))
    expertise: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(8))
    employer_uscc: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(8))
    conflicts: Mapped[list[str]] = mapped_column(JSON)
    max_tasks: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    # The hash of the file row an import made this version from, and that version
    # (app/registries/rowhash.py): a re-import skips the row while both still hold.
    row_hash: Mapped[str | None] = mapped_column(String(32))
    row_hash_version: Mapped[int | None] = mapped_column(Integer)


class RegistryHistory(Base):
    """Replaced versions of registry rows, each valid in [valid_from, valid_to).

    The current version lives in the registry table itself (valid from its updated_at), so a
    first import writes each row once; "as of" reads merge both.
    """

    __tablename__ = "registry_history"
    __table_args__ = (Index("ix_registry_history_lookup", "kind", "key", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(100))
