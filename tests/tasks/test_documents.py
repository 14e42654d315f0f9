"""Inspection notice, results export, weekly report filters, evidence files."""

import csv
import hashlib
import io
from datetime import timedelta

from sqlalchemy import select

from app.clock import today_local
from app.db import make_sessionmaker
from app.models import Evidence, Target, Task
from tests.rounds import approver

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 100
PDF = b"%PDF-1.7\n" + b"2" * 100


def _leader(make_token, task):
    badge = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    return make_token("inspector", badge=badge, name=badge)


def _outsider(make_token, task):
    badges = {m["badge"] for m in task["team"]}
    badge = next(f"3704{n:010d}" for n in range(24) if f"3704{n:010d}" not in badges)
    return make_token("inspector", badge=badge, name="outsider")


def _enter_and_approve(client, sup, task_id, body):
    r = client.put(f"/api/v1/tasks/{task_id}/result", headers=sup, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task_id}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text


def test_notice_names_team_items_window_materials_and_escapes(client, drawn, db, make_token):
    _sup, draw = drawn
    task = draw["tasks"][0]
    with make_sessionmaker(db)() as s:
        target = s.get(Target, task["uscc"])
        target.name = "<script>alert(1)</script>医院"
        s.commit()
    r = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=_leader(make_token, task))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "检查通知书" in html and "@media print" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;医院" in html
    for m in task["team"]:
        assert m["badge"] in html and f"检查员{m['badge'][-3:]}" in html
    for code in draw["tasks"][0]["items"]:
        assert code in html and f"事项{code}" in html
    assert "《医疗保障基金使用监督管理条例》第十五条" in html  # 依据 of the items
    assert "2026-12-01" in html and "2026-12-31" in html
    assert "病历" in html and "医疗保障定点服务协议" in html  # materials for 现场检查
    assert (
        client.get(
            f"/api/v1/tasks/{task['id']}/notice", headers=_outsider(make_token, task)
        ).status_code
        == 404
    )


def test_results_export_csv_is_formula_safe(client, drawn, db):
    sup, draw = drawn
    t0, t1 = draw["tasks"][:2]
    with make_sessionmaker(db)() as s:
        # the export names the institution as drawn (task snapshot)
        s.get(Task, t0["id"]).name = '=HYPERLINK("http://evil","点我")'
        s.commit()
    today = today_local().isoformat()
    _enter_and_approve(client, sup, t0["id"], {"outcome": "未发现问题", "decided_on": today})
    # entered but not approved → not exported
    client.put(
        f"/api/v1/tasks/{t1['id']}/result",
        headers=sup,
        json={"outcome": "未发现问题", "decided_on": today},
    )
    r = client.get("/api/v1/results/export.csv", headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "统一社会信用代码",
        "企业名称",
        "检查实施机关",
        "检查类型",
        "检查日期",
        "检查结果",
    ]
    assert rows[1:] == [
        [
            t0["uscc"],
            "'" + '=HYPERLINK("http://evil","点我")',
            "某市医疗保障局",
            "“双随机、一公开”抽查",
            today,
            "未发现问题",
        ]
    ]
    later = (today_local() + timedelta(days=1)).isoformat()
    r = client.get("/api/v1/results/export.csv", headers=sup, params={"from": later})
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) == 1


