"""The public log in the database: leaves appended in the caller's transaction, checkpoints
signed with the log key, cosignatures asked of the witnesses (C2SP tlog-witness protocol).

API for other modules — `append(session, kind, data, ref=...)`: one publication event as a
leaf (idempotent: the same kind, ref and data give the same leaf back; different data under a
ref already logged is a new leaf, a correction, never an overwrite). The publisher
(app/publish/log.py) logs what the site publishes and signs a checkpoint at each build.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import LogCheckpoint, LogCosignature, LogLeaf
from app.tlog import note
from app.tlog.merkle import Tree, leaf_hash
from app.tlog.tiles import MAX_ENTRY

log = logging.getLogger(__name__)
LOG_LOCK = 727004  # pg_advisory_xact_lock key, with the schema (as the audit chain's 727001)
KINDS = frozenset(
    {
        "plan_version",
        "draw",
        "failed_attempt",
        "draw_superseded",
        "replacement",
        "sealed",
        "reveal",
        "result_version",
        "result_withdrawal",
        "audit_head",
    }
)


class LogError(RuntimeError):
    """The log cannot take an entry (unknown kind, entry too long)."""


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_bytes(kind: str, ref: str, data: dict[str, Any]) -> bytes:
    """A leaf's entry: ``{"data": …, "kind": …, "ref": …}`` as canonical JSON."""
    return canonical({"kind": kind, "ref": ref, "data": data})


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :k)"), {"k": LOG_LOCK}
        )


def append(session: Session, kind: str, data: dict[str, Any], *, ref: str) -> LogLeaf:
    """Appends one publication event (flushes, never commits). The same (kind, ref, data)
    returns the leaf already there; new data under a logged ref is a correction: a new leaf."""
    if kind not in KINDS:
        raise LogError(f"未知的日志条目类型 (unknown leaf kind): {kind}")
    entry = entry_bytes(kind, ref, json.loads(canonical(data)))
    if len(entry) > MAX_ENTRY:
        raise LogError(f"日志条目过长 (entry longer than {MAX_ENTRY} bytes): {kind} {ref}")
    digest = leaf_hash(entry).hex()
    _lock(session)
    same = session.scalar(
        select(LogLeaf).where(LogLeaf.kind == kind, LogLeaf.ref == ref, LogLeaf.leaf_hash == digest)
    )
    if same is not None:
        return same
    last = session.scalar(select(func.max(LogLeaf.idx)))  # the primary key: one index probe
    leaf = LogLeaf(
        idx=0 if last is None else last + 1, kind=kind, ref=ref, entry=entry, leaf_hash=digest
    )
    session.add(leaf)
    session.flush()
    return leaf


def logged(session: Session, kind: str) -> dict[str, list[tuple[int, str]]]:
    """ref → [(index, leaf hash), …] of every leaf of `kind`, oldest first."""
    out: dict[str, list[tuple[int, str]]] = {}
    stmt = (
        select(LogLeaf.ref, LogLeaf.idx, LogLeaf.leaf_hash)
        .where(LogLeaf.kind == kind)
        .order_by(LogLeaf.idx)
    )
    for ref, idx, digest in session.execute(stmt):
        out.setdefault(ref, []).append((idx, digest))
    return out


def tree(session: Session) -> Tree:
    """The whole tree, from the stored leaf hashes."""
    t = Tree()
    for (digest,) in session.execute(select(LogLeaf.leaf_hash).order_by(LogLeaf.idx)):
        t.append_hash(bytes.fromhex(digest))
    return t


def entries(session: Session, start: int, stop: int) -> list[bytes]:
    """The entries of leaves [start, stop)."""
    stmt = (
        select(LogLeaf.entry).where(LogLeaf.idx >= start, LogLeaf.idx < stop).order_by(LogLeaf.idx)
    )
    return [bytes(e) for (e,) in session.execute(stmt)]


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    """The newest checkpoint."""
    return session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))


def sign_checkpoint(session: Session, signer: note.Signer, t: Tree) -> LogCheckpoint | None:
    """Signs a checkpoint of the whole tree if it grew since the newest one (None otherwise)."""
    last = latest_checkpoint(session)
    if t.size == 0 or (last is not None and last.size >= t.size):
        return None
    body = note.Checkpoint(signer.name, t.size, t.root()).text
    cp = LogCheckpoint(
        size=t.size, root=t.root().hex(), note=note.sign_note(body, signer).encode().decode()
    )
    session.add(cp)
    session.flush()
    return cp


@dataclass(frozen=True)
class Witness:
    """A configured witness: its cosigner key and where to ask it."""

    verifier: note.Verifier
    url: str


def configured_witnesses(settings: Settings) -> list[Witness]:
    """SPOTCHECK_WITNESSES: ``VKEY URL`` entries separated by ";" or newlines."""
    out = []
    for item in settings.witnesses.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        parts = item.split()
        if len(parts) != 2:
            raise note.NoteError(f"见证人配置应为「公钥 地址」(witness must be 'VKEY URL'): {item}")
        verifier = note.parse_vkey(parts[0])
        if verifier.alg != note.ALG_COSIGNATURE_V1:
            raise note.NoteError(f"见证人公钥须为 cosignature/v1 类型: {parts[0]}")
        out.append(Witness(verifier, parts[1].rstrip("/")))
    return out


