"""verify.js checkPublicationLog (the browser's check of the plan version in the public log,
docs/transparency-log.md) under node, on the synthetic log of tests/draw/test_verifier_log.py:
the honest plan passes; each forgery fails with its reason. One node process runs every case;
tests/mutate_checks.py (verify-js) runs this file against each mutant."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.tlog import note
from tests.draw import test_verifier_log as synthetic

VERIFY_JS = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "verify.js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

RUN = """
const fs = require("fs");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
const { cases, remember } = JSON.parse(fs.readFileSync(0, "utf8"));
(async () => {
  const out = [];
  for (const c of cases) {
    const got = [];
    const files = Object.fromEntries(Object.entries(c.files).map(([k, v]) => [k, Uint8Array.from(Buffer.from(v, "base64"))]));
    await window.SpotcheckVerify.checkPublicationLog(c.draw, c.plan, async (rel) => files["log/" + rel] || null,
      (label, ok, detail) => got.push({ ok, detail }));
    out.push(got);
  }
  const memory = [];
  for (const m of remember) {
    const got = [];
    const files = Object.fromEntries(Object.entries(m.files).map(([k, v]) => [k, Uint8Array.from(Buffer.from(v, "base64"))]));
    const store = { get: () => m.seen, set: (o, value) => { m.seen = value; } };
    await window.SpotcheckVerify.checkRememberedLog(async (rel) => files["log/" + rel] || null, store,
      (label, ok, detail) => got.push({ ok, detail }));
    memory.push({ got, seen: m.seen });
  }
  console.log(JSON.stringify({ out, memory }));
})();
"""

LATE = int(synthetic.ENTROPY_AT.timestamp()) + 60


def _forge(change: Any, **site: Any) -> dict[str, Any]:
    draw, plan, files = synthetic._site(**site)
    version = plan["versions"][0]
    change(version["log"], version, files)
    return {
        "draw": draw,
        "plan": plan,
        "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
    }


CASES: list[tuple[str, dict[str, Any], bool | None, str]] = [
    ("honest", _forge(lambda link, ver, files: None), True, "3 位见证人联署"),
    ("quorum 0", _forge(lambda link, ver, files: None, quorum=0), True, "quorum 0"),
    (
        "rewritten",
        _forge(lambda link, ver, files: ver.update(commitment="ef" * 32)),
        False,
        "被改写",
    ),
    (
        "back-dated",
        _forge(lambda link, ver, f: ver.update(published_at="2026-01-01T00:00:00+00:00")),
        False,
        "被改写",
    ),
    (
        "wrong leaf",
        _forge(lambda link, ver, files: link.update(proof=link["proof"][:-1])),
        False,
        "包含证明",
    ),
    ("unanchored", _forge(lambda link, ver, files: link.pop("checkpoint")), False, "尚未收入"),
    ("bad link", _forge(lambda link, ver, files: link.update(index="1")), False, "格式错误"),
    (
        "other log key",
        _forge(
            lambda link, v, f: link.update(
                log_key=note.generate_signer(synthetic.LOG.name).verifier.vkey
            )
        ),
        False,
        "签名",
    ),
    ("below quorum", _forge(lambda link, ver, files: link.update(quorum=4)), False, "少于法定数"),
    (
        "clock set back",
        _forge(lambda link, v, f: None, times=(LATE, LATE + 1, LATE + 2)),
        False,
        "不晚于见证人联署",
    ),
    (
        "no entry",
        _forge(lambda link, ver, files: files.pop("log/tile/entries/000.p/3")),
        None,
        "找不到日志记录",
    ),
    (
        "no checkpoint",
        _forge(lambda link, ver, files: files.pop("log/checkpoint")),
        None,
        "找不到检查点",
    ),
    (
        "link removed",
        _forge(lambda link, ver, files: ver.pop("log")),
        False,
        "没有公开日志中的记录链接",
    ),
    (
        "site without a log",
        _forge(lambda link, ver, files: (ver.pop("log"), files.clear())),
        None,
        "",
    ),
]


def _files(change: Any = None) -> dict[str, str]:
    _draw, _plan, files = synthetic._site()
    if change is not None:
        change(files)
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


def _flip(files: dict[str, bytes]) -> None:
    tile = files["log/tile/0/000.p/3"]
    files["log/tile/0/000.p/3"] = bytes([tile[0] ^ 1]) + tile[1:]


SEEN = {"size": 2, "root": ""}  # filled with the real head of the first two leaves below
REMEMBER: list[tuple[str, dict[str, Any], bool | None, str]] = [
    ("first visit", {"files": _files(), "seen": None}, True, "首次"),
    ("extended", {"files": _files(), "seen": SEEN}, True, "上次查看时 2 条"),
    ("rewritten", {"files": _files(), "seen": {"size": 2, "root": "00" * 32}}, False, "删除或改写"),
    ("shrunk", {"files": _files(), "seen": {"size": 5, "root": "00" * 32}}, False, "缩小"),
    (
        "tile missing",
        {"files": _files(lambda f: f.pop("log/tile/0/000.p/3")), "seen": None},
        None,
        "瓦片缺失",
    ),
    ("tile altered", {"files": _files(_flip), "seen": None}, False, "不符"),
]


def test_every_case() -> None:
    from app.tlog.merkle import Tree

    _draw, _plan, files = synthetic._site()
    tile = files["log/tile/0/000.p/3"]
    SEEN["root"] = Tree([tile[:32], tile[32:64]]).root().hex()
    done = subprocess.run(
        ["node", "-e", RUN, str(VERIFY_JS)],
        input=json.dumps(
            {"cases": [c for _, c, _, _ in CASES], "remember": [m for _, m, _, _ in REMEMBER]}
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout)
    for (name, _m, ok, reason), got in zip(REMEMBER, answer["memory"], strict=True):
        assert len(got["got"]) == 1, (name, got)
        assert got["got"][0]["ok"] is ok and reason in got["got"][0]["detail"], (name, got)
        if ok:
            assert got["seen"]["size"] == 3, (name, got)
    results = answer["out"]
    for (name, _case, ok, reason), got in zip(CASES, results, strict=True):
        if name == "site without a log":
            assert got == [], (name, got)
            continue
        assert len(got) == 1, (name, got)
        assert got[0]["ok"] is ok and reason in got[0]["detail"], (name, got)
    assert datetime.fromtimestamp(LATE, UTC) > synthetic.ENTROPY_AT
