"""Fixtures: a migrated database per backend (SQLite always, PostgreSQL when configured)."""

import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from app.models import Base

PG_URL = os.environ.get("SPOTCHECK_TEST_POSTGRES_URL")
# Tests never ask a drand relay on the network (tests/plans/test_entropy.py fakes one), and use
# a server key of their own (app/keys.py), never a developer's var/server.key.
os.environ["SPOTCHECK_DRAND_RELAYS"] = ""
os.environ.setdefault("SPOTCHECK_SERVER_KEY", "5e" * 32)
# …and a log key of their own (app/tlog/keys.py), never var/log.key.
os.environ.setdefault(
    "SPOTCHECK_LOG_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="spotcheck-log-"), "log.key")
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_engine(schema: str) -> Engine:
    """An engine on a new PostgreSQL schema of the test database."""
    assert PG_URL
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


def drop_pg_schema(schema: str) -> None:
    """Drops a schema made by pg_engine."""
    assert PG_URL
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database built by running the real migrations, once per backend."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("SPOTCHECK_TEST_POSTGRES_URL not set")
        schema = f"spotcheck_test_{uuid.uuid4().hex[:10]}"
        eng = pg_engine(schema)
        upgrade(eng)
        yield eng
        eng.dispose()
        drop_pg_schema(schema)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        yield eng
        eng.dispose()


@pytest.fixture(params=BACKENDS)
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database, no migration run yet (for tests of the migrations themselves)."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("SPOTCHECK_TEST_POSTGRES_URL not set")
        schema = f"spotcheck_test_{uuid.uuid4().hex[:10]}"
        eng = pg_engine(schema)
        yield eng
        eng.dispose()
        drop_pg_schema(schema)
    else:
        eng = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield eng
        eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated engine, emptied after the test."""
    yield engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """A session on the test database (the test commits or rolls back itself)."""
    with make_sessionmaker(db)() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing the publish directory and the 检查码 signing key at a temporary folder."""
    s = Settings(publish_dir=tmp_path / "publish", signing_key_file=tmp_path / "signing.key")
    get_settings.cache_clear()
    outer_key = os.environ.get("SPOTCHECK_SIGNING_KEY_FILE")
    os.environ["SPOTCHECK_PUBLISH_DIR"] = str(s.publish_dir)
    os.environ["SPOTCHECK_SIGNING_KEY_FILE"] = str(s.signing_key_file)
    yield s
    os.environ.pop("SPOTCHECK_PUBLISH_DIR", None)
    _restore("SPOTCHECK_SIGNING_KEY_FILE", outer_key)
    get_settings.cache_clear()


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def _signing_key_outside_the_worktree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that publish without the `settings` fixture (the CLI's) sign with a temporary key,
    never one created in the working directory's var/."""
    key = tmp_path_factory.mktemp("signing") / "inspection-code.key"
    outer = os.environ.get("SPOTCHECK_SIGNING_KEY_FILE")
    os.environ["SPOTCHECK_SIGNING_KEY_FILE"] = str(key)
    get_settings.cache_clear()
    yield
    _restore("SPOTCHECK_SIGNING_KEY_FILE", outer)


@pytest.fixture
def client(db: Engine, settings: Settings) -> Iterator[TestClient]:
    """An API client on the test database."""
    from app.main import create_app

    with TestClient(create_app(settings, engine=db)) as c:
        yield c


@pytest.fixture
def make_token(db: Engine):  # type: ignore[no-untyped-def]
    """Creates a token: make_token("supervisor") → headers dict."""
    from app.auth.service import create_token

    def _make(
        role: str, badge: str | None = None, name: str = "test", region: str = ""
    ) -> dict[str, str]:
        with make_sessionmaker(db)() as s:
            token = create_token(s, role=role, name=name, badge=badge, actor="test", region=region)
            s.commit()
        return {"Authorization": f"Bearer {token}"}

    return _make


class _Quiet(SimpleHTTPRequestHandler):
    # As a static host should be set up (docs/publishing.md): the feed is UTF-8 Atom.
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml; charset=utf-8",
    }

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    """serve(directory) → base URL of a loopback HTTP server for that directory."""
    servers: list[ThreadingHTTPServer] = []

    def _serve(directory: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield _serve
    for s in servers:
        s.shutdown()
        s.server_close()
