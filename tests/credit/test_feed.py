"""GET /api/v1/credit/results: approved results of current draws, resumable by cursor."""

import re

from app.credit import service as credit_service
from tests.rounds import approve, draw_plan

FEED = "/api/v1/credit/results"


def test_feed_pages_resume_and_show_revisions_again(client, city, credit):
    draw = draw_plan(client, city)
    ids = [t["id"] for t in draw["tasks"][:3]]
    approve(client, city, ids[0], outcome="发现问题待后续处理")
    approve(client, city, ids[1], outcome="未发现问题")
    approve(client, city, ids[2])
    first = client.get(FEED, headers=credit, params={"limit": 2}).json()
    assert [i["task_id"] for i in first["items"]] == ids[:2] and first["has_more"]
    item = first["items"][0]
    assert item["uscc"] == draw["tasks"][0]["uscc"] and item["plan"] == draw["plan"]
    assert item["recovered_amount"] == "12345.67" and item["fine_amount"] == "5000.00"
    assert item["measures"][1]["kind"] == "行政处罚" and item["decided_on"]
    second = client.get(FEED, headers=credit, params={"cursor": first["next_cursor"]}).json()
    assert [i["task_id"] for i in second["items"]] == ids[2:] and not second["has_more"]
    # nothing new: the same cursor comes back
    empty = client.get(FEED, headers=credit, params={"cursor": second["next_cursor"]}).json()
    assert empty["items"] == [] and empty["next_cursor"] == second["next_cursor"]
    # a revised and re-approved result is delivered again, after the cursor
    approve(client, city, ids[0], recovered_amount="20000.00")
    again = client.get(FEED, headers=credit, params={"cursor": second["next_cursor"]}).json()
    assert [(i["task_id"], i["recovered_amount"]) for i in again["items"]] == [(ids[0], "20000.00")]


def test_feed_skips_superseded_draws(client, city, credit):
    draw = draw_plan(client, city)
    approve(client, city, draw["tasks"][0]["id"])
    r = client.post(
        f"/api/v1/plans/{draw['plan']}/adjustments",
        headers=city,
        json={"reason": "名录库有误，重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    assert client.get(FEED, headers=credit).json()["items"] == []


def test_recent_approvals_wait_until_they_settle(client, city, credit, monkeypatch):
    draw = draw_plan(client, city)
    approve(client, city, draw["tasks"][0]["id"])
    monkeypatch.setattr(credit_service, "SETTLE_SECONDS", 3600.0)
    page = client.get(FEED, headers=credit).json()
    assert page["items"] == [] and page["next_cursor"] is None


def test_feed_refuses_other_roles_and_bad_cursors(client, city, credit):
    assert client.get(FEED, headers=city).status_code == 403
    assert client.get(FEED).status_code == 401
    r = client.get(FEED, headers=credit, params={"cursor": "!!not-a-cursor"})
    assert r.status_code == 400


def test_credit_role_is_refused_everywhere_else(client, credit):
    own = {("PUT", "/api/v1/credit/grades"), ("GET", "/api/v1/credit/results")}
    public = {("GET", "/api/v1/health")}  # liveness probe, no data
    checked = 0
    # Every route the application serves, as its OpenAPI document lists them.
    for template, operations in client.app.openapi()["paths"].items():
        if not template.startswith("/api/v1"):
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in operations:
            if (method.upper(), template) in own | public:
                continue
            r = client.request(method.upper(), path, headers=credit, json={})
            assert r.status_code == 403, (method, template, r.status_code)
            checked += 1
    assert checked > 20
