"""Reliability tests start real uvicorn servers; backend per test (SQLite, PostgreSQL)."""

import pytest

from tests.conftest import PG_URL

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of a real-server test."""
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("SPOTCHECK_TEST_POSTGRES_URL not set")
    return str(request.param)
