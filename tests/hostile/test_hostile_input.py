"""The one input rule (app/inputs.py), tried as an anonymous attacker would: deeply nested JSON,
NUL characters and numbers of thousands of digits, in bodies, query parameters, path ids, forms
and uploaded cells. Each is a 422 problem+json before any expensive work, and nothing is
written. A NUL that reached PostgreSQL used to fail every later site build."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from app.db import make_sessionmaker
from app.inputs import MAX_DIGITS, MAX_JSON_DEPTH
from app.models import Plan, Target
from tests.entropy import dice_source
from tests.factories import TARGET_HEADER, target_row, to_csv
from tests.plans.conftest import plan_body
from tests.tasks.conftest import drawn  # noqa: F401  (fixture)

NUL = "\u0000"


def _is_input_refusal(r, field: str | None = None) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["errors"]
    if field is not None:
        assert any(e["field"] == field for e in body["errors"]), body


def _plans(db) -> int:
    with make_sessionmaker(db)() as s:
        return s.scalar(select(func.count()).select_from(Plan)) or 0


def test_importing_the_app_leaves_the_recursion_limit_as_python_sets_it():
    # py-ecc raises it to 100,000 on import: the C JSON parser then overflows the stack
    # (a segfault, exit 139) on a deep enough array instead of raising RecursionError.
    code = (
        "import sys; before = sys.getrecursionlimit(); import app.main, app.cli, json\n"
        "assert sys.getrecursionlimit() == before, sys.getrecursionlimit()\n"
        "try:\n    json.loads('[' * 100000 + ']' * 100000)\n"
        "except RecursionError:\n    print('refused')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.strip() == "refused"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused_before_parsing_even_anonymously(client, db, depth):
    body = ("[" * depth + "]" * depth).encode()
    for headers in ({}, {"Content-Type": "application/json"}):
        r = client.post("/api/v1/plans", headers=headers, content=body)
        _is_input_refusal(r, "body")
        assert str(MAX_JSON_DEPTH) in r.json()["errors"][0]["message"]
    # the service still answers
    assert client.get("/api/v1/health").status_code == 200


def test_nesting_within_the_limit_reaches_the_schema(client, city, db):
    nested: object = "x"
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = [nested]
    r = client.post("/api/v1/plans", headers=city, json=plan_body(title=nested))
    assert r.status_code == 422
    assert any(e["field"] == "title" for e in r.json()["errors"]), r.text


def test_a_nested_string_of_brackets_is_not_nesting(client, city, db):
    title = "[" * 90 + "{" * 90 + " 抽查"
    r = client.post("/api/v1/plans", headers=city, json=plan_body(title=title))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "over",
    [
        {"title": f"抽查{NUL}计划"},
        {"lead_department": NUL},
        {"entropy_source": {**dice_source(), "witnesses": [f"张三{NUL}"]}},
        {"items": [f"YB-01{NUL}"]},
        {f"co{NUL}de": "x"},
    ],
)
def test_nul_anywhere_in_a_json_body_is_refused_and_nothing_is_written(client, city, db, over):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(**over))
    _is_input_refusal(r)
    assert "NUL" in r.text
    assert _plans(db) == 0


def test_an_escaped_backslash_before_u0000_is_text_not_nul(client, city, db):
    r = client.post("/api/v1/plans", headers=city, json=plan_body(title="路径 C:\\u0000 抽查"))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("digits", [MAX_DIGITS + 1, 5000])
def test_a_number_of_thousands_of_digits_is_refused(client, city, db, digits):
    body = json.dumps(plan_body()).replace('"ratio": 0.05', '"ratio": ' + "9" * digits)
    r = client.post("/api/v1/plans", headers=city, content=body.encode())
    _is_input_refusal(r, "body")
    r = client.put("/api/v1/credit/grades", content=("[" + "1" * 5000 + "]").encode())
    _is_input_refusal(r, "body")
    assert _plans(db) == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(client, city, db, literal):
    body = json.dumps(plan_body()).replace('"ratio": 0.05', '"ratio": ' + literal)
    r = client.post("/api/v1/plans", headers=city, content=body.encode())
    _is_input_refusal(r)
    assert _plans(db) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/targets?q=%00",
        "/api/v1/targets?region=37%0004",
        "/api/v1/plans?cursor=" + "7" * 5000,
        "/api/v1/targets/%00",
        "/api/v1/items/YB%0001",
        "/api/v1/tasks/" + "1" * 5000,
        "/api/v1/plans/X%00Y",
        "/public/index%00.html",
    ],
)
def test_nul_and_huge_numerals_in_query_and_path_are_refused(client, city, url):
    r = client.get(url, headers=city)
    _is_input_refusal(r)


def test_urlencoded_form_with_nul_is_refused(client, db):
    r = client.post(
        "/console/login",
        content=b"username=admin%00&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _is_input_refusal(r)


def test_nul_in_a_multipart_text_field_is_refused(client, drawn, db):  # noqa: F811
    sup, draw = drawn
    task = draw["tasks"][0]["id"]
    r = client.post(
        f"/api/v1/tasks/{task}/evidence",
        headers=sup,
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"note": f"现场{NUL}照片"},
    )
    _is_input_refusal(r, "note")


def _targets(db) -> int:
    with make_sessionmaker(db)() as s:
        return s.scalar(select(func.count()).select_from(Target)) or 0


def test_nul_in_an_uploaded_cell_is_refused_with_row_and_field(client, make_token, db):
    # the registries' text rule (app/registries/fields.py) refuses control characters, NUL too;
    # openpyxl never yields a NUL from an XLSX (XML cannot carry one)
    sup = make_token("supervisor")
    rows = [target_row(1), target_row(2)]
    name_col = TARGET_HEADER.index("名称")
    rows[1][name_col] = f"某{NUL}医院"
    r = client.post(
        "/api/v1/registries/targets/import",
        headers=sup,
        files={"file": ("t.csv", to_csv(TARGET_HEADER, rows))},
    )
    _is_input_refusal(r)
    bad = r.json()["errors"]
    assert {(e["row"], e["field"]) for e in bad} == {(3, "名称")}, bad
    assert _targets(db) == 0


def test_a_huge_numeral_in_an_uploaded_cell_is_a_row_error(client, make_token, db):
    sup = make_token("supervisor")
    rows = [target_row(1)]
    region = TARGET_HEADER.index("医保区划")
    rows[0][region] = "3" * 5000
    r = client.post(
        "/api/v1/registries/targets/import",
        headers=sup,
        files={"file": ("t.csv", to_csv(TARGET_HEADER, rows))},
    )
    _is_input_refusal(r)
    assert r.json()["errors"][0]["row"] == 2
    assert _targets(db) == 0
