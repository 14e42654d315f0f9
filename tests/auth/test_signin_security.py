"""Sign-in that cannot be turned against its users, tried as an attacker would: locking someone
else out, telling which account names exist, replaying a code; and what a 等保 level-3
assessment checks: a second factor for administrators, a password policy, idle and absolute
session limits, CSP and HSTS, every sign-in kept in the audit for six months."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from app.auth import accounts, signin, totp
from app.auth.accounts import DEMO_PASSWORD, create_user
from app.auth.signin import Attempt, SignInPolicy, SignInRefused
from app.config import Settings
from app.db import make_sessionmaker
from app.errors import ValidationFailed
from app.models import SignIn, User
from app.models import base as _base
from tests.auth.test_accounts import cli_db  # noqa: F401  (fixture)
from tests.console.conftest import PASSWORD, csrf_of, sign_in

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    now = [T0]
    monkeypatch.setattr(_base, "utcnow", lambda: now[0])
    return now


def _user(db, name="wang", role="supervisor", password=PASSWORD, **kw):
    with make_sessionmaker(db)() as s:
        create_user(s, username=name, password=password, role=role, actor="test", **kw)
        s.commit()


def _try(db, name, password, source, now, policy=None):
    with make_sessionmaker(db)() as s:
        try:
            return signin.authenticate(
                s, Attempt(name, source), password, policy or SignInPolicy(), now
            )
        except SignInRefused as refused:
            return refused
        finally:
            s.commit()


# --- lockout per account and source -----------------------------------------------------------


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(db):
    _user(db, "admin", role="admin")
    for _ in range(5):
        assert isinstance(_try(db, "admin", "wrong!", "198.51.100.7", T0), SignInRefused)
    locked = _try(db, "admin", PASSWORD, "198.51.100.7", T0)
    assert isinstance(locked, SignInRefused) and locked.retry_after == 15 * 60
    # the administrator, from the office, signs in as usual
    assert isinstance(_try(db, "admin", PASSWORD, "10.1.2.3", T0), User)


def test_each_further_lockout_of_a_pair_is_twice_as_long(db):
    _user(db)
    at = T0
    waits = []
    for _ in range(3):
        for _ in range(5):
            refused = _try(db, "wang", "wrong!", "203.0.113.9", at)
        waits.append(refused.retry_after)
        at += timedelta(seconds=refused.retry_after + 1)
    assert waits == [15 * 60, 30 * 60, 60 * 60]
    assert isinstance(_try(db, "wang", PASSWORD, "203.0.113.9", at), User)  # resets the pair
    for _ in range(5):
        refused = _try(db, "wang", "wrong!", "203.0.113.9", at)
    assert refused.retry_after == 15 * 60


def test_unknown_names_and_wrong_passwords_get_the_same_answers(client, make_user):
    make_user("wang")
    answers = {}
    for name in ("wang", "nobody-here"):
        seen = []
        for _ in range(6):
            r = sign_in(client, name, "wrong password 1!")
            alert = re.search(r'data-role="login-error">([^<]*)<', r.text)
            seen.append((r.status_code, alert.group(1) if alert else None))
        answers[name] = seen
    assert answers["wang"] == answers["nobody-here"]
    assert {status for status, _ in answers["wang"]} == {401}  # never a 423
    assert "失败次数过多" in answers["wang"][-1][1]


# --- the second factor ------------------------------------------------------------------------


def test_an_admin_sets_up_a_second_factor_before_anything_else(client, db):
    _user(db, "guanli", role="admin")
    page = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"username": "guanli", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/account/totp"
    # nothing else opens until it is set up
    assert client.get("/console/", follow_redirects=False).headers["location"] == (
        "/console/account/totp"
    )
    page = client.get("/console/account/totp")
    assert page.status_code == 200 and "<svg" in page.text
    seed = re.search(r'data-role="totp-seed">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    r = client.post(
        "/console/account/totp",
        data={"code": "000000", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    code = totp.code_at(seed, _base.utcnow())
    r = client.post(
        "/console/account/totp",
        data={"code": code, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/console/", follow_redirects=False).status_code == 200
    with make_sessionmaker(db)() as s:
        user = s.scalar(select(User).where(User.username == "guanli"))
        assert user.totp_secret and seed not in user.totp_secret  # stored encrypted
        assert totp.unseal(user.totp_secret, "guanli") == seed


def test_a_code_is_needed_and_never_accepted_twice(client, db, clock):
    _user(db, "guanli", role="admin")
    seed = totp.new_seed()
    with make_sessionmaker(db)() as s:
        s.scalar(select(User).where(User.username == "guanli")).totp_secret = totp.seal(
            seed, "guanli"
        )
        s.commit()

    def password_step():
        page = client.get("/console/login")
        r = client.post(
            "/console/login",
            data={"username": "guanli", "password": PASSWORD, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/console/login/totp"
        return csrf_of(client.get("/console/login/totp").text)

    csrf = password_step()
    assert client.get("/console/", follow_redirects=False).status_code == 303
    code = totp.code_at(seed, clock[0])
    r = client.post(
        "/console/login/totp", data={"code": code, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and client.get("/console/").status_code == 200
    client.cookies.clear()
    csrf = password_step()
    r = client.post(
        "/console/login/totp", data={"code": code, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 401  # the same code again: refused
    clock[0] += timedelta(seconds=30)
    code = totp.code_at(seed, clock[0])
    r = client.post(
        "/console/login/totp", data={"code": code, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303


def test_totp_codes_follow_rfc_6238():
    # RFC 6238 appendix B, SHA-1, 8 digits truncated to the last 6 at T = 59 s: 94287082
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
    assert totp.code_at(seed, datetime.fromtimestamp(59, UTC)) == "287082"
    assert totp.code_at(seed, datetime.fromtimestamp(1111111109, UTC)) == "081804"


# --- password policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1234567890", "至少 12"),
        ("abcdefghijklmn", "三类"),
        ("ABCDEFGH12345678", "三类"),
        (DEMO_PASSWORD, "演示密码"),
        (DEMO_PASSWORD.upper() + "!", "演示密码"),
        ("Zhangwei-2026!", "用户名"),
    ],
)
def test_the_password_policy_refuses(db, password, why):
    with make_sessionmaker(db)() as s, pytest.raises(ValidationFailed, match=why):
        create_user(s, username="zhangwei", password=password, role="supervisor", actor="t")


def test_a_good_password_and_the_demo_exception(db, client):
    _user(db, "zhangwei", password="Jiancha 2026 ok")
    _user(db, "jiancha", password=DEMO_PASSWORD, demo=True)  # only `spotcheck demo` does this
    assert sign_in(client, "jiancha", DEMO_PASSWORD).status_code == 303  # SQLite: allowed


def test_demo_accounts_are_refused_where_they_are_not_allowed(db):
    _user(db, "jiancha", password=DEMO_PASSWORD, demo=True)
    off = SignInPolicy(demo_allowed=False)
    refused = _try(db, "jiancha", DEMO_PASSWORD, "10.0.0.1", T0, off)
    assert isinstance(refused, SignInRefused) and "演示" in refused.message
    assert Settings(database_url="postgresql+psycopg://x@h/db").demo_accounts_allowed is False
    assert Settings(database_url="sqlite:///x.db").demo_accounts_allowed is True
    # an admin's own new password ends its demo status
    with make_sessionmaker(db)() as s:
        accounts.set_password(s, username="jiancha", password="Zhiyuan own 2026", actor="t")
        s.commit()
    assert isinstance(_try(db, "jiancha", "Zhiyuan own 2026", "10.0.0.1", T0, off), User)


# --- sessions ---------------------------------------------------------------------------------


def test_idle_timeout_is_30_minutes_and_reading_keeps_a_session(client, make_user, clock):
    make_user("wang")
    assert sign_in(client, "wang").status_code == 303
    for _ in range(5):  # reading a page every 20 minutes keeps it
        clock[0] += timedelta(minutes=20)
        assert client.get("/console/", follow_redirects=False).status_code == 200
    clock[0] += timedelta(minutes=31)
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_session_ends_after_its_absolute_lifetime_however_used(client, make_user, clock):
    make_user("wang")
    assert sign_in(client, "wang").status_code == 303
    for _ in range(12 * 3 - 1):
        clock[0] += timedelta(minutes=20)
        assert client.get("/console/", follow_redirects=False).status_code == 200
    clock[0] += timedelta(minutes=21)  # 12 h 1 min after signing in
    assert client.get("/console/", follow_redirects=False).status_code == 303


# --- headers ----------------------------------------------------------------------------------


def test_console_pages_carry_a_content_security_policy(client, make_user):
    r = client.get("/console/login")
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "strict-transport-security" not in r.headers  # plain http: no HSTS


def test_hsts_over_https(db, settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings, engine=db), base_url="https://testserver") as c:
        r = c.get("/api/v1/health")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")


# --- the sign-in audit ------------------------------------------------------------------------


def test_every_attempt_is_in_the_sign_in_audit_and_kept_six_months(client, make_user, db):
    make_user("wang")
    sign_in(client, "wang", "wrong password 1!")
    sign_in(client, "nobody-here", "wrong password 1!")
    sign_in(client, "wang")
    with make_sessionmaker(db)() as s:
        rows = s.execute(select(SignIn.username, SignIn.outcome).order_by(SignIn.id)).all()
        assert rows == [("wang", "failed"), ("nobody-here", "failed"), ("wang", "ok")]
        policy = SignInPolicy(retention=timedelta(days=30))  # never below six months
        assert signin.prune(s, _base.utcnow() + timedelta(days=182), policy) == 0
        assert signin.prune(s, _base.utcnow() + timedelta(days=184), policy) == 3
        assert s.scalar(select(func.count()).select_from(SignIn)) == 0
    with pytest.raises(ValidationError):
        Settings(sign_in_retention_days=90)


def test_the_security_page_lists_sign_ins_for_admins_only(client, make_user):
    make_user("wang")
    make_user("guanli", role="admin")
    sign_in(client, "wang")
    assert client.get("/console/security").status_code == 403
    client.cookies.clear()
    assert sign_in(client, "guanli").status_code == 303
    page = client.get("/console/security")
    assert page.status_code == 200 and "wang" in page.text and "登录成功" in page.text


def test_cli_totp_reset_makes_the_admin_set_it_up_again(cli_db, capsys):  # noqa: F811
    from app import cli

    with make_sessionmaker(cli_db)() as s:
        create_user(s, username="guanli", password=PASSWORD, role="admin", actor="t")
        s.scalar(select(User).where(User.username == "guanli")).totp_secret = "x"
        s.commit()
    assert cli.main(["user", "totp-reset", "guanli"]) == 0
    assert "第二因素已清除" in capsys.readouterr().out
    with make_sessionmaker(cli_db)() as s:
        assert s.scalar(select(User.totp_secret).where(User.username == "guanli")) is None
