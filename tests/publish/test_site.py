"""The public site: sections, JSON, downloads, withholding rules, escaping, atomic swaps."""

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from app.clock import local_date
from app.db import make_sessionmaker
from app.keys import plan_secret
from app.models import Plan
from app.publish.charts import coverage_svg
from app.publish.formats import csv_bytes, neutralise
from app.publish.write import KEEP_GENERATIONS, build_site, publish, write_site
from app.spreadsheets import xlsx_bytes
from tests.publish.conftest import (
    FORMULA,
    XSS,
    create_and_publish,
    draw,
    published_results,
    site_files,
)
from tests.rounds import approver

ROOT = Path(__file__).resolve().parents[2]


def test_draw_publishes_the_site_automatically_with_every_section(client, pub_city, settings):
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    files = site_files(settings.publish_dir)
    for page in (
        "index",
        "items/index",
        "plans/index",
        "plans/PUB-1",
        "tasks/index",
        "results/index",
        f"draws/{d['id']}",
    ):
        assert f"{page}.html" in files and f"{page}.json" in files, page
        assert json.loads(files[f"{page}.json"])["schema_version"] == "1"
    for name in (
        "feed.atom",
        "items/items.csv",
        "items/items.xlsx",
        f"draws/{d['id']}.tasks.csv",
        f"draws/{d['id']}.tasks.xlsx",
        f"draws/{d['id']}/verify.html",
        f"draws/{d['id']}/check.html",
        "static/verify.js",
        "downloads/verify_draw.py",
    ):
        assert name in files, name
    published = json.loads(files[f"draws/{d['id']}.json"])
    assert {
        k: v for k, v in published.items() if k not in ("superseded_at", "superseded_reason")
    } == d
    population = files[f"draws/{d['id']}.population.csv"]
    assert hashlib.sha256(population).hexdigest() == d["population_sha256"]
    feed = files["feed.atom"].decode()
    assert "PUB-1" in feed and d["id"] in feed


