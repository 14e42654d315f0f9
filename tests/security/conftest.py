"""Security tests reuse the task tests' city and drawn plan."""

from tests.plans.conftest import city  # noqa: F401  (fixture re-export)
from tests.tasks.conftest import drawn, settings  # noqa: F401  (fixture re-export)
