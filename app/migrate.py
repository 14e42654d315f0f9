"""Runs the Alembic migrations programmatically (CLI, tests, serve)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


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
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