def test_weekly_report_filters_by_region_prefix_and_dates(client, drawn):
    sup, draw = drawn
    today = today_local()
    by_region = {}
    for t in draw["tasks"]:
        by_region.setdefault(t["region"], t)
    assert len(by_region) == 2
    for t in by_region.values():
        _enter_and_approve(
            client,
            sup,
            t["id"],
            {
                "outcome": "发现问题已责令改正",
                "decided_on": today.isoformat(),
                "findings": "x",
                "measures": [{"kind": "约谈"}],
                "recovered_amount": "0.05",
            },
        )
    region = sorted(by_region)[0]
    params = {"from": today.isoformat(), "to": today.isoformat()}
    full = client.get("/api/v1/reports/weekly", headers=sup, params=params).json()
    assert [r["region"] for r in full["rows"]] == [*sorted(by_region), "合计"]
    assert full["rows"][-1]["inspected_units"] == 2 and full["rows"][-1]["talks"] == 2
    assert full["rows"][-1]["recovered_wan"] == "0.000010"  # 0.10 元 = 0.00001 万元, not hidden
    one = client.get(
        "/api/v1/reports/weekly", headers=sup, params={**params, "region": region}
    ).json()
    assert [r["region"] for r in one["rows"]] == [region, "合计"]
    assert one["rows"][-1]["inspected_units"] == 1
    before = (today - timedelta(days=7)).isoformat()
    old = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": before, "to": before}
    ).json()
    assert [(r["region"], r["inspected_units"], r["talks"]) for r in old["rows"]] == [
        ("合计", 0, 0)
    ]
    assert (
        client.get(
            "/api/v1/reports/weekly", headers=sup, params={"from": today.isoformat(), "to": before}
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/reports/weekly", headers=sup, params={**params, "region": "37%"}
        ).status_code
        == 422
    )


def test_evidence_content_addressed_checked_and_private(client, drawn, make_token, settings, db):
    sup, draw = drawn
    task = draw["tasks"][0]
    mine = _leader(make_token, task)
    url = f"/api/v1/tasks/{task['id']}/evidence"
    r = client.post(url, headers=mine, files={"file": ("现场照片.png", PNG)}, data={"note": "药房"})
    assert r.status_code == 201, r.text
    ev = r.json()
    sha = hashlib.sha256(PNG).hexdigest()
    assert ev["sha256"] == sha and ev["media_type"] == "image/png" and ev["size"] == len(PNG)
    stored = settings.evidence_dir / sha[:2] / sha
    assert stored.read_bytes() == PNG
    # the same file again → the existing record
    again = client.post(url, headers=sup, files={"file": ("copy.png", PNG)})
    assert again.status_code == 200 and again.json()["id"] == ev["id"]
    # type by magic bytes, not by name
    for name, body in (("a.jpg", JPEG), ("b.pdf", PDF)):
        assert client.post(url, headers=mine, files={"file": (name, body)}).status_code == 201
    r = client.post(url, headers=mine, files={"file": ("fake.png", b"GIF89a" + b"0" * 50)})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = client.post(url, headers=mine, files={"file": ("x.pdf", b"<html>%PDF-</html>")})
    assert r.status_code == 422
    assert client.post(url, headers=mine, files={"file": ("e.pdf", b"")}).status_code == 422
    # size limit (64 KiB in these tests' settings)
    big = PDF + b"0" * (settings.max_evidence_bytes)
    assert client.post(url, headers=mine, files={"file": ("big.pdf", big)}).status_code == 413
    assert not any(p.name.startswith(".upload-") for p in settings.evidence_dir.iterdir())
    # listing and download: team and supervisors only
    listed = client.get(url, headers=sup).json()["items"]
    assert [e["media_type"] for e in listed] == ["image/png", "image/jpeg", "application/pdf"]
    got = client.get(f"{url}/{sha}", headers=mine)
    assert got.status_code == 200 and got.content == PNG
    outsider = _outsider(make_token, task)
    assert client.get(url, headers=outsider).status_code == 404
    assert client.get(f"{url}/{sha}", headers=outsider).status_code == 404
    assert client.post(url, headers=outsider, files={"file": ("o.png", PNG)}).status_code == 404
    assert client.get(f"{url}/{'0' * 64}", headers=sup).status_code == 404
    assert client.get(f"{url}/..%2F..%2Fetc", headers=sup).status_code == 404
    with make_sessionmaker(db)() as s:
        assert len(s.scalars(select(Evidence)).all()) == 3
