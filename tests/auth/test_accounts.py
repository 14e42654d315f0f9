"""Accounts (argon2id, CLI from standard input), the admin API of accounts and tokens, and
revoked tokens refused."""

import io

import pytest
from sqlalchemy import select

from app import cli
from app.auth import signin
from app.auth.signin import Attempt, SignInPolicy, SignInRefused
from app.db import make_sessionmaker
from app.models import User
from app.models.base import utcnow


@pytest.fixture
def cli_db(db, monkeypatch):
    if db.dialect.name == "postgresql":
        pytest.skip("CLI tests share the SQLite path; the API tests cover PostgreSQL")
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", db.url.render_as_string(hide_password=False))
    from app.config import get_settings

    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def _user(db, username):
    with make_sessionmaker(db)() as s:
        return s.scalar(select(User).where(User.username == username))


def test_cli_user_create_passwd_disable(cli_db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("Correct horse battery\n"))
    argv = ["user", "create", "wang", "--role", "supervisor", "--department", "某市医疗保障局"]
    assert cli.main([*argv, "--region", "3704"]) == 0
    assert "已创建账号 wang" in capsys.readouterr().out
    user = _user(cli_db, "wang")
    assert user.password_hash.startswith("$argon2id$") and "horse" not in user.password_hash
    assert (user.region_prefix, user.department, user.role) == (
        "3704",
        "某市医疗保障局",
        "supervisor",
    )
    policy = SignInPolicy()
    with make_sessionmaker(cli_db)() as s:
        assert signin.authenticate(
            s, Attempt("wang", "test"), "Correct horse battery", policy, utcnow()
        )
    # a second account of the same name, a short password, a bad region: refused
    monkeypatch.setattr("sys.stdin", io.StringIO("Correct horse battery\n"))
    assert cli.main(argv) == 1
    assert "已存在" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "create", "li", "--role", "supervisor"]) == 1
    assert "至少 12" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough pass\n"))
    assert cli.main(["user", "create", "li", "--role", "supervisor", "--region", "37040"]) == 1
    # passwd replaces the hash; the old password stops working
    monkeypatch.setattr("sys.stdin", io.StringIO("Another long password\n"))
    assert cli.main(["user", "passwd", "wang"]) == 0
    with make_sessionmaker(cli_db)() as s:
        with pytest.raises(SignInRefused):
            signin.authenticate(
                s, Attempt("wang", "test"), "Correct horse battery", policy, utcnow()
            )
        assert signin.authenticate(
            s, Attempt("wang", "test"), "Another long password", policy, utcnow()
        )
    # disable: even the right password is refused
    assert cli.main(["user", "disable", "wang"]) == 0
    assert cli.main(["user", "disable", "wang"]) == 1
    with make_sessionmaker(cli_db)() as s, pytest.raises(SignInRefused, match="停用"):
        signin.authenticate(s, Attempt("wang", "test"), "Another long password", policy, utcnow())


def test_admin_manages_accounts_and_tokens_and_a_revoked_token_is_refused(client, make_token):
    admin = make_token("admin", name="root")
    r = client.post(
        "/api/v1/admin/users",
        headers=admin,
        json={
            "username": "zhao",
            "password": "a long password 1",
            "role": "supervisor",
            "region": "370402",
            "department": "某区医疗保障局",
        },
    )
    assert r.status_code == 201, r.text
    assert "password" not in r.text and r.json()["region"] == "370402"
    users = client.get("/api/v1/admin/users", headers=admin).json()["items"]
    assert [u["username"] for u in users] == ["zhao"]
    r = client.post(
        "/api/v1/admin/tokens",
        headers=admin,
        json={"name": "区接口", "role": "supervisor", "region": "370402"},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    headers = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/plans", headers=headers).status_code == 200
    listed = client.get("/api/v1/admin/tokens", headers=admin).json()["items"]
    assert new["id"] in [t["id"] for t in listed] and all("token" not in t for t in listed)
    r = client.post(f"/api/v1/admin/tokens/{new['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert client.get("/api/v1/plans", headers=headers).status_code == 401
    assert client.post(f"/api/v1/admin/tokens/{new['id']}/revoke", headers=admin).status_code == 409
    # a supervisor is not an admin
    assert client.get("/api/v1/admin/users", headers=make_token("supervisor")).status_code == 403


def test_admin_api_resets_a_lost_second_factor_within_its_district(client, make_token, db):
    from sqlalchemy import select

    from app.db import make_sessionmaker
    from app.models import User

    admin = make_token("admin", name="root")
    for name, region in (("zhao", "370402"), ("qian", "370403")):
        body = {"username": name, "password": "a long password 1", "role": "supervisor"}
        r = client.post("/api/v1/admin/users", headers=admin, json={**body, "region": region})
        assert r.status_code == 201, r.text
    with make_sessionmaker(db)() as s:
        for u in s.scalars(select(User)):
            u.totp_secret = "JBSWY3DPEHPK3PXP"
        s.commit()
    assert [u["totp"] for u in client.get("/api/v1/admin/users", headers=admin).json()["items"]]
    district = make_token("admin", name="district", region="370402")
    assert client.post("/api/v1/admin/users/qian/totp-reset", headers=district).status_code == 404
    r = client.post("/api/v1/admin/users/zhao/totp-reset", headers=district)
    assert r.status_code == 200 and r.json()["totp"] is False
    assert client.post("/api/v1/admin/users/nobody/totp-reset", headers=admin).status_code == 404
    with make_sessionmaker(db)() as s:
        secrets = {n: t for n, t in s.execute(select(User.username, User.totp_secret))}
    assert secrets == {"zhao": None, "qian": "JBSWY3DPEHPK3PXP"}


def test_district_admin_cannot_create_outside_its_district(client, make_token):
    admin = make_token("admin", name="district", region="370402")
    body = {"username": "x1", "password": "a long password 1", "role": "supervisor"}
    r = client.post("/api/v1/admin/users", headers=admin, json={**body, "region": "3704"})
    assert r.status_code == 422 and "辖区" in r.text
    r = client.post("/api/v1/admin/users", headers=admin, json={**body, "region": "370402"})
    assert r.status_code == 201
    r = client.post("/api/v1/admin/tokens", headers=admin, json={"name": "t", "role": "credit"})
    assert r.status_code == 422  # no region = everywhere, wider than the district