def _timestamp(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _cosigned_size(session: Session, name: str) -> int:
    return (
        session.scalar(select(func.max(LogCosignature.size)).where(LogCosignature.witness == name))
        or 0
    )


def _request(old: int, proof: Sequence[bytes], signed: str) -> bytes:
    lines = [f"old {old}\n", *(base64.b64encode(p).decode() + "\n" for p in proof), "\n"]
    return ("".join(lines) + signed).encode()


def ask_witness(
    session: Session, cp: LogCheckpoint, witness: Witness, t: Tree, *, timeout: float
) -> str | None:
    """Asks one witness to cosign `cp` (add-checkpoint, with the consistency proof from the
    size it last cosigned); stores a valid cosignature. Returns a problem in words, or None."""
    name = witness.verifier.name
    old = _cosigned_size(session, name)
    body = note.parse_note(cp.note.encode()).text
    try:
        for _ in range(2):
            if old > cp.size:
                return f"见证人 {name} 已联署更大的树 ({old} > {cp.size})：日志可能被回滚"
            proof = t.consistency_proof(old, cp.size)
            answer = httpx.post(
                f"{witness.url}/add-checkpoint",
                content=_request(old, proof, cp.note),
                timeout=timeout,
            )
            if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
                "text/x.tlog.size"
            ):
                old = int(answer.text.strip())  # it holds another size: prove from that one
                continue
            break
    except (httpx.HTTPError, ValueError) as exc:
        return f"见证人 {name} 无法访问 (unreachable): {exc}"
    if answer.status_code != 200:
        return f"见证人 {name} 拒绝联署 (HTTP {answer.status_code}): {answer.text.strip()[:200]}"
    for line in answer.text.splitlines():
        try:
            sig = note.parse_note(("x\n\n" + line + "\n").encode()).signatures[0]
            ts = note.verify_cosignature(body, sig, witness.verifier)
        except note.NoteError:
            continue
        session.add(
            LogCosignature(size=cp.size, witness=name, line=sig.line, timestamp=_timestamp(ts))
        )
        session.flush()
        return None
    return f"见证人 {name} 的回复中没有有效的联署 (no valid cosignature)"


def ask_witnesses(
    session: Session, cp: LogCheckpoint, witnesses: Iterable[Witness], t: Tree, *, timeout: float
) -> list[str]:
    """Asks every configured witness that has not cosigned `cp` yet; returns the problems."""
    have = set(
        session.scalars(select(LogCosignature.witness).where(LogCosignature.size == cp.size))
    )
    problems = []
    for w in witnesses:
        if w.verifier.name in have:
            continue
        problem = ask_witness(session, cp, w, t, timeout=timeout)
        if problem:
            log.warning("%s", problem)
            problems.append(problem)
    return problems


def cosignatures(session: Session, size: int) -> list[LogCosignature]:
    """The cosignatures of the checkpoint of `size`."""
    stmt = (
        select(LogCosignature).where(LogCosignature.size == size).order_by(LogCosignature.witness)
    )
    return list(session.scalars(stmt))


def quorum_time(
    sigs: Iterable[LogCosignature], witnesses: Sequence[Witness], quorum: int
) -> datetime | None:
    """When a quorum of the configured witnesses had cosigned: the quorum-th earliest
    timestamp among theirs (None without a quorum; quorum 0 never anchors)."""
    names = {w.verifier.name for w in witnesses}
    times = sorted(s.timestamp for s in sigs if s.witness in names)
    if quorum <= 0 or len(times) < quorum:
        return None
    return times[quorum - 1]


@dataclass(frozen=True)
class Anchor:
    """The first checkpoint holding a leaf that a quorum of witnesses cosigned, and when."""

    size: int
    at: datetime


def anchor_of(
    session: Session, index: int, witnesses: Sequence[Witness], quorum: int
) -> Anchor | None:
    """The anchor of leaf `index` (None while no quorum cosigned a checkpoint holding it)."""
    stmt = select(LogCheckpoint.size).where(LogCheckpoint.size > index).order_by(LogCheckpoint.size)
    for (size,) in session.execute(stmt):
        at = quorum_time(cosignatures(session, size), witnesses, quorum)
        if at is not None:
            return Anchor(size, at)
    return None


def digest(data: bytes) -> str:
    """SHA-256 hex."""
    return hashlib.sha256(data).hexdigest()


def plan_version_ref(plan_code: str, version: int) -> str:
    """The ref of a plan version's leaf."""
    return f"{plan_code}/{version}"


def first_leaf(session: Session, kind: str, ref: str) -> int | None:
    """The index of the first leaf of (kind, ref): the event as first published."""
    return session.scalar(
        select(func.min(LogLeaf.idx)).where(LogLeaf.kind == kind, LogLeaf.ref == ref)
    )


def witness_notice(session: Session, settings: Settings) -> str | None:
    """A sentence for the console when the newest checkpoint lacks the witnesses' quorum
    (publication goes on; plans it holds are not drawable until a quorum cosigns), else None."""
    quorum = settings.witness_quorum
    if quorum <= 0:
        return None
    cp = latest_checkpoint(session)
    if cp is None:
        return None
    witnesses = configured_witnesses(settings)
    if quorum_time(cosignatures(session, cp.size), witnesses, quorum) is not None:
        return None
    got = len({s.witness for s in cosignatures(session, cp.size)})
    return (
        f"公开日志最新检查点（{cp.size} 条记录）只有 {got} 位见证人联署，未达法定数 {quorum}："
        "其中新公布的计划版本暂不能抽取；下次发布时将再次请求见证人（见运维文档「公开日志与见证人」）"
    )
