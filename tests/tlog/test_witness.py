"""Witnesses: the protocol rules (consistency, rollback, equivocation, a wrong log key), and
real witness processes with their own clocks cosigning the service's checkpoints."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import LogLeaf
from app.tlog import note
from app.tlog import service as tlog
from app.tlog.merkle import Tree
from app.tlog.witness import Witness
from tests.tlog.conftest import WitnessProcess


def _request(old: int, proof: list[bytes], signed: bytes) -> bytes:
    head = f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof)
    return (head + "\n").encode() + signed


def _checkpoint(signer: note.Signer, tree: Tree, size: int) -> bytes:
    body = note.Checkpoint(signer.name, size, tree.root(size)).text
    return note.sign_note(body, signer).encode()


def test_witness_rules(tmp_path: Path) -> None:
    log = note.generate_signer("example.gov.cn/log")
    me = note.generate_signer("w.example.gov.cn", note.ALG_COSIGNATURE_V1)
    clock = [1_800_000_000]
    w = Witness(me, [log.verifier], tmp_path / "state.json", lambda: clock[0])
    tree = Tree()
    for i in range(9):
        tree.append(bytes([i]))

    first = w.add_checkpoint(_request(0, [], _checkpoint(log, tree, 5)))
    assert first.status == 200
    sig = note.parse_note(b"x\n\n" + first.body.encode()).signatures[0]
    body = note.Checkpoint(log.name, 5, tree.root(5)).text
    assert note.verify_cosignature(body, sig, me.verifier) == 1_800_000_000

    # Stale old size: 409 with the size it holds.
    stale = w.add_checkpoint(_request(0, [], _checkpoint(log, tree, 9)))
    assert (stale.status, stale.body, stale.content_type) == (409, "5\n", "text/x.tlog.size")
    # A rewritten log: a tree of 9 that does not extend the cosigned 5.
    forged = Tree()
    for i in range(9):
        forged.append(bytes([i + 1 if i == 2 else i]))
    bad = w.add_checkpoint(_request(5, forged.consistency_proof(5, 9), _checkpoint(log, forged, 9)))
    assert bad.status == 422 and "改写" in bad.body
    # Equivocation: another tree of the size it cosigned.
    other = w.add_checkpoint(_request(5, [], _checkpoint(log, forged, 5)))
    assert other.status == 422
    # Rollback: a smaller tree after a larger one.
    assert w.add_checkpoint(_request(5, [], _checkpoint(log, tree, 4))).status == 400
    # A checkpoint not signed by the log's key, an unknown log.
    stranger = note.generate_signer("example.gov.cn/log")
    assert w.add_checkpoint(_request(5, [], _checkpoint(stranger, tree, 9))).status == 403
    unknown = note.generate_signer("elsewhere.example/log")
    assert w.add_checkpoint(_request(0, [], _checkpoint(unknown, tree, 9))).status == 404
    # The honest extension is cosigned, with the witness's own (moved) clock.
    clock[0] += 3600
    ok = w.add_checkpoint(_request(5, tree.consistency_proof(5, 9), _checkpoint(log, tree, 9)))
    assert ok.status == 200
    sig = note.parse_note(b"x\n\n" + ok.body.encode()).signatures[0]
    body9 = note.Checkpoint(log.name, 9, tree.root()).text
    assert note.verify_cosignature(body9, sig, me.verifier) == 1_800_003_600


def test_separate_witness_processes_cosign_with_their_own_clocks(
    session: Session, log_key: note.Signer, witnesses: list[WitnessProcess]
) -> None:
    settings = get_settings()
    configured = tlog.configured_witnesses(settings)
    times = [1_790_000_000, 1_790_000_100, 1_790_000_050]
    for w, t in zip(witnesses, times, strict=True):
        w.set_clock(t)
    for i in range(3):
        tlog.append(session, "audit_head", {"seq": i + 1, "hash": f"{i:064x}"}, ref=str(i + 1))
    tree = tlog.tree(session)
    cp = tlog.sign_checkpoint(session, log_key, tree)
    assert cp is not None
    assert tlog.ask_witnesses(session, cp, configured, tree, timeout=5) == []
    sigs = tlog.cosignatures(session, cp.size)
    assert sorted(int(s.timestamp.timestamp()) for s in sigs) == sorted(times)
    # The quorum's time is the second earliest: two witnesses had seen it by then.
    anchor = tlog.anchor_of(session, 0, configured, 2)
    assert anchor is not None and anchor.at == datetime.fromtimestamp(1_790_000_050, UTC)

    # The log grows; one witness is down: the other two still make the quorum, and the
    # problem is said.
    witnesses[0].stop()
    tlog.append(session, "audit_head", {"seq": 4, "hash": "f" * 64}, ref="4")
    tree = tlog.tree(session)
    cp2 = tlog.sign_checkpoint(session, log_key, tree)
    assert cp2 is not None
    problems = tlog.ask_witnesses(session, cp2, configured, tree, timeout=5)
    assert len(problems) == 1 and witnesses[0].name in problems[0] and "无法访问" in problems[0]
    assert tlog.quorum_time(tlog.cosignatures(session, cp2.size), configured, 2) is not None

    # An operator that rewrites a logged leaf in its database and signs again: the witnesses
    # that cosigned the old tree refuse (the consistency proof fails).
    first = session.get(LogLeaf, 1)
    assert first is not None
    first.leaf_hash = "0" * 64
    session.flush()
    tlog.append(session, "audit_head", {"seq": 5, "hash": "e" * 64}, ref="5")
    tree = tlog.tree(session)
    cp3 = tlog.sign_checkpoint(session, log_key, tree)
    assert cp3 is not None
    problems = tlog.ask_witnesses(session, cp3, configured, tree, timeout=5)
    assert sum("拒绝联署" in p for p in problems) == 2, problems
    assert tlog.quorum_time(tlog.cosignatures(session, cp3.size), configured, 2) is None
    session.rollback()
