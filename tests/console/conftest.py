"""Console fixtures: accounts in the plan tests' city, and signing in through the form."""

import re

import pytest

from app.auth.accounts import create_user
from app.db import make_sessionmaker
from tests.plans.conftest import city, published  # noqa: F401  (fixture re-export)
from tests.tasks.conftest import drawn, settings  # noqa: F401

PASSWORD = "console password 1"
# The second factor of the accounts whose role needs one (admins): enrolled by make_user, its
# code given by sign_in (as a person's authenticator app would).
TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code() -> str:
    from app.auth import totp
    from app.models.base import utcnow

    return totp.code_at(TOTP_SEED, utcnow())


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
            if role == "admin":
                from app.auth import totp
                from app.models import User

                user = s.query(User).filter_by(username=username).one()
                user.totp_secret = totp.seal(TOTP_SEED, username)
            s.commit()
        return username

    return _make


def sign_in(client, username, password=PASSWORD):
    """Signs `client` in through the form (and the code, for an account with a second
    factor); the response of the last POST."""
    page = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    if r.status_code == 303 and r.headers["location"] == "/console/login/totp":
        from app.models import User

        with client.app.state.sessionmaker() as s:  # a fresh code each time, as a test may
            s.query(User).filter_by(username=username).one().totp_last_step = None
            s.commit()
        page = client.get("/console/login/totp")
        r = client.post(
            "/console/login/totp",
            data={"code": totp_code(), "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
    return r
