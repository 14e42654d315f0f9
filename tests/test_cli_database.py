"""The `spotcheck` command line against a database that is missing, behind, newer or unreachable:
the embedded SQLite database is migrated automatically, PostgreSQL never; a refusal is one
Chinese line and exit 1, never a traceback, and a failed command leaves no database behind."""

import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, text

from app import cli
from app.config import get_settings
from app.db import make_engine
from app.migrate import ROOT, schema_status, upgrade
from tests.conftest import PG_URL, drop_pg_schema, pg_engine
from tests.factories import INSPECTOR_HEADER, TARGET_HEADER, inspector_row, target_row, to_csv

BEFORE_STATES = "6443c0e836e0"  # an older revision (tests/test_migrations.py)
AUTO_MIGRATED = "已自动将嵌入式数据库"
RUN_UPGRADE = "请先运行 spotcheck db upgrade"


@pytest.fixture
def fresh_dir(tmp_path, monkeypatch):
    """An empty working directory with the default settings (sqlite:///spotcheck.db)."""
    monkeypatch.chdir(tmp_path)
    for name in ("SPOTCHECK_DATABASE_URL", "SPOTCHECK_PUBLISH_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def use_url(monkeypatch):
    """Points the CLI at a database URL."""

    def _use(url: str) -> None:
        monkeypatch.setenv("SPOTCHECK_DATABASE_URL", url)
        get_settings.cache_clear()

    yield _use
    get_settings.cache_clear()


def _db_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("spotcheck.db"))


def _bad_targets(directory: Path) -> str:
    path = directory / "bad.csv"
    path.write_bytes(to_csv(TARGET_HEADER, [target_row(1), target_row(2, region="99")]))
    return str(path)


