"""`spotcheck log verify`: a published log checks out; a rewritten plan file, an altered
entry, a removed checkpoint's entries, and a reader's remembered checkpoint that the log no
longer extends are each named."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import main
from app.db import make_sessionmaker
from app.publish.publisher import publish_pending
from tests.entropy import post_draw
from tests.plans.conftest import plan_body
from tests.rounds import approve


def _site(client, city, db, settings) -> Path:  # type: ignore[no-untyped-def]
    for code in ("LOG-1", "LOG-2"):
        r = client.post("/api/v1/plans", headers=city, json=plan_body(code=code))
        assert r.status_code == 201, r.text
        r = client.post(f"/api/v1/plans/{code}/publish", headers=city)
        assert r.status_code == 200, r.text
    r = post_draw(client, "/api/v1/plans/LOG-1/draw", headers=city, json={"entropy": "3-1-4-1-5-9"})
    assert r.status_code == 201, r.text
    approve(client, city, r.json()["tasks"][0]["id"])
    with make_sessionmaker(db)() as s:
        publish_pending(s, settings.publish_dir, full=True)
        s.commit()
    return settings.publish_dir.resolve()


NODE_REMEMBER = """
const fs = require("fs"), path = require("path");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
const site = process.argv[2], memory = JSON.parse(process.argv[3]), out = [];
window.SpotcheckVerify.checkRememberedLog(async (rel) => {
  const p = path.join(site, "log", rel);
  return fs.existsSync(p) ? new Uint8Array(fs.readFileSync(p)) : null;
}, { get: (o) => memory[o] || null, set: (o, v) => { memory[o] = v; } },
(label, ok, detail) => out.push({ ok, detail })).then(() => console.log(JSON.stringify({ out, memory })));
"""


def _browser_memory(site: Path, memory: dict[str, object]) -> dict[str, object]:
    """The browser verifier's memory of the log (verify.js checkRememberedLog) under node."""
    import subprocess

    from tests.tlog.conftest import ROOT

    verify_js = str(ROOT / "app/publish/static/verify.js")
    args = ["node", "-e", NODE_REMEMBER, verify_js, str(site), json.dumps(memory)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _run(capsys, *argv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(["log", "verify", *argv])
    return code, capsys.readouterr().out


def _rewrite(path: Path, data: bytes) -> None:
    path.unlink()  # hard-linked with older generations: a new file
    path.write_bytes(data)


def test_log_verify(client, city, db, settings, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    site = _site(client, city, db, settings)
    entries = b"".join(
        p.read_bytes() for p in sorted((site / "log/tile/entries").rglob("*")) if p.is_file()
    )
    for kind in (b'"plan_version"', b'"draw"', b'"result_version"', b'"audit_head"'):
        assert kind in entries
    # Every draw's and results page's leaves link their inclusion proofs to the checkpoint
    # that anchors them, carried beside them.
    _check_proof_files(site)

    state = tmp_path / "seen.json"
    code, out = _run(capsys, str(site), "--state", str(state))
    assert code == 0, out
    seen = json.loads(state.read_text())
    assert seen["size"] > 0

    # spotcheck verify remembers the log too, and names a log that no longer extends it.
    draw_file = next(p for p in (site / "draws").glob("*.json") if ".sealed" not in p.name)
    seen_by_verify = tmp_path / "verify-seen.json"
    assert main(["verify", str(draw_file), "--log-state", str(seen_by_verify)]) == 0
    assert json.loads(seen_by_verify.read_text())["size"] == seen["size"]
    seen_by_verify.write_text(json.dumps({"size": seen["size"], "root": "11" * 32}))
    assert main(["verify", str(draw_file), "--log-state", str(seen_by_verify)]) == 1
    assert "与上次核对时不同" in capsys.readouterr().out

    # The browser verifier remembers the log too (localStorage): first visit, then a visit to
    # a log that no longer holds what it saw.
    first = _browser_memory(site, {})
    [check] = first["out"]  # type: ignore[misc]
    assert check["ok"] is True and "首次" in check["detail"], first
    [(origin, mem)] = first["memory"].items()  # type: ignore[attr-defined]
    assert mem == {"size": seen["size"], "root": seen["root"]}
    again = _browser_memory(site, {origin: mem})
    assert again["out"][0]["ok"] is True  # type: ignore[index]
    forged = _browser_memory(site, {origin: {"size": seen["size"], "root": "00" * 32}})
    assert forged["out"][0]["ok"] is False and "删除或改写" in forged["out"][0]["detail"]  # type: ignore[index]

    # A reader who saw another tree of that size (equivocation) or a bigger one (rollback).
    forged_state = tmp_path / "forged.json"
    forged_state.write_text(json.dumps({"size": seen["size"], "root": "00" * 32}))
    code, out = _run(capsys, str(site), "--state", str(forged_state))
    assert code == 1 and "与上次核对时不同" in out, out
    forged_state.write_text(json.dumps({"size": seen["size"] + 5, "root": seen["root"]}))
    code, out = _run(capsys, str(site), "--state", str(forged_state))
    assert code == 1 and "记录被删除" in out, out

    # A rewritten plan file.
    plan_file = site / "plans" / "LOG-2.json"
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    original = plan_file.read_bytes()
    plan["versions"][-1]["commitment"] = "ab" * 32
    _rewrite(plan_file, json.dumps(plan, ensure_ascii=False).encode())
    code, out = _run(capsys, str(site))
    assert code == 1 and "公布后被改写" in out, out
    _rewrite(plan_file, original)
    assert _run(capsys, str(site))[0] == 0

    # A result removed from its page, or its outcome softened there.
    page_file = site / "results" / "page-1.json"
    original = page_file.read_bytes()
    page = json.loads(original)
    softened = json.loads(original)
    softened["results"][0]["outcome"] = "未发现问题"
    _rewrite(page_file, json.dumps(softened, ensure_ascii=False).encode())
    code, out = _run(capsys, str(site))
    assert code == 1 and "未经公开更正即被改写" in out, out
    page["results"] = []
    _rewrite(page_file, json.dumps(page, ensure_ascii=False).encode())
    code, out = _run(capsys, str(site))
    assert code == 1 and "被删除（result removed）" in out, out
    _rewrite(page_file, original)

    # An altered entry in the tiles (e.g. a result's outcome softened).
    bundle = next(p for p in (site / "log/tile/entries").rglob("*") if p.is_file())
    data = bundle.read_bytes()
    _rewrite(bundle, data.replace(b"\xe5\x8f\x91\xe7\x8e\xb0", b"\xe6\x9c\xaa\xe8\xa7\x81", 1))
    code, out = _run(capsys, str(site))
    assert code == 1 and "altered" in out, out


def test_audit_verify_against_the_heads_in_the_log(  # type: ignore[no-untyped-def]
    client, city, db, settings, monkeypatch, capsys
):
    """Every audit chain head the public log recorded must still be in the chain: a chain cut
    at its end (or rewritten from some point on) is caught from the witnessed log."""
    from sqlalchemy import delete, func, select

    from app.config import get_settings
    from app.models import AuditEntry

    site = _site(client, city, db, settings)
    if db.dialect.name != "sqlite":
        return  # the CLI reads SPOTCHECK_DATABASE_URL; one backend is enough here
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", db.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    assert main(["audit", "verify", "--log", str(site)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    with make_sessionmaker(db)() as s:  # the operator cuts the chain's end
        newest = s.scalar(select(func.max(AuditEntry.seq)))
        s.execute(delete(AuditEntry).where(AuditEntry.seq >= newest - 2))
        s.commit()
    assert main(["audit", "verify", "--log", str(site)]) == 1
    assert "published head missing" in capsys.readouterr().out
    get_settings.cache_clear()


def _check_proof_files(site: Path) -> None:
    import base64

    from app.tlog import note
    from app.tlog.merkle import leaf_hash, verify_inclusion
    from app.tlog.tiles import read_entries

    head = note.parse_checkpoint(note.parse_note((site / "log/checkpoint").read_bytes()).text)
    entries = read_entries(lambda rel: (site / "log" / rel).read_bytes(), head.size)
    files = sorted((site / "log/proofs").rglob("*.json"))
    assert {p.parent.name for p in files} == {"draws", "results"}
    kinds = set()
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for leaf in doc["leaves"]:
            kinds.add(leaf["kind"])
            cp = note.parse_checkpoint(
                note.parse_note(doc["checkpoints"][str(leaf["checkpoint"])].encode()).text
            )
            proof = [base64.b64decode(p) for p in leaf["proof"]]
            verify_inclusion(
                leaf_hash(entries[leaf["index"]]), leaf["index"], cp.size, proof, cp.root
            )
            assert json.loads(entries[leaf["index"]])["ref"] == leaf["ref"]
    assert {"draw", "result_version"} <= kinds
