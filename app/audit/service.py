"""Appends to and verifies the hash-chained audit log."""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import AuditEntry
from app.models.base import utcnow

GENESIS = "0" * 64
log = logging.getLogger(__name__)


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    data: dict[str, Any],
) -> str:
    """sha256(prev_hash "\\n" canonical entry) as hex."""
    body = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "entity": entity,
            "data": data,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    # PostgreSQL: one writer of the chain at a time, held until commit. SQLite's
    # BEGIN IMMEDIATE already serialises writers.
    if session.get_bind().dialect.name == "postgresql":
        # Keyed by schema too, so schemas sharing a database don't wait on each other.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), 727001)"))


def append(
    session: Session, *, actor: str, action: str, entity: str, data: dict[str, Any] | None = None
) -> AuditEntry:
    """Appends one entry chained to the current head."""
    _lock_chain(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash, AuditEntry.at)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at = utcnow().replace(microsecond=0)
    if head is not None and at < head[2]:
        # A clock set back (or a server whose clock drifted) never writes an entry dated
        # before the newest one: the chain's times only go forward (`verify_chain` refuses a
        # chain whose times go back).
        log.warning(
            "服务器时钟 %s 早于审计链最新条目 %s；本条按最新条目时间记录 (clock behind the chain)",
            at.isoformat(),
            head[2].isoformat(),
        )
        at = head[2]
    payload = json.loads(canonical_json(data or {}))
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        data=payload,
        prev_hash=prev,
        entry_hash=entry_hash(
            prev_hash=prev, seq=seq, at=at, actor=actor, action=action, entity=entity, data=payload
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """Outcome of checking the chain."""

    entries: int
    head: str
    problems: list[str]


def verify_chain(session: Session, *, published_heads: Sequence[str] = ()) -> ChainReport:
    """Re-derives every hash; names edited, inserted or deleted entries.

    A chain cut at its end (or rebuilt from some point on) is consistent in itself; heads printed
    earlier on published pages (`published_heads`) must still be entries of it.
    """
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    prev_at: datetime | None = None
    wanted = set(published_heads)
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        count += 1
        wanted.discard(e.entry_hash)
        if e.seq != expected_seq:
            problems.append(
                f"第 {expected_seq} 条缺失或顺序错误，实际为第 {e.seq} 条 (entry missing)"
            )
        if e.prev_hash != prev:
            problems.append(
                f"第 {e.seq} 条的前序哈希不符 (prev_hash mismatch: deleted or inserted)"
            )
        h = entry_hash(
            prev_hash=e.prev_hash,
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            data=e.data,
        )
        if h != e.entry_hash:
            problems.append(f"第 {e.seq} 条内容被修改 (entry {e.seq} edited)")
        if prev_at is not None and e.at < prev_at:
            problems.append(
                f"第 {e.seq} 条的时间 {e.at.isoformat()} 早于前一条 {prev_at.isoformat()}："
                "倒填日期 (back-dated entry)"
            )
        prev, expected_seq, prev_at = e.entry_hash, e.seq + 1, max(e.at, prev_at or e.at)
    problems += [
        f"已公布的链头 {h} 不在审计链中：其后的条目被删除或整段重写 (published head missing)"
        for h in sorted(wanted)
    ]
    return ChainReport(entries=count, head=prev, problems=problems)


def head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest entry, or (0, genesis)."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)