FAILING = {
    "missing file": lambda d: ["import", "targets", str(d / "nothere.csv")],
    "bad rows": lambda d: ["import", "targets", _bad_targets(d)],
    "unknown badge": lambda d: [
        *("token", "create", "--role", "inspector", "--name", "x", "--inspector", "NOPE1")
    ],
    "missing demo dir": lambda d: ["demo", "--dir", str(d / "nowhere")],
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_failed_command_on_a_fresh_directory_leaves_no_database(fresh_dir, capsys, case):
    assert cli.main(FAILING[case](fresh_dir)) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(("错误：", "  ")), err
    assert _db_files(fresh_dir) == []


def test_the_first_command_migrates_the_embedded_database(fresh_dir, capsys):
    assert cli.main(["token", "create", "--role", "supervisor", "--name", "甲"]) == 0
    captured = capsys.readouterr()
    assert AUTO_MIGRATED in captured.err
    assert captured.out.strip().splitlines()[-1].startswith("sc_")  # the token stays last
    engine = make_engine("sqlite:///spotcheck.db")
    assert schema_status(engine).up_to_date
    engine.dispose()
    assert cli.main(["token", "create", "--role", "supervisor", "--name", "乙"]) == 0
    assert AUTO_MIGRATED not in capsys.readouterr().err  # only when something was behind


def test_import_on_a_fresh_directory_just_works(fresh_dir, capsys):
    path = fresh_dir / "i.csv"
    path.write_bytes(to_csv(INSPECTOR_HEADER, [inspector_row("37040220230001")]))
    assert cli.main(["import", "inspectors", str(path)]) == 0
    assert "新增 1" in capsys.readouterr().out
    assert "spotcheck.db" in _db_files(fresh_dir)


def test_a_database_behind_is_migrated_and_keeps_its_rows(fresh_dir, capsys):
    engine = make_engine("sqlite:///spotcheck.db")
    upgrade(engine, BEFORE_STATES)
    engine.dispose()
    assert cli.main(["token", "create", "--role", "supervisor", "--name", "甲"]) == 0
    assert cli.main(["audit", "verify"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count(AUTO_MIGRATED) == 1
    assert "审计链 1 条" in captured.out
    engine = make_engine("sqlite:///spotcheck.db")
    assert schema_status(engine).up_to_date
    engine.dispose()


@pytest.mark.parametrize("argv", [["publish"], ["audit", "verify"]])
def test_reading_commands_refuse_a_missing_database_file(fresh_dir, capsys, argv):
    assert cli.main(argv) == 1
    assert "找不到数据库文件 spotcheck.db" in capsys.readouterr().err
    assert list(fresh_dir.iterdir()) == []  # neither a database nor a publish directory


@pytest.mark.parametrize(
    "argv",
    [["token", "create", "--role", "admin", "--name", "x"], ["audit", "verify"], ["db", "upgrade"]],
)
def test_a_schema_newer_than_the_program_is_refused(fresh_dir, capsys, argv):
    engine = make_engine("sqlite:///spotcheck.db")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    engine.dispose()
    assert cli.main(argv) == 1
    assert "数据库结构版本 ffffffffffff 比本程序新" in capsys.readouterr().err


def test_sqlite_tables_without_a_stamped_revision_are_not_migrated(fresh_dir, capsys):
    engine = make_engine("sqlite:///spotcheck.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (x INTEGER)"))
        conn.execute(text("INSERT INTO notes VALUES (1)"))
    engine.dispose()
    assert cli.main(["token", "create", "--role", "admin", "--name", "x"]) == 1
    assert "没有 spotcheck 的迁移版本记录" in capsys.readouterr().err
    engine = make_engine("sqlite:///spotcheck.db")
    assert set(inspect(engine).get_table_names()) == {"notes"}  # untouched, and not deleted
    engine.dispose()


def test_db_upgrade_twice(fresh_dir, capsys):
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "数据库已迁移到最新版本" in out and "数据库已是最新版本" in out


def test_serve_migrates_sqlite_before_uvicorn_starts(fresh_dir, monkeypatch):
    import uvicorn

    seen = []

    def fake_run(*_args, **kwargs):
        engine = make_engine("sqlite:///spotcheck.db")
        seen.append((schema_status(engine).up_to_date, kwargs["port"]))
        engine.dispose()

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("SPOTCHECK_SCHEDULER", "thread")  # serve sets it; undone afterwards
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert seen == [(True, 8123)]


def test_an_unreachable_database_is_one_line_without_the_password(fresh_dir, use_url, capsys):
    use_url("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test?connect_timeout=2")
    assert cli.main(["token", "create", "--role", "admin", "--name", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：无法使用数据库 postgresql+psycopg://postgres:***@127.0.0.1:1/test")
    assert "s3cret" not in err


def test_an_invalid_database_url_is_one_line(fresh_dir, use_url, capsys):
    use_url("mysql://x")
    assert cli.main(["audit", "verify"]) == 1
    assert "仅支持 sqlite 或 postgresql" in capsys.readouterr().err


def test_a_missing_sqlite_directory_is_refused_without_creating_it(fresh_dir, use_url, capsys):
    use_url("sqlite:///nodir/x.db")
    assert cli.main(["demo", "--registries-only"]) == 1
    assert "数据库文件所在的目录 nodir 不存在" in capsys.readouterr().err
    assert list(fresh_dir.iterdir()) == []


def test_usage_errors_exit_2_and_help_exits_0(fresh_dir, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["import", "targets"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "退出码" in capsys.readouterr().out
    assert list(fresh_dir.iterdir()) == []


def test_verify_refuses_a_json_file_that_is_not_a_draw(fresh_dir, capsys):
    (fresh_dir / "x.json").write_text("[1, 2]")
    (fresh_dir / "y.json").write_text('{"tasks": 5, "seed_inputs": []}')
    assert cli.main(["verify", "x.json"]) == 1
    assert "不是抽取结果文件" in capsys.readouterr().out
    assert cli.main(["verify", "y.json"]) == 1
    assert "验证失败" in capsys.readouterr().out
    assert _db_files(fresh_dir) == []  # verify never touches a database


def test_the_console_script_prints_no_traceback(tmp_path):
    """The tester's case, as a process: a command without `db upgrade` in a fresh directory."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-m", "app.cli"]
    bad = subprocess.run(
        [*run, "import", "targets", _bad_targets(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and "第 3 行 [医保区划]" in bad.stderr
    assert _db_files(tmp_path) == []


def test_two_commands_migrating_one_fresh_file_at_once_both_succeed(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "token", "create", "--role", "admin", "--name", n],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in ("a", "b")
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0, 0], results
    engine = make_engine(f"sqlite:///{tmp_path / 'spotcheck.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 2
    engine.dispose()


# --- PostgreSQL: never migrated automatically ----------------------------------------------


@pytest.fixture
def pg_schema():
    """A new, empty PostgreSQL schema and a URL whose connections use it."""
    if not PG_URL:
        pytest.skip("SPOTCHECK_TEST_POSTGRES_URL not set")
    schema = f"spotcheck_cli_{uuid.uuid4().hex[:10]}"
    engine = pg_engine(schema)
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    yield engine, url
    engine.dispose()
    drop_pg_schema(schema)


PG_COMMANDS = [
    ["token", "create", "--role", "admin", "--name", "x"],
    ["import", "targets", str(ROOT / "registries" / "targets.csv")],
    ["demo", "--registries-only"],
    ["publish"],
    ["audit", "verify"],
    ["serve", "--port", "1"],
]


@pytest.mark.postgres
def test_postgresql_is_never_migrated_automatically(pg_schema, fresh_dir, use_url, capsys):
    engine, url = pg_schema
    use_url(url)
    for argv in PG_COMMANDS:
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith(f"错误：数据库结构尚未建立：{RUN_UPGRADE}"), (argv, err)
    assert inspect(engine).get_table_names() == []
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["token", "create", "--role", "admin", "--name", "x"]) == 0


@pytest.mark.postgres
def test_postgresql_behind_names_both_revisions(pg_schema, fresh_dir, use_url, capsys):
    engine, url = pg_schema
    upgrade(engine, BEFORE_STATES)
    use_url(url)
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"不是最新版本（当前 {BEFORE_STATES}，最新 " in err and RUN_UPGRADE in err
    assert schema_status(engine).current == (BEFORE_STATES,)
