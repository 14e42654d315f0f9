"""一公开 as an append-only log (SPEC rule 8; docs/transparency-log.md): at every build, each
publication event the site shows is logged as a leaf (app/tlog), a checkpoint is signed over
the whole log, the configured witnesses are asked to cosign it, and the log is published under
`log/` as C2SP tlog-tiles with the checkpoint and the cosignatures beside it.

Events (leaf kinds): a plan version (`plan_version`, ref ``CODE/VERSION``: the version as
`plans/{code}.json` shows it, without its `log` link), a public draw (`draw`) or the reveal of
a withheld one (`reveal`), a withheld draw's sealed record (`sealed`), a failed attempt
(`failed_attempt`), a draw voided by an adjustment (`draw_superseded`), a replacement step
of a public draw's team (`replacement`, ref ``DRAW/SEQ``), a published result
version (`result_version`, ref ``ID/VERSION``) and the audit chain head (`audit_head`, ref its
seq). Each event is logged once; a changed event is a new leaf (a correction), the old one
stays. A plan version in `plans/{code}.json` carries `log`: its leaf index and, once a
checkpoint holding it was cosigned by the quorum (or, with no witnesses, signed), that
checkpoint's size, the inclusion proof to it and the checkpoint itself with its cosignatures
(`note`) — its anchor — and the keys it is checked with (`log_key`, `quorum`, `witnesses`), so
that a plan file checks on its own, offline.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Draw, LogCheckpoint, LogCosignature, LogLeaf
from app.models.results import Result
from app.publish.body import top_level_value
from app.publish.collect import RESULTS_PER_PAGE, SiteData
from app.publish.formats import FileSink, render_unit
from app.states import DrawStatus
from app.tlog import service as tlog
from app.tlog import tiles
from app.tlog.keys import log_signer
from app.tlog.merkle import Tree, leaf_hash
from app.tlog.note import Signer

log = logging.getLogger(__name__)
DRAW_COLUMNS = ("algorithm", "commitment", "seed", "entropy", "population_sha256", "task_count")


@dataclass
class LogState:
    """What one build logged and how far the witnesses got."""

    size: int = 0
    appended: int = 0
    quorum_reached: bool = True


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Logger:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.appended = 0
        self._known: dict[str, dict[str, list[tuple[int, str]]]] = {}

    def known(self, kind: str) -> dict[str, list[tuple[int, str]]]:
        if kind not in self._known:
            self._known[kind] = tlog.logged(self.session, kind)
        return self._known[kind]

    def has(self, kind: str, ref: str) -> bool:
        return ref in self.known(kind)

    def log(self, kind: str, ref: str, data: dict[str, Any]) -> int:
        """Appends unless this very event is logged; returns the ref's first leaf index."""
        digest = leaf_hash(tlog.entry_bytes(kind, ref, json.loads(tlog.canonical(data)))).hex()
        have = self.known(kind).setdefault(ref, [])
        if not any(h == digest for _, h in have):
            leaf = tlog.append(self.session, kind, data, ref=ref)
            have.append((leaf.idx, leaf.leaf_hash))
            self.appended += 1
        return have[0][0]


def plan_version_entry(plan_code: str, version: dict[str, Any]) -> dict[str, Any]:
    """The data of a plan version's leaf: the version as published, without its log link."""
    return {"plan": plan_code, **{k: v for k, v in version.items() if k != "log"}}


def _log_draws(logger: _Logger, session: Session, data: SiteData) -> None:
    for d in data.draws:
        if d.status == DrawStatus.FAILED:
            if not logger.has("failed_attempt", d.id):
                logger.log("failed_attempt", d.id, _draw_entry(session, d.id, secret=False))
        elif d.sealed is not None:
            logger.log("sealed", d.id, d.sealed)
        else:
            kind = "reveal" if logger.has("sealed", d.id) else "draw"
            if not logger.has(kind, d.id):
                logger.log(kind, d.id, _draw_entry(session, d.id, secret=True))
        if d.replacements:  # each replacement step of a public draw is an event of its own
            for step in d.replacements["steps"]:
                logger.log("replacement", f"{d.id}/{step['seq']}", {"draw": d.id, **step})
        if d.status == DrawStatus.SUPERSEDED and not logger.has("draw_superseded", d.id):
            logger.log(
                "draw_superseded",
                d.id,
                {"draw": d.id, "superseded_at": d.superseded_at, "reason": d.superseded_reason},
            )


