"""Results: validation of amounts and consistency, access, superseded draws, versions,
approval, follow-up rules and mark_published."""

from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.audit.service import verify_chain
from app.clock import today_local
from app.db import make_sessionmaker
from app.models import Result, ResultVersion, TaskEvent
from app.tasks.results import mark_published
from tests.rounds import approver


def _leader(make_token, task):
    badge = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    return make_token("inspector", badge=badge, name=badge)


def _put(client, headers, task_id, body):
    return client.put(f"/api/v1/tasks/{task_id}/result", headers=headers, json=body)


def _fields(r):
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in r.json()["errors"]}


def _ok_body(**over):
    body = {
        "outcome": "发现问题已责令改正",
        "decided_on": today_local().isoformat(),
        "findings": "超标准收费",
        "measures": [{"kind": "约谈"}, {"kind": "行政处罚", "fine_amount": "5000.00"}],
        "recovered_amount": "12345.67",
    }
    body.update(over)
    return body


BAD_AMOUNTS = [5000.0, 5000, "-1.00", "1.234", "1e3", "", "12,000.00", "1234567890123.00"]


def test_amounts_must_be_exact_decimal_strings(client, drawn):
    sup, draw = drawn
    task = draw["tasks"][0]
    for bad in BAD_AMOUNTS:
        r = _put(client, sup, task["id"], _ok_body(recovered_amount=bad))
        assert _fields(r) == {"recovered_amount"}, bad
        fine = _ok_body(measures=[{"kind": "行政处罚", "fine_amount": bad}])
        assert _fields(_put(client, sup, task["id"], fine)) == {"measures.0.fine_amount"}, bad


def test_amounts_are_stored_exactly(client, drawn, db):
    sup, draw = drawn
    task = draw["tasks"][0]
    body = _ok_body(
        recovered_amount="9999999999.99", measures=[{"kind": "行政处罚", "fine_amount": "0.10"}]
    )
    r = _put(client, sup, task["id"], body)
    assert r.status_code == 200, r.text
    assert r.json()["recovered_amount"] == "9999999999.99"
    assert r.json()["measures"][0]["fine_amount"] == "0.10"
    assert r.json()["fine_amount"] == "0.10"
    with make_sessionmaker(db)() as s:
        v = s.scalar(select(ResultVersion).where(ResultVersion.task_id == task["id"]))
        assert str(v.recovered_amount) == "9999999999.99"


CONSISTENCY_CASES = [
    ({"outcome": "未发现问题", "findings": ""}, {"measures", "recovered_amount"}),
    ({"outcome": "未发现问题", "measures": [], "recovered_amount": "0.00"}, set()),
    (
        {
            "outcome": "未检查（停业、注销等）",
            "measures": [],
            "recovered_amount": None,
            "findings": "",
        },
        {"findings"},
    ),
    ({"measures": [{"kind": "行政处罚"}]}, {"measures.0.fine_amount"}),
    ({"measures": [{"kind": "行政处罚", "fine_amount": "0.00"}]}, {"measures.0.fine_amount"}),
    ({"measures": [{"kind": "约谈", "fine_amount": "10.00"}]}, {"measures.0.fine_amount"}),
    ({"measures": [{"kind": "约谈"}, {"kind": "约谈"}]}, {"measures.1.kind"}),
    ({"measures": []}, {"measures"}),
    ({"findings": "  "}, {"findings"}),
    ({"outcome": "发现问题待后续处理", "findings": ""}, {"findings"}),
    ({"decided_on": (today_local() + timedelta(days=1)).isoformat()}, {"decided_on"}),
    ({"decided_on": (today_local() - timedelta(days=400)).isoformat()}, {"decided_on"}),
]


def test_consistency_rules_name_the_field(client, drawn):
    sup, draw = drawn
    for over, fields in CONSISTENCY_CASES:
        r = _put(client, sup, draw["tasks"][0]["id"], _ok_body(**over))
        if fields:
            assert _fields(r) == fields, over
        else:
            assert r.status_code == 200, (over, r.text)


def test_unknown_outcome_or_measure_is_422(client, drawn):
    sup, draw = drawn
    tid = draw["tasks"][0]["id"]
    assert _fields(_put(client, sup, tid, _ok_body(outcome="基本合格"))) == {"outcome"}
    bad = _ok_body(measures=[{"kind": "警告"}])
    assert _fields(_put(client, sup, tid, bad)) == {"measures.0.kind"}


