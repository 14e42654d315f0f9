"""Authorization matrix: every endpoint × role (anonymous, admin, supervisor, inspector of the
task, another inspector, credit) with the expected answer class.

A route that appears in the app without a row here fails the test, so a new endpoint has to
state who may call it.
"""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from app.clock import today_local
from tests.factories import ITEM_HEADER, encode, item_row, uscc
from tests.plans.conftest import plan_body

ROLES = ("anonymous", "admin", "supervisor", "inspector", "other_inspector", "credit")

# Answer classes: "2xx" success (or redirect); "ok" past authorization (2xx or a business 4xx
# such as 404/409/422, never 401/403); "401"; "403"; "hidden" (404, the same answer as
# for an unknown id: an inspector must not even learn whether another team's task exists).
SUP = {
    "anonymous": "401",
    "admin": "2xx",
    "supervisor": "2xx",
    "inspector": "403",
    "other_inspector": "403",
    "credit": "403",
}
SUP_WRITE = {**SUP, "admin": "ok", "supervisor": "ok"}
STAFF_TASK = {
    "anonymous": "401",
    "admin": "2xx",
    "supervisor": "2xx",
    "inspector": "2xx",
    "other_inspector": "hidden",
    "credit": "403",
}
STAFF_TASK_WRITE = {**STAFF_TASK, "admin": "ok", "supervisor": "ok", "inspector": "ok"}
STAFF_LIST = {
    "anonymous": "401",
    "admin": "2xx",
    "supervisor": "2xx",
    "inspector": "2xx",
    "other_inspector": "2xx",
    "credit": "403",
}
CREDIT = {
    "anonymous": "401",
    "admin": "2xx",
    "supervisor": "403",
    "inspector": "403",
    "other_inspector": "403",
    "credit": "2xx",
}
CREDIT_WRITE = {**CREDIT, "admin": "ok", "credit": "ok"}
PUBLIC = dict.fromkeys(ROLES, "2xx")
ADMIN = {**dict.fromkeys(ROLES, "403"), "anonymous": "401", "admin": "2xx"}
ADMIN_WRITE = {**ADMIN, "admin": "ok"}

Ctx = dict[str, Any]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _csv() -> dict[str, Any]:
    name, body = encode("utf-8", ITEM_HEADER, [item_row("YB-01")])
    return {"files": {"file": (name, body)}}


def _result(ctx: Ctx) -> dict[str, Any]:
    return {
        "json": {
            "outcome": "未发现问题",
            "decided_on": today_local().isoformat(),
            "findings": "",
            "measures": [],
            "recovered_amount": "0.00",
        }
    }


