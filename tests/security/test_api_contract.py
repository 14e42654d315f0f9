"""The API contract an integrator relies on (app/api.py, app/errors.py, app/pagination.py):
/docs works offline, the OpenAPI declares the bearer scheme and every problem+json answer,
every list is {items, next_cursor} with working cursors, unknown query parameters and
duplicate JSON keys are 422s, and every validation message is Chinese."""

import re
from html.parser import HTMLParser

import pytest

from tests.entropy import post_draw
from tests.plans.conftest import plan_body, published
from tests.rounds import approve, result_body

CJK = re.compile(r"[\u4e00-\u9fff]")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def _operations(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


# --- /docs offline -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets_and_they_are_served(client, page):
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert "cdn" not in html.lower() and "googleapis" not in html
    parser = _Refs()
    parser.feed(html)
    scripts = re.findall(r"""(?:url|src|href)\s*[:=]\s*['"]([^'"]+)['"]""", html)
    refs = set(parser.refs) | set(scripts)
    assert refs, html
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), f"{page} loads {ref} from the network"
        assert ref.startswith("/"), ref
        got = client.get(ref)
        assert got.status_code == 200, ref
        assert len(got.content) > 1000, ref  # the real bundle, not an empty placeholder
    assert "/api/v1/openapi.json" in refs
    assert any(ref.endswith(".js") for ref in refs)


def test_swagger_ui_has_no_online_validator(client):
    html = client.get("/docs").text
    assert '"validatorUrl": null' in html


# --- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_declares_the_bearer_scheme_on_every_route_that_needs_a_token(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    for path, method, op in _operations(client):
        r = client.request(method, _fill(path))
        if r.status_code == 401:
            assert op.get("security") == [{"bearer": []}], f"{method} {path}"
        else:
            assert path == "/api/v1/health" and "security" not in op


def test_every_error_answer_is_a_declared_problem_and_fastapis_shape_is_gone(client):
    spec = client.get("/api/v1/openapi.json").json()
    text = str(spec)
    assert "HTTPValidationError" not in text and "'ValidationError'" not in text
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    item = spec["components"]["schemas"]["ProblemItem"]
    assert set(item["properties"]) == {"row", "field", "message"}
    for path, method, op in _operations(client):
        codes = {int(c) for c in op["responses"]}
        assert 422 in codes, f"{method} {path}"
        if op.get("security"):
            assert {401, 403, 429} <= codes, f"{method} {path}"
        if "requestBody" in op:
            assert 413 in codes, f"{method} {path}"
        if "{" in path:
            assert 404 in codes, f"{method} {path}"
        for code, response in op["responses"].items():
            if int(code) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{method} {path} {code}"


def test_every_success_answer_has_a_schema(client):
    untyped = []
    for path, method, op in _operations(client):
        for code, response in op["responses"].items():
            if int(code) >= 400:
                continue
            for media, content in response.get("content", {}).items():
                schema = content.get("schema", {})
                if media == "application/json" and "$ref" not in schema:
                    untyped.append(f"{method} {path} {code}: {schema}")
                elif not schema:
                    untyped.append(f"{method} {path} {code} {media}: no schema")
    assert not untyped, "\n".join(untyped)


def test_state_changes_declare_409(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/plans/{code}/publish",
        "/api/v1/plans/{code}/draw",
        "/api/v1/tasks/{task_id}/result/approve",
    ):
        assert "409" in spec["paths"][path]["post"]["responses"], path


# --- lists: one envelope, working cursors ---------------------------------------------------


def _walk(client, headers, url, limit=2):
    """Every item of a list, page by page; asserts the envelope on each page."""
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get(url, headers=headers, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}, body
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50


def _once(client, headers, url):
    r = client.get(url, headers=headers, params={"limit": 500})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return r.json()["items"]


