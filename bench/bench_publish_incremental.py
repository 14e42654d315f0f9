"""Benchmark: what the site update costs after a change, once a national draw is published
(issue 15). Ratios to ref (bench/_ref.py, same run) and to a full publish of the same site.

Setup (bench_pipeline.py's): N targets (1,000,000 ≈ 50,000 tasks), import, plan, draw, a full
publish. Then, each followed by one run of the publisher (app/publish/publisher.py, the job the
scheduler runs): one approval (median of --repeat rounds); a burst of 100 approvals (recorded,
then one build); a new draw of a second plan; one approval with two draws published. Each row:
seconds, bytes written, files written / carried over by hard link. `--profile` adds one more
approval whose build runs under cProfile (not timed). The rows from the new draw on are compared
with a second full publish, of the two-draw site.

Run: .venv/bin/python bench/bench_publish_incremental.py [N] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from bench_pipeline import _plan, database, run_pipeline
from sqlalchemy import Engine, select

from app.auth.service import Principal
from app.clock import local_date
from app.config import Settings
from app.db import begin_write, make_sessionmaker
from app.events import publication_due
from app.models import Draw, Task
from app.models.base import utcnow
from app.publish.publisher import publish_pending, result_release
from app.publish.write import PublishReport

SUPERVISOR = Principal(token_id=0, name="bench", role="supervisor", badge=None)
# 录入/审核分离: another supervisor approves.
APPROVER = "supervisor:bench-approver"


def approve(engine: Engine, task_ids: list[str], outcome: str = "未发现问题") -> None:
    """Enters and approves a result of each task, recording publication due (as the API does)."""
    from app.tasks import results
    from app.tasks.schemas import ResultIn

    today = local_date(datetime.now(UTC))
    data = ResultIn.model_validate(
        {
            "outcome": outcome,
            "decided_on": today.isoformat(),
            "findings": "基准测试",
            "measures": [],
            "recovered_amount": "0.00",
        }
    )
    factory = make_sessionmaker(engine)
    for task_id in task_ids:  # one request each: its own transaction
        with factory() as session:
            begin_write(session)
            results.submit_result(
                session, task_id=task_id, data=data, principal=SUPERVISOR, today=today
            )
            results.approve_result(session, task_id=task_id, actor=APPROVER)
            publication_due(session, f"result:{task_id}")
            session.commit()


def build(
    engine: Engine, settings: Settings, *, full: bool = False, profile: bool = False
) -> tuple[float, PublishReport]:
    """One run of the publisher, timed (`profile`: under cProfile, top functions printed)."""
    profiler = cProfile.Profile() if profile else None
    with make_sessionmaker(engine)() as session:
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = publish_pending(
            session, settings.publish_dir, release=result_release(settings), full=full
        )
        session.commit()
        seconds = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    assert report is not None
    return seconds, report


def new_draw(
    engine: Engine, code: str, month: int = 3, *, year: int = 2027, ratio: float = 0.05
) -> str:
    """A further plan (pharmacies, `ratio` of each stratum, inspection window in `month` of
    `year`), published and drawn as the API does, publication due recorded; returns the draw's
    id."""
    from app.plans import drawing
    from app.plans import service as plans
    from app.plans.schemas import DrawIn, PlanIn

    with make_sessionmaker(engine)() as session:
        begin_write(session)
        plans.create(
            session,
            # A later window (the first plan's uses up the inspectors' task caps).
            data=PlanIn.model_validate(
                _plan(code, all_need_medicine=False)
                | {
                    "window": {
                        "start": f"{year}-{month:02d}-01",
                        "end": f"{year}-{month:02d}-28",
                    },
                    "ratio": ratio,
                    # pharmacies only: no expertise to cover, the teams always form
                    "items": ["BM-02"],
                    "scope": {"kinds": ["定点零售药店"], "regions": []},
                }
            ),
            actor="bench",
        )
        # published before the announced entropy comes into existence (as bench_pipeline.py)
        plans.publish(session, code=code, actor="bench", at=utcnow() - timedelta(hours=1))
        publication_due(session, f"plan:{code}")
        session.commit()
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        draw = drawing.perform_draw(
            session, code=code, body=DrawIn(entropy="2-7-1-8-2-8"), actor="bench"
        ).draw
        publication_due(session, f"draw:{draw.id}")
        session.commit()
        return str(draw.id)


def main() -> None:
    p = argparse.ArgumentParser(description="基准：变更后的增量发布 (incremental publishing).")
    p.add_argument("n", nargs="?", type=int, default=1_000_000, help="检查对象数（缺省 1000000）")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--repeat", type=int, default=3, help="单次审核重复次数，取中位数（缺省 3）")
    p.add_argument(
        "--profile", action="store_true", help="最后再审核一次并以 cProfile 剖析其增量发布"
    )
    args = p.parse_args()
    ref = reference_seconds()
    print(f"N = {args.n:,}, backend {args.backend}; ref = {ref:.3f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as engine:
        work = Path(tmp)
        run_pipeline(engine, args.n, ref, work)  # generate, import, plan, draw, full publish
        settings = Settings(publish_dir=work / "publish")
        rows: list[tuple[str, float, PublishReport]] = []

        def row(name: str, result: tuple[float, PublishReport]) -> None:
            rows.append((name, *result))
            secs, rep = result
            print(f"  {name}: {secs:.3f} s, {rep.bytes / 1e6:.1f} MB", flush=True)

        def median_of(name: str, take: Callable[[], list[str]], times: int) -> None:
            """`times` rounds of (one approval, one build); the median round is reported."""
            got = []
            for _ in range(times):
                approve(engine, take())
                got.append(build(engine, settings))
            got.sort(key=lambda r: r[0])
            print(f"  ({name}: {', '.join(f'{s:.3f}' for s, _ in got)} s)")
            row(f"{name} (median of {times})", got[len(got) // 2])

        row("full publish (every file rendered)", build(engine, settings, full=True))
        with make_sessionmaker(engine)() as session:
            draw_id = session.scalar(select(Draw.id))
            tasks = list(
                session.scalars(select(Task.id).where(Task.draw_id == draw_id).order_by(Task.seq))
            )
        left = iter(tasks)

        def take(k: int = 1) -> list[str]:
            return [next(left) for _ in range(k)]

        median_of("after one approval", take, args.repeat)
        approve(engine, take(100))
        row("after a burst of 100 approvals (one build)", build(engine, settings))
        new_draw(engine, "BENCH-2")
        row("after a new draw (second plan)", build(engine, settings))
        median_of("after one approval, two draws published", take, args.repeat)
        # the site now holds two draws: the rows since the new draw are compared with this
        row("full publish, two draws (every file rendered)", build(engine, settings, full=True))
        if args.profile:
            approve(engine, take())
            build(engine, settings, profile=True)
    print(
        f"\n  {'site update':<56} {'seconds':>8} {'× ref':>7} {'÷ full':>7}"
        f" {'MB written':>10} {'÷ full':>7} {'files written':>13} {'carried':>8}"
    )
    for k, (name, secs, rep) in enumerate(rows):
        # ÷ full: the full publish of the same site (one draw for the first rows, two after)
        full_s, full = (rows[0] if k < 3 else rows[-1])[1:]
        print(
            f"  {name:<56} {secs:8.3f} {secs / ref:7.2f} {secs / full_s:7.1%}"
            f" {rep.bytes / 1e6:10.1f} {rep.bytes / max(full.bytes, 1):7.1%}"
            f" {rep.files_written:13,} {rep.files_linked:8,}"
        )
    out: dict[str, Any] = {"n": args.n, "ref": ref, "rows": [(n, s, r.bytes) for n, s, r in rows]}
    print(out)


if __name__ == "__main__":
    main()
