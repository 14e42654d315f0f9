"""Plans: validation against the rules and registries, publication, adjustments."""

import hashlib

from tests.entropy import post_draw
from tests.plans.conftest import plan_body, published


def _fields(r):
    return {e["field"] for e in r.json()["errors"]}


def test_floor_of_5_percent_for_designated_institutions(client, city):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(ratio=0.04))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"] if "5%" in e["message"]] == ["ratio"]
    # the other rules across fields name their field too
    r = client.post(
        "/api/v1/plans",
        headers=city,
        json=plan_body(joint_departments=["某市医疗保障局"]),  # the lead department itself
    )
    assert r.status_code == 422 and _fields(r) == {"joint_departments"}
    r = client.post(
        "/api/v1/plans",
        headers=city,
        json=plan_body(joint_departments=["某市卫生健康委员会"], team={"joint_members": 0}),
    )
    assert r.status_code == 422 and _fields(r) == {"team"}
    # Outside 定点医药机构 (e.g. 医保经办机构) the 5% floor does not apply.
    ok = plan_body(code="JB-1", items=["YB-09"], scope={"kinds": ["医保经办机构"]}, ratio=0.02)
    assert client.post("/api/v1/plans", headers=city, json=ok).status_code == 201


def test_items_must_exist_and_apply_to_the_scope(client, city):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(items=["YB-01", "NOPE"]))
    assert r.status_code == 422 and _fields(r) == {"items.1"}
    r = client.post("/api/v1/plans", headers=city, json=plan_body(items=["YB-09"]))
    assert r.status_code == 422 and "无交集" in r.json()["errors"][0]["message"]


def test_strata_window_and_grades_are_checked(client, city):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(strata=["colour"]))
    assert r.status_code == 422
    r = client.post(
        "/api/v1/plans",
        headers=city,
        json=plan_body(window={"start": "2026-12-31", "end": "2026-12-01"}),
    )
    assert r.status_code == 422
    r = client.post("/api/v1/plans", headers=city, json=plan_body(grade_rates={"Z": 0.5}))
    assert r.status_code == 422 and _fields(r) == {"grade_rates.Z"}
    r = client.post("/api/v1/plans", headers=city, json=plan_body(team={"size": 1}))
    assert r.status_code == 422


def test_publish_commits_to_a_hidden_secret_and_freezes_the_plan(client, city):
    code = published(client, city)
    plan = client.get(f"/api/v1/plans/{code}", headers=city).json()
    assert plan["status"] == "published" and plan["secret"] is None
    assert len(plan["commitment"]) == 64
    r = client.put(f"/api/v1/plans/{code}", headers=city, json=plan_body())
    assert r.status_code == 409 and "计划调整" in r.json()["detail"]
    assert client.post(f"/api/v1/plans/{code}/publish", headers=city).status_code == 409
    assert client.post("/api/v1/plans", headers=city, json=plan_body()).status_code == 409


def test_adjustment_needs_reason_and_is_versioned(client, city):
    code = published(client, city)
    r = client.post(
        f"/api/v1/plans/{code}/adjustments", headers=city, json={"changes": {"ratio": 0.1}}
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "扩大抽查比例", "changes": {"ratio": 0.1}},
    )
    assert r.status_code == 201 and r.json()["spec"]["ratio"] == 0.1
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "错误调整", "changes": {"ratio": 0.01}},
    )
    assert r.status_code == 422
    versions = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"]
    assert [(v["kind"], v["reason"]) for v in versions] == [
        ("create", None),
        ("publish", None),
        ("adjustment", "扩大抽查比例"),
    ]
    assert versions[1]["spec"]["ratio"] == 0.05


def test_commitment_is_sha256_of_the_revealed_secret(client, city):
    from app.draw import commitment_of

    code = published(client, city)
    commitment = client.get(f"/api/v1/plans/{code}", headers=city).json()["commitment"]
    post_draw(client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "1-2-3-4-5-6"})
    secret = client.get(f"/api/v1/plans/{code}", headers=city).json()["secret"]
    assert commitment_of(secret, algorithm="spotcheck-draw/3") == commitment
    assert commitment != hashlib.sha256(b"").hexdigest()


def test_close_only_after_the_draw_and_then_frozen(client, city):
    code = published(client, city)
    r = client.post(f"/api/v1/plans/{code}/close", headers=city, json={"reason": "工作结束"})
    assert r.status_code == 409
    post_draw(client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "1-2-3-4-5-6"})
    r = client.post(f"/api/v1/plans/{code}/close", headers=city, json={"reason": "抽查工作结束"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert r.json()["secret"] is not None
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "补充", "changes": {"title": "新标题"}},
    )
    assert r.status_code == 409
    versions = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"]
    assert versions[-1]["kind"] == "close" and versions[-1]["reason"] == "抽查工作结束"


def test_joint_departments_need_joint_members(client, city):
    body = plan_body(code="J-0", joint_departments=["某市卫生健康委员会"])
    body["team"] = {**body["team"], "joint_members": 0}
    r = client.post("/api/v1/plans", headers=city, json=body)
    assert r.status_code == 422, r.text
    assert "joint_members" in r.text
    assert client.get("/api/v1/plans/J-0", headers=city).status_code == 404  # nothing written
