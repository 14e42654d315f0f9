"""Benchmark: the whole pipeline at national scale (issue 9), every stage as a ratio to ref.

generate N targets + inspectors (20,000 at N = 1,000,000, scaled down for small N) → import
items, targets, inspectors → create + publish a plan (5% of every kind × level × region stratum,
≈ 50,000 tasks at N = 1,000,000) → draw (snapshot + engine + teams + persistence, one
transaction) → publish the static site → keyset-paginated read of the last page of
/api/v1/targets (the service the endpoint calls) and two filtered pages.

Each stage prints seconds, seconds / ref (ref measured in the same run, bench/_ref.py) and the
peak RSS so far. Several sizes run each in its own child process (so peak RSS is per size) and
end with a growth table: seconds per 1,000 targets per stage, which stays flat when cost grows
linearly.

Run: .venv/bin/python bench/bench_pipeline.py N [N ...] [--backend sqlite|postgresql]
PostgreSQL uses SPOTCHECK_BENCH_POSTGRES_URL or SPOTCHECK_TEST_POSTGRES_URL (a fresh schema).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from _report import peak_mb, reset_stage_peak, stage_peak_mb
from sqlalchemy import Engine, create_engine, func, select, text

from app.db import begin_write, make_engine, make_sessionmaker
from app.demo import generate
from app.migrate import upgrade
from app.models import Target
from app.models.base import utcnow
from app.pagination import encode_cursor
from app.registries import importer, service

LEAD = "国家医疗保障局"
# Hospitals need a 医学 member, pharmacies no particular expertise (see bench_teams.py for a
# finer mix). --all-need-medicine makes every task need 医学 (one item for both kinds).
BENCH_ITEMS = (
    ("BM-01", "医疗机构医保基金使用检查", "定点医疗机构", "医学"),
    ("BM-02", "零售药店医保基金使用检查", "定点零售药店", ""),
    ("BM-03", "定点医药机构综合检查", "定点医疗机构;定点零售药店", "医学"),
)


def _item_row(code: str, name: str, kinds: str, expertise: str) -> tuple[str, ...]:
    basis = "《医疗保障基金使用监督管理条例》第十五条"
    return (code, name, "", "重点", basis, LEAD, kinds, "5%", "每年1次", "现场检查", expertise)


def inspectors_for(n: int) -> int:
    """20,000 inspectors at 1,000,000 targets, scaled down (at least 400)."""
    return max(400, n // 50)


def write_files(work: Path, n: int) -> dict[str, Path]:
    """Registry files: generated targets; inspectors of every city's 医保局 form one national
    lead department (a national plan); one bench item that applies to both 定点 kinds."""
    paths = generate.write_registries(work, targets=n, inspectors=inspectors_for(n))
    with paths["items"].open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(_item_row(*item) for item in BENCH_ITEMS)
    src = paths["inspectors"]
    national = work / "inspectors_national.csv"
    with (
        src.open(encoding="utf-8-sig", newline="") as fin,
        national.open("w", encoding="utf-8-sig", newline="") as fout,
    ):
        reader, writer = csv.reader(fin), csv.writer(fout)
        writer.writerow(next(reader))
        for row in reader:
            if row[2].endswith("医疗保障局"):
                row[2] = LEAD
            writer.writerow(row)
    paths["inspectors"] = national
    return paths


class Stages:
    """Collects (stage, seconds, peak MB) and prints each line as it completes."""

    def __init__(self, ref: float) -> None:
        self.ref = ref
        self.rows: list[dict[str, Any]] = []
        self._open: list[float] = []  # the peaks seen inside each open top-level stage
        self._max = 0.0

    @contextmanager
    def time(self, name: str, note: str = "") -> Iterator[None]:
        reset_stage_peak()
        self._open.append(0.0)
        start, cpu = time.perf_counter(), time.process_time()
        yield
        self.add(
            name,
            time.perf_counter() - start,
            note,
            inner=self._open.pop(),
            cpu=time.process_time() - cpu,
        )

    def add(
        self,
        name: str,
        seconds: float,
        note: str = "",
        *,
        inner: float = 0.0,
        cpu: float | None = None,
    ) -> None:
        """Records a stage; its peak is the highest RSS since the previous stage ended (Linux:
        VmHWM, reset between stages), or since a top-level stage began. `cpu`: this process's
        CPU seconds in the stage (on a loaded machine wall time also counts the waits for a
        core; a forked child's CPU is not in it)."""
        repeats = sum(1 for r in self.rows if r["stage"].startswith(name))
        name = f"{name} ({repeats + 1})" if repeats else name
        own = max(stage_peak_mb(), inner)
        reset_stage_peak()
        if self._open:
            self._open[-1] = max(self._open[-1], own)
        self._max = max(self._max, own)
        mb = max(peak_mb(), self._max)
        self.rows.append(
            {
                "stage": name,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_mb": mb,
                "stage_mb": own,
                "note": note,
            }
        )
        cpu_text = "" if cpu is None else f" (cpu {cpu / self.ref:6.2f} x)"
        print(
            f"  {name:<38} {seconds:8.2f} s = {seconds / self.ref:7.2f} x ref{cpu_text}"
            f"   peak RSS {own:6.0f} MB (so far {mb:4.0f})  {note}",
            flush=True,
        )


def _wrap(module: Any, name: str, stages: Stages, label: str) -> Callable[[], None]:
    """Times every call of module.name as stage `label`; returns the undo function."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        stages.add(label, time.perf_counter() - start, cpu=time.process_time() - cpu)
        return out

    setattr(module, name, timed)
    return lambda: setattr(module, name, original)


def _plan(code: str, *, all_need_medicine: bool) -> dict[str, Any]:
    return {
        "code": code,
        "title": "全国定点医药机构“双随机、一公开”抽查（基准测试）",
        "lead_department": LEAD,
        "items": ["BM-03"] if all_need_medicine else ["BM-01", "BM-02"],
        "scope": {"kinds": ["定点医疗机构", "定点零售药店"], "regions": []},
        "strata": ["kind", "level", "region"],
        "ratio": 0.05,
        "min_per_stratum": 1,
        "cooldown_days": 365,
        "team": {"size": 2, "cross_region": True, "max_tasks_per_inspector": 16},
        "window": {"start": "2026-12-01", "end": "2026-12-31"},
        "publish_tasks": "on_draw",
        # The bench publishes "an hour ago" and rolls the announced dice half an hour later.
        "entropy_source": {
            "kind": "dice",
            "scheduled_at": (utcnow() - timedelta(minutes=30)).isoformat(),
            "place": "基准测试",
            "witnesses": ["bench"],
            # spotcheck-draw/3: the exact form of the value (six ten-sided dice, 0–9)
            "count": 6,
            "faces": 10,
        },
    }


def run_pipeline(
    engine: Engine,
    n: int,
    ref: float,
    work: Path,
    *,
    all_need_medicine: bool = False,
    publish: bool = True,
) -> Stages:
    """Every stage up to the draw, then (`publish`) the first publication and the reads."""
    from app.plans import drawing, frame
    from app.plans import service as plans
    from app.plans.schemas import DrawIn, PlanIn
    from app.publish import write as publish_write
    from app.visits import service as visit_records

    stages = Stages(ref)
    factory = make_sessionmaker(engine)
    with stages.time("generate files", f"{n:,} targets, {inspectors_for(n):,} inspectors"):
        files = write_files(work, n)
    for kind in ("items", "targets", "inspectors"):
        with stages.time(f"import {kind}"), factory() as session:
            begin_write(session)
            with files[kind].open("rb") as fh:
                result = importer.import_file(session, kind=kind, fh=fh, actor="bench")
            session.commit()
        assert result.created == result.rows, result
    undo = [
        _wrap(frame, "capture", stages, "  publish: frame capture (registries → frozen file)"),
    ]
    with stages.time("plan create + publish"), factory() as session:
        begin_write(session)
        plans.create(
            session,
            data=PlanIn.model_validate(_plan("BENCH-1", all_need_medicine=all_need_medicine)),
            actor="bench",
        )
        plans.publish(session, code="BENCH-1", actor="bench", at=utcnow() - timedelta(hours=1))
        session.commit()
    for u in undo:
        u()

    undo = [
        _wrap(frame, "read_frame", stages, "  draw: frozen frame (read back)"),
        _wrap(drawing, "draw_targets", stages, "  draw: engine (targets)"),
        _wrap(drawing, "assign_teams", stages, "  draw: teams"),
        _wrap(drawing, "bulk_insert_rows", stages, "  draw: bulk insert tasks/members"),
        _wrap(visit_records, "start_visits", stages, "  draw: visits started (rows)"),
    ]
    try:
        with stages.time("draw total (one transaction)"), factory() as session:
            begin_write(session)
            begun, first_part = time.perf_counter(), len(stages.rows)
            begun_cpu = time.process_time()
            draw = drawing.perform_draw(
                session, code="BENCH-1", body=DrawIn(entropy="3-1-4-1-5-9"), actor="b"
            ).draw
            start, cpu = time.perf_counter(), time.process_time()
            session.commit()
            tasks = draw.task_count
            stages.add("  draw: commit", time.perf_counter() - start, cpu=time.process_time() - cpu)
            parts = sum(r["seconds"] for r in stages.rows[first_part:])
            cpu_parts = sum(r["cpu_seconds"] or 0.0 for r in stages.rows[first_part:])
            stages.add(
                "  draw: rest (rows, JSON body, visits, audit)",
                time.perf_counter() - begun - parts,
                cpu=time.process_time() - begun_cpu - cpu_parts,
            )
    finally:
        for u in undo:
            u()
    print(f"  ({tasks:,} tasks drawn)")
    if not publish:
        return stages

    undo = [
        _wrap(publish_write, "collect", stages, "  publish: collect (database)"),
        _wrap(publish_write, "render_into", stages, "  publish: render + write files"),
    ]
    undo.append(_wrap(publish_write, "draw_statistics", stages, "  publish: statistics"))
    try:
        with stages.time("publish site"), factory() as session:
            begun, first_part = time.perf_counter(), len(stages.rows)
            report = publish_write.publish(session, work / "publish")
            session.commit()
            parts = sum(r["seconds"] for r in stages.rows[first_part:])
            stages.add(
                "  publish: swap, statistics files, commit", time.perf_counter() - begun - parts
            )
    finally:
        for u in undo:
            u()
    print(f"  ({report.files:,} files, {report.bytes / 1e6:.0f} MB published)")

    with factory() as session:
        keys = session.scalars(select(Target.uscc).order_by(Target.uscc.desc()).limit(51)).all()
        total = session.scalar(select(func.count()).select_from(Target))
        cursor = encode_cursor(keys[-1])
        with stages.time("list: last page of /targets"):
            page = service.list_records(
                session, kind="targets", filters={}, cursor=cursor, limit=50
            )
        assert len(page.items) == 50 and page.next_cursor is None, (len(page.items), total)
        with stages.time("list: kind+region filter, last rows"):
            service.list_records(
                session,
                kind="targets",
                filters={"kind": "定点零售药店", "region": "3704"},
                cursor=cursor,
                limit=50,
            )
        with stages.time("list: tags filter, first page"):
            service.list_records(session, kind="targets", filters={"tags": "举报:1"}, limit=50)
    return stages


@contextmanager
def database(backend: str, work: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{work / 'bench.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get("SPOTCHECK_BENCH_POSTGRES_URL") or os.environ.get(
        "SPOTCHECK_TEST_POSTGRES_URL"
    )
    if not url:
        raise SystemExit("需要 SPOTCHECK_BENCH_POSTGRES_URL (PostgreSQL URL not set)")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        upgrade(engine)
        yield engine
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


STANDARD = {  # stage -> the figure python -m bench reads (bench/_report.py)
    "import targets": "import_targets",
    "plan create + publish": "plan_publication",
    "  publish: frame capture (registries → frozen file)": "frame_capture",
    "draw total (one transaction)": "draw_transaction",
    "publish site": "publish_first",
}


def one_size(n: int, backend: str, *, all_need_medicine: bool = False) -> dict[str, Any]:
    """Runs the pipeline once at size n; returns ref, stages and peak RSS (and the figures of
    bench/_report.py under `seconds`)."""
    ref = reference_seconds()
    print(f"N = {n:,}, backend {backend}; ref (100万次 SHA-256) = {ref:.3f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as engine:
        stages = run_pipeline(engine, n, ref, Path(tmp), all_need_medicine=all_need_medicine)
    top = [r for r in stages.rows if not r["stage"].startswith("  ")]
    total = sum(r["seconds"] for r in top)
    print(f"  {'whole pipeline':<38} {total:8.2f} s = {total / ref:7.2f} x ref")
    children = peak_mb(resource.RUSAGE_CHILDREN)
    # (resetting VmHWM between stages may lower ru_maxrss: the peak is the stages' highest)
    peak = max([peak_mb(), *(r["stage_mb"] for r in stages.rows)])
    print(f"  peak RSS {peak:.0f} MB (largest child process: {children:.0f} MB)", flush=True)
    seconds = {STANDARD[r["stage"]]: r["seconds"] for r in stages.rows if r["stage"] in STANDARD}
    return {
        "n": n,
        "backend": backend,
        "ref": ref,
        "stages": stages.rows,
        "peak_mb": peak,
        "child_peak_mb": children,
        "seconds": seconds,
        "values": {},
    }


def growth_table(results: list[dict[str, Any]]) -> None:
    """Seconds per 1,000 targets per stage and size; a flat row means linear growth."""
    sizes = [r["n"] for r in results]
    names = [s["stage"] for s in results[0]["stages"]]
    print("\ngrowth: seconds per 1,000 targets at ref = 0.65 s (flat = linear)")
    print(f"  {'stage':<38}" + "".join(f"{n:>14,}" for n in sizes) + "   last/first")
    for name in names:
        cells = []
        for r in results:
            secs = next((s["seconds"] for s in r["stages"] if s["stage"] == name), None)
            cells.append(None if secs is None else secs / r["ref"] * 0.65 / (r["n"] / 1000))
        line = "".join(f"{c:14.4f}" if c is not None else f"{'-':>14}" for c in cells)
        ratio = cells[-1] / cells[0] if cells[0] and cells[-1] is not None else float("nan")
        print(f"  {name:<38}{line}   {ratio:8.2f}")
    print("  peak RSS MB" + " " * 28 + "".join(f"{r['peak_mb']:14.0f}" for r in results))


def main() -> None:
    p = argparse.ArgumentParser(
        description="基准：全国规模的整条流程（生成、导入、计划、抽取、发布、分页读取），"
        "每一阶段输出与参考值 ref 的比值 (benchmark: the whole pipeline at national scale).",
    )
    p.add_argument(
        "sizes",
        metavar="N",
        nargs="*",
        type=int,
        default=[1_000_000],
        help="检查对象数，可多个（每个在子进程中运行，最后输出增长表；缺省 1000000）",
    )
    p.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="数据库（缺省 sqlite）",
    )
    p.add_argument(
        "--all-need-medicine",
        action="store_true",
        help="每个任务都需要医学专长的组员（组队修复的压力情形）",
    )
    p.add_argument(
        "--json", type=Path, help="把这一规模的结果写成 JSON（子进程与 python -m bench 用）"
    )
    p.add_argument("--table", nargs="+", type=Path, help="输出已保存的 --json 结果的增长表")
    args = p.parse_args()
    if args.table:
        growth_table([json.loads(path.read_text()) for path in args.table])
        return
    if len(args.sizes) == 1:
        result = one_size(args.sizes[0], args.backend, all_need_medicine=args.all_need_medicine)
        if args.json:
            args.json.write_text(json.dumps(result))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            out = Path(tmp) / f"{n}.json"
            subprocess.run(
                [sys.executable, __file__, str(n), "--backend", args.backend, "--json", str(out)]
                + (["--all-need-medicine"] if args.all_need_medicine else []),
                check=True,
            )
            results.append(json.loads(out.read_text()))
    growth_table(results)


if __name__ == "__main__":
    main()
