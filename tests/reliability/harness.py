"""Real servers for reliability tests: `uvicorn app.main:create_app --factory --workers N` on a
free loopback port, against a fresh PostgreSQL schema or a SQLite file. Always killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import Engine

from app.auth.service import create_token
from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from tests.conftest import PG_URL, drop_pg_schema, pg_engine
from tests.factories import (
    INSPECTOR_HEADER,
    ITEM_HEADER,
    TARGET_HEADER,
    encode,
    inspector_row,
    item_row,
    target_row,
)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Database:
    """A migrated database and the URL a server process uses for it."""

    url: str
    engine: Engine


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[Database]:
    """A fresh migrated database: its own PostgreSQL schema, or a SQLite file."""
    if backend == "postgresql":
        assert PG_URL
        schema = f"spotcheck_rel_{uuid.uuid4().hex[:10]}"
        engine = pg_engine(schema)
        upgrade(engine)
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
        try:
            yield Database(url, engine)
        finally:
            engine.dispose()
            drop_pg_schema(schema)
    else:
        url = f"sqlite:///{tmp / 'spotcheck.db'}"
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield Database(url, engine)
        finally:
            engine.dispose()


@dataclass
class Server:
    """A running uvicorn process group."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers): nothing gets to clean up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def start_server(
    db: Database, publish_dir: Path, *, workers: int = 3, extra_env: dict[str, str] | None = None
) -> Server:
    """Starts uvicorn and waits until /api/v1/health answers."""
    port = free_port()
    env = {
        **os.environ,
        "SPOTCHECK_DATABASE_URL": db.url,
        "SPOTCHECK_PUBLISH_DIR": str(publish_dir),
        "SPOTCHECK_EVIDENCE_DIR": str(publish_dir.parent / "evidence"),
        **(extra_env or {}),
    }
    log = publish_dir.parent / f"uvicorn-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(server.base + "/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"uvicorn did not start: {log.read_text()[-2000:]}")


@contextmanager
def running(db: Database, publish_dir: Path, **kw: object) -> Iterator[Server]:
    """start_server as a context manager that always kills."""
    server = start_server(db, publish_dir, **kw)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.kill()


def token(db: Database, role: str, badge: str | None = None, name: str = "rel") -> dict[str, str]:
    """Bearer headers of a new token."""
    with make_sessionmaker(db.engine)() as s:
        t = create_token(s, role=role, name=name, badge=badge, actor="test")
        s.commit()
    return {"Authorization": f"Bearer {t}"}


REGIONS = ("370402", "370403")


def seed_city(base: str, sup: dict[str, str], targets: int = 80) -> None:
    """The plan tests' city (3 items, `targets` targets, 24 inspectors) through the API."""
    inspectors = [
        inspector_row(
            f"3704{n:010d}",
            region=REGIONS[n % 2],
            expertise=("医学", "药学", "财务", "医学;药学")[n % 4],
        )
        for n in range(24)
    ]
    files = [
        (
            "items",
            ITEM_HEADER,
            [
                item_row("YB-01", kinds="定点医疗机构", expertise="医学"),
                item_row("YB-02", kinds="定点医疗机构;定点零售药店", expertise="药学"),
            ],
        ),
        (
            "targets",
            TARGET_HEADER,
            [target_row(i, region=REGIONS[i % 2]) for i in range(1, targets + 1)],
        ),
        ("inspectors", INSPECTOR_HEADER, inspectors),
    ]
    for kind, header, rows in files:
        name, body = encode("utf-8", header, rows)
        r = httpx.post(
            f"{base}/api/v1/registries/{kind}/import",
            headers=sup,
            files={"file": (name, body)},
            timeout=180,
        )
        assert r.status_code == 200, r.text


def publish_plan(base: str, sup: dict[str, str], code: str = "2026-REL-1") -> str:
    """Creates and publishes a plan (the plan tests' body); returns its code once the dice
    ceremony it announces has begun (a real server runs on real time: the only wait here is
    for that announced moment, about two seconds; nothing is asserted about time)."""
    import time
    from datetime import timedelta

    from app.models.base import utcnow
    from tests.entropy import dice_source
    from tests.plans.conftest import plan_body

    at = utcnow() + timedelta(seconds=2)
    body = plan_body(code=code, entropy_source=dice_source(at))
    r = httpx.post(f"{base}/api/v1/plans", headers=sup, json=body, timeout=30)
    assert r.status_code == 201, r.text
    r = httpx.post(f"{base}/api/v1/plans/{code}/publish", headers=sup, timeout=30)
    assert r.status_code == 200, r.text
    time.sleep(max(0.0, (at - utcnow()).total_seconds() + 0.2))
    return code
