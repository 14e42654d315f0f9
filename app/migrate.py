"""Runs the Alembic migrations programmatically (CLI, tests, serve) and tells how far a
database is from them."""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect


def project_root() -> Path:
    """The checkout (editable install) or the working directory (installed wheel, Docker)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "migrations").is_dir() else Path.cwd()


ROOT = project_root()


def alembic_config(url: str | None = None) -> Config:
    """Alembic config pointing at the project's migrations."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATE_LOCK = 0x73706F746D6967  # pg_advisory_xact_lock key of migrations ("spotmig")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the database at `engine` up to `revision`."""
    cfg = alembic_config()
    # SQLite: take the write lock before Alembic reads the version, so two commands migrating
    # one fresh file at once run one after the other (the second finds nothing left to do).
    with engine.connect() as conn, conn.execution_options(immediate=True).begin():
        if conn.dialect.name == "postgresql":
            # PostgreSQL: the same, with an advisory lock (the server and the worker of a
            # container deployment both migrate at start).
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands against the migrations of this program."""

    current: tuple[str, ...]  # revisions stamped in alembic_version; () = never migrated
    heads: tuple[str, ...]  # the newest revisions this program knows
    unknown: tuple[str, ...]  # stamped revisions this program does not know (a newer program)
    other_tables: bool  # tables exist although no revision is stamped

    @property
    def up_to_date(self) -> bool:
        """The schema is exactly the one this program expects."""
        return set(self.current) == set(self.heads)

    @property
    def upgradable(self) -> bool:
        """`upgrade` can bring it to the heads: empty, or behind on known revisions."""
        if self.unknown:
            return False
        return bool(self.current) or not self.other_tables


def schema_status(engine: Engine) -> SchemaStatus:
    """Compares the database's stamped revision with this program's migrations."""
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.connect() as conn:
        current = tuple(MigrationContext.configure(conn).get_current_heads())
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    return SchemaStatus(
        current=current,
        heads=tuple(script.get_heads()),
        unknown=tuple(rev for rev in current if rev not in known),
        other_tables=bool(tables) and not current,
    )


class DowngradeRefused(RuntimeError):
    """A downgrade that would drop committed data (frozen frames, committed values, draws,
    results, accounts' jurisdictions…): it is refused and the database is left as it was."""


def refuse_losing(what: str, query: str) -> None:
    """Called by a migration's `downgrade()` before it drops a table or a column: refuses when
    `query` (a SELECT, e.g. `SELECT 1 FROM plan_frames LIMIT 1`) finds a row, i.e. when the
    drop would lose data. Every downgrade that drops data people committed to calls it."""
    from alembic import op
    from sqlalchemy import text

    if op.get_bind().execute(text(query)).first() is not None:
        raise DowngradeRefused(
            f"拒绝降级：此降级将删除已提交的{what}，而这些数据无法恢复（downgrade refused: it "
            "would drop committed data）。请使用当前版本的程序；如确需回退，先备份数据库，"
            "再由管理员手工处理。"
        )