def test_both_correction_kinds_are_accepted(client, drawn):
    sup, draw = drawn
    for task, kind in zip(draw["tasks"][:2], ("责令改正", "限期整改"), strict=True):
        r = _put(client, sup, task["id"], _ok_body(measures=[{"kind": kind}]))
        assert r.status_code == 200, r.text


def test_inspectors_enter_only_their_own_tasks(client, drawn, make_token):
    sup, draw = drawn
    t0, t1 = draw["tasks"][:2]
    mine = _leader(make_token, t0)
    r = _put(client, mine, t0["id"], _ok_body())
    assert r.status_code == 200 and r.json()["entered_by"].startswith("inspector:")
    others = {m["badge"] for m in t1["team"]} - {m["badge"] for m in t0["team"]}
    if others:
        stranger = make_token("inspector", badge=sorted(others)[0], name="other")
        # another team's task does not exist for them (the answer for an unknown id)
        assert _put(client, stranger, t0["id"], _ok_body()).status_code == 404
        assert client.get(f"/api/v1/tasks/{t0['id']}/result", headers=stranger).status_code == 404
        assert client.get(f"/api/v1/tasks/{t0['id']}", headers=stranger).status_code == 404
    credit = make_token("credit")
    assert _put(client, credit, t0["id"], _ok_body()).status_code == 403
    assert _put(client, sup, "NO-SUCH-TASK", _ok_body()).status_code == 404