def _draw_entry(session: Session, draw_id: str, *, secret: bool) -> dict[str, Any]:
    row = session.execute(
        select(
            Draw.plan_code,
            Draw.seq,
            Draw.created_at,
            Draw.secret,
            *(getattr(Draw, c) for c in DRAW_COLUMNS),
        ).where(Draw.id == draw_id)
    ).one()
    # The body read as its stored text, not through PostgreSQL's JSON operator: that one
    # refuses a body holding a NUL stored before the input rule (and stalls every build on it);
    # and not decoded whole (tens of MB of tasks at national scale) for one key after them.
    text = session.scalar(select(cast(Draw.body, Text)).where(Draw.id == draw_id))
    tasks_sha256 = top_level_value(text, "tasks_sha256") if text else None
    out: dict[str, Any] = {
        "draw": draw_id,
        "plan": row.plan_code,
        "seq": row.seq,
        "drawn_at": _iso(row.created_at),
        **{c: getattr(row, c) for c in DRAW_COLUMNS},
    }
    if tasks_sha256 is not None:
        out["tasks_sha256"] = tasks_sha256
    if secret:
        out["secret"] = row.secret
    return out


def _log_results(logger: _Logger, session: Session) -> None:
    known = logger.known("result_version")
    stmt = (
        select(Result)
        .where(Result.published_at.is_not(None))
        .order_by(Result.id)
        .execution_options(yield_per=1000)
    )
    for r in session.scalars(stmt):
        ref = f"{r.id}/{r.version}"
        if ref in known:
            continue
        logger.log(
            "result_version",
            ref,
            {
                "result": r.id,
                "task": r.task_id,
                "version": r.version,
                "outcome": r.outcome,
                "decided_on": r.decided_on.isoformat(),
                "recovered_amount": f"{r.recovered_amount:.2f}",
                "fine_amount": f"{r.fine_amount:.2f}",
                "approved_at": _iso(r.approved_at),
                "published_at": _iso(r.published_at),
            },
        )


@dataclass(frozen=True)
class Published:
    """The log as this build publishes it."""

    tree: Tree
    checkpoints: list[LogCheckpoint]
    cosigs: dict[int, list[LogCosignature]]
    signer: Signer
    witnesses: list[tlog.Witness]
    quorum: int
    entries: Callable[[int, int], list[bytes]]
    # (index, kind, ref) of every leaf, and the sizes of the anchoring checkpoints
    leaves: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)
    anchors: list[int] = dataclasses.field(default_factory=list)


def log_publication(
    session: Session, data: SiteData, settings: Settings
) -> tuple[LogState, Published]:
    """Logs every event the site is about to show, signs a checkpoint, and links each plan
    version to its leaf and anchor (in `data`, before it is rendered). The witnesses are asked
    only once the checkpoint is committed (`cosign_pending`), so that no witness ever sees a
    checkpoint a failed build rolls back."""
    logger = _Logger(session)
    version_leaf: dict[tuple[str, int], int] = {}
    for p in data.plans:
        for v in p["versions"]:
            ref = tlog.plan_version_ref(p["code"], v["version"])
            version_leaf[(p["code"], v["version"])] = logger.log(
                "plan_version", ref, plan_version_entry(p["code"], v)
            )
    _log_draws(logger, session, data)
    _log_results(logger, session)
    seq, head = data.audit_head
    if seq > 0 and not logger.has("audit_head", str(seq)):
        logger.log("audit_head", str(seq), {"seq": seq, "hash": head})

    signer = log_signer(settings)
    tree = tlog.tree(session)
    tlog.sign_checkpoint(session, signer, tree)
    witnesses = tlog.configured_witnesses(settings)
    quorum = settings.witness_quorum
    state = LogState(size=tree.size, appended=logger.appended)
    latest = tlog.latest_checkpoint(session)
    checkpoints = list(session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size)))
    cosigs: dict[int, list[LogCosignature]] = {}
    for c in session.scalars(select(LogCosignature).order_by(LogCosignature.witness)):
        cosigs.setdefault(c.size, []).append(c)
    if latest is not None and quorum > 0:
        state.quorum_reached = (
            tlog.quorum_time(cosigs.get(latest.size, []), witnesses, quorum) is not None
        )
    anchors = _anchors(checkpoints, cosigs, witnesses, quorum)
    by_size = {c.size: c for c in checkpoints}
    keys = {
        "log_key": signer.verifier.vkey,
        "quorum": quorum,
        "witnesses": [w.verifier.vkey for w in witnesses],
    }
    for p in data.plans:
        for v in p["versions"]:
            idx = version_leaf[(p["code"], v["version"])]
            link = _link(tree, idx, anchors)
            if "checkpoint" in link:
                cp = by_size[link["checkpoint"]]
                link["note"] = served_checkpoint(cp, cosigs.get(cp.size, [])).decode()
            v["log"] = {**link, **keys}
    leaves = [
        (idx, kind, ref)
        for idx, kind, ref in session.execute(
            select(LogLeaf.idx, LogLeaf.kind, LogLeaf.ref).order_by(LogLeaf.idx)
        )
    ]
    published = Published(
        tree,
        checkpoints,
        cosigs,
        signer,
        witnesses,
        quorum,
        lambda a, b: tlog.entries(session, a, b),
        leaves=leaves,
        anchors=anchors,
    )
    return state, published


