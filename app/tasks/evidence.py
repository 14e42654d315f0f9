"""Evidence files (证据材料) of a task: content-addressed by SHA-256, never published."""

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.errors import NotFound, PayloadTooLarge, ValidationFailed
from app.models import Evidence
from app.pagination import Page, decode_int_cursor, int_key, page_of
from app.tasks.access import ensure_current, visible_task

CHUNK = 1024 * 1024
# Accepted types, recognised by their first bytes — never by name or client header.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sniff(head: bytes) -> str | None:
    """The media type of a file from its magic bytes (JPEG, PNG, PDF) or None."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    return None


def blob_path(evidence_dir: Path, sha256: str) -> Path:
    """Where the file with this digest lives."""
    return evidence_dir / sha256[:2] / sha256


def _clean_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "evidence"


def store(
    session: Session,
    *,
    task_id: str,
    upload: BinaryIO,
    filename: str | None,
    note: str | None,
    principal: Principal,
    evidence_dir: Path,
    max_bytes: int,
) -> tuple[Evidence, bool]:
    """Checks type and size, stores the file by digest, records it; (row, created)."""
    task = visible_task(session, task_id, principal)
    ensure_current(session, task)
    evidence_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    media_type: str | None = None
    fd, tmp_name = tempfile.mkstemp(dir=evidence_dir, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            while chunk := upload.read(CHUNK):
                if size == 0:
                    media_type = sniff(chunk)
                    if media_type is None:
                        raise ValidationFailed(
                            "证据文件类型不支持：仅接受 JPEG、PNG、PDF（按文件内容识别）",
                            errors=[{"field": "file", "message": "文件类型不支持"}],
                        )
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"证据文件超过上限 {max_bytes // (1024 * 1024)} MB (file too large)",
                        errors=[{"field": "file", "message": "文件过大"}],
                    )
                digest.update(chunk)
                tmp.write(chunk)
        if size == 0 or media_type is None:
            raise ValidationFailed(
                "证据文件为空", errors=[{"field": "file", "message": "文件为空"}]
            )
        sha = digest.hexdigest()
        final = blob_path(evidence_dir, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, final)  # atomic: a reader never sees half a file
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    existing = session.scalar(
        select(Evidence).where(Evidence.task_id == task.id, Evidence.sha256 == sha)
    )
    if existing is not None:
        return existing, False
    row = Evidence(
        task_id=task.id,
        sha256=sha,
        size=size,
        media_type=media_type,
        filename=_clean_name(filename),
        note=(note or "").strip() or None,
        uploaded_by=principal.actor,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="evidence.add",
        entity=f"task:{task.id}",
        data={"sha256": sha, "size": size, "media_type": media_type, "filename": row.filename},
    )
    return row, True


def evidence_dict(e: Evidence) -> dict[str, Any]:
    """An evidence row as JSON."""
    return {
        "id": e.id,
        "task_id": e.task_id,
        "sha256": e.sha256,
        "size": e.size,
        "media_type": e.media_type,
        "filename": e.filename,
        "note": e.note,
        "uploaded_by": e.uploaded_by,
        "uploaded_at": e.uploaded_at.isoformat(),
    }


def list_for(
    session: Session, *, task_id: str, principal: Principal, cursor: str | None, limit: int
) -> Page[Evidence]:
    """A page of a task's evidence, oldest first (team members and supervisors only)."""
    task = visible_task(session, task_id, principal)
    stmt = select(Evidence).where(Evidence.task_id == task.id)
    if cursor:
        stmt = stmt.where(Evidence.id > decode_int_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Evidence.id).limit(limit + 1)))
    return page_of(rows, limit, lambda e: int_key(e.id))


def open_blob(
    session: Session, *, task_id: str, sha256: str, principal: Principal, evidence_dir: Path
) -> tuple[Evidence, Path]:
    """The row and file of one evidence item of a task."""
    task = visible_task(session, task_id, principal)
    if not _SHA256.match(sha256):
        raise NotFound("没有该证据文件")
    row = session.scalar(
        select(Evidence).where(Evidence.task_id == task.id, Evidence.sha256 == sha256)
    )
    path = blob_path(evidence_dir, sha256)
    if row is None or not path.is_file():
        raise NotFound("没有该证据文件")
    return row, path