def test_every_list_is_an_envelope_and_its_cursor_walks_all_items(client, drawn):
    sup, draw = drawn
    code = draw["plan"]
    for n in range(3):  # more plans, more versions
        published(client, sup, code=f"P-{n}")
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=sup,
        json={"reason": "调整检查窗口", "changes": {"title": "新标题"}},
    )
    assert r.status_code == 201, r.text
    task_id = draw["tasks"][0]["id"]
    approve(client, sup, task_id)
    for n in range(3):
        r = client.post(
            f"/api/v1/tasks/{task_id}/evidence",
            headers=sup,
            files={"file": (f"{n}.png", PNG + bytes([n]), "image/png")},
        )
        assert r.status_code == 201, r.text
        r = client.post(
            f"/api/v1/tasks/{task_id}/follow-ups", headers=sup, json={"reason": f"回头看 {n}"}
        )
        assert r.status_code == 201, r.text
    uscc = draw["tasks"][0]["uscc"]
    for grade in ("B", "C"):
        r = client.patch(f"/api/v1/targets/{uscc}", headers=sup, json={"credit_grade": grade})
        assert r.status_code == 200, r.text
    lists = {
        "/api/v1/plans": 4,
        f"/api/v1/plans/{code}/versions": 3,
        f"/api/v1/tasks/{task_id}/events": 2,
        f"/api/v1/tasks/{task_id}/evidence": 3,
        f"/api/v1/tasks/{task_id}/follow-ups": 3,
        "/api/v1/follow-ups": 3,
        f"/api/v1/targets/{uscc}/history": 3,
        f"/api/v1/draws/{draw['id']}/tasks": len(draw["tasks"]),
        "/api/v1/tasks": len(draw["tasks"]),
        "/api/v1/targets": 80,
    }
    for url, at_least in lists.items():
        walked, pages = _walk(client, sup, url)
        whole = _once(client, sup, url)
        assert walked == whole, url  # same items, same order, none twice
        assert len(whole) >= at_least, url
        assert pages == max(1, -(-len(whole) // 2)), url  # no empty last page


def test_list_order_is_kept_across_pages(client, drawn):
    sup, draw = drawn
    for n in range(3):
        published(client, sup, code=f"P-{n}")
    codes = [p["code"] for p in _walk(client, sup, "/api/v1/plans", limit=1)[0]]
    assert codes[:3] == ["P-2", "P-1", "P-0"]  # newest first, as before
    versions = _walk(client, sup, f"/api/v1/plans/{draw['plan']}/versions", limit=1)[0]
    assert [v["version"] for v in versions] == sorted(v["version"] for v in versions)


STRING_KEYED = ["/api/v1/follow-ups", "/api/v1/tasks", "/api/v1/targets"]
OTHER_KEYED = [
    "/api/v1/plans",
    "/api/v1/plans/{plan}/versions",
    "/api/v1/tasks/{task}/events",
    "/api/v1/tasks/{task}/evidence",
    "/api/v1/tasks/{task}/follow-ups",
]
NOT_BASE64, NOT_A_STRING_KEY, KEY_NOPE = "!!!", "eyJrIjogMX0", "eyJrIjogIm5vcGUifQ"


@pytest.mark.parametrize("url", STRING_KEYED + OTHER_KEYED)
@pytest.mark.parametrize("cursor", [NOT_BASE64, NOT_A_STRING_KEY, KEY_NOPE])
def test_a_forged_cursor_is_a_400_problem_or_an_empty_page(client, drawn, url, cursor):
    sup, draw = drawn
    url = url.format(plan=draw["plan"], task=draw["tasks"][0]["id"])
    r = client.get(url, headers=sup, params={"cursor": cursor})
    if cursor == KEY_NOPE and url in STRING_KEYED:
        # A well-formed key past every id ("n" sorts after digits): simply the end of the list.
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}, r.text
        return
    assert "游标" in _problem(r, 400)["detail"]


# --- unknown query parameters ---------------------------------------------------------------


def test_an_unknown_query_parameter_is_a_422_on_every_route(client, make_token):
    admin = make_token("admin")
    checked = 0
    for path, method, _op in _operations(client):
        r = client.request(method, _fill(path), headers=admin, params={"limt": "5"})
        body = _problem(r, 422)
        assert body["errors"] == [
            {"field": "limt", "message": "未知的查询参数 (unknown query parameter)"}
        ], f"{method} {path}"
        checked += 1
    assert checked >= 44
    for page in ("/docs", "/redoc"):
        _problem(client.get(page, params={"x": "1"}), 422)


def test_known_query_parameters_still_work(client, drawn):
    sup, _draw = drawn
    r = client.get(
        "/api/v1/targets",
        headers=sup,
        params={"region": "370402", "limit": 5, "include_inactive": "false"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"] and all(t["region"] == "370402" for t in r.json()["items"])
    r = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": "2026-01-01", "to": "2026-12-31"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["from"] == "2026-01-01"


def test_unknown_query_parameters_are_all_named(client, drawn):
    sup, _draw = drawn
    r = client.get("/api/v1/targets", headers=sup, params={"regoin": "37", "Limit": "2"})
    body = _problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["Limit", "regoin"]


# --- JSON bodies: duplicates and malformed JSON ---------------------------------------------


def _raw(client, method, url, headers, text):
    return client.request(
        method, url, headers={**headers, "Content-Type": "application/json"}, content=text
    )


def test_a_duplicate_key_is_a_422_not_a_silent_merge(client, city):
    body = '{"reason": "第一个理由", "reason": "第二个理由"}'
    published(client, city)
    r = _raw(client, "POST", "/api/v1/plans/2026-YB-Q4/close", city, body)
    problem = _problem(r, 422)
    assert problem["errors"] == [
        {"field": "body", "message": 'JSON 对象中键 "reason" 重复 (duplicate key)'}
    ]


def test_a_nested_duplicate_key_is_refused_too(client, city):
    import json

    text = json.dumps(plan_body()).replace('"scope": {', '"scope": {"levels": [], ', 1)
    text = text.replace('"regions": ["3704"]', '"regions": ["3704"], "levels": ["一级"]')
    r = _raw(client, "POST", "/api/v1/plans", city, text)
    problem = _problem(r, 422)
    assert "levels" in problem["errors"][0]["message"]
    assert client.get("/api/v1/plans/2026-YB-Q4", headers=city).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [("grade_rates", {"d": 0.1, "D": 1.0}), ("risk_weights", {"C": 2, "c": 3})],
)
def test_grade_keys_equal_after_upper_casing_are_refused(client, city, field, value):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(**{field: value}))
    problem = _problem(r, 422)
    assert problem["errors"][0]["field"] == field
    assert "重复" in problem["errors"][0]["message"]
    # The same grades once each still pass the shape check.
    single = {k: v for k, v in value.items() if k.isupper()}
    r = client.post("/api/v1/plans", headers=city, json=plan_body(**{field: single}))
    assert r.status_code == 201, r.text


def test_grade_case_duplicates_are_refused_in_adjustments_too(client, city):
    code = published(client, city)
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "调整比例", "changes": {"grade_rates": {"d": 0.5, "D": 0.2}}},
    )
    assert r.status_code == 422, r.text
    assert "重复" in str(r.json())


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"entropy": "1-2-3",}', "第 1 行第 21 列"),
        ('{"entropy": "1-2-3"', "第 1 行第 20 列"),
        ('{\n  "entropy": 1-2\n}', "第 2 行第 15 列"),
        ("", None),
        ("\xff\xfe", None),
    ],
)
def test_malformed_json_is_a_422_on_body_naming_the_position(client, city, text, where):
    code = published(client, city)
    r = _raw(client, "POST", f"/api/v1/plans/{code}/draw", city, text.encode("latin-1"))
    problem = _problem(r, 422)
    [error] = problem["errors"]
    assert error["field"] == "body" and "row" not in error
    assert CJK.search(error["message"]), error
    if where:
        assert where in error["message"], error
        assert error["message"].startswith("JSON 格式错误")


