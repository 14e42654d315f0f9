"""API fuzzing with schemathesis against the OpenAPI schema, in process, as a supervisor:
no 5xx, and documented responses match their schema. Bounded: a few examples per operation.

schemathesis' pytest plugin (`from_fixture`) does not run under pytest 9, so the test walks
the operations itself and drives each one's Hypothesis strategy."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 8


def test_no_server_errors_and_responses_match_the_schema(client, drawn):
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    sup, _draw = drawn
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    failures: list[str] = []
    operations = 0
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call_and_validate(
                headers=sup, checks=[not_a_server_error, response_schema_conformance]
            )
            statuses.append(response.status_code)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert operations >= 40
    # The fuzzer really reached the endpoints, past authentication, with varied answers.
    assert len(statuses) >= 4 * operations
    assert 401 not in statuses and {200, 422} <= set(statuses), sorted(set(statuses))
    assert not failures, "\n\n".join(failures)
