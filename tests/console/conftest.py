"""Console fixtures: accounts in the plan tests' city, and signing in through the form."""

import re

import pytest

from app.auth.accounts import create_user
from app.db import make_sessionmaker
from tests.plans.conftest import city, published  # noqa: F401  (fixture re-export)
from tests.tasks.conftest import drawn, settings  # noqa: F401

PASSWORD = "console password 1"


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


@pytest.fixture
def make_user(db):
    def _make(username, role="supervisor", region="3704", badge=None, department="某市医疗保障局"):
        with make_sessionmaker(db)() as s:
            create_user(
                s,
                username=username,
                password=PASSWORD,
                role=role,
                region=region,
                badge=badge,
                department=department,
                actor="test",
            )
            s.commit()
        return username

    return _make


def sign_in(client, username, password=PASSWORD):
    """Signs `client` in through the form; the response of the POST."""
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