def test_published_draw_passes_the_standalone_verifier(client, pub_city, settings):
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    folder = settings.publish_dir.resolve() / "draws"
    ok = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "verify_draw.py"), str(folder / f"{d['id']}.json")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_the_downloads_page_followed_literally_verifies_a_draw(
    client, pub_city, settings, tmp_path
):
    """Issue #24: following the downloads page (draw JSON and population file only) ended
    验证未完成 (no plan file) — now the page lists every file and a folder of them, verified
    with one command, prints 验证通过; the stdlib verifier and `spotcheck verify` agree."""
    import re

    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    assert d["algorithm"] == "spotcheck-draw/3"
    root = settings.publish_dir.resolve()
    page = (root / "downloads" / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r"<li><code>([a-z]+/[^<]+)</code>", page)
    listed += re.findall(r"与 <code>(draws/[^<]+)</code>", page)
    assert {"draws/编号.json", "plans/计划编号.json", "draws/编号.tasks.csv"} <= set(listed), listed
    folder = tmp_path / "下载的文件"
    folder.mkdir()
    for pattern in listed:
        name = pattern.replace("编号", d["id"], 1) if "计划编号" not in pattern else pattern
        name = name.replace("计划编号", d["plan"])
        source = root / name
        if source.exists():  # the sealed record only when there is one
            (folder / source.name).write_bytes(source.read_bytes())
    assert len(list(folder.iterdir())) == 6  # with the /3 inspector frame
    for command in (
        [sys.executable, str(ROOT / "docs" / "verify_draw.py"), str(folder)],
        [sys.executable, "-m", "app.cli", "verify", str(folder)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0 and "验证通过" in done.stdout, done.stdout + done.stderr
    # one byte of the published task list changed: both refuse it
    csv_path = folder / f"{d['id']}.tasks.csv"
    first = f"{d['id']}-00001,".encode()
    assert first in csv_path.read_bytes()
    csv_path.write_bytes(csv_path.read_bytes().replace(first, first.replace(b"1,", b"9,"), 1))
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "verify_draw.py"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "CSV" in done.stdout, done.stdout


def test_never_published_drafts_secrets_open_window_tasks_or_inspector_details(
    client, pub_city, settings, session
):
    body = create_and_publish(client, pub_city, code="SECRET-1")
    assert (
        client.post(
            "/api/v1/plans",
            headers=pub_city,
            json={**__import__("tests.publish.conftest", fromlist=["x"]).site_plan(code="DRAFT-1")},
        ).status_code
        == 201
    )
    hidden = create_and_publish(client, pub_city, code="HIDDEN-1", publish_tasks="after_window")
    dh = draw(client, pub_city, "HIDDEN-1")
    # The database holds only nonces; the secret needs the server key (app/keys.py).
    secrets = {
        p.code: plan_secret(p.code, p.secret_nonce)
        for p in session.scalars(select(Plan))
        if p.secret_nonce
    }
    blob = b"\n".join(site_files(settings.publish_dir).values()).decode("utf-8", "replace")
    assert body["commitment"] in blob
    assert secrets["SECRET-1"] not in blob  # published, not drawn: commitment only
    assert "DRAFT-1" not in blob
    assert hidden["commitment"] in blob
    for t in dh["tasks"]:
        assert t["uscc"] not in blob and t["ticket"] not in blob
    assert dh["seed"] not in blob and dh["seed_inputs"]["secret"] not in blob
    withheld = json.loads(site_files(settings.publish_dir)[f"draws/{dh['id']}.json"])
    assert withheld["tasks_withheld"] is True and withheld["tasks_public_from"] == "2027-01-01"
    assert "0538-1234567" not in blob  # target phone numbers stay in the registry
    # after the window (Asia/Shanghai date) the task list goes public
    with make_sessionmaker(session.get_bind())() as s:
        publish(s, settings.publish_dir, now=datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    files = site_files(settings.publish_dir)
    assert json.loads(files[f"draws/{dh['id']}.json"])["tasks"] == dh["tasks"]


def test_window_closes_by_shanghai_date_not_utc(client, pub_city, settings, session):
    create_and_publish(client, pub_city, code="HIDDEN-2", publish_tasks="after_window")
    dh = draw(client, pub_city, "HIDDEN-2")
    with make_sessionmaker(session.get_bind())() as s:
        publish(s, settings.publish_dir, now=datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert "tasks" not in json.loads(site_files(settings.publish_dir)[f"draws/{dh['id']}.json"])


def test_superseded_draw_stays_published_marked_void_with_reason(client, pub_city, settings):
    create_and_publish(client, pub_city)
    old = draw(client, pub_city, "PUB-1")
    r = client.post(
        "/api/v1/plans/PUB-1/adjustments",
        headers=pub_city,
        json={"reason": "名录更正后重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    files = site_files(settings.publish_dir)
    page = files[f"draws/{old['id']}.html"].decode()
    assert "已作废" in page and "名录更正后重新抽取" in page
    assert json.loads(files[f"draws/{old['id']}.json"])["status"] == "superseded"
    plan_page = files["plans/PUB-1.html"].decode()
    assert "计划调整" in plan_page and "名录更正后重新抽取" in plan_page
    # each version names its leaf of the public log and the checkpoint that holds it
    first = json.loads(files["plans/PUB-1.json"])["versions"][0]["log"]
    assert f"第 {first['index'] + 1} 条" in plan_page
    assert f'href="../log/checkpoints/{first["checkpoint"]}"' in plan_page
    assert f"log/checkpoints/{first['checkpoint']}" in files
    # the fresh commitment of the redraw is public, its secret is not
    new_commitment = r.json()["commitment"]
    assert new_commitment in plan_page and r.json()["secret"] is None


def test_hostile_text_is_escaped_and_downloads_are_formula_safe(client, pub_city, settings):
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    files = site_files(settings.publish_dir)
    page = files[f"draws/{d['id']}.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;医院" in page
    assert "<script>alert" not in page
    for name, data in files.items():
        if name.endswith((".html", ".atom")):
            assert b"<script>alert" not in data, name
    rows = list(csv.reader(io.StringIO(files["items/items.csv"].decode("utf-8-sig"))))
    assert rows[2][1] == "'" + FORMULA
    tasks = list(csv.reader(io.StringIO(files[f"draws/{d['id']}.tasks.csv"].decode("utf-8-sig"))))
    assert tasks[1][1].startswith(XSS)
    wb = openpyxl.load_workbook(io.BytesIO(files["items/items.xlsx"]))
    cell = wb.active.cell(row=3, column=2)
    assert cell.value == FORMULA and cell.data_type == "s"


def test_csv_and_xlsx_helpers():
    assert neutralise("=1+1") == "'=1+1" and neutralise("-2") == "'-2" and neutralise("@x") == "'@x"
    assert neutralise("医院") == "医院"
    text = csv_bytes(["a", "b"], [['x,"y"', "+cmd"]]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ['x,"y"', "'+cmd"]]
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_bytes("表", ["名称", "数"], [["=A1", 3.5]]))).active
    assert ws["A2"].value == "=A1" and ws["A2"].data_type == "s" and ws["B2"].value == 3.5


ODD_TEXTS = [
    "a & b <c>",
    "  leading and trailing  ",
    "nul\x00inside",
    "bell\x07gone",
    "=SUM(A1)",
    "",
]


def _sheet_values(data: bytes) -> list[list[object]]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_xlsx_column_path_and_cell_path_read_back_the_same():
    # Uniform columns take the shared-strings path; a ragged or mixed list goes cell by cell.
    rows = [[t, k, f"医院{k % 3}", 0.05 * k, None] for k, t in enumerate(ODD_TEXTS * 3)]
    expected = [
        [t.replace("\x00", "").replace("\x07", "") or None, k, f"医院{k % 3}", 0.05 * k, None]
        for k, t in enumerate(ODD_TEXTS * 3)
    ]
    uniform = xlsx_bytes("表", ["文本", "号", "名称", "概率", "空"], rows)
    assert _sheet_values(uniform)[1:] == expected
    assert b"xl/sharedStrings.xml" in uniform
    mixed = [*rows, ["x", "not a number", "y", 1.0, None]]  # column 2 mixes ints and text
    assert _sheet_values(xlsx_bytes("表", ["文本", "号", "名称", "概率", "空"], mixed))[1:] == [
        *expected,
        ["x", "not a number", "y", 1.0, None],
    ]
    # the same data gives the same bytes (published files are reproducible)
    assert uniform == xlsx_bytes("表", ["文本", "号", "名称", "概率", "空"], rows)


def test_csv_column_path_neutralises_formulas_only_where_they_start_a_cell():
    rows = [["ok-1", "=HYPERLINK()", 3], ["a=b", "-5", None], ["x", "%y", 0.5]]
    text = csv_bytes(["a", "b", "c"], rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["a", "b", "c"],
        ["ok-1", "'=HYPERLINK()", "3"],
        ["a=b", "'-5", ""],
        ["x", "'%y", "0.5"],
    ]


def test_publishing_swaps_a_symlink_atomically_and_keeps_few_generations(tmp_path):
    target = tmp_path / "publish"
    target.mkdir()
    (target / "old.txt").write_text("plain directory from before")
    seen = []
    for n in range(5):
        write_site(target, {"index.html": f"v{n}".encode(), "a/b.json": b"{}"})
        assert target.is_symlink()
        seen.append(os.path.realpath(target))
        assert (target / "index.html").read_text() == f"v{n}"
    assert len(set(seen)) == 5
    gens = [p for p in (tmp_path / "publish.generations").iterdir() if p.is_dir()]
    manifests = [p for p in (tmp_path / "publish.generations").glob("*.manifest.json")]
    assert {m.name.removesuffix(".manifest.json") for m in manifests} <= {g.name for g in gens}
    # the current one, the KEEP_GENERATIONS before it, and one more the next build recycles
    assert len(gens) <= KEEP_GENERATIONS + 2
    assert not any(p.name.startswith(".building") for p in gens)


def test_failed_build_leaves_the_current_site_untouched(tmp_path):
    target = tmp_path / "publish"
    write_site(target, {"index.html": b"good"})
    with pytest.raises(ValueError):
        write_site(target, {"index.html": b"bad", "../escape.txt": b"x"})
    assert (target / "index.html").read_text() == "good"
    assert not (tmp_path / "escape.txt").exists()


def test_streamed_build_writes_as_it_goes_and_a_failure_midway_changes_nothing(tmp_path):
    target = tmp_path / "publish"
    write_site(target, {"index.html": b"good"})
    seen_on_disk = []

    def produce(sink):
        sink["a.html"] = b"first"
        # already in the generation being built, not in memory waiting for the end
        seen_on_disk.extend(
            p.name for p in (tmp_path / "publish.generations").glob(".building-*/*")
        )
        sink["b.html"] = b"second"
        raise RuntimeError("render failed halfway")

    with pytest.raises(RuntimeError):
        build_site(target, produce)
    assert seen_on_disk == ["a.html"]
    assert (target / "index.html").read_text() == "good" and not (target / "a.html").exists()
    gens = tmp_path / "publish.generations"
    assert not [p for p in gens.iterdir() if p.name.startswith(".building")]
    with pytest.raises(ValueError, match="两次"):
        build_site(
            target,
            lambda sink: [sink.__setitem__("x.html", b"1"), sink.__setitem__("x.html", b"2")],
        )
    assert (target / "index.html").read_text() == "good"


def test_public_mount_follows_the_swap(client, pub_city, settings):
    write_site(settings.publish_dir, {"index.html": b"<p>one</p>"})
    assert client.get("/public/").text == "<p>one</p>"
    write_site(settings.publish_dir, {"index.html": b"<p>two</p>"})
    assert client.get("/public/").text == "<p>two</p>"


def test_results_are_published_and_marked(client, pub_city, settings, session, make_token):
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    task = d["tasks"][0]
    today = local_date(datetime.now(UTC)).isoformat()
    body = {
        "outcome": "发现问题已责令改正",
        "decided_on": today,
        "findings": "串换诊疗项目 3 例",
        "measures": [{"kind": "约谈"}, {"kind": "行政处罚", "fine_amount": "5000.00"}],
        "recovered_amount": "12345.67",
    }
    r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=pub_city, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text
    with make_sessionmaker(session.get_bind())() as s:
        publish(s, settings.publish_dir)
    files = site_files(settings.publish_dir)
    results = published_results(files)
    assert [(x["task_id"], x["recovered_amount"], x["fine_amount"]) for x in results] == [
        (task["id"], "12345.67", "5000.00")
    ]
    assert "串换诊疗项目" in files["results/page-1.html"].decode()
    assert "串换诊疗项目" in files["results/index.html"].decode()  # among the newest
    assert "串换诊疗项目" in files["results/page-1.csv"].decode("utf-8-sig")
    assert "results/page-1.xlsx" in files
    schemas = {
        p.stem.removesuffix(".schema"): json.loads(p.read_text())
        for p in (ROOT / "docs" / "schemas").glob("*.schema.json")
    }
    assert _required_ok(schemas["results"], json.loads(files["results/index.json"]))
    assert _required_ok(schemas["results_page"], json.loads(files["results/page-1.json"]))
    from app.models.results import Result

    with make_sessionmaker(session.get_bind())() as s:
        assert s.scalars(select(Result.published_at)).one() is not None


SCHEMA_OF = {
    "index.json": "index",
    "items/index.json": "items",
    "plans/index.json": "plans",
    "plans/PUB-1.json": "plan",
    "tasks/index.json": "draws",
    "results/index.json": "results",
}


def _required_ok(schema: dict, doc: dict) -> bool:
    if "oneOf" in schema:
        return any(_required_ok(s, doc) for s in schema["oneOf"])
    return set(schema.get("required", [])) <= set(doc) and all(
        doc[k] == spec["const"]
        for k, spec in schema.get("properties", {}).items()
        if k in doc and isinstance(spec, dict) and "const" in spec
    )


def test_every_json_file_matches_its_schema_in_docs(client, pub_city, settings):
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    create_and_publish(client, pub_city, code="HIDDEN-3", publish_tasks="after_window")
    dh = draw(client, pub_city, "HIDDEN-3")
    files = site_files(settings.publish_dir)
    schemas = {
        p.stem.removesuffix(".schema"): json.loads(p.read_text())
        for p in (ROOT / "docs" / "schemas").glob("*.schema.json")
    }
    for name, kind in SCHEMA_OF.items():
        assert _required_ok(schemas[kind], json.loads(files[name])), name
    for draw_id in (d["id"], dh["id"]):
        assert _required_ok(schemas["draw"], json.loads(files[f"draws/{draw_id}.json"])), draw_id
    assert "schemas/draw.schema.json" in files


def test_coverage_svg_escapes_stratum_keys_and_draws_each_share():
    strata = [{"key": f"{XSS}|一级", "N": 40, "n": 2}, {"key": "药店|未定级", "N": 0, "n": 0}]
    svg = str(coverage_svg(strata, 0.05))
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;医院|一级" in svg
    assert "2/40（5.0%）" in svg and "0/0（0.0%）" in svg
    assert 'width="18.0"' in svg  # 360 px bar x 2/40
    assert svg.count("<g>") == 2 and svg.startswith("<svg") and svg.endswith("</svg>")


def test_population_csv_is_written_from_the_stored_gzip_piece_by_piece(tmp_path, monkeypatch):
    import gzip

    from app.publish.formats import GunzipFile

    text = "".join(
        f"91370100MA{k:08d},S{k % 7},定点医疗机构,,1.0,\n" for k in range(20000)
    ).encode()
    monkeypatch.setattr(GunzipFile, "PIECE", 1000)  # many pieces
    report = write_site(tmp_path / "pub", {"p.csv": GunzipFile(gzip.compress(text))})
    assert (tmp_path / "pub" / "p.csv").read_bytes() == text
    assert report.bytes == len(text)
    with pytest.raises(ValueError, match="不完整"):
        write_site(tmp_path / "pub2", {"p.csv": GunzipFile(gzip.compress(text)[:-20])})
    assert not (tmp_path / "pub2").exists()  # a failed build is never swapped in


def test_collect_reads_each_public_draw_only_when_it_is_rendered(client, pub_city, session):
    from app.publish import collect as collect_module
    from app.publish.render import render_into
    from app.publish.write import load_assets

    create_and_publish(client, pub_city, code="LAZY-1")
    create_and_publish(client, pub_city, code="LAZY-2")
    create_and_publish(client, pub_city, code="LAZY-3", publish_tasks="after_window")
    ids = [draw(client, pub_city, c)["id"] for c in ("LAZY-1", "LAZY-2", "LAZY-3")]
    data = collect_module.collect(session, now=datetime.now(UTC))
    by_id = {d.id: d for d in data.draws}
    # nothing heavy is held: no body, no population until a draw is rendered
    assert all(d.body is None and d.population_gz is None for d in data.draws)
    assert [by_id[i].public for i in ids] == [True, True, False]
    assert by_id[ids[2]].loader is None  # withheld: never read at all

    events: list[str] = []

    class Sink(dict):  # type: ignore[type-arg]
        def __setitem__(self, key: str, value: object) -> None:
            # (each /2 draw's sealed record, draws/{id}.sealed.json, is written beside it)
            if key.endswith(".json") and key.startswith("draws/") and ".sealed." not in key:
                events.append(f"wrote {key}")
            super().__setitem__(key, value)

    for d in data.draws:
        if d.loader is not None:
            load = d.loader
            d.loader = lambda load=load, i=d.id: (events.append(f"read {i}"), load())[1]
    render_into(Sink(), data, load_assets())
    # each draw is read just before its files are written, then the next one
    assert events[:4] == [
        f"read {ids[0]}",
        f"wrote draws/{ids[0]}.json",
        f"read {ids[1]}",
        f"wrote draws/{ids[1]}.json",
    ]
    assert f"read {ids[2]}" not in events


def test_a_draw_with_yearly_caps_is_published_explained_and_verifies(client, pub_city, settings):
    create_and_publish(client, pub_city, cooldown_days=0)
    first = draw(client, pub_city, "PUB-1")
    create_and_publish(
        client,
        pub_city,
        code="PUB-CAP",
        cooldown_days=0,
        ratio=1.0,
        yearly_caps={"A": 1},
        joint_departments=[],
        team={"size": 2},
    )
    d = draw(client, pub_city, "PUB-CAP", "2-2-4-6-0-0")
    assert sum(s["despite_cap"] for s in d["strata"]) > 0, "the floor should need capped units"
    files = site_files(settings.publish_dir)
    page = files[f"draws/{d['id']}.html"].decode()
    assert "已达年度上限补抽" in page and "A级 1 次" in page
    assert "已达年度上限补抽" not in files[f"draws/{first['id']}.html"].decode()
    folder = settings.publish_dir.resolve() / "draws"
    ok = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "verify_draw.py"), str(folder / f"{d['id']}.json")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "验证通过" in ok.stdout
