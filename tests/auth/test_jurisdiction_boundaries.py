"""Each way a district could reach across its jurisdiction's boundary through the API: a registry
import with rows of another district (refused whole, each row named), a plan adjustment widening
the scope, the deadlines list, the results export, draw statistics and the credit feed."""

import io

from sqlalchemy import update

from app.credit import service as credit_service
from app.db import make_sessionmaker
from app.models import Result
from tests.factories import INSPECTOR_HEADER, TARGET_HEADER, encode, inspector_row, target_row
from tests.plans.conftest import plan_body
from tests.rounds import approve

IMPORT = "/api/v1/registries/{}/import"


def _upload(client, headers, kind, header, rows):
    name, body = encode("utf-8", header, rows)
    return client.post(
        IMPORT.format(kind), headers=headers, files={"file": (name, io.BytesIO(body))}
    )


def test_a_district_import_with_rows_outside_is_refused_whole(client, city, make_token):
    mine = make_token("supervisor", name="d402", region="370402")
    rows = [target_row(201), target_row(202, region="370403"), target_row(203, region="370501")]
    r = _upload(client, mine, "targets", TARGET_HEADER, rows)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "医保区划"), (4, "医保区划")]
    assert "370403" in errors[0]["message"] and "辖区" in errors[0]["message"]
    # nothing written: not even the good row
    assert client.get(f"/api/v1/targets/{target_row(201)[0]}", headers=city).status_code == 404
    # a record registered in 370403 cannot be taken over by re-registering it in 370402
    foreign = target_row(3)  # the city's target 3 lies in 370403
    assert client.get(f"/api/v1/targets/{foreign[0]}", headers=city).json()["region"] == "370403"
    r = _upload(client, mine, "targets", TARGET_HEADER, [target_row(201), foreign])
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["row"] == 3 and error["field"] == "统一社会信用代码" and "辖区" in error["message"]
    assert client.get(f"/api/v1/targets/{foreign[0]}", headers=city).json()["region"] == "370403"
    # inspectors are regional too
    r = _upload(
        client, mine, "inspectors", INSPECTOR_HEADER, [inspector_row("37049", region="370403")]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "医保区划"
    # inside its district the same import goes through; the city may write both districts
    r = _upload(client, mine, "targets", TARGET_HEADER, [target_row(201)])
    assert r.status_code == 200 and r.json()["created"] == 1
    city_token = make_token("supervisor", name="c", region="3704")
    r = _upload(client, city_token, "targets", TARGET_HEADER, [target_row(202, region="370403")])
    assert r.status_code == 200 and r.json()["created"] == 1


def test_an_adjustment_cannot_widen_the_scope_outside(client, city, make_token):
    mine = make_token("supervisor", name="d402", region="370402")
    scope = {"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["370402"]}
    body = plan_body(code="2026-D402", scope=scope)
    assert client.post("/api/v1/plans", headers=mine, json=body).status_code == 201
    assert client.post("/api/v1/plans/2026-D402/publish", headers=mine).status_code == 200
    for regions in (["3704"], ["370402", "370403"], []):
        r = client.post(
            "/api/v1/plans/2026-D402/adjustments",
            headers=mine,
            json={"reason": "扩大范围", "changes": {"scope": {**scope, "regions": regions}}},
        )
        assert r.status_code == 422, (regions, r.text)
        assert r.json()["errors"][0]["field"] == "changes.scope.regions"
    plan = client.get("/api/v1/plans/2026-D402", headers=mine).json()
    assert plan["spec"]["scope"]["regions"] == ["370402"]
    # narrowing or keeping it inside is an ordinary adjustment
    r = client.post(
        "/api/v1/plans/2026-D402/adjustments",
        headers=mine,
        json={"reason": "只查医疗机构", "changes": {"scope": {**scope, "kinds": ["定点医疗机构"]}}},
    )
    assert r.status_code == 201, r.text


def test_deadlines_export_statistics_and_credit_feed_stay_inside(
    client, drawn, make_token, monkeypatch, db
):
    sup, draw = drawn  # the city's plan over 370402 and 370403
    for t in draw["tasks"]:
        approve(client, sup, t["id"])
    with make_sessionmaker(db)() as s:  # as if the publisher had not run yet
        s.execute(update(Result).values(published_at=None))
        s.commit()
    mine = make_token("supervisor", name="d402", region="370402")
    own = {t["id"] for t in draw["tasks"] if t["stratum"].endswith("370402")}
    other = {t["id"] for t in draw["tasks"]} - own
    assert own and other
    everything = client.get("/api/v1/results/deadlines", headers=sup, params={"within": 250})
    assert {i["task_id"] for i in everything.json()["items"]} == own | other
    listed = client.get("/api/v1/results/deadlines", headers=mine, params={"within": 250})
    assert {i["task_id"] for i in listed.json()["items"]} == own
    csv = client.get("/api/v1/results/export.csv", headers=mine).text
    usccs = {t["id"]: t["uscc"] for t in draw["tasks"]}
    assert all(usccs[t] in csv for t in own) and not any(usccs[t] in csv for t in other)
    # the city's draw is not the district's: its statistics are not either
    assert client.get(f"/api/v1/draws/{draw['id']}/statistics", headers=mine).status_code == 404
    assert client.get(f"/api/v1/draws/{draw['id']}/statistics", headers=sup).status_code == 200
    # a district's credit module gets its district's results; the province's all of them
    monkeypatch.setattr(credit_service, "SETTLE_SECONDS", 0.0)
    feed = "/api/v1/credit/results"
    district = make_token("credit", name="信用-402", region="370402")
    province = make_token("credit", name="信用-省")
    assert {i["task_id"] for i in client.get(feed, headers=district).json()["items"]} == own
    assert {i["task_id"] for i in client.get(feed, headers=province).json()["items"]} == (
        own | other
    )


def test_a_districts_credit_token_grades_only_its_targets(client, city, make_token):
    district = make_token("credit", name="信用-402", region="370402")
    mine, other = target_row(2)[0], target_row(3)[0]  # 370402 and 370403
    push = [
        {"uscc": mine, "grade": "C", "as_of": "2026-01-01"},
        {"uscc": other, "grade": "D", "as_of": "2026-01-01"},
    ]
    r = client.put("/api/v1/credit/grades", headers=district, json=push)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["row"] == 1 and error["field"] == "uscc" and "辖区 370402" in error["message"]
    assert client.get(f"/api/v1/targets/{mine}", headers=city).json()["credit_grade"] == "A"
    r = client.put("/api/v1/credit/grades", headers=district, json=push[:1])
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/targets/{mine}", headers=city).json()["credit_grade"] == "C"


def test_a_draft_cannot_be_rewritten_outside_nor_another_districts_task_followed_up(
    client, drawn, make_token
):
    sup, draw = drawn
    mine = make_token("supervisor", name="d402", region="370402")
    scope = {"kinds": ["定点医疗机构"], "regions": ["370402"]}
    body = plan_body(code="2026-D402", scope=scope)
    assert client.post("/api/v1/plans", headers=mine, json=body).status_code == 201
    wider = {**body, "scope": {**scope, "regions": ["3704"]}}
    r = client.put("/api/v1/plans/2026-D402", headers=mine, json=wider)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scope.regions"
    stored = client.get("/api/v1/plans/2026-D402", headers=mine).json()["spec"]["scope"]
    assert stored["regions"] == ["370402"]
    # a 回头看 of the other district's task: as if the task did not exist
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    approve(client, sup, other["id"], outcome="发现问题待后续处理")
    follow = {"reason": "整改情况回头看"}
    r = client.post(f"/api/v1/tasks/{other['id']}/follow-ups", headers=mine, json=follow)
    assert r.status_code == 404
    r = client.post(f"/api/v1/tasks/{other['id']}/follow-ups", headers=sup, json=follow)
    assert r.status_code == 201, r.text