def _anchors(
    checkpoints: list[LogCheckpoint],
    cosigs: dict[int, list[LogCosignature]],
    witnesses: list[tlog.Witness],
    quorum: int,
) -> list[int]:
    """Sizes of the checkpoints that anchor (cosigned by the quorum; any signed one when no
    quorum is configured), ascending."""
    if quorum <= 0:
        return [c.size for c in checkpoints]
    return [
        c.size
        for c in checkpoints
        if tlog.quorum_time(cosigs.get(c.size, []), witnesses, quorum) is not None
    ]


def _link(tree: Tree, idx: int, anchors: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"index": idx}
    size = next((s for s in anchors if s > idx), None)
    if size is not None:
        out["checkpoint"] = size
        out["proof"] = [base64.b64encode(h).decode() for h in tree.inclusion_proof(idx, size)]
    return out


def served_checkpoint(cp: LogCheckpoint, sigs: list[LogCosignature]) -> bytes:
    """The checkpoint as served: the log's note with the cosignature lines appended."""
    return (cp.note + "".join(s.line for s in sigs)).encode()


def render_log(out: FileSink, pub: Published) -> None:
    """`log/`: tiles and entry bundles (each tile path is immutable: carried by hard link),
    every checkpoint with its cosignatures, the newest as `log/checkpoint`, and
    `log/witnesses.json` (the log key, the witnesses' keys, the quorum)."""
    tree = pub.tree
    size = tree.size
    for level in tiles.levels(size):
        for n, width in tiles.tile_widths(size, level):
            path = tiles.tile_path(level, n, width)

            def hashes(
                level: int = level, n: int = n, width: int = width, path: str = path
            ) -> None:
                out[f"log/{path}"] = tiles.hash_tile(tree, level, n, width)

            render_unit(out, f"log:{path}", path, hashes)
    for n, width in tiles.tile_widths(size, 0):
        path = tiles.tile_path("entries", n, width)

        def bundle(n: int = n, width: int = width, path: str = path) -> None:
            start = n * tiles.WIDTH
            out[f"log/{path}"] = tiles.bundle(pub.entries(start, start + width))

        render_unit(out, f"log:{path}", path, bundle)
    for cp in pub.checkpoints:
        body = served_checkpoint(cp, pub.cosigs.get(cp.size, []))

        def checkpoint(cp: LogCheckpoint = cp, body: bytes = body) -> None:
            out[f"log/checkpoints/{cp.size}"] = body

        render_unit(out, f"log:checkpoint:{cp.size}", tlog.digest(body), checkpoint)
    _render_proofs(out, pub)
    sizes = {
        "schema_version": "1",
        "kind": "log_checkpoints",
        "sizes": [c.size for c in pub.checkpoints],
    }
    out["log/checkpoints.json"] = json.dumps(sizes, separators=(",", ":")).encode()
    if pub.checkpoints:
        out["log/checkpoint"] = served_checkpoint(
            pub.checkpoints[-1], pub.cosigs.get(pub.checkpoints[-1].size, [])
        )
    info = {
        "schema_version": "1",
        "kind": "log_witnesses",
        "origin": pub.signer.name,
        "log_key": pub.signer.verifier.vkey,
        "quorum": pub.quorum,
        "witnesses": [{"name": w.verifier.name, "vkey": w.verifier.vkey} for w in pub.witnesses],
    }
    body = json.dumps(info, ensure_ascii=False, indent=1).encode()
    render_unit(
        out, "log:witnesses", tlog.digest(body), lambda: _put(out, "log/witnesses.json", body)
    )


