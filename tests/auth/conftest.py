"""Fixtures of the account and jurisdiction tests: the plan tests' city and a drawn plan."""

from tests.console.conftest import make_user  # noqa: F401
from tests.plans.conftest import city, published  # noqa: F401  (fixture re-export)
from tests.tasks.conftest import drawn, settings  # noqa: F401