# (method, path template) → (expected per role, request kwargs builder)
MATRIX: dict[tuple[str, str], tuple[dict[str, str], Callable[[Ctx], dict[str, Any]]]] = {
    ("GET", "/"): (PUBLIC, lambda c: {}),
    ("GET", "/api/v1/health"): (PUBLIC, lambda c: {}),
    ("GET", "/docs"): (PUBLIC, lambda c: {}),
    ("GET", "/redoc"): (PUBLIC, lambda c: {}),
    ("POST", "/api/v1/registries/{kind}/import"): (SUP_WRITE, lambda c: _csv()),
    ("GET", "/api/v1/registries/{kind}/export"): (SUP, lambda c: {}),
    ("GET", "/api/v1/targets"): (SUP, lambda c: {}),
    ("GET", "/api/v1/items"): (SUP, lambda c: {}),
    ("GET", "/api/v1/inspectors"): (SUP, lambda c: {}),
    ("GET", "/api/v1/targets/{uscc}"): (SUP, lambda c: {}),
    ("PATCH", "/api/v1/targets/{uscc}"): (SUP_WRITE, lambda c: {"json": {"phone": "0538-1"}}),
    ("DELETE", "/api/v1/targets/{uscc}"): (SUP_WRITE, lambda c: {}),
    ("GET", "/api/v1/targets/{uscc}/history"): (SUP, lambda c: {}),
    ("GET", "/api/v1/items/{code}"): (SUP, lambda c: {}),
    ("PATCH", "/api/v1/items/{code}"): (SUP_WRITE, lambda c: {"json": {"frequency": "每年"}}),
    ("DELETE", "/api/v1/items/{code}"): (SUP_WRITE, lambda c: {}),
    ("GET", "/api/v1/items/{code}/history"): (SUP, lambda c: {}),
    ("GET", "/api/v1/inspectors/{badge}"): (SUP, lambda c: {}),
    ("PATCH", "/api/v1/inspectors/{badge}"): (SUP_WRITE, lambda c: {"json": {"max_tasks": 9}}),
    ("DELETE", "/api/v1/inspectors/{badge}"): (SUP_WRITE, lambda c: {}),
    ("GET", "/api/v1/inspectors/{badge}/history"): (SUP, lambda c: {}),
    ("POST", "/api/v1/plans"): (SUP_WRITE, lambda c: {"json": plan_body(code="2026-M-1")}),
    ("GET", "/api/v1/plans"): (SUP, lambda c: {}),
    ("GET", "/api/v1/plans/{code}"): (SUP, lambda c: {}),
    ("PUT", "/api/v1/plans/{code}"): (SUP_WRITE, lambda c: {"json": plan_body()}),
    ("POST", "/api/v1/plans/{code}/publish"): (SUP_WRITE, lambda c: {}),
    ("POST", "/api/v1/plans/{code}/adjustments"): (
        SUP_WRITE,
        lambda c: {"json": {"reason": "矩阵测试", "changes": {"title": "新标题"}}},
    ),
    ("POST", "/api/v1/plans/{code}/close"): (SUP_WRITE, lambda c: {"json": {"reason": "矩阵测试"}}),
    ("GET", "/api/v1/plans/{code}/versions"): (SUP, lambda c: {}),
    ("POST", "/api/v1/plans/{code}/draw"): (
        SUP_WRITE,
        lambda c: {"json": {"entropy": "6-6-6-0-0-0"}},
    ),
    ("GET", "/api/v1/plans/{code}/inclusion"): (SUP_WRITE, lambda c: {}),
    ("GET", "/api/v1/draws/{draw_id}"): (SUP, lambda c: {}),
    ("GET", "/api/v1/draws/{draw_id}/population"): (SUP, lambda c: {}),
    ("GET", "/api/v1/draws/{draw_id}/replacements"): (SUP, lambda c: {}),
    ("POST", "/api/v1/draws/{draw_id}/replacements"): (
        SUP_WRITE,
        lambda c: {"json": {"badge": c["other"], "reason": "矩阵测试", "task": c["task"]["id"]}},
    ),
    ("GET", "/api/v1/draws/{draw_id}/tasks"): (SUP, lambda c: {}),
    ("GET", "/api/v1/draws/{draw_id}/statistics"): (SUP, lambda c: {}),
    ("GET", "/api/v1/tasks"): (STAFF_LIST, lambda c: {}),
    ("GET", "/api/v1/tasks/{task_id}"): (STAFF_TASK, lambda c: {}),
    ("PUT", "/api/v1/tasks/{task_id}/result"): (STAFF_TASK_WRITE, _result),
    ("GET", "/api/v1/tasks/{task_id}/result"): (
        {**STAFF_TASK, "admin": "ok", "supervisor": "ok", "inspector": "ok"},
        lambda c: {},
    ),
    ("POST", "/api/v1/tasks/{task_id}/result/approve"): (SUP_WRITE, lambda c: {}),
    ("POST", "/api/v1/tasks/{task_id}/result/return"): (
        SUP_WRITE,
        lambda c: {"json": {"reason": "矩阵测试"}},
    ),
    ("GET", "/api/v1/admin/users"): (ADMIN, lambda c: {}),
    ("POST", "/api/v1/admin/users"): (
        ADMIN_WRITE,
        lambda c: {"json": {"username": "m", "password": "0123456789a", "role": "supervisor"}},
    ),
    ("POST", "/api/v1/admin/users/{username}/disable"): (ADMIN_WRITE, lambda c: {}),
    ("POST", "/api/v1/admin/users/{username}/totp-reset"): (ADMIN_WRITE, lambda c: {}),
    ("GET", "/api/v1/admin/tokens"): (ADMIN, lambda c: {}),
    ("POST", "/api/v1/admin/tokens"): (
        ADMIN_WRITE,
        lambda c: {"json": {"name": "m", "role": "credit"}},
    ),
    ("POST", "/api/v1/admin/tokens/{token_id}/revoke"): (ADMIN_WRITE, lambda c: {}),
    ("GET", "/api/v1/tasks/{task_id}/events"): (STAFF_TASK, lambda c: {}),
    ("POST", "/api/v1/tasks/{task_id}/follow-ups"): (
        SUP_WRITE,
        lambda c: {"json": {"reason": "回头看"}},
    ),
    ("GET", "/api/v1/tasks/{task_id}/follow-ups"): (STAFF_TASK, lambda c: {}),
    ("GET", "/api/v1/follow-ups"): (STAFF_LIST, lambda c: {}),
    ("GET", "/api/v1/tasks/{task_id}/notice"): (STAFF_TASK, lambda c: {}),
    ("POST", "/api/v1/tasks/{task_id}/evidence"): (
        STAFF_TASK_WRITE,
        lambda c: {"files": {"file": ("e.pdf", PDF + b"2")}},
    ),
    ("GET", "/api/v1/tasks/{task_id}/evidence"): (STAFF_TASK, lambda c: {}),
    ("GET", "/api/v1/tasks/{task_id}/evidence/{sha256}"): (
        {**STAFF_TASK, "admin": "ok", "supervisor": "ok", "inspector": "ok"},
        lambda c: {},
    ),
    ("GET", "/api/v1/results/deadlines"): (SUP, lambda c: {}),
    ("GET", "/api/v1/results/export.csv"): (SUP, lambda c: {}),
    ("GET", "/api/v1/reports/weekly"): (
        SUP,
        lambda c: {"params": {"from": "2026-12-01", "to": "2026-12-07"}},
    ),
    ("PUT", "/api/v1/credit/grades"): (
        CREDIT_WRITE,
        lambda c: {"json": [{"uscc": uscc(1), "grade": "B", "as_of": "2026-01-01"}]},
    ),
    ("GET", "/api/v1/credit/results"): (CREDIT, lambda c: {}),
}


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            for method in ctx.methods or ():
                out.add((method, ctx.path))
    return out


