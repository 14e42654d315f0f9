"""docs/verify_draw.py, check_publication_log: the plan version in the public log, anchored by
the witnesses before its entropy (docs/transparency-log.md). Fast and pure: a log made here
with app/tlog, each forgery refused by its own reason, each note shown. Loaded through
draw_helpers, so that tests/draw/mutate_verifier.py runs it against each mutant."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from app.tlog import note
from app.tlog.merkle import Tree
from app.tlog.service import canonical, entry_bytes
from app.tlog.tiles import bundle
from tests.draw.draw_helpers import load_verifier

v = load_verifier()
ENTROPY_AT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
BEFORE = int(ENTROPY_AT.timestamp()) - 600
VERSION = {
    "version": 1,
    "kind": "publish",
    "reason": None,
    "commitment": "ab" * 32,
    "published_at": "2026-12-10T01:40:00+00:00",
    "algorithm": "spotcheck-draw/3",
    "frame_sha256": "cd" * 32,
    "entropy_source": {"kind": "dice", "scheduled_at": ENTROPY_AT.isoformat(), "count": 6},
    "spec": {"ratio": 0.05, "grade_rates": {"D": 1.0}},
}
LOG = note.generate_signer("example.gov.cn/log")
WITNESSES = [
    note.generate_signer(f"w{i}.example.gov.cn", note.ALG_COSIGNATURE_V1) for i in range(3)
]


def _site(
    *,
    times: tuple[int, ...] = (BEFORE, BEFORE + 60, BEFORE + 120),
    quorum: int = 2,
    version: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    """(draw, plan, log files) of a plan whose version 1 was logged (leaf 1 of 3)."""
    logged = {"plan": "P-1", **(version or VERSION)}
    tree = Tree()
    tree.append(entry_bytes("audit_head", "1", {"seq": 1, "hash": "0" * 64}))
    tree.append(entry_bytes("plan_version", "P-1/1", json_roundtrip(logged)))
    tree.append(entry_bytes("audit_head", "2", {"seq": 2, "hash": "1" * 64}))
    body = note.Checkpoint(LOG.name, 3, tree.root()).text
    signed = note.sign_note(body, LOG)
    cosigs = [note.cosign(body, w, t) for w, t in zip(WITNESSES, times, strict=False)]
    served = note.Note(signed.text, (*signed.signatures, *cosigs)).encode().decode()
    link = {
        "index": 1,
        "checkpoint": 3,
        "proof": [base64.b64encode(h).decode() for h in tree.inclusion_proof(1, 3)],
        "note": served,
        "log_key": LOG.verifier.vkey,
        "quorum": quorum,
        "witnesses": [w.verifier.vkey for w in WITNESSES],
    }
    plan = {"code": "P-1", "versions": [{**copy.deepcopy(VERSION), "log": link}]}
    draw = {"algorithm": "spotcheck-draw/3", "plan": "P-1", "plan_version": 1}
    entries = [entry_bytes("audit_head", "1", {"seq": 1, "hash": "0" * 64})]
    entries.append(entry_bytes("plan_version", "P-1/1", json_roundtrip(logged)))
    entries.append(entry_bytes("audit_head", "2", {"seq": 2, "hash": "1" * 64}))
    files = {
        "log/witnesses.json": b"{}",
        "log/checkpoint": served.encode(),
        "log/tile/entries/000.p/3": bundle(entries),
        "log/tile/0/000.p/3": b"".join(tree.levels[0]),
    }
    return draw, plan, files


def json_roundtrip(data: dict[str, Any]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = json.loads(canonical(data))
    return out


def _check(draw: dict[str, Any], plan: dict[str, Any] | None, files: dict[str, bytes]) -> Any:
    report = v.Report()
    v.check_publication_log(draw, plan, files.get, report)
    return report


def test_an_anchored_plan_version_passes_and_says_whose_keys() -> None:
    report = _check(*_site())
    assert report.problems == [] and report.not_checked == []
    assert any("见证人公钥" in n for n in report.notes)


def test_quorum_zero_is_said_not_failed() -> None:
    report = _check(*_site(quorum=0))
    assert report.problems == [] and any("quorum 0" in n for n in report.notes)


def test_a_site_without_a_log_is_said() -> None:
    draw, plan, _files = _site()
    del plan["versions"][0]["log"]
    report = _check(draw, plan, {})
    assert report.problems == [] and any("site without a log" in n for n in report.notes)
    report = _check(draw, plan, {"log/witnesses.json": b"{}"})  # the log exists: link removed
    assert any("plan version not in the log" in p for p in report.problems)


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda link, ver: ver.update(published_at="2026-12-01T00:00:00+00:00"), "被改写"),
        (lambda link, ver: ver.update(commitment="ef" * 32), "被改写"),
        (lambda link, ver: link.update(index=0), "被改写"),
        (lambda link, ver: link.update(proof=link["proof"][:-1]), "被改写"),
        (lambda link, ver: link.pop("checkpoint"), "尚未收入"),
        (
            lambda link, ver: link.update(log_key=note.generate_signer(LOG.name).verifier.vkey),
            "签名",
        ),
        (lambda link, ver: link.update(note=link["note"].replace("\n3\n", "\n4\n", 1)), "签名"),
        (lambda link, ver: link.update(quorum=4), "少于法定数"),
        (lambda link, ver: link.update(index="1"), "bad log link"),
        (lambda link, ver: link.update(note="x"), "格式错误"),
    ],
)
def test_forgeries(forge: Any, reason: str) -> None:
    draw, plan, files = _site()
    version = plan["versions"][0]
    forge(version["log"], version)
    report = _check(draw, plan, files)
    assert any(reason in p for p in report.problems), report.problems


def test_entropy_before_the_witnessed_time() -> None:
    late = int(ENTROPY_AT.timestamp()) + 60  # the clock set back at publication
    report = _check(*_site(times=(late, late + 1, late + 2)))
    assert any("不晚于见证人联署" in p for p in report.problems), report.problems
    # One early witness is not a quorum of two.
    report = _check(*_site(times=(BEFORE, late, late + 1)))
    assert any("不晚于见证人联署" in p for p in report.problems), report.problems


def test_a_checkpoint_missing_is_not_checked() -> None:
    draw, plan, files = _site()
    del plan["versions"][0]["log"]["note"]
    report = _check(draw, plan, files)
    assert any("checkpoint missing" in n for n in report.not_checked)


def test_an_unknown_entropy_time_fails() -> None:
    version = copy.deepcopy(VERSION)
    version["entropy_source"] = {"kind": "dice"}
    draw, plan, files = _site(version=version)
    plan["versions"][0].update({k: v for k, v in version.items()})
    report = _check(draw, plan, files)
    assert any("entropy time" in p for p in report.problems), report.problems


def test_ed25519_in_pure_python_agrees_with_cryptography() -> None:
    signer = note.generate_signer("k")
    message = b"spotcheck"
    sig = signer.key.sign(message)
    public = signer.verifier.public
    assert v.ed25519_verify(public, message, sig)
    assert not v.ed25519_verify(public, message + b"!", sig)
    assert not v.ed25519_verify(public, message, bytes([sig[0] ^ 1]) + sig[1:])
