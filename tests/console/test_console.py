"""The console over HTTP: sign-in, session cookie flags, CSRF on every POST, lockout with a
controllable clock, jurisdiction, and a result entered by one person and approved by another."""

from datetime import UTC, datetime, timedelta

from fastapi.routing import APIRoute, iter_route_contexts

from app.clock import today_local
from tests.console.conftest import PASSWORD, csrf_of, sign_in


def test_sign_in_sets_a_safe_cookie_and_pages_need_it(client, make_user):
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    make_user("wang")
    r = sign_in(client, "wang")
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "spotcheck_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http in tests; "auto" sets it under https
    page = client.get("/console/")
    assert page.status_code == 200 and "工作台" in page.text and "wang" in page.text
    # sign-out ends the session on the server
    client.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(client, make_user):
    make_user("wang")
    sign_in(client, "wang")
    page = client.get("/console/plans/new")
    good = csrf_of(page.text)
    form = {
        "code": "X-1",
        "title": "t",
        "lead_department": "d",
        "items": "YB-01",
        "kinds": "定点医疗机构",
        "regions": "3704",
        "ratio": "0.05",
        "min_per_stratum": "1",
        "team_size": "2",
        "start": "2026-12-01",
        "end": "2026-12-31",
        "publish_tasks": "on_draw",
        "extra": "",
    }
    assert client.post("/console/plans/new", data=form).status_code == 403
    assert (
        client.post("/console/plans/new", data={**form, "csrf": good[:-2] + "xx"}).status_code
        == 403
    )
    assert client.get("/console/plans/X-1").status_code == 404  # nothing was written
    # the sign-in form is protected as well (double-submit cookie)
    r = client.post("/console/login", data={"username": "wang", "password": PASSWORD, "csrf": "x"})
    assert r.status_code == 403


def test_lockout_after_failed_sign_ins_until_the_clock_moves(client, make_user, monkeypatch):
    from app.models import base

    now = [datetime(2026, 12, 2, 1, 0, tzinfo=UTC)]
    monkeypatch.setattr(base, "utcnow", lambda: now[0])
    make_user("wang")
    for _ in range(4):
        assert sign_in(client, "wang", "wrong password!").status_code == 401
    r = sign_in(client, "wang", "wrong password!")
    assert r.status_code == 401 and "失败次数过多" in r.text
    r = sign_in(client, "wang")  # the right password is refused during the lockout
    assert r.status_code == 401 and "失败次数过多" in r.text
    now[0] += timedelta(minutes=16)
    assert sign_in(client, "wang").status_code == 303


def test_console_shows_only_the_accounts_district(client, drawn, make_user):
    _sup, draw = drawn
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    own = next(t for t in draw["tasks"] if t["stratum"].endswith("370402"))
    make_user("qu", region="370402")
    sign_in(client, "qu")
    listing = client.get("/console/tasks").text
    # whole names as the list renders them: 测试医院3 is a prefix of 测试医院36
    assert f"<b>{own['name']}</b>" in listing and f"<b>{other['name']}</b>" not in listing
    assert client.get(f"/console/tasks/{other['id']}").status_code == 404
    assert client.get(f"/console/tasks/{other['id']}/notice").status_code == 404
    targets = client.get("/console/registries/targets").text
    assert own["uscc"] in targets and other["uscc"] not in targets
    assert client.get(f"/console/plans/{draw['plan']}").status_code == 404


