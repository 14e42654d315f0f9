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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the database at `engine` up to `revision`."""
    cfg = alembic_config()
    # SQLite: take the write lock before Alembic reads the version, so two commands migrating
    # one fresh file at once run one after the other (the second finds nothing left to do).
    with engine.connect() as conn, conn.execution_options(immediate=True).begin():
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