def test_every_route_has_a_row_in_the_matrix(client):
    # The console's pages take no bearer token: tests/console/test_console.py checks that each
    # one redirects to the sign-in form without a session and refuses a POST without CSRF.
    routes = {r for r in _routes(client.app) if not r[1].startswith("/console")}
    assert len(routes) >= 40
    missing = routes - set(MATRIX)
    assert not missing, f"endpoints without an authorization row: {sorted(missing)}"
    stale = set(MATRIX) - routes
    assert not stale, f"rows for endpoints that no longer exist: {sorted(stale)}"


def _fill(path: str, ctx: Ctx) -> str:
    return path.format(**ctx["params"])


def _classify(status: int) -> set[str]:
    if status in (401, 403):
        return {str(status)}
    if status == 404:
        return {"ok", "hidden"}
    if status < 400:
        return {"2xx", "ok"}
    if status < 500:
        return {"ok"}
    return {"5xx"}


@pytest.fixture
def world(client, drawn, make_token):
    """A drawn plan, a submitted result with evidence, and a token per role."""
    sup, draw = drawn
    task = draw["tasks"][0]
    team = {m["badge"] for m in task["team"]}
    in_any_team = {m["badge"] for t in draw["tasks"] for m in t["team"]}
    other = next(f"3704{n:010d}" for n in range(24) if f"3704{n:010d}" not in in_any_team | team)
    headers = {
        "anonymous": {},
        "admin": make_token("admin", name="admin"),
        "supervisor": sup,
        "inspector": make_token("inspector", badge=task["team"][0]["badge"], name="own"),
        "other_inspector": make_token("inspector", badge=other, name="other"),
        "credit": make_token("credit", name="credit"),
    }
    r = client.post(
        f"/api/v1/tasks/{task['id']}/evidence", headers=sup, files={"file": ("a.pdf", PDF)}
    )
    assert r.status_code == 201, r.text  # a new file
    sha = r.json()["sha256"]
    r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=sup, json=_result({})["json"])
    assert r.status_code == 200, r.text
    params = {
        "kind": "items",
        "uscc": uscc(2),
        "code": draw["plan"],
        "badge": other,
        "draw_id": draw["id"],
        "task_id": task["id"],
        "sha256": sha,
        "username": "nobody",
        "token_id": 999999,
    }
    return {"headers": headers, "params": params, "draw": draw, "task": task, "other": other}


