"""The jurisdiction's boundary in the console: a district's registry upload with another
district's rows (refused whole, each row named), the deadlines dashboard (its own results only,
the calendar warning from 1 December, with a controllable clock), the audit log, and a plan
adjustment widening the scope."""

import json
from datetime import UTC, datetime

import time_machine
from sqlalchemy import update

from app.clock import today_local
from app.db import make_sessionmaker
from app.models import Result
from tests.console.conftest import csrf_of, sign_in
from tests.factories import TARGET_HEADER, encode, target_row
from tests.plans.conftest import plan_body, published
from tests.rounds import approve


def test_a_district_upload_with_rows_outside_is_refused_and_named(client, city, make_user):
    make_user("qu", region="370402")
    sign_in(client, "qu")
    page = client.get("/console/registries/targets")
    name, body = encode("utf-8", TARGET_HEADER, [target_row(301), target_row(302, region="370403")])
    r = client.post(
        "/console/registries/targets/import",
        data={"csrf": csrf_of(page.text)},
        files={"file": (name, body)},
    )
    assert r.status_code == 422
    assert "<td>3</td><td>医保区划</td>" in r.text and "不在本账号辖区 370402 内" in r.text
    listing = client.get("/console/registries/targets", params={"q": target_row(301)[1]}).text
    assert target_row(301)[0] not in listing  # nothing written


def _approved_but_unpublished(client, sup, draw, db):
    for t in draw["tasks"]:
        approve(client, sup, t["id"])
    with make_sessionmaker(db)() as s:  # as if the publisher had not run yet
        s.execute(update(Result).values(published_at=None))
        s.commit()


def test_deadlines_page_shows_the_jurisdictions_results_and_the_calendar_warning(
    client, drawn, make_user, db
):
    sup, draw = drawn
    _approved_but_unpublished(client, sup, draw, db)
    own = [t for t in draw["tasks"] if t["stratum"].endswith("370402")]
    other = [t for t in draw["tasks"] if t["stratum"].endswith("370403")]
    make_user("shi", region="3704")
    make_user("qu", region="370402")
    sign_in(client, "shi")
    page = client.get("/console/deadlines", params={"within": 250})
    assert page.status_code == 200 and "北京时间" in page.text
    assert all(t["id"] in page.text for t in own + other)
    client.cookies.clear()
    sign_in(client, "qu")
    page = client.get("/console/deadlines", params={"within": 250}).text
    assert all(t["id"] in page for t in own) and not any(t["id"] in page for t in other)
    assert 'data-role="due"' in client.get("/console/").text  # the dashboard's card
    # the calendar of next year is missing: warned from 1 December (the clock controlled)
    known = 2026  # the last year of the installed chinesecalendar's data (tests/tasks)
    with time_machine.travel(datetime(known, 11, 30, 4, tzinfo=UTC), tick=False):
        client.cookies.clear()
        sign_in(client, "qu")
        assert 'data-role="calendar-warning"' not in client.get("/console/deadlines").text
    with time_machine.travel(datetime(known, 12, 1, 4, tzinfo=UTC), tick=False):
        client.cookies.clear()
        sign_in(client, "qu")
        page = client.get("/console/deadlines").text
        assert 'data-role="calendar-warning"' in page and f"缺少 {known + 1} 年" in page


def test_the_audit_log_lists_the_jurisdictions_entries(client, drawn, make_user, db):
    sup, draw = drawn
    _approved_but_unpublished(client, sup, draw, db)
    own = next(t for t in draw["tasks"] if t["stratum"].endswith("370402"))
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    make_user("sheng", region="")
    make_user("qu", region="370402")
    sign_in(client, "sheng")
    page = client.get("/console/audit").text
    assert "审计链完整" in page and own["id"] in page and other["id"] in page
    client.cookies.clear()
    sign_in(client, "qu")
    page = client.get("/console/audit").text
    assert "审计链完整" in page  # the chain is verified whole
    assert f"task:{own['id']}" in page and f"task:{other['id']}" not in page
    assert f"plan:{draw['plan']}" not in page  # the city's plan is not the district's