# --- Chinese validation messages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "entropy", "缺少必填字段 (field required)"),
        ({"entropy": ""}, "entropy", "长度至少 1 个字符 (at least 1 characters)"),
        ({"entropy": 5}, "entropy", "应为字符串 (string expected)"),
        ({"entropy": "x", "y": 1}, "y", "不允许的字段 (extra field not permitted)"),
        ([], "body", "应为对象 (object expected)"),
    ],
)
def test_validation_messages_are_chinese(client, city, body, field, message):
    code = published(client, city)
    r = post_draw(client, f"/api/v1/plans/{code}/draw", headers=city, json=body)
    problem = _problem(r, 422)
    assert {"field": field, "message": message} in problem["errors"], problem


def test_numeric_limits_name_the_bound_in_chinese(client, city):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(team={"size": 1}))
    problem = _problem(r, 422)
    assert problem["errors"] == [
        {
            "field": "team.size",
            "message": "应大于或等于 2 (should be greater than or equal to 2)",
        }
    ]
    r = client.get("/api/v1/tasks", headers=city, params={"limit": 0})
    assert _problem(r, 422)["errors"] == [
        {"field": "limit", "message": "应大于或等于 1 (should be greater than or equal to 1)"}
    ]


def test_every_message_of_a_very_bad_request_is_chinese(client, city):
    bad = {
        "code": "坏 code",
        "title": "",
        "lead_department": 3,
        "items": "YB-01",
        "scope": {"kinds": [], "regions": ["x"], "other": 1},
        "strata": ["nope"],
        "ratio": "many",
        "min_per_stratum": 1.5,
        "grade_rates": {"A": 2},
        "cooldown_days": -1,
        "team": {"size": 99, "region_level": 5, "cross_region": "maybe"},
        "window": {"start": "2026-13-01", "end": "tomorrow"},
        "publish_tasks": "now",
    }
    r = client.post("/api/v1/plans", headers=city, json=bad)
    problem = _problem(r, 422)
    assert len(problem["errors"]) >= 12
    for error in problem["errors"]:
        assert CJK.search(error["message"]), error
        assert not error["message"].startswith(("Input should", "Field required", "Value error"))


def test_list_bodies_report_the_row(client, make_token):
    credit = make_token("credit")
    r = client.put(
        "/api/v1/credit/grades",
        headers=credit,
        json=[{"uscc": "x", "grade": "A", "as_of": "2026-01-01"}, {"uscc": "y", "grade": "A"}],
    )
    problem = _problem(r, 422)
    assert problem["errors"] == [
        {"row": 1, "field": "1.as_of", "message": "缺少必填字段 (field required)"}
    ]


def test_result_bodies_get_chinese_messages(client, drawn):
    sup, draw = drawn
    task_id = draw["tasks"][0]["id"]
    r = client.put(
        f"/api/v1/tasks/{task_id}/result",
        headers=sup,
        json=result_body(outcome="大概没问题", decided_on="yesterday"),
    )
    problem = _problem(r, 422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields["outcome"].startswith("取值应为 ")
    assert fields["decided_on"] == "日期格式无效，应为 YYYY-MM-DD (invalid date)"
