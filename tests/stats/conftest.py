"""Fixtures for statistics over real draws: the plan tests' city and the credit fixtures."""

from tests.credit.conftest import credit, no_settle, settings  # noqa: F401  (fixture re-export)
from tests.plans.conftest import city, plan_body, published  # noqa: F401  (fixture re-export)
