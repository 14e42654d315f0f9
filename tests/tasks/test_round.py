"""One whole round through the API: plan → publish → draw → teams → results → approve →
follow-up → revision → weekly report XLSX (on SQLite and PostgreSQL)."""

import io
from decimal import Decimal

from openpyxl import load_workbook

from app.clock import today_local
from app.regions import region_label
from tests.entropy import post_draw
from tests.plans.conftest import published
from tests.rounds import approver


def _inspector(make_token, task):
    """Headers of the task's 组长, by their own token."""
    leader = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    return make_token("inspector", badge=leader, name=f"insp-{leader}")


def test_whole_round_through_the_api(client, city, make_token):
    sup = city
    today = today_local().isoformat()

    # plan → publish → draw (teams drawn with it)
    code = published(client, sup, ratio=0.1)
    draw = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": "2-7-1-8-0-0"}
    )
    assert draw.status_code == 201, draw.text
    tasks = draw.json()["tasks"]
    assert len(tasks) >= 5
    for t in tasks:
        assert len(t["team"]) >= 2
    t1, t2, t3, t4, t5 = tasks[:5]

    # an inspector who is not on the team cannot enter the result
    outsider_badge = next(
        f"3704{n:010d}"
        for n in range(24)
        if f"3704{n:010d}" not in {m["badge"] for m in t1["team"]}
    )
    outsider = make_token("inspector", badge=outsider_badge, name="outsider")
    body1 = {
        "outcome": "发现问题已责令改正",
        "decided_on": today,
        "findings": "串换诊疗项目 3 例",
        "measures": [
            {"kind": "约谈"},
            {"kind": "行政处罚", "fine_amount": "5000.00"},
            {"kind": "限期整改"},
        ],
        "recovered_amount": "12345.67",
    }
    r = client.put(f"/api/v1/tasks/{t1['id']}/result", headers=outsider, json=body1)
    assert r.status_code == 404, r.text

    # results by the inspectors' own tokens
    results = {
        t1["id"]: body1,
        t2["id"]: {"outcome": "未发现问题", "decided_on": today},
        t3["id"]: {
            "outcome": "发现问题待后续处理",
            "decided_on": today,
            "findings": "疑似虚假住院，待进一步核查",
            "measures": [{"kind": "暂停医保服务"}, {"kind": "责令改正"}],
            "recovered_amount": "100000.00",
        },
        t4["id"]: {"outcome": "未检查（停业、注销等）", "decided_on": today, "findings": "已停业"},
        t5["id"]: {
            "outcome": "不配合检查情节严重",
            "decided_on": today,
            "findings": "拒绝提供病历",
            "measures": [{"kind": "解除服务协议"}, {"kind": "移送公安"}],
        },
    }
    for t in (t1, t2, t3, t4, t5):
        r = client.put(
            f"/api/v1/tasks/{t['id']}/result",
            headers=_inspector(make_token, t),
            json=results[t["id"]],
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1
        assert client.get(f"/api/v1/tasks/{t['id']}", headers=sup).json()["status"] == "inspected"
    # not approved yet → nothing in the report
    empty = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": today, "to": today}
    ).json()
    assert empty["rows"][-1]["inspected_units"] == 0

    # approval by a supervisor (inspectors may not approve)
    r = client.post(f"/api/v1/tasks/{t1['id']}/result/approve", headers=_inspector(make_token, t1))
    assert r.status_code == 403
    for t in (t1, t2, t3, t4, t5):
        r = client.post(f"/api/v1/tasks/{t['id']}/result/approve", headers=approver(client))
        assert r.status_code == 200, r.text
        assert r.json()["published_at"] is None
    status = {
        t["id"]: client.get(f"/api/v1/tasks/{t['id']}", headers=sup).json()["status"]
        for t in (t1, t2, t3, t4, t5)
    }
    assert status[t3["id"]] == "pending_measures"
    assert {status[t["id"]] for t in (t1, t2, t4, t5)} == {"closed"}
    # a closed task takes no further results
    r = client.put(f"/api/v1/tasks/{t2['id']}/result", headers=sup, json=results[t2["id"]])
    assert r.status_code == 409

    # follow-up (回头看) of t3 with the same team, entered by its own inspector
    r = client.post(
        f"/api/v1/tasks/{t3['id']}/follow-ups", headers=sup, json={"reason": "核查整改落实情况"}
    )
    assert r.status_code == 201, r.text
    follow = r.json()
    assert follow["parent_task_id"] == t3["id"] and follow["draw_id"] is None
    assert follow["team"] == t3["team"] and follow["status"] == "to_inspect"
    r = client.put(
        f"/api/v1/tasks/{follow['id']}/result",
        headers=_inspector(make_token, t3),
        json={
            "outcome": "发现问题已责令改正",
            "decided_on": today,
            "findings": "整改未落实",
            "measures": [{"kind": "解除服务协议"}],
            "recovered_amount": "0.33",
        },
    )
    assert r.status_code == 200, r.text
    assert (
        client.post(
            f"/api/v1/tasks/{follow['id']}/result/approve", headers=approver(client)
        ).status_code
        == 200
    )

    # the 待后续处理 result is revised after the follow-up; both versions are kept
    revised = {**results[t3["id"]], "outcome": "发现问题已责令改正", "findings": "经回头看查实"}
    r = client.put(
        f"/api/v1/tasks/{t3['id']}/result", headers=_inspector(make_token, t3), json=revised
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    view = client.get(f"/api/v1/tasks/{t3['id']}/result", headers=sup).json()
    assert view["approved"]["outcome"] == "发现问题待后续处理"  # still the public one
    assert view["pending"]["version"] == 2 and len(view["versions"]) == 2
    assert (
        client.post(
            f"/api/v1/tasks/{t3['id']}/result/approve", headers=approver(client)
        ).status_code
        == 200
    )
    assert client.get(f"/api/v1/tasks/{t3['id']}", headers=sup).json()["status"] == "closed"
    events = client.get(f"/api/v1/tasks/{t3['id']}/events", headers=sup).json()["items"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("to_inspect", "inspected"),
        ("inspected", "pending_measures"),
        ("pending_measures", "pending_measures"),  # follow-up added
        ("pending_measures", "pending_measures"),  # revision submitted
        ("pending_measures", "closed"),
    ]
    assert events[0]["actor"].startswith("inspector:") and events[1]["actor"].startswith(
        "supervisor:"
    )

    # weekly report XLSX, opened with openpyxl
    r = client.get(
        "/api/v1/reports/weekly",
        headers=sup,
        params={"from": today, "to": today, "format": "xlsx"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    assert "周报表" in ws["A1"].value
    assert [ws.cell(row=3, column=c).value for c in (1, 2, 3, 8, 9)] == [
        "区（市）名称",
        "累计检查单位（家）",
        "累计处理方式（家）",
        "累计追回数额（万元）",
        "备注",
    ]
    assert [ws.cell(row=4, column=c).value for c in range(3, 8)] == [
        "约谈",
        "限期整改",
        "行政处罚",
        "暂停医保",
        "解除医保",
    ]
    rows = {}
    r_no = 5
    while ws.cell(row=r_no, column=1).value:
        rows[ws.cell(row=r_no, column=1).value] = [
            ws.cell(row=r_no, column=c).value for c in range(2, 10)
        ]
        r_no += 1

    # expected, computed from the results above per 医保区划
    expected = {}
    units = {t["id"]: (t["region"], t["uscc"]) for t in (t1, t2, t3, t4, t5)}
    for t in (t1, t2, t3, t4, t5):
        expected.setdefault(
            t["region"],
            {
                "units": set(),
                "talk": set(),
                "rect": set(),
                "pen": set(),
                "susp": set(),
                "term": set(),
                "yuan": Decimal(0),
            },
        )
    final = {**results, t3["id"]: revised}
    for tid, body in final.items():
        region, uscc = units[tid]
        e = expected[region]
        if body["outcome"] != "未检查（停业、注销等）":
            e["units"].add(uscc)
        kinds = {m["kind"] for m in body.get("measures", [])}
        for key, wanted in (
            ("talk", {"约谈"}),
            ("rect", {"责令改正", "限期整改"}),
            ("pen", {"行政处罚"}),
            ("susp", {"暂停医保服务"}),
            ("term", {"解除服务协议"}),
        ):
            if kinds & wanted:
                e[key].add(uscc)
        e["yuan"] += Decimal(body.get("recovered_amount", "0"))
    # the follow-up: same target and region as t3
    e = expected[t3["region"]]
    e["term"].add(t3["uscc"])
    e["yuan"] += Decimal("0.33")

    # 区（市）名称 shows the division's name with its code beside it (app/regions.py)
    assert set(rows) == {region_label(r) for r in expected} | {"合计"}
    assert all(region_label(r) != r for r in expected)  # the test's codes are GB/T 2260 ones
    for region, e in expected.items():
        got = rows[region_label(region)]
        assert got[:6] == [
            len(e["units"]),
            len(e["talk"]),
            len(e["rect"]),
            len(e["pen"]),
            len(e["susp"]),
            len(e["term"]),
        ], region
        assert Decimal(str(got[6])) == (e["yuan"] / 10000).quantize(Decimal("0.000001"))
    total = rows["合计"]
    assert total[0] == 4  # t4 was not inspected (停业)
    assert total[1:6] == [1, 2, 1, 1, 2]  # 约谈 t1; 限期整改 t1+t3; 处罚 t1; 暂停 t3; 解除 t5+t3
    assert Decimal(str(total[6])) == Decimal("11.2346")  # 112346.00 元 → 万元, exact to the 分
    assert "未检查（停业、注销等） 1 家" in total[7] and "移送公安 1 家" in total[7]
    assert "回头看 1 家" in total[7] and "罚款 5000.00 元" in total[7]

    # the same report as JSON agrees
    js = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": today, "to": today}
    ).json()
    assert js["rows"][-1]["region"] == "合计" and js["rows"][-1]["recovered_wan"] == "11.234600"
    assert js["rows"][-1]["rectifications"] == 2
