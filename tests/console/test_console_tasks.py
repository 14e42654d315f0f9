"""Tasks and results in the console: nothing typed is lost, names stand beside codes, the
supervisor's list filters by plan, status and region and says how many there are."""

import re

from app.clock import today_local
from tests.console.conftest import csrf_of, sign_in


def _leader(task):
    return next(m["badge"] for m in task["team"] if m["role"] == "组长")


def test_a_fine_without_administrative_penalty_is_refused_not_dropped(client, drawn, make_user):
    sup, draw = drawn
    task = draw["tasks"][0]
    make_user("jian", role="inspector", badge=_leader(task))
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}")
    body = {
        "csrf": csrf_of(page.text),
        "outcome": "发现问题已责令改正",
        "decided_on": today_local().isoformat(),
        "findings": "串换诊疗项目 3 例",
        "measures": ["约谈"],
        "fine_amount": "5000",
        "recovered_amount": "",
    }
    r = client.post(f"/console/tasks/{task['id']}/result", data=body, follow_redirects=False)
    assert r.status_code == 422
    beside = re.search(r'data-field="fine_amount">([^<]+)<', r.text).group(1)
    assert "行政处罚" in beside
    assert 'value="5000"' in r.text  # what was typed is still in the form
    view = client.get(f"/api/v1/tasks/{task['id']}/result", headers=sup)
    assert view.status_code == 404 or not view.json().get("pending")  # nothing saved
    r = client.post(
        f"/console/tasks/{task['id']}/result",
        data={**body, "measures": ["约谈", "行政处罚"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    pending = client.get(f"/api/v1/tasks/{task['id']}/result", headers=sup).json()["pending"]
    assert pending["fine_amount"] == "5000.00"


def test_result_errors_are_chinese_sentences_beside_their_fields(client, drawn, make_user):
    _sup, draw = drawn
    task = draw["tasks"][0]
    make_user("jian", role="inspector", badge=_leader(task))
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}")
    r = client.post(
        f"/console/tasks/{task['id']}/result",
        data={
            "csrf": csrf_of(page.text),
            "outcome": "发现问题已责令改正",
            "decided_on": today_local().isoformat(),
            "findings": "x",
            "measures": ["行政处罚"],
            "fine_amount": "五千",
            "recovered_amount": "12.345",
        },
    )
    assert r.status_code == 422
    shown = dict(re.findall(r'data-field="([a-z_]+)">([^<]+)<', r.text))
    assert {"fine_amount", "recovered_amount"} <= set(shown), shown
    for text in shown.values():
        assert not re.search(r"[A-Za-z]{2,}|measures\.|\(", text), text
    assert "金额" in shown["fine_amount"] and "金额" in shown["recovered_amount"]


def test_the_task_page_names_the_team_and_whoever_entered_the_result(client, drawn, make_user, db):
    _sup, draw = drawn
    task = draw["tasks"][0]
    from sqlalchemy import select

    from app.db import make_sessionmaker
    from app.models import Inspector

    with make_sessionmaker(db)() as s:
        names = {b: n for b, n in s.execute(select(Inspector.badge, Inspector.name))}
    make_user("jian", role="inspector", badge=_leader(task))
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}").text
    team = page.split('data-role="team"')[1].split("</p>")[0]
    for m in task["team"]:
        assert f"{names[m['badge']]}（{m['badge']}）" in team
    client.post(
        f"/console/tasks/{task['id']}/result",
        data={
            "csrf": csrf_of(page),
            "outcome": "未发现问题",
            "decided_on": today_local().isoformat(),
            "findings": "",
            "recovered_amount": "",
        },
    )
    page = client.get(f"/console/tasks/{task['id']}").text
    leader = _leader(task)
    assert f"录入人 {names[leader]}（{leader}）" in page and "user:jian" not in page
    listed = client.get("/console/tasks").text
    assert f"{names[_leader(task)]}（{_leader(task)}）" in listed


def test_the_supervisors_task_list_filters_and_counts(client, drawn, make_user):
    _sup, draw = drawn
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get("/console/tasks").text
    assert f"共 <b>{len(draw['tasks'])}</b> 项任务" in page
    for name in ("plan", "status", "region"):
        assert f'name="{name}"' in page
    in_402 = [t for t in draw["tasks"] if t["region"] == "370402"]
    page = client.get("/console/tasks", params={"region": "370402"}).text
    assert f"共 <b>{len(in_402)}</b> 项任务" in page
    page = client.get("/console/tasks", params={"status": "closed"}).text
    assert "共 <b>0</b> 项任务" in page and 'data-role="empty"' in page
    page = client.get("/console/tasks", params={"plan": draw["plan"]}).text
    assert f"共 <b>{len(draw['tasks'])}</b> 项任务" in page


def test_the_result_form_takes_the_day_the_inspection_was_carried_out(client, drawn, make_user):
    """检查实施日期 (docs/rules.md#r4-0): kept with the result; later than the decision is refused
    beside its field; empty is the decision day."""
    sup, draw = drawn
    task = draw["tasks"][0]
    make_user("jian", role="inspector", badge=_leader(task))
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}")
    assert 'name="inspected_on"' in page.text
    today = today_local()
    body = {
        "csrf": csrf_of(page.text),
        "outcome": "未发现问题",
        "decided_on": today.replace(day=1).isoformat() if today.day > 1 else today.isoformat(),
        "inspected_on": today.isoformat(),
        "findings": "",
        "recovered_amount": "",
    }
    if today.day > 1:  # a day carried out after the decision
        r = client.post(f"/console/tasks/{task['id']}/result", data=body)
        assert r.status_code == 422
        beside = re.search(r'data-field="inspected_on">([^<]+)<', r.text).group(1)
        assert "晚于决定日期" in beside
    r = client.post(
        f"/console/tasks/{task['id']}/result",
        data={**body, "decided_on": today.isoformat(), "inspected_on": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    pending = client.get(f"/api/v1/tasks/{task['id']}/result", headers=sup).json()["pending"]
    assert pending["inspected_on"] == today.isoformat()
