"""Shared steps of tests that need a drawn plan and approved results (through the API)."""

from app.clock import today_local
from tests.entropy import post_draw
from tests.plans.conftest import published


def result_body(outcome="发现问题已责令改正", **over):
    """A valid result body (with measures and amounts unless nothing was found)."""
    body = {
        "outcome": outcome,
        "decided_on": today_local().isoformat(),
        "findings": "超标准收费" if outcome != "未发现问题" else "",
        "measures": [{"kind": "约谈"}, {"kind": "行政处罚", "fine_amount": "5000.00"}]
        if outcome != "未发现问题"
        else [],
    }
    if outcome != "未发现问题":
        body["recovered_amount"] = "12345.67"
    body.update(over)
    return body


def approver(client, region: str = ""):
    """Headers of a second supervisor (录入/审核分离: who entered a result cannot approve it),
    one per application and region."""
    cache = client.app.state.__dict__.setdefault("test_approvers", {})
    if region not in cache:
        from app.auth.service import create_token

        with client.app.state.sessionmaker() as s:
            token = create_token(
                s, role="supervisor", name=f"approver{region}", actor="test", region=region
            )
            s.commit()
        cache[region] = {"Authorization": f"Bearer {token}"}
    return cache[region]


def approve(client, sup, task_id, **kw):
    """Enters a result for the task (as `sup`) and approves it (as another supervisor)."""
    r = client.put(f"/api/v1/tasks/{task_id}/result", headers=sup, json=result_body(**kw))
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task_id}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text


def draw_plan(client, sup, **over):
    """Publishes the plan tests' plan (with `over`) and draws it; the draw JSON."""
    code = published(client, sup, **over)
    r = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 201, r.text
    return r.json()
