"""Concurrency against real multi-worker servers: one draw per plan, no lost updates."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.service import verify_chain
from app.clock import today_local
from app.db import make_sessionmaker
from app.models import AuditEntry, Draw, ResultVersion, Target, Task
from tests.factories import TARGET_HEADER, encode, target_row, uscc
from tests.reliability.harness import database, publish_plan, running, seed_city, token

pytestmark = pytest.mark.slow


def _parallel(n, fn):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def test_twenty_simultaneous_draws_give_exactly_one_201(backend, tmp_path):
    with database(backend, tmp_path) as db, running(db, tmp_path / "publish") as srv:
        sup = token(db, "supervisor")
        seed_city(srv.base, sup)
        code = publish_plan(srv.base, sup)

        def draw(i):
            r = httpx.post(
                f"{srv.base}/api/v1/plans/{code}/draw",
                headers=sup,
                json={"entropy": f"{i % 10}-{i // 10}-0-0-0-0"},
                timeout=120,
            )
            return r.status_code

        codes = _parallel(20, draw)
        assert sorted(codes) == [201] + [409] * 19, codes
        with make_sessionmaker(db.engine)() as s:
            assert s.scalar(select(func.count()).select_from(Draw)) == 1
            draw_id = s.scalar(select(Draw.id))
            n_tasks = s.scalar(select(Draw.task_count))
            assert (
                s.scalar(select(func.count()).select_from(Task).where(Task.draw_id == draw_id))
                == n_tasks
                > 0
            )
            actions = list(s.scalars(select(AuditEntry.action)))
            assert actions.count("draw.create") == 1
            assert verify_chain(s).problems == []


def test_simultaneous_imports_and_result_updates_lose_nothing(backend, tmp_path):
    with database(backend, tmp_path) as db, running(db, tmp_path / "publish") as srv:
        sup = token(db, "supervisor")
        seed_city(srv.base, sup)
        code = publish_plan(srv.base, sup)
        r = httpx.post(
            f"{srv.base}/api/v1/plans/{code}/draw",
            headers=sup,
            json={"entropy": "1-2-3-0-0-0"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        tasks = r.json()["tasks"]
        assert len(tasks) >= 4

        # At once: 8 imports, each changing the phone of its own 9 targets; 8 PATCHes of
        # the tags of one shared target; 8 result entries spread over 4 tasks.
        def import_file(k):
            rows = []
            for i in range(9 * k + 1, 9 * k + 10):
                row = target_row(i, region=("370402", "370403")[i % 2])
                row[8] = f"0538-{k:02d}{i:05d}"
                rows.append(row)
            name, body = encode("utf-8", TARGET_HEADER, rows)
            return httpx.post(
                f"{srv.base}/api/v1/registries/targets/import",
                headers=sup,
                files={"file": (name, body)},
                timeout=120,
            ).status_code

        def patch(k):
            return httpx.patch(
                f"{srv.base}/api/v1/targets/{uscc(80)}",
                headers=sup,
                json={"tags": [f"举报:{k}"]},
                timeout=120,
            ).status_code

        def result(k):
            task = tasks[k % 4]
            body = {
                "outcome": "未发现问题",
                "decided_on": today_local().isoformat(),
                "findings": f"第{k}次",
                "measures": [],
                "recovered_amount": "0.00",
            }
            r = httpx.put(
                f"{srv.base}/api/v1/tasks/{task['id']}/result", headers=sup, json=body, timeout=120
            )
            assert r.status_code == 200, r.text
            return r.status_code

        def work(i):
            return (import_file, patch, result)[i % 3](i // 3)

        codes = _parallel(24, work)
        assert set(codes) == {200}, (codes, srv.log.read_text()[-3000:])
        with make_sessionmaker(db.engine)() as s:
            phones = {t.uscc: t.phone for t in s.scalars(select(Target))}
            for k in range(8):
                for i in range(9 * k + 1, 9 * k + 10):
                    assert phones[uscc(i)] == f"0538-{k:02d}{i:05d}", (k, i)
            shared = s.get(Target, uscc(80))
            # Every PATCH of the shared target is a version of its own: none was lost.
            history = httpx.get(f"{srv.base}/api/v1/targets/{uscc(80)}/history", headers=sup)
            assert len([h for h in history.json()["items"] if "举报" in str(h)]) >= 7
            assert shared.version >= 1 + 8
            for task in tasks[:4]:
                versions = sorted(
                    s.scalars(
                        select(ResultVersion.version).where(ResultVersion.task_id == task["id"])
                    )
                )
                assert versions == list(range(1, len(versions) + 1)) and len(versions) == 2
            actions = list(s.scalars(select(AuditEntry.action)))
            assert actions.count("targets.import") == 1 + 8
            assert actions.count("targets.update") == 8
            assert verify_chain(s).problems == []


def _published(publish_dir) -> list[str]:
    """Task ids of every published result, read through the section's pages."""
    import json

    root = publish_dir.resolve()
    index = json.loads((root / "results" / "index.json").read_text())
    out = []
    for page in index["pages"]:
        doc = json.loads((root / "results" / page["href"]).read_text())
        out += [x["task_id"] for x in doc["results"]]
    return out