def test_result_entered_by_an_inspector_is_approved_by_someone_else(client, drawn, make_user):
    _sup, draw = drawn
    task = draw["tasks"][0]
    leader = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    make_user("jian", role="inspector", badge=leader)
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}")
    assert "检查通知书" in page.text
    body = {
        "csrf": csrf_of(page.text),
        "outcome": "发现问题已责令改正",
        "decided_on": today_local().isoformat(),
        "findings": "",
        "measures": ["约谈"],
        "recovered_amount": "12.50",
    }
    r = client.post(f"/console/tasks/{task['id']}/result", data=body)
    assert r.status_code == 422 and "须填写检查发现" in r.text  # the service's own check
    r = client.post(
        f"/console/tasks/{task['id']}/result",
        data={**body, "findings": "串换项目 2 例"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # an approver who did not enter it sees it queued and approves it
    client.cookies.clear()
    make_user("shen")
    sign_in(client, "shen")
    queue = client.get("/console/approvals")
    assert task["name"] in queue.text
    r = client.post(
        f"/console/tasks/{task['id']}/approve",
        data={"csrf": csrf_of(queue.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert task["name"] not in client.get("/console/approvals").text


def _console_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every console route (through FastAPI's included routers)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute) and ctx.path.startswith("/console/"):
            out.extend((method, ctx.path) for method in sorted(ctx.methods or ()))
    return out


def _filled(path: str) -> str:
    path = path.replace("{kind}", "targets").replace("{key}", "x").replace("{code}", "x")
    path = path.replace("{task_id}", "x").replace("{username}", "x")
    return path.replace("{token_id}", "1").replace("{sha256}", "0" * 64)


def test_every_console_route_needs_a_session(client):
    routes = [
        (m, p)
        for m, p in _console_routes(client.app)
        if p not in ("/console/login", "/console/static/console.css")
    ]
    assert len(routes) > 30 and ("GET", "/console/plans/{code}/form") in routes
    for method, path in routes:
        r = client.request(method, _filled(path), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login", (method, path)


def test_every_console_post_refuses_a_missing_csrf_token(client, make_user):
    """Signed in, every POST route of the console (present and future) answers 403 without the
    session's CSRF token — before it looks at anything else."""
    make_user("wang", role="admin")
    sign_in(client, "wang")
    posts = [p for m, p in _console_routes(client.app) if m == "POST" and p != "/console/login"]
    assert "/console/plans/{code}/form" in posts and len(posts) > 15
    for path in posts:
        r = client.post(_filled(path), data={"reason": "x"}, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)


def test_the_plan_form_takes_yearly_caps_and_shows_their_field_error(client, drawn, make_user):
    sup, _draw = drawn
    make_user("wang")
    sign_in(client, "wang")
    page = client.get("/console/plans/new")
    assert "年度检查上限" in page.text
    form = {
        "csrf": csrf_of(page.text),
        "code": "CAP-1",
        "title": "年度上限计划",
        "lead_department": "某市医疗保障局",
        "items": "YB-01",
        "kinds": "定点医疗机构",
        "regions": "3704",
        "ratio": "0.05",
        "min_per_stratum": "1",
        "team_size": "2",
        "cooldown_days": "365",
        "joint_members": "1",
        "experts": "0",
        "start": "2026-12-01",
        "end": "2026-12-31",
        "publish_tasks": "on_draw",
        "extra": "",
    }
    bad = client.post("/console/plans/new", data={**form, "yearly_cap_A": "0"})
    assert bad.status_code == 422
    assert 'data-field="yearly_caps"' in bad.text and "年度检查上限应在 1–366 次之间" in bad.text
    r = client.post(
        "/console/plans/new",
        data={**form, "yearly_cap_A": "1", "yearly_cap_B": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    spec = client.get("/api/v1/plans/CAP-1", headers=sup).json()["spec"]
    assert spec["yearly_caps"] == {"A": 1, "B": 2}


def test_the_task_page_says_the_task_joined_a_visit(client, city, make_user):
    """A task merged into the visit of another plan says so (docs/rules.md#r4-4)."""
    from tests.rounds import draw_plan

    draw_plan(client, city, code="VIS-1", ratio=0.5, cooldown_days=0)
    later = draw_plan(client, city, code="VIS-2", items=["YB-01"], ratio=0.5, cooldown_days=0)
    joined = next(t for t in later["tasks"] if "joins" in t)
    alone = next(t for t in later["tasks"] if "joins" not in t)
    make_user("zhao", role="supervisor")
    sign_in(client, "zhao")
    page = client.get(f"/console/tasks/{joined['id']}").text
    assert 'data-role="visit"' in page and joined["visit"] in page
    assert 'data-role="visit"' not in client.get(f"/console/tasks/{alone['id']}").text
