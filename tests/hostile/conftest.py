"""Hostile-input tests use the plain API client of tests/conftest.py."""

from tests.credit.conftest import credit, no_settle, settings  # noqa: F401  (fixtures)
from tests.plans.conftest import city, plan_body, published  # noqa: F401  (fixtures)
