"""Fixtures for the visit tests: the plan tests' city and a drawn plan."""

from tests.plans.conftest import city  # noqa: F401  (fixture re-export)
from tests.tasks.conftest import drawn, settings  # noqa: F401  (fixture re-export)
