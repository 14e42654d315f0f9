"""Benchmark: what the site update costs after a change, once a national draw is published
(issue 15). Ratios to ref (bench/_ref.py, same run) and to a full publish of the same site.

Setup (bench_pipeline.py's): N targets (1,000,000 ≈ 50,000 tasks), import, plan, draw, a full
publish. Then, each followed by one run of the publisher (app/publish/publisher.py, the job the
scheduler runs): one approval; a burst of 100 approvals (recorded, then one build); a new draw
of a second plan. Each row: seconds, bytes written, files written / carried over by hard link.

Run: .venv/bin/python bench/bench_publish_incremental.py [N] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
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
from app.publish.publisher import publish_pending, result_release
from app.publish.write import PublishReport

SUPERVISOR = Principal(token_id=0, name="bench", role="supervisor", badge=None)


def approve(engine: Engine, task_ids: list[str]) -> None:
    """Enters and approves a result of each task, recording publication due (as the API does)."""
    from app.tasks import results
    from app.tasks.schemas import ResultIn

    today = local_date(datetime.now(UTC))
    data = ResultIn.model_validate(
        {
            "outcome": "未发现问题",
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
            results.approve_result(session, task_id=task_id, actor=SUPERVISOR.actor)
            publication_due(session, f"result:{task_id}")
            session.commit()


def build(engine: Engine, settings: Settings, *, full: bool = False) -> tuple[float, PublishReport]:
    """One run of the publisher, timed."""
    with make_sessionmaker(engine)() as session:
        start = time.perf_counter()
        report = publish_pending(
            session, settings.publish_dir, release=result_release(settings), full=full
        )
        session.commit()
        seconds = time.perf_counter() - start
    assert report is not None
    return seconds, report


def new_draw(engine: Engine, code: str) -> None:
    """A second plan, published and drawn (as the API does, publication due recorded)."""
    from app.plans import drawing
    from app.plans import service as plans
    from app.plans.schemas import PlanIn

    with make_sessionmaker(engine)() as session:
        begin_write(session)
        plans.create(
            session,
            # A later window (the first plan's uses up the inspectors' task caps).
            data=PlanIn.model_validate(
                _plan(code, all_need_medicine=False)
                | {
                    "window": {"start": "2027-03-01", "end": "2027-03-31"},
                    # pharmacies only: no expertise to cover, the teams always form
                    "items": ["BM-02"],
                    "scope": {"kinds": ["定点零售药店"], "regions": []},
                }
            ),
            actor="bench",
        )
        plans.publish(session, code=code, actor="bench")
        publication_due(session, f"plan:{code}")
        session.commit()
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        draw = drawing.perform_draw(session, code=code, entropy="2-7-1-8-2-8", actor="bench")
        publication_due(session, f"draw:{draw.id}")
        session.commit()


def main() -> None:
    p = argparse.ArgumentParser(description="基准：变更后的增量发布 (incremental publishing).")
    p.add_argument("n", nargs="?", type=int, default=1_000_000, help="检查对象数（缺省 1000000）")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
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

        row("full publish (every file rendered)", build(engine, settings, full=True))
        with make_sessionmaker(engine)() as session:
            draw_id = session.scalar(select(Draw.id))
            tasks = list(
                session.scalars(select(Task.id).where(Task.draw_id == draw_id).order_by(Task.seq))
            )
        approve(engine, tasks[:1])
        row("after one approval", build(engine, settings))
        approve(engine, tasks[1:101])
        row("after a burst of 100 approvals (one build)", build(engine, settings))
        new_draw(engine, "BENCH-2")
        row("after a new draw (second plan)", build(engine, settings))
        approve(engine, tasks[101:102])
        row("after one approval, two draws published", build(engine, settings))
    full_s, full = rows[0][1], rows[0][2]
    print(
        f"\n  {'site update':<44} {'seconds':>8} {'× ref':>7} {'÷ full':>7}"
        f" {'MB written':>10} {'÷ full':>7} {'files written':>13} {'carried':>8}"
    )
    for name, secs, rep in rows:
        print(
            f"  {name:<44} {secs:8.3f} {secs / ref:7.2f} {secs / full_s:7.1%}"
            f" {rep.bytes / 1e6:10.1f} {rep.bytes / max(full.bytes, 1):7.1%}"
            f" {rep.files_written:13,} {rep.files_linked:8,}"
        )
    out: dict[str, Any] = {"n": args.n, "ref": ref, "rows": [(n, s, r.bytes) for n, s, r in rows]}
    print(out)


if __name__ == "__main__":
    main()