def _put(out: FileSink, rel: str, body: bytes) -> None:
    out[rel] = body


# Witnesses that did not answer are asked again after this many seconds (not at every tick).
RETRY_SECONDS = 60.0
_failed_at: dict[str, float] = {}


def _who(w: tlog.Witness) -> str:
    return f"{w.verifier.vkey} {w.url}"


def cosign_pending(session: Session, settings: Settings) -> int:
    """Asks each configured witness that has not cosigned the newest committed checkpoint
    (one that failed is asked again after `RETRY_SECONDS`); stores the cosignatures and, when
    there are new ones, records that publication is due so that the next build publishes them
    and anchors what the checkpoint holds. Returns how many were added. The caller commits."""
    import time

    from app.events import publication_due

    witnesses = tlog.configured_witnesses(settings)
    latest = tlog.latest_checkpoint(session)
    if not witnesses or latest is None:
        return 0
    have = {c.witness for c in tlog.cosignatures(session, latest.size)}
    now = time.monotonic()
    due = [
        w
        for w in witnesses
        if w.verifier.name not in have
        and now - _failed_at.get(_who(w), -RETRY_SECONDS) >= RETRY_SECONDS
    ]
    if not due:
        return 0
    tree = tlog.tree(session)
    added = 0
    for w in due:
        problem = tlog.ask_witness(
            session, latest, w, tree, timeout=settings.witness_timeout_seconds
        )
        if problem is None:
            added += 1
            _failed_at.pop(_who(w), None)
        else:
            log.warning("%s", problem)
            _failed_at[_who(w)] = now
    if added:
        publication_due(session, "time:witnesses")
    return added


DRAW_KINDS = ("draw", "sealed", "reveal", "failed_attempt", "draw_superseded")


def proofs_file(kind: str, ref: str) -> str | None:
    """Where the inclusion proofs of a leaf are published: `log/proofs/draws/{id}.json` for the
    leaves of a draw, `log/proofs/results/page-{n}.json` for those of the results on page n
    (as the site pages results); None for plan versions (their file carries them) and the
    audit chain heads (read from the log itself)."""
    if kind in DRAW_KINDS:
        return f"log/proofs/draws/{ref}.json"
    if kind == "replacement":  # ref DRAW/SEQ: with the draw's other leaves
        return f"log/proofs/draws/{ref.rsplit('/', 1)[0]}.json"
    if kind == "result_version":
        result_id = int(ref.split("/", 1)[0])
        return f"log/proofs/results/page-{(result_id - 1) // RESULTS_PER_PAGE + 1}.json"
    return None


Grouped = list[tuple[int, str, str, int | None]]


def _render_proofs(out: FileSink, pub: Published) -> None:
    """Each draw's and each results page's leaves with their inclusion proofs to the checkpoint
    that anchors them (and that checkpoint with its cosignatures): one file per draw or page,
    rendered again only when one of its leaves is added or anchored."""
    groups: dict[str, Grouped] = {}
    for idx, kind, ref in pub.leaves:
        path = proofs_file(kind, ref)
        if path is None:
            continue
        pos = bisect.bisect_right(pub.anchors, idx)
        anchor = pub.anchors[pos] if pos < len(pub.anchors) else None
        groups.setdefault(path, []).append((idx, kind, ref, anchor))
    by_size = {c.size: c for c in pub.checkpoints}

    def served(size: int) -> str:
        return served_checkpoint(by_size[size], pub.cosigs.get(size, [])).decode()

    for path, leaves in groups.items():

        def render(path: str = path, leaves: Grouped = leaves) -> None:
            listed = []
            checkpoints: dict[str, str] = {}
            for idx, kind, ref, anchor in leaves:
                item: dict[str, Any] = {"kind": kind, "ref": ref, "index": idx}
                if anchor is not None:
                    proof = pub.tree.inclusion_proof(idx, anchor)
                    item["checkpoint"] = anchor
                    item["proof"] = [base64.b64encode(h).decode() for h in proof]
                    checkpoints[str(anchor)] = served(anchor)
                listed.append(item)
            body = {
                "schema_version": "1",
                "kind": "log_proofs",
                "leaves": listed,
                "checkpoints": checkpoints,
            }
            out[path] = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

        notes = sorted({a: tlog.digest(served(a).encode()) for *_, a in leaves if a}.items())
        render_unit(out, f"log:{path}", tlog.digest(repr((leaves, notes)).encode()), render)
