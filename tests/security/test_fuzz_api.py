"""API fuzzing with schemathesis against the OpenAPI schema, in process, as admin (admitted to
every route): no 5xx, every status is declared, every body matches its declared schema
(problem+json errors included), and a route without the token is refused. Bounded: a few
examples per operation. Then every GET route once more with real ids, where the answer must
be a 2xx that validates; and a check that these checks do catch a body breaking its schema.

schemathesis' pytest plugin (`from_fixture`) does not run under pytest 9, so the test walks
the operations itself and drives each one's Hypothesis strategy."""

import hashlib

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from app.api import StrictRoute, install_openapi
from app.errors import install_error_handlers
from tests.rounds import approve

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _schema(app):
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def _fuzz(operation, headers, statuses, checks=CHECKS):
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses.append(response.status_code)

    run()


def test_no_server_errors_and_every_answer_matches_the_schema(client, drawn, make_token):
    _sup, _draw = drawn
    admin = make_token("admin")
    # ignored_auth sends wrong tokens on purpose: not a brute force to slow down here.
    client.app.state.auth_limiter.max_failures = 10**9
    failures: list[str] = []
    operations: list[str] = []
    statuses: list[int] = []
    for result in _schema(client.app).get_all_operations():
        operation = result.ok()
        operations.append(f"{operation.method.upper()} {operation.path}")
        checks = CHECKS + ([ignored_auth] if operation.definition.raw.get("security") else [])
        try:
            _fuzz(operation, admin, statuses, checks)
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{operations[-1]}: {exc}"[:2000])
    spec = client.get("/api/v1/openapi.json").json()
    assert len(operations) == sum(len(ops) for ops in spec["paths"].values()) >= 44
    # The fuzzer really reached the endpoints, past authentication, with varied answers.
    assert len(statuses) >= 4 * len(operations)
    assert 401 not in statuses and {200, 404, 422} <= set(statuses), sorted(set(statuses))
    assert not failures, "\n\n".join(failures)


def _real_ids(client, sup, draw):
    task = draw["tasks"][0]
    approve(client, sup, task["id"])
    r = client.post(
        f"/api/v1/tasks/{task['id']}/evidence", headers=sup, files={"file": ("a.png", PNG)}
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/tasks/{task['id']}/follow-ups", headers=sup, json={"reason": "复查"})
    assert r.status_code == 201, r.text
    item = client.get("/api/v1/items", headers=sup).json()["items"][0]["code"]
    badge = client.get("/api/v1/inspectors", headers=sup).json()["items"][0]["badge"]
    return {
        "draw_id": draw["id"],
        "task_id": task["id"],
        "uscc": task["uscc"],
        "badge": badge,
        "kind": "targets",
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "item": item,
        "plan": draw["plan"],
    }


def test_every_get_route_answers_real_ids_with_a_body_its_schema_describes(
    client, drawn, make_token
):
    sup, draw = drawn
    ids = _real_ids(client, sup, draw)
    admin = make_token("admin")
    queries = {"/api/v1/reports/weekly": {"from": "2026-01-01", "to": "2027-12-31"}}
    failures, seen = [], []
    for result in _schema(client.app).get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        params = {
            name: ids[name]
            for name in ("draw_id", "task_id", "uscc", "badge", "kind", "sha256")
            if "{" + name + "}" in operation.path
        }
        if "{code}" in operation.path:
            params["code"] = ids["item" if operation.path.startswith("/api/v1/items") else "plan"]
        case = operation.Case(path_parameters=params, query=queries.get(operation.path, {}))
        try:
            response = case.call_and_validate(headers=admin, checks=CHECKS)
            assert 200 <= response.status_code < 300, (response.status_code, response.text)
            seen.append(operation.path)
        except Exception as exc:
            failures.append(f"GET {operation.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
    assert len(seen) >= 30, seen


class _Thing(BaseModel):
    name: str


def test_the_checks_catch_a_route_whose_body_breaks_its_schema():
    """The fuzz above proves something only if a wrong body fails it: here one does."""
    app = FastAPI(openapi_url="/api/v1/openapi.json")
    app.router.route_class = StrictRoute
    install_error_handlers(app)
    install_openapi(app)

    @app.get("/api/v1/thing", response_model=_Thing)
    def thing() -> JSONResponse:
        return JSONResponse({"name": 1})  # bypasses FastAPI's own response validation

    @app.get("/api/v1/fine", response_model=_Thing)
    def fine() -> _Thing:
        return _Thing(name="ok")

    operations = {r.ok().path: r.ok() for r in _schema(app).get_all_operations()}
    with pytest.raises(FailureGroup) as caught:
        _fuzz(operations["/api/v1/thing"], {}, [])
    assert [type(e) for e in caught.value.exceptions] == [JsonSchemaError]
    assert "Response violates schema" in str(caught.value.exceptions[0])
    _fuzz(operations["/api/v1/fine"], {}, [])
