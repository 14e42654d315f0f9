"""Crash safety: SIGKILL of the whole server (master and workers) in the middle of a draw, an
import and a publish leaves no partial state; after a restart everything works.

The kill lands mid-operation deterministically through app/faults.py: the server pauses at a
named point (all rows flushed, nothing committed; or new site generation written, not swapped)
and announces it in a file; the test then kills the process group."""

import contextlib
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.service import verify_chain
from app.db import make_sessionmaker
from app.models import (
    AuditEntry,
    Draw,
    DrawPopulation,
    Plan,
    RegistryHistory,
    Target,
    Task,
    TaskMember,
)
from tests.factories import TARGET_HEADER, encode, target_row
from tests.reliability.harness import database, publish_plan, running, seed_city, token

pytestmark = pytest.mark.slow


def _pause_env(tmp: Path, point: str) -> tuple[dict[str, str], Path]:
    marker = tmp / f"paused-{point}"
    env = {
        "SPOTCHECK_TEST_PAUSE_AT": point,
        "SPOTCHECK_TEST_PAUSE_FILE": str(marker),
        "SPOTCHECK_TEST_PAUSE_SECONDS": "120",
    }
    return env, marker


def _fire(fn) -> threading.Thread:
    def run():
        with contextlib.suppress(httpx.HTTPError):  # the server dies under the request
            fn()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"the server never reached {path.name}"
        time.sleep(0.05)


def _count(s, model) -> int:
    return int(s.scalar(select(func.count()).select_from(model)))


def test_kill_during_draw_leaves_no_draw(backend, tmp_path):
    publish_dir = tmp_path / "publish"
    with database(backend, tmp_path) as db:
        sup = token(db, "supervisor")
        with running(db, publish_dir, workers=2) as srv:
            seed_city(srv.base, sup)
            code = publish_plan(srv.base, sup)
        env, marker = _pause_env(tmp_path, "draw.before_commit")
        with running(db, publish_dir, workers=2, extra_env=env) as srv:
            thread = _fire(
                lambda: httpx.post(
                    f"{srv.base}/api/v1/plans/{code}/draw",
                    headers=sup,
                    json={"entropy": "1-2-3-4-5-6"},
                    timeout=180,
                )
            )
            _wait_for(marker)
            srv.kill()
        thread.join(timeout=30)
        with make_sessionmaker(db.engine)() as s:
            assert [_count(s, m) for m in (Draw, Task, TaskMember, DrawPopulation)] == [0] * 4
            assert s.get(Plan, code).status == "published"
            assert "draw.create" not in set(s.scalars(select(AuditEntry.action)))
            assert verify_chain(s).problems == []
        with running(db, publish_dir, workers=2) as srv:
            r = httpx.post(
                f"{srv.base}/api/v1/plans/{code}/draw",
                headers=sup,
                json={"entropy": "1-2-3-4-5-6"},
                timeout=120,
            )
            assert r.status_code == 201, r.text


def test_kill_during_import_leaves_no_half_import(backend, tmp_path):
    publish_dir = tmp_path / "publish"
    with database(backend, tmp_path) as db:
        sup = token(db, "supervisor")
        with running(db, publish_dir, workers=2) as srv:
            seed_city(srv.base, sup)
        with make_sessionmaker(db.engine)() as s:
            before = (_count(s, Target), _count(s, RegistryHistory), _count(s, AuditEntry))
        rows = [target_row(i, region="370402") for i in range(1, 300)]
        rows[0][8] = "0538-7654321"  # one update among 219 new rows
        name, body = encode("utf-8", TARGET_HEADER, rows)
        env, marker = _pause_env(tmp_path, "import.before_commit")
        with running(db, publish_dir, workers=2, extra_env=env) as srv:
            thread = _fire(
                lambda: httpx.post(
                    f"{srv.base}/api/v1/registries/targets/import",
                    headers=sup,
                    files={"file": (name, body)},
                    timeout=180,
                )
            )
            _wait_for(marker)
            srv.kill()
        thread.join(timeout=30)
        with make_sessionmaker(db.engine)() as s:
            after = (_count(s, Target), _count(s, RegistryHistory), _count(s, AuditEntry))
            assert after == before
            assert verify_chain(s).problems == []
        with running(db, publish_dir, workers=2) as srv:
            r = httpx.post(
                f"{srv.base}/api/v1/registries/targets/import",
                headers=sup,
                files={"file": (name, body)},
                timeout=120,
            )
            assert r.status_code == 200 and r.json()["created"] == 219, r.text


def _site(publish_dir: Path) -> tuple[Path, dict[str, bytes]]:
    current = publish_dir.resolve()
    files = {str(p.relative_to(current)): p.read_bytes() for p in current.rglob("*") if p.is_file()}
    return current, files


def _wait_published(publish_dir: Path, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        index = publish_dir / "plans" / "index.json"
        if index.exists() and needle in index.read_text():
            return
        assert time.monotonic() < deadline, "background publish did not happen"
        time.sleep(0.1)


def test_kill_during_publish_keeps_the_old_complete_site(backend, tmp_path):
    publish_dir = tmp_path / "publish"
    with database(backend, tmp_path) as db:
        sup = token(db, "supervisor")
        with running(db, publish_dir, workers=2) as srv:
            seed_city(srv.base, sup)
            publish_plan(srv.base, sup, "2026-OLD-1")
            _wait_published(publish_dir, "2026-OLD-1")
            time.sleep(1)  # let the background publish finish its bookkeeping
        old_generation, old_files = _site(publish_dir)
        env, marker = _pause_env(tmp_path, "publish.before_swap")
        with running(db, publish_dir, workers=2, extra_env=env) as srv:
            # The publish request itself commits and answers; the site is rebuilt after it.
            publish_plan(srv.base, sup, "2026-NEW-1")
            _wait_for(marker)
            srv.kill()
        generation, files = _site(publish_dir)
        assert generation == old_generation
        assert files == old_files  # byte for byte the old, complete generation
        for rel, data in files.items():
            if rel.endswith(".json"):
                json.loads(data)
        assert "2026-NEW-1" not in (publish_dir / "plans" / "index.json").read_text()
        # The plan itself was committed before the crash and appears at the next publish.
        with make_sessionmaker(db.engine)() as s:
            assert s.get(Plan, "2026-NEW-1").status == "published"
            from app.db import begin_write
            from app.publish.write import publish

            # as the publisher job does (app/jobs.py): a writer from the first statement, not a
            # reader upgraded after its snapshot (SQLite refuses that upgrade at once if anything
            # was written since — a loaded machine's killed workers may still be going away)
            s.commit()
            begin_write(s)
            publish(s, publish_dir)
        assert "2026-NEW-1" in (publish_dir / "plans" / "index.json").read_text()
        assert json.loads((publish_dir / "plans" / "index.json").read_text())
