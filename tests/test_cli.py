"""The `spotcheck` command line: import, tokens, audit."""

import re

import pytest

from app import cli
from tests.factories import INSPECTOR_HEADER, TARGET_HEADER, inspector_row, target_row, to_csv


@pytest.fixture
def cli_db(db, monkeypatch):
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", db.url.render_as_string(hide_password=False))
    if db.dialect.name == "postgresql":
        pytest.skip("CLI tests share the SQLite path; the API tests cover PostgreSQL")
    from app.config import get_settings

    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_import_bad_file_exits_1_listing_rows(cli_db, tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_bytes(to_csv(TARGET_HEADER, [target_row(1), target_row(2, region="99")], "gb18030"))
    assert cli.main(["import", "targets", str(path)]) == 1
    err = capsys.readouterr().err
    assert "第 3 行 [医保区划] 医保区划应为 6 位数字" in err
    path.write_bytes(to_csv(TARGET_HEADER, [target_row(1)], "gb18030"))
    assert cli.main(["import", "targets", str(path)]) == 0
    assert "新增 1" in capsys.readouterr().out


def test_token_create_prints_token_last_and_checks_badge(cli_db, tmp_path, capsys):
    assert (
        cli.main(["token", "create", "--role", "inspector", "--name", "x", "--inspector", "NOPE1"])
        == 1
    )
    assert "不在执法检查人员名录库" in capsys.readouterr().err
    path = tmp_path / "i.csv"
    path.write_bytes(to_csv(INSPECTOR_HEADER, [inspector_row("37040220230001")]))
    assert cli.main(["import", "inspectors", str(path)]) == 0
    capsys.readouterr()
    assert (
        cli.main(
            [
                "token",
                "create",
                "--role",
                "inspector",
                "--name",
                "张三",
                "--inspector",
                "37040220230001",
            ]
        )
        == 0
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"sc_[A-Za-z0-9_-]{40,}", last)


def test_audit_verify_detects_an_edited_entry(cli_db, capsys):
    from sqlalchemy import text

    assert cli.main(["token", "create", "--role", "supervisor", "--name", "a"]) == 0
    assert cli.main(["token", "create", "--role", "supervisor", "--name", "b"]) == 0
    assert cli.main(["audit", "verify"]) == 0
    with cli_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    assert cli.main(["audit", "verify"]) == 1
    assert "第 1 条内容被修改" in capsys.readouterr().out


def test_audit_verify_catches_a_cut_tail_against_a_published_head(cli_db, capsys):
    from sqlalchemy import text

    for name in ("a", "b", "c"):
        assert cli.main(["token", "create", "--role", "supervisor", "--name", name]) == 0
    capsys.readouterr()
    with cli_db.connect() as conn:
        published = conn.execute(text("SELECT entry_hash FROM audit_log WHERE seq = 3")).scalar()
    assert cli.main(["audit", "verify", "--published-head", published]) == 0
    with cli_db.begin() as conn:  # the tail is cut: the rest of the chain is still consistent
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    assert cli.main(["audit", "verify"]) == 0
    assert cli.main(["audit", "verify", "--published-head", published]) == 1
    assert f"已公布的链头 {published} 不在审计链中" in capsys.readouterr().out
