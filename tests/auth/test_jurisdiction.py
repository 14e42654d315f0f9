"""Jurisdiction in the API: a district sees its own registries and tasks only, a city all of
its districts rolled up; another district's data answers 404 (as if absent)."""

from app.clock import today_local
from tests.rounds import approve


def test_district_token_sees_only_its_district(client, drawn, make_token):
    _sup, draw = drawn  # city plan (scope 3704) drawn over districts 370402 and 370403
    mine = make_token("supervisor", name="d402", region="370402")
    city = make_token("supervisor", name="c", region="3704")
    targets = client.get("/api/v1/targets", headers=mine, params={"limit": 500}).json()["items"]
    assert targets and {t["region"] for t in targets} == {"370402"}
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    own = next(t for t in draw["tasks"] if t["stratum"].endswith("370402"))
    assert client.get(f"/api/v1/targets/{other['uscc']}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/targets/{own['uscc']}", headers=mine).status_code == 200
    r = client.patch(f"/api/v1/targets/{other['uscc']}", headers=mine, json={"phone": "1"})
    assert r.status_code == 404
    r = client.patch(f"/api/v1/targets/{own['uscc']}", headers=mine, json={"region": "370403"})
    assert r.status_code == 422  # cannot move a record out of its own jurisdiction
    tasks = client.get("/api/v1/tasks", headers=mine).json()["items"]
    assert tasks and all(t["region"] == "370402" for t in tasks)
    assert client.get(f"/api/v1/tasks/{other['id']}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/tasks/{other['id']}/notice", headers=mine).status_code == 404
    # the city plan is not the district's: invisible, and so is its draw
    assert client.get("/api/v1/plans", headers=mine).json()["items"] == []
    assert client.get(f"/api/v1/plans/{draw['plan']}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/draws/{draw['id']}", headers=mine).status_code == 404
    # the city sees every district and the plan
    city_tasks = client.get("/api/v1/tasks", headers=city).json()["items"]
    assert {t["region"] for t in city_tasks} == {"370402", "370403"}
    assert client.get(f"/api/v1/plans/{draw['plan']}", headers=city).status_code == 200


def test_weekly_report_is_narrowed_to_the_jurisdiction(client, drawn, make_token):
    sup, draw = drawn
    for t in draw["tasks"]:
        approve(client, sup, t["id"])
    day = today_local().isoformat()
    params = {"from": day, "to": day}
    city = make_token("supervisor", name="c", region="3704")
    mine = make_token("supervisor", name="d402", region="370402")
    rows = client.get("/api/v1/reports/weekly", headers=city, params=params).json()["rows"]
    assert [r["region"] for r in rows[:-1]] == ["370402", "370403"]  # the city rolled up
    rows = client.get("/api/v1/reports/weekly", headers=mine, params=params).json()["rows"]
    assert [r["region"] for r in rows[:-1]] == ["370402"]
    r = client.get("/api/v1/reports/weekly", headers=mine, params={**params, "region": "370403"})
    assert r.status_code == 403


def test_a_district_cannot_approve_another_districts_result(client, drawn, make_token):
    sup, draw = drawn
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    body = {
        "outcome": "未发现问题",
        "decided_on": today_local().isoformat(),
        "findings": "",
        "measures": [],
    }
    assert (
        client.put(f"/api/v1/tasks/{other['id']}/result", headers=sup, json=body).status_code == 200
    )
    mine = make_token("supervisor", name="d402", region="370402")
    r = client.post(f"/api/v1/tasks/{other['id']}/result/approve", headers=mine)
    assert r.status_code == 404


def test_the_person_who_entered_a_result_cannot_approve_or_return_it(client, drawn, make_token):
    sup, draw = drawn
    tid = draw["tasks"][0]["id"]
    body = {
        "outcome": "未发现问题",
        "decided_on": today_local().isoformat(),
        "findings": "",
        "measures": [],
    }
    assert client.put(f"/api/v1/tasks/{tid}/result", headers=sup, json=body).status_code == 200
    r = client.post(f"/api/v1/tasks/{tid}/result/approve", headers=sup)
    assert r.status_code == 403 and "录入与审核" in r.json()["detail"]
    other = make_token("supervisor", name="reviewer")
    r = client.post(f"/api/v1/tasks/{tid}/result/return", headers=other, json={"reason": "x"})
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/tasks/{tid}/result/return", headers=other, json={"reason": "检查发现不完整"}
    )
    assert r.status_code == 200 and r.json()["return_reason"] == "检查发现不完整"
    view = client.get(f"/api/v1/tasks/{tid}/result", headers=other).json()
    assert view["pending"] is None and view["status"] == "to_inspect"
    assert client.post(f"/api/v1/tasks/{tid}/result/approve", headers=other).status_code == 409
    assert client.put(f"/api/v1/tasks/{tid}/result", headers=sup, json=body).json()["version"] == 2
    assert client.post(f"/api/v1/tasks/{tid}/result/approve", headers=other).status_code == 200