def test_a_console_adjustment_cannot_widen_the_scope(client, city, make_user):
    scope = {"kinds": ["定点医疗机构"], "regions": ["370402"]}
    body = plan_body(code="2026-D402", scope=scope)
    make_user("qu", region="370402")
    sign_in(client, "qu")
    form = client.get("/console/plans/new")
    extra = json.dumps(body, ensure_ascii=False)  # the form's 高级设置: the whole plan
    numbers = {"min_per_stratum": "1", "cooldown_days": "365", "team_size": "2"}
    numbers |= {"joint_members": "1", "experts": "0"}
    r = client.post(
        "/console/plans/new",
        data={"csrf": csrf_of(form.text), "extra": extra, **numbers},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/console/plans/2026-D402")
    r = client.post("/console/plans/2026-D402/publish", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200 and 'data-role="commitment"' in r.text
    page = client.get("/console/plans/2026-D402")
    r = client.post(
        "/console/plans/2026-D402/adjust",
        data={
            "csrf": csrf_of(page.text),
            "reason": "扩大到全市",
            "changes": '{"scope": {"kinds": ["定点医疗机构"], "regions": ["3704"]}}',
        },
    )
    assert r.status_code == 422 and "超出本账号辖区" in r.text
    assert "医保区划" in r.text and "changes.scope.regions" not in r.text  # said in Chinese


def test_weekly_report_city_rolled_up_district_refused_another_region(client, drawn, make_user, db):
    sup, draw = drawn
    _approved_but_unpublished(client, sup, draw, db)
    day = today_local().isoformat()
    make_user("shi", region="3704")
    make_user("qu", region="370402")
    sign_in(client, "shi")
    page = client.get("/console/reports", params={"from": day, "to": day}).text
    table = page.split('data-role="weekly"')[1]
    assert "370402" in table and "370403" in table  # the city's districts rolled up
    client.cookies.clear()
    sign_in(client, "qu")
    page = client.get("/console/reports", params={"from": day, "to": day}).text
    table = page.split('data-role="weekly"')[1]
    assert "370402" in table and "370403" not in table
    # another district's report: refused as by the API (403), nothing of it shown
    params = {"from": day, "to": day, "region": "370403"}
    page = client.get("/console/reports", params=params).text
    assert "不在本账号辖区" in page and 'data-role="weekly"' not in page
    xlsx = client.get("/console/reports", params={**params, "format": "xlsx"})
    assert xlsx.headers["content-type"].startswith("text/html")  # no file


def test_a_console_redraw_lists_its_changes_to_the_original_frame(client, city, make_user):
    """The expert adjustment box takes a re-draw's `frame_changes` (docs/rules.md#r6-3): the
    listed target leaves the re-draw's frame, with its reason in the version."""
    from tests.entropy import post_draw
    from tests.factories import uscc

    code = published(client, city, code="2026-RD-C")
    drawn = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert drawn.status_code == 201, drawn.text
    make_user("shi", region="3704")
    sign_in(client, "shi")
    page = client.get(f"/console/plans/{code}")
    listed = {"uscc": uscc(1), "reason": "已注销"}
    r = client.post(
        f"/console/plans/{code}/adjust",
        data={
            "csrf": csrf_of(page.text),
            "reason": "名录有误，重新抽取",
            "redraw": "true",
            "frame_changes": json.dumps({"remove_targets": [listed]}, ensure_ascii=False),
        },
    )
    assert r.status_code == 200, r.text
    versions = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"]
    assert versions[-1]["frame_changes"]["remove_targets"] == [listed]
    r = client.post(
        f"/console/plans/{code}/adjust",
        data={
            "csrf": csrf_of(client.get(f"/console/plans/{code}").text),
            "reason": "不合规",
            "redraw": "true",
            "frame_changes": '{"remove_targets": [{"uscc": "x"}]}',
        },
    )
    assert r.status_code == 422 and "frame_changes" in r.text
