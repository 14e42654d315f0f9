"""A plan's versions side by side in the console: the fields an adjustment changed are marked."""

import re

from tests.console.conftest import sign_in
from tests.plans.conftest import published


def test_versions_side_by_side_mark_what_an_adjustment_changed(client, city, make_user):
    code = published(client, city)
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "标题更正", "changes": {"title": "2026年第四季度抽查（更正）"}},
    )
    assert r.status_code == 201, r.text
    make_user("jianguan")
    sign_in(client, "jianguan")
    html = client.get(f"/console/plans/{code}").text
    section = html.split('data-role="compare"')[1]
    changed = re.findall(r'data-role="changed"><th scope="row">([^<]+)</th>', section)
    assert changed == ["计划名称"]
    assert "2026年第四季度抽查（更正）" in section
    # in Chinese: settings by name, values in words, times in 北京时间 — no keys, JSON or UTC
    rows = re.findall(r'<th scope="row">([^<]+)</th>', section)
    assert {"抽取比例", "检查组", "随机源", "分层"} <= set(rows)
    assert not re.search(r"[{}\[\]]|entropy_source|scheduled_at|T\d\d:\d\d:\d\dZ", section)
    assert "北京时间" in section
    # any two versions: creation against the adjustment differs in the title as well
    html = client.get(f"/console/plans/{code}", params={"a": 1, "b": 3}).text
    assert "第 1 版（新建，" in html and "第 3 版（计划调整，" in html


def test_draft_edit_close_and_follow_up_in_the_console(client, drawn, make_user):
    import json

    from tests.console.conftest import csrf_of
    from tests.plans.conftest import plan_body
    from tests.rounds import approve

    sup, draw = drawn
    make_user("jianguan")
    sign_in(client, "jianguan")
    # a draft edited as JSON, through replace_draft (a widened scope would be refused)
    body = plan_body(code="2026-DRAFT")
    assert client.post("/api/v1/plans", headers=sup, json=body).status_code == 201
    page = client.get("/console/plans/2026-DRAFT")
    assert 'data-role="edit-draft"' in page.text
    token = csrf_of(page.text)
    edited = json.dumps({**body, "title": "草稿已修改"}, ensure_ascii=False)
    r = client.post("/console/plans/2026-DRAFT/edit", data={"csrf": token, "spec": edited})
    assert r.status_code == 200 and "草稿已修改" in r.text
    r = client.post("/console/plans/2026-DRAFT/edit", data={"csrf": token, "spec": "{"})
    assert r.status_code == 422 and "不是有效的 JSON" in r.text
    # a 回头看 of an approved task, then the drawn plan closed with a reason
    task = draw["tasks"][0]
    approve(client, sup, task["id"], outcome="发现问题待后续处理")
    page = client.get(f"/console/tasks/{task['id']}")
    assert 'data-role="follow-up"' in page.text
    r = client.post(
        f"/console/tasks/{task['id']}/follow-up",
        data={"csrf": csrf_of(page.text), "reason": "整改情况回头看"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"{task['id']}-F1")
    follow_ups = client.get(f"/api/v1/tasks/{task['id']}/follow-ups", headers=sup).json()
    assert [t["id"] for t in follow_ups["items"]] == [f"{task['id']}-F1"]
    page = client.get(f"/console/plans/{draw['plan']}")
    r = client.post(
        f"/console/plans/{draw['plan']}/close",
        data={"csrf": csrf_of(page.text), "reason": "抽查工作结束"},
    )
    assert r.status_code == 200, r.text
    assert 'data-role="plan-status">已结束<' in r.text  # not the task label "已办结"
    assert client.get(f"/api/v1/plans/{draw['plan']}", headers=sup).json()["status"] == "closed"
