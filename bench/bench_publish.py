"""Benchmark: the publish a user runs — `spotcheck publish` after a national draw (issue 28:
<= 10 x ref), and the publisher's build after a further 50,000-task draw (docs/rules.md#r14:
publishing a 50,000-task draw in <= 5 x ref).

Setup as bench_pipeline.py, not timed: N generated targets (1,000,000 ≈ 54,000 tasks with
teams), imported, a national plan published and drawn. Then `--repeat` times what
`spotcheck publish` runs (`publish_pending(full=True)`: collect from the database, render and
write every file — the draw's pages, task lists, population file, the statistics, the
机构年度检查次数 pages, every index — into a new generation and swap it in, commit), each as
a ratio to ref measured in the same run; the median is the figure. The parts of each build are
printed too (collect, the render of the draw and site, the statistics, the yearly counts).
Then `--new-draws` times: one more national plan (the first's scope, a later window) is
published and drawn, and the build the publisher runs for it (incremental: the new draw's
files, its statistics and counts pages, the indexes) is timed; the median is the figure.

Run: .venv/bin/python bench/bench_publish.py [N] [--backend sqlite|postgresql] [--repeat 3]
     [--new-draws 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from _report import Figures, add_json_argument, peak_mb
from bench_pipeline import _plan, database, run_pipeline
from sqlalchemy import select

from app.config import Settings
from app.db import make_sessionmaker
from app.models import Draw
from app.publish import write as publish_write
from app.publish.publisher import publish_pending, result_release

PARTS = {
    "collect": "collect (database)",
    "render_into": "draws, plans, results, indexes",
    "_render_statistics": "statistics",
    "inspection_pages": "检查码 + yearly counts",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：用户运行的 spotcheck publish（全国一次抽取之后的完整发布，含统计分析与"
        "机构年度检查次数），输出与参考值 ref 的比值 (benchmark: the full publish a user runs).",
    )
    parser.add_argument(
        "n", metavar="N", nargs="?", type=int, default=1_000_000, help="检查对象数（缺省 1000000）"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3, help="完整发布次数，取中位数（缺省 3）")
    parser.add_argument(
        "--new-draws",
        type=int,
        default=3,
        help="之后再抽取并发布的全国抽取次数，取其发布耗时的中位数（缺省 3）",
    )
    add_json_argument(parser)
    return parser.parse_args()


def national_draw(engine: Any, code: str, month: int) -> str:
    """A further national plan like the pipeline's (both kinds, 5 %), its window in `month` of
    2027, published and drawn as the API does, publication due recorded; the draw's id."""
    from datetime import timedelta

    from app.db import begin_write
    from app.events import publication_due
    from app.models.base import utcnow
    from app.plans import drawing
    from app.plans import service as plans
    from app.plans.schemas import DrawIn, PlanIn

    window = {"start": f"2027-{month:02d}-01", "end": f"2027-{month:02d}-28"}
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        spec = _plan(code, all_need_medicine=False) | {"window": window}
        plans.create(session, data=PlanIn.model_validate(spec), actor="bench")
        plans.publish(session, code=code, actor="bench", at=utcnow() - timedelta(hours=1))
        publication_due(session, f"plan:{code}")
        session.commit()
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        body = DrawIn(entropy="2-7-1-8-2-8")
        draw = drawing.perform_draw(session, code=code, body=body, actor="bench").draw
        publication_due(session, f"draw:{draw.id}")
        session.commit()
        return str(draw.id)


def timed_build(
    engine: Any, settings: Settings, *, full: bool = True
) -> tuple[float, dict[str, float], Any]:
    """One `spotcheck publish` (`full`; else one run of the publisher, as after a request),
    timed, with the time spent in each of PARTS."""
    parts: dict[str, float] = dict.fromkeys(PARTS, 0.0)
    originals = {name: getattr(publish_write, name) for name in PARTS}

    def timed(name: str) -> Any:
        def call(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return originals[name](*a, **k)
            finally:
                parts[name] += time.perf_counter() - start

        return call

    for name in PARTS:
        setattr(publish_write, name, timed(name))
    try:
        with make_sessionmaker(engine)() as session:
            start = time.perf_counter()
            report = publish_pending(
                session, settings.publish_dir, release=result_release(settings), full=full
            )
            session.commit()
            total = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(publish_write, name, fn)
    return total, parts, report


def main() -> None:
    args = parse_args()
    ref = reference_seconds()
    figures = Figures(ref)
    print(f"N = {args.n:,}, backend {args.backend}; ref = {ref:.3f} s", flush=True)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as engine:
        work = Path(tmp)
        run_pipeline(engine, args.n, ref, work, publish=False)
        settings = Settings(publish_dir=work / "publish")
        for _ in range(args.repeat):
            total, parts, report = timed_build(engine, settings)
            assert report is not None
            runs.append(
                {"total": total, "parts": parts, "files": report.files, "mb": report.bytes / 1e6}
            )
            print(
                f"  spotcheck publish: {total:.2f} s = {total / ref:.2f} x ref"
                f" ({report.files:,} files, {report.bytes / 1e6:.0f} MB; peak RSS {peak_mb():.0f} MB)",
                flush=True,
            )
            for name, label in PARTS.items():
                print(f"    {label:<34} {parts[name]:7.2f} s = {parts[name] / ref:6.2f} x ref")
        # the build the publisher runs after POST /draw: one more national draw (a plan like
        # the first, a later window), the site already holding everything else
        new_runs = []
        for k in range(args.new_draws):
            draw_id = national_draw(engine, f"BENCH-{k + 2}", month=k + 1)
            total, parts, report = timed_build(engine, settings, full=False)
            with make_sessionmaker(engine)() as session:
                tasks = session.scalar(select(Draw.task_count).where(Draw.id == draw_id))
            new_runs.append({"total": total, "parts": parts, "mb": report.bytes / 1e6})
            print(
                f"  build after a new draw of {tasks:,} tasks: {total:.2f} s = {total / ref:.2f} x"
                f" ref ({report.files_written:,} files written, {report.bytes / 1e6:.0f} MB)",
                flush=True,
            )
            for name, label in PARTS.items():
                print(f"    {label:<34} {parts[name]:7.2f} s = {parts[name] / ref:6.2f} x ref")
    middle = statistics.median(r["total"] for r in runs)
    print(
        f"full publish (median of {len(runs)}): {middle:.2f} s = {middle / ref:.2f} x ref"
        " (target <= 10)"
    )
    figures.time("publish_full", middle, f"{runs[0]['files']} files, {runs[0]['mb']:.0f} MB")
    for name in PARTS:
        figures.time(f"publish_part_{name}", statistics.median(r["parts"][name] for r in runs))
    if new_runs:
        new = statistics.median(r["total"] for r in new_runs)
        print(
            f"publishing a new draw (median of {len(new_runs)}): {new:.2f} s = {new / ref:.2f} x"
            " ref (target <= 5)"
        )
        figures.time("publish_new_draw", new)
    figures.write(args.json)


if __name__ == "__main__":
    main()
