"""Attacks on publication time, as the operator with the database and every server key.

Clock set back: under a clock of 2023 the operator publishes a plan announcing a dice ceremony
of 2023 (long past), hoping to draw with entropy already known. The witnesses' clocks say when
they first saw the plan: after the ceremony — the draw is refused. The honest plan, published
before its entropy, draws. (Back-dated audit entries: tests/security/test_audit.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from app.config import get_settings
from app.db import make_sessionmaker
from app.publish.publisher import publish_now, publish_pending
from tests.entropy import dice_source, post_draw
from tests.plans.conftest import plan_body

SET_BACK = datetime(2023, 9, 15, 2, 50, tzinfo=UTC)  # 10:50 北京时间


def _publish(client, sup, db, settings, body) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/plans", headers=sup, json=body)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/plans/{body['code']}/publish", headers=sup)
    assert r.status_code == 200, r.text
    # The publisher job: log and checkpoint committed, then the witnesses asked, then built again.
    publish_now(make_sessionmaker(db), get_settings())


def test_clock_set_back_at_publication_the_draw_is_refused(
    client,
    city,
    db,
    settings,
    witnesses,
) -> None:
    past = dice_source(at=SET_BACK + timedelta(minutes=10))
    with time_machine.travel(SET_BACK, tick=True):
        _publish(client, city, db, settings, plan_body(code="BACK-1", entropy_source=past))
    r = client.post("/api/v1/plans/BACK-1/draw", headers=city, json={"entropy": "3-1-4-1-5-9"})
    assert r.status_code == 409, r.text
    assert "见证人联署" in r.json()["detail"] and "拒绝抽取" in r.json()["detail"]

    # The same service, honestly: published (and cosigned) before the ceremony → drawn.
    _publish(client, city, db, settings, plan_body(code="HONEST-1"))
    r = post_draw(
        client, "/api/v1/plans/HONEST-1/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 201, r.text


def test_a_plan_nobody_cosigned_is_not_drawn(client, city, db, settings, witnesses) -> None:
    for w in witnesses:
        w.stop()  # every witness down: publication waits, and says so
    _publish(client, city, db, settings, plan_body(code="ALONE-1"))
    r = post_draw(
        client, "/api/v1/plans/ALONE-1/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 409 and "尚未经" in r.json()["detail"], r.text
    # The console says so.
    from app.tlog.service import witness_notice

    with make_sessionmaker(db)() as s:
        notice = witness_notice(s, get_settings())
        assert notice is not None and "未达法定数 2" in notice


def _verify(capsys, path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from app.cli import main

    code = main(["verify", str(path)])
    return code, capsys.readouterr().out


def _stdlib_verify(path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.tlog.conftest import ROOT

    out = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "verify_draw.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out.returncode, out.stdout + out.stderr


NODE_CHECK = """
const fs = require("fs"), path = require("path");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
const site = process.argv[2], draw = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const plan = JSON.parse(fs.readFileSync(path.join(site, "plans", draw.plan + ".json"), "utf8"));
const out = [];
window.SpotcheckVerify.checkPublicationLog(draw, plan, async (rel) => {
  const p = path.join(site, "log", rel);
  return fs.existsSync(p) ? new Uint8Array(fs.readFileSync(p)) : null;
}, (label, ok, detail) => out.push({ label, ok, detail })).then(() => console.log(JSON.stringify(out)));
"""


def _js_verify(site, draw_file) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The browser verifier's log check (app/publish/static/verify.js) under node."""
    import json
    import subprocess

    from tests.tlog.conftest import ROOT

    out = subprocess.run(
        [
            "node",
            "-e",
            NODE_CHECK,
            str(ROOT / "app/publish/static/verify.js"),
            str(site),
            str(draw_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    checks: list[dict[str, object]] = json.loads(out.stdout)
    return checks


def test_verifiers_refuse_a_draw_whose_plan_was_published_after_its_entropy(
    client, city, db, settings, witnesses, monkeypatch, capsys
) -> None:
    """The operator also switches the server's check off for the draw (quorum 0) and on
    again: the published files still show that the witnesses first saw the plan after the
    ceremony — both verifiers say invalid, with the reason."""
    past = dice_source(at=SET_BACK + timedelta(minutes=10))
    with time_machine.travel(SET_BACK, tick=True):
        _publish(client, city, db, settings, plan_body(code="BACK-2", entropy_source=past))
    monkeypatch.setenv("SPOTCHECK_WITNESS_QUORUM", "0")
    get_settings.cache_clear()
    r = client.post("/api/v1/plans/BACK-2/draw", headers=city, json={"entropy": "3-1-4-1-5-9"})
    assert r.status_code == 201, r.text
    monkeypatch.setenv("SPOTCHECK_WITNESS_QUORUM", "2")
    get_settings.cache_clear()
    with make_sessionmaker(db)() as s:
        publish_pending(s, settings.publish_dir, full=True)
        s.commit()
    draw_file = settings.publish_dir / "draws" / f"{r.json()['id']}.json"
    code, out = _verify(capsys, draw_file)
    assert code == 1 and "不晚于见证人联署" in out, out
    code, out = _stdlib_verify(draw_file)
    assert code == 1 and "不晚于见证人联署" in out, out
    [check] = _js_verify(settings.publish_dir.resolve(), draw_file)
    assert check["ok"] is False and "不晚于见证人联署" in str(check["detail"]), check


def test_verifiers_accept_the_honest_draw_and_refuse_a_rewritten_plan_file(
    client, city, db, settings, witnesses, capsys
) -> None:
    import json

    _publish(client, city, db, settings, plan_body(code="HONEST-2"))
    r = post_draw(
        client, "/api/v1/plans/HONEST-2/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 201, r.text
    with make_sessionmaker(db)() as s:
        publish_pending(s, settings.publish_dir)
        s.commit()
    site = settings.publish_dir.resolve()
    draw_file = site / "draws" / f"{r.json()['id']}.json"
    code, out = _verify(capsys, draw_file)
    assert code == 0, out
    code, out = _stdlib_verify(draw_file)
    assert code == 0, out
    [check] = _js_verify(site, draw_file)
    assert check["ok"] is True and "3 位见证人联署（法定数 2）" in str(check["detail"]), check

    # A forger back-dates the plan version's publication in plans/HONEST-2.json (everything
    # else consistent): the logged leaf no longer matches.
    plan_file = site / "plans" / "HONEST-2.json"
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    plan["versions"][-1]["published_at"] = "2026-01-01T00:00:00+00:00"
    plan_file.unlink()  # a hard link shared with older generations: write a new file
    plan_file.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    code, out = _verify(capsys, draw_file)
    assert code == 1 and "计划在公布后被改写" in out, out
    code, out = _stdlib_verify(draw_file)
    assert code == 1 and "计划在公布后被改写" in out, out
    [check] = _js_verify(site, draw_file)
    assert check["ok"] is False and "计划在公布后被改写" in str(check["detail"]), check