def test_superseded_draw_takes_no_results(client, drawn):
    sup, draw = drawn
    old = draw["tasks"][0]["id"]
    assert _put(client, sup, old, _ok_body()).status_code == 200
    r = client.post(
        f"/api/v1/plans/{draw['plan']}/adjustments",
        headers=sup,
        json={"reason": "名录库有误，重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    r = _put(client, sup, old, _ok_body())
    assert r.status_code == 409 and "作废" in r.json()["detail"]
    assert (
        client.post(f"/api/v1/tasks/{old}/result/approve", headers=approver(client)).status_code
        == 409
    )


def test_versions_approval_and_audit(client, drawn, db):
    sup, draw = drawn
    tid = draw["tasks"][0]["id"]
    assert (
        client.post(f"/api/v1/tasks/{tid}/result/approve", headers=approver(client)).status_code
        == 409
    )
    assert _put(client, sup, tid, _ok_body(findings="第一版")).json()["version"] == 1
    assert _put(client, sup, tid, _ok_body(findings="更正版")).json()["version"] == 2
    r = client.post(f"/api/v1/tasks/{tid}/result/approve", headers=approver(client))
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["findings"] == "更正版"
    # nothing new to approve
    assert (
        client.post(f"/api/v1/tasks/{tid}/result/approve", headers=approver(client)).status_code
        == 409
    )
    view = client.get(f"/api/v1/tasks/{tid}/result", headers=sup).json()
    assert [v["findings"] for v in view["versions"]] == ["第一版", "更正版"]
    assert view["versions"][0]["approved_at"] is None and view["versions"][1]["approved_by"]
    assert view["pending"] is None and view["status"] == "closed"
    with make_sessionmaker(db)() as s:
        events = s.scalars(
            select(TaskEvent).where(TaskEvent.task_id == tid).order_by(TaskEvent.id)
        ).all()
        assert [e.action for e in events] == ["result.submit", "result.submit", "result.approve"]
        assert all(e.actor and e.at for e in events)
        report = verify_chain(s)
        assert report.problems == []


def test_follow_up_rules(client, drawn, make_token):
    sup, draw = drawn
    t0 = draw["tasks"][0]
    url = f"/api/v1/tasks/{t0['id']}/follow-ups"
    # no approved result yet
    assert client.post(url, headers=sup, json={"reason": "回头看"}).status_code == 409
    _put(client, sup, t0["id"], _ok_body(outcome="发现问题待后续处理"))
    client.post(f"/api/v1/tasks/{t0['id']}/result/approve", headers=approver(client))
    assert (
        client.post(url, headers=_leader(make_token, t0), json={"reason": "回头看"}).status_code
        == 403
    )
    assert client.post(url, headers=sup, json={}).status_code == 422
    # another team: at least two officers, known badges, first is the leader
    r = client.post(
        url, headers=sup, json={"reason": "换组复查", "team": ["NOPE", "3704" + "0" * 10]}
    )
    assert r.status_code == 422 and "team.0" in {e["field"] for e in r.json()["errors"]}
    team = ["37040000000005", "37040000000006"]
    r = client.post(url, headers=sup, json={"reason": "换组复查", "team": team})
    assert r.status_code == 201, r.text
    f1 = r.json()
    assert [m["badge"] for m in f1["team"]] == team and f1["team"][0]["role"] == "组长"
    assert f1["id"] == f"{t0['id']}-F1"
    # the new team's inspector can enter it; the original team's cannot (unless on both)
    new_member = make_token("inspector", badge=team[0], name="n")
    body = _ok_body(outcome="未发现问题", measures=[], recovered_amount=None, findings="")
    assert _put(client, new_member, f1["id"], body).status_code == 200
    listed = client.get(url, headers=sup).json()["items"]
    assert [t["id"] for t in listed] == [f1["id"]]
    # follow-ups are listed for their own team's inspectors
    mine = client.get("/api/v1/follow-ups", headers=new_member).json()["items"]
    assert [(t["id"], t["status"]) for t in mine] == [(f1["id"], "inspected")]
    if team[0] not in {m["badge"] for m in t0["team"]} and team[1] not in {
        m["badge"] for m in t0["team"]
    }:
        assert client.get("/api/v1/follow-ups", headers=_leader(make_token, t0)).json() == {
            "items": [],
            "next_cursor": None,
        }
    done = client.get("/api/v1/follow-ups", headers=sup, params={"status": "closed"}).json()
    assert done == {"items": [], "next_cursor": None}
    # follow-ups are not part of the draw's task list
    ids = {
        t["id"]
        for t in client.get(f"/api/v1/draws/{draw['id']}/tasks", headers=sup).json()["items"]
    }
    assert f1["id"] not in ids and t0["id"] in ids


def test_mark_published_records_publication_and_reapproval_resets_it(client, drawn, db):
    sup, draw = drawn
    tid = draw["tasks"][0]["id"]
    _put(client, sup, tid, _ok_body(outcome="发现问题待后续处理"))
    rid = client.post(f"/api/v1/tasks/{tid}/result/approve", headers=approver(client)).json()["id"]
    # Approval re-publishes the site right after the response, which records publication.
    with make_sessionmaker(db)() as s:
        first = s.scalar(select(Result.published_at).where(Result.id == rid))
    assert first is not None
    later = first + timedelta(days=1)
    with make_sessionmaker(db)() as s:
        assert mark_published(s, [rid], later) == 0  # the first publication is kept
        s.commit()
    view = client.get(f"/api/v1/tasks/{tid}/result", headers=sup).json()
    assert datetime.fromisoformat(view["approved"]["published_at"]) == first
    _put(client, sup, tid, _ok_body(findings="修订"))
    with make_sessionmaker(db)() as s:  # a pending revision leaves the published result alone
        assert s.scalar(select(Result.published_at).where(Result.id == rid)) == first
    client.post(f"/api/v1/tasks/{tid}/result/approve", headers=approver(client))
    with make_sessionmaker(db)() as s:
        row = s.scalar(select(Result).where(Result.id == rid))
        # re-approval reset published_at, and the automatic publish recorded it anew
        assert row.version == 2 and row.findings == "修订"
        assert row.published_at is not None and row.published_at >= first
    with make_sessionmaker(db)() as s:
        s.execute(update(Result).where(Result.id == rid).values(published_at=None))
        assert mark_published(s, [rid], later) == 1
        s.commit()


def test_dates_as_officials_type_them_are_taken(client, drawn):
    """2026/1/5 and 2026年1月5日 mean 2026-01-05 (a result's decision date, a plan's window, the
    weekly report's period); a date that is not one is still refused by field."""
    sup, draw = drawn
    task = draw["tasks"][0]
    day = today_local()
    for typed in (f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日"):
        r = _put(client, sup, task["id"], _ok_body(decided_on=typed))
        assert r.status_code in (200, 201), (typed, r.text)
        assert r.json()["decided_on"] == day.isoformat()
    assert _fields(_put(client, sup, task["id"], _ok_body(decided_on="2026年13月5日"))) == {
        "decided_on"
    }
    from tests.plans.conftest import plan_body

    body = plan_body(code="2026-DATES", window={"start": "2026/12/1", "end": "2026年12月31日"})
    r = client.post("/api/v1/plans", headers=sup, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["window"] == {"start": "2026-12-01", "end": "2026-12-31"}
    r = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": "2026/12/1", "to": "2026年12月7日"}
    )
    assert r.status_code == 200, r.text