def _pending(db) -> int:
    """Publication requests no build has taken yet."""
    from app.models import PublishRequest

    with make_sessionmaker(db.engine)() as s:
        return int(s.scalar(select(func.count()).select_from(PublishRequest)) or 0)


def test_simultaneous_approvals_publish_in_a_few_builds_without_database_is_locked(
    backend, tmp_path
):
    """Three workers, each with its scheduler thread (as `spotcheck serve` runs them), and
    approvals arriving at once: every approval is on the site after a few builds, and no
    worker ever logged "database is locked"."""
    import time

    from app.models import PublishBuild, PublishRequest

    env = {"SPOTCHECK_SCHEDULER": "thread", "SPOTCHECK_PUBLISH_INTERVAL_SECONDS": "1"}
    publish_dir = tmp_path / "publish"
    with database(backend, tmp_path) as db, running(db, publish_dir, extra_env=env) as srv:
        sup = token(db, "supervisor")
        # 录入/审核分离: another supervisor approves
        checker = token(db, "supervisor", name="rel-approver")
        seed_city(srv.base, sup)
        code = publish_plan(srv.base, sup)
        r = httpx.post(
            f"{srv.base}/api/v1/plans/{code}/draw",
            headers=sup,
            json={"entropy": "4-5-6-0-0-0"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        tasks = [t["id"] for t in r.json()["tasks"]]
        assert len(tasks) >= 4

        def approve(i):
            body = {
                "outcome": "未发现问题",
                "decided_on": today_local().isoformat(),
                "findings": "检查记录",
                "measures": [],
                "recovered_amount": "0.00",
            }
            task = tasks[i]
            put = httpx.put(
                f"{srv.base}/api/v1/tasks/{task}/result", headers=sup, json=body, timeout=120
            )
            assert put.status_code == 200, put.text
            return httpx.post(
                f"{srv.base}/api/v1/tasks/{task}/result/approve", headers=checker, timeout=120
            ).status_code

        assert set(_parallel(len(tasks), approve)) == {200}
        deadline = time.monotonic() + 60  # a real server: wait for its scheduler, bounded
        published: list[str] = []
        while time.monotonic() < deadline:
            index = publish_dir / "results" / "index.json"
            if index.exists():
                published = _published(publish_dir)
                # … and the request an approval recorded while the last build was running has
                # been taken by a build too (the results may already be in that earlier build)
                if len(published) == len(tasks) and _pending(db) == 0:
                    break
            time.sleep(0.2)
        assert sorted(published) == sorted(tasks), srv.log.read_text()[-3000:]
        with make_sessionmaker(db.engine)() as s:
            builds = s.scalar(select(func.count()).select_from(PublishBuild))
            assert s.scalar(select(func.count()).select_from(PublishRequest)) == 0
        assert builds <= 8, builds  # plan, draw, then a few for the burst
        log = srv.log.read_text()
        for bad in ("database is locked", "publish failed", "job failed"):
            assert bad not in log, log[-3000:]