# Reads first (state intact), then writes; DELETEs last of all.
ORDER = sorted(MATRIX, key=lambda k: (k[0] != "GET", k[0] == "DELETE", k[1], k[0]))


def test_authorization_matrix(client, world):
    failures = []
    for method, path in ORDER:
        expected, build = MATRIX[(method, path)]
        for role in ("anonymous", "credit", "other_inspector", "inspector", "supervisor", "admin"):
            # Path params: an item code for item routes, the drawn plan's code for plans.
            params = dict(world["params"])
            if path.startswith("/api/v1/items/"):
                params["code"] = "YB-09"
            url = path.format(**params)
            r = client.request(
                method, url, headers=world["headers"][role], follow_redirects=False, **build(world)
            )
            got = _classify(r.status_code)
            if expected[role] not in got:
                failures.append(
                    f"{method} {path} as {role}: {r.status_code} "
                    f"(expected {expected[role]}) {r.text[:120]}"
                )
    assert not failures, "\n".join(failures)


def test_inspector_sees_only_own_tasks(client, world):
    own = client.get("/api/v1/tasks", headers=world["headers"]["inspector"]).json()
    badge = world["task"]["team"][0]["badge"]
    items = own["items"] if isinstance(own, dict) else own
    assert items, "the inspector's own task must be listed"
    for t in items:
        assert badge in {m["badge"] for m in t["team"]}
    other = client.get("/api/v1/tasks", headers=world["headers"]["other_inspector"]).json()
    other_items = other["items"] if isinstance(other, dict) else other
    assert other_items == []


def test_public_site_never_shows_unpublished_data(client, world, settings):
    sup = world["headers"]["supervisor"]
    secret_title = "草稿计划-不得公开-XYZ"
    r = client.post(
        "/api/v1/plans", headers=sup, json=plan_body(code="2026-DRAFT-1", title=secret_title)
    )
    assert r.status_code == 201
    from app.db import make_sessionmaker
    from app.publish.write import publish

    with make_sessionmaker(client.app.state.engine)() as s:
        publish(s, settings.publish_dir)
    site = settings.publish_dir.resolve()
    for path in site.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret_title.encode() not in data, path
            assert b"2026-DRAFT-1" not in data, path
            assert b"evidence" not in data or path.suffix in (".js", ".html", ".json"), path
    # The draft is not reachable through /public or the API without a token.
    assert client.get("/public/plans/2026-DRAFT-1.json").status_code == 404
    assert client.get("/api/v1/plans/2026-DRAFT-1").status_code == 401
    # Evidence and unapproved results are never published.
    assert client.get(f"/public/evidence/{world['params']['sha256']}").status_code == 404
    results = client.get("/public/results/index.json")
    if results.status_code == 200:
        assert world["task"]["id"] not in results.text
