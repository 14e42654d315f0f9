"""Load test on loopback: several uvicorn workers on PostgreSQL (SQLite if no PostgreSQL URL).

Bounded: a fixed number of requests per scenario, a fixed concurrency and a wall-time cap; only
127.0.0.1. Scenarios: the public read path (static pages and JSON under /public/), authenticated
API reads (plans, a draw's task list, tasks), and API writes (result entries). Prints
throughput, p50/p99 latency and the error count of each, plus the reference `ref`.
Run: SPOTCHECK_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
     .venv/bin/python bench/load.py [REQUESTS_PER_SCENARIO] [WORKERS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from _ref import reference_seconds
from sqlalchemy import func, select

from app.clock import today_local
from app.db import make_sessionmaker
from app.models import ResultVersion

CONCURRENCY = 16
TIME_CAP_SECONDS = 120.0
REF = [1.0]


def _run(name: str, n: int, call: Callable[[httpx.Client, int], int]) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_CAP_SECONDS
    local = threading.local()

    def one(i: int) -> None:
        nonlocal errors
        if time.monotonic() > deadline:
            return
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        t0 = time.perf_counter()
        try:
            status = call(client, i)
        except httpx.HTTPError:
            status = 0
        dt = time.perf_counter() - t0
        with lock:
            latencies.append(dt)
            if not 200 <= status < 300:
                errors += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - start
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    row = {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
    }
    print(
        f"{name:<28} {row['requests']:>5.0f} req {row['rps']:>6.1f} req/s "
        f"({row['rps'] * REF[0]:.0f}/ref)  p50 {row['p50_ms']:>6.1f} ms ({p50 / REF[0]:.3f} ref)"
        f"  p99 {row['p99_ms']:>6.1f} ms ({p99 / REF[0]:.3f} ref)  errors {errors:.0f}"
    )
    return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="负载测试：在本机回环地址上以多个 uvicorn 进程压测公开页面、API 读与写"
        "（设置 SPOTCHECK_TEST_POSTGRES_URL 时用 PostgreSQL，否则 SQLite）"
        " (load test on loopback).",
    )
    parser.add_argument(
        "requests",
        metavar="REQUESTS_PER_SCENARIO",
        nargs="?",
        type=int,
        default=2000,
        help="每个场景的请求数（缺省 2000）",
    )
    parser.add_argument(
        "workers",
        metavar="WORKERS",
        nargs="?",
        type=int,
        default=4,
        help="uvicorn 进程数（缺省 4）",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()  # before the harness (tests/, which needs pytest): --help without it
    from tests.reliability.harness import database, publish_plan, running, seed_city, token

    n, workers = args.requests, args.workers
    backend = "postgresql" if os.environ.get("SPOTCHECK_TEST_POSTGRES_URL") else "sqlite"
    ref = REF[0] = reference_seconds()
    print(
        f"ref = {ref:.3f} s; backend {backend}; {workers} uvicorn workers; "
        f"{CONCURRENCY} concurrent clients; {n} requests per scenario; cap {TIME_CAP_SECONDS} s"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with database(backend, tmp) as db, running(db, tmp / "publish", workers=workers) as srv:
            sup = token(db, "supervisor")
            seed_city(srv.base, sup, targets=2000)
            code = publish_plan(srv.base, sup, "2026-LOAD-1")
            r = httpx.post(
                f"{srv.base}/api/v1/plans/{code}/draw",
                headers=sup,
                json={"entropy": "load"},
                timeout=120,
            )
            assert r.status_code == 201, r.text
            draw = r.json()
            tasks = [t["id"] for t in draw["tasks"]]
            deadline = time.monotonic() + 60
            while not (tmp / "publish" / "draws" / f"{draw['id']}.json").exists():
                assert time.monotonic() < deadline, "site was not published"
                time.sleep(0.2)
            base = srv.base
            public = [
                "/public/index.html",
                "/public/plans/index.json",
                f"/public/draws/{draw['id']}.json",
                "/public/tasks/index.html",
                "/public/items/index.json",
            ]
            body = {
                "outcome": "未发现问题",
                "decided_on": today_local().isoformat(),
                "findings": "",
                "measures": [],
                "recovered_amount": "0.00",
            }
            rows = [
                _run(
                    "public read (static)",
                    n,
                    lambda c, i: c.get(base + public[i % len(public)]).status_code,
                ),
                _run(
                    "API read (plans, draw tasks)",
                    n,
                    lambda c, i: (
                        c.get(
                            base
                            + ("/api/v1/plans" if i % 2 else f"/api/v1/draws/{draw['id']}/tasks"),
                            headers=sup,
                        ).status_code
                    ),
                ),
                _run(
                    "API write (results)",
                    max(1, n // 4),
                    lambda c, i: (
                        c.put(
                            f"{base}/api/v1/tasks/{tasks[i % len(tasks)]}/result",
                            headers=sup,
                            json=body,
                        ).status_code
                    ),
                ),
            ]
            with make_sessionmaker(db.engine)() as s:
                stored = s.scalar(select(func.count()).select_from(ResultVersion))
            written = rows[2]["requests"] - rows[2]["errors"]
            print(f"result versions stored {stored} of {written:.0f} accepted writes")
    lost = sum(int(r["errors"]) for r in rows) + int(written - (stored or 0))
    print(f"errors and lost writes in total: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
