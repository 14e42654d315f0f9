"""The schema comes only from migrations, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.models import Base


def test_models_match_migrations(db):
    with db.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_every_model_table_exists_after_upgrade(db):
    tables = set(inspect(db).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
