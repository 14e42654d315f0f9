"""一公开's public log (app/tlog): its leaves, the checkpoints signed over them and the
witnesses' cosignatures. Append-only: nothing here is ever updated or deleted."""

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class LogLeaf(Base):
    """One leaf: a publication event (kind, what it names, the entry bytes hashed)."""

    __tablename__ = "log_leaves"
    __table_args__ = (Index("ix_log_leaves_kind_ref", "kind", "ref"),)

    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(200))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogCheckpoint(Base):
    """A checkpoint signed by the log key (the note, without cosignatures)."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogCosignature(Base):
    """A witness's cosignature of a checkpoint (its signature line, and the witness's time)."""

    __tablename__ = "log_cosignatures"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime]
