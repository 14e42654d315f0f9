"""Every benchmark through one command: `make bench` (= `python -m bench`).

Runs each benchmark script of bench/ in its own process (so a peak RSS is that benchmark's),
`--runs` times per backend and size, reads the figures it writes (`--json`, bench/_report.py)
and prints one table: each figure as a ratio to `ref` (measured in the same process as the
figure, bench/_ref.py), the median of the runs, per database, against its target (
docs/rules.md#r14, issue 28), with a growth column:

* for a figure measured at two sizes (`--small` and `--size`): its ratio per target at the
  large size divided by the same at the small one — 1.00 is linear growth;
* for the season (bench_publish_season.py): the approval after the last draw divided by the
  approval after the first — 1.00 is "independent of the history".

The PostgreSQL column needs SPOTCHECK_BENCH_POSTGRES_URL or SPOTCHECK_TEST_POSTGRES_URL
(each benchmark makes and drops its own schema). The machine matters: read ratios, not
seconds, and see docs/performance.md for how the figures there were taken.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Job:
    """One benchmark script: how it is called for a size and backend."""

    name: str
    script: str
    per_backend: bool = True
    sized: bool = True  # takes N as its first argument
    growth: bool = True  # also run at the small size (growth column)
    inner_median: bool = False  # repeats inside itself (one run is already a median of 3)
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    """One row of the table: `key` in the job's seconds (a ratio to ref) or values."""

    job: str
    key: str
    label: str
    target: float | None
    unit: str = "×"  # "×": seconds / ref; "%": a fraction; "MB"
    kind: str = "seconds"  # or "values"
    growth_of: str | None = None  # a second value: growth = this figure / that one


@dataclass
class Runs:
    """The JSON documents of the runs of one job at one backend and size."""

    docs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, figure: Figure) -> float | None:
        got = []
        for doc in self.docs:
            if figure.kind == "seconds":
                if figure.key in doc["seconds"]:
                    got.append(doc["seconds"][figure.key] / doc["ref"])
            elif figure.key == "peak_mb":
                got.append(max(doc["peak_mb"], doc.get("child_peak_mb", 0.0)))
            elif figure.key in doc["values"]:
                got.append(doc["values"][figure.key])
        return statistics.median(got) if got else None

    def refs(self) -> list[float]:
        return [doc["ref"] for doc in self.docs]


def jobs(season_draws: int) -> list[Job]:
    return [
        Job("draw", "bench_draw.py", per_backend=False),
        Job(
            "teams",
            "bench_teams.py",
            per_backend=False,
            sized=False,
            growth=False,
            extra=("--v2",),  # the teams of new draws (app/plans/drawing.py)
        ),
        Job("tlock", "bench_tlock.py", per_backend=False, sized=False, growth=False),
        Job("import", "bench_import.py"),
        Job("pipeline", "bench_pipeline.py"),
        Job("publish", "bench_publish.py", growth=False, inner_median=True),
        Job(
            "season",
            "bench_publish_season.py",
            growth=False,
            inner_median=True,
            extra=("--draws", str(season_draws)),
        ),
    ]


FIGURES = (
    Figure("draw", "draw_strata", "pure draw, {n} targets, stratified (5,432 strata at 1M)", 1.5),
    Figure("draw", "draw_flat", "pure draw, {n} targets, one stratum", 1.5),
    Figure("teams", "teams", "teams: 50,000 tasks from 20,000 inspectors", 3.0),
    Figure("tlock", "seal_1k", "timelock seal of 1 KiB (one pairing)", 3.0),
    Figure("tlock", "seal_1k_same_round", "timelock seal of 1 KiB, round's pairing cached", 1.0),
    Figure("tlock", "open_1k", "timelock seal opened, 1 KiB", 3.0),
    Figure("tlock", "seal_record", "timelock seal of a 24 MiB draw record", 5.0),
    Figure("tlock", "open_record", "timelock seal of a 24 MiB draw record opened", 5.0),
    Figure("import", "import_new", "import {n} targets (all new)", 30.0),
    Figure("import", "reimport_unchanged", "re-import the same {n} rows (unchanged)", 15.0),
    Figure("import", "reimport_changed", "re-import {n} rows, 1 in 100 changed", None),
    Figure("pipeline", "import_targets", "pipeline: import targets", 30.0),
    Figure("pipeline", "plan_publication", "plan publication with frame capture", 10.0),
    Figure("pipeline", "draw_transaction", "whole POST /draw, {n} targets (one transaction)", 15.0),
    Figure("pipeline", "publish_first", "pipeline: first publish after the draw", None),
    Figure("publish", "publish_full", "full publish as a user runs it (spotcheck publish)", 10.0),
    Figure("publish", "publish_new_draw", "publishing a new 50,000-task draw (publisher)", 5.0),
    Figure(
        "season",
        "approval_1",
        "one approval ÷ full publish, after 1 draw",
        0.05,
        unit="%",
        kind="values",
    ),
    Figure(
        "season",
        "approval_last",
        "one approval ÷ full publish, after the last draw",
        0.05,
        unit="%",
        kind="values",
        growth_of="approval_1",
    ),
    Figure(
        "season",
        "not_inspected_1",
        "one 未检查 approval ÷ full publish, after 1 draw",
        0.05,
        unit="%",
        kind="values",
    ),
    Figure(
        "season",
        "not_inspected_last",
        "one 未检查 approval ÷ full publish, after the last draw",
        0.05,
        unit="%",
        kind="values",
        growth_of="not_inspected_1",
    ),
    Figure(
        "season",
        "new_draw_mb_per_task_last",
        "a new draw's build: MB per task of that draw (last draw)",
        None,
        unit="MB",
        kind="values",
        growth_of="new_draw_mb_per_task_first",
    ),
    Figure(
        "pipeline", "peak_mb", "peak RSS of the whole pipeline", 400.0, unit="MB", kind="values"
    ),
)


def run_job(job: Job, backend: str | None, size: int, work: Path) -> dict[str, Any]:
    out = work / f"{job.name}-{backend}-{size}-{time.time_ns()}.json"
    cmd = [sys.executable, str(HERE / job.script)]
    if job.sized:
        cmd.append(str(size))
    if backend is not None:
        cmd += ["--backend", backend]
    cmd += [*job.extra, "--json", str(out)]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    subprocess.run(cmd, check=True)
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "MB":
        return f"{value:,.3g} MB" if value < 10 else f"{value:,.0f} MB"
    return f"{value:.2f} ×"


def _met(value: float | None, target: float | None) -> str:
    if value is None or target is None:
        return "–"
    return "yes" if value <= target else "NO"


def main() -> None:
    p = argparse.ArgumentParser(
        description="运行全部基准测试并汇总：各项与参考值 ref 的比值（取中位数）、目标、是否达标，"
        "SQLite 与 PostgreSQL 各一列，另有增长列 (every benchmark, one table).",
    )
    p.add_argument("--size", type=int, default=1_000_000, help="检查对象数（缺省 1000000）")
    p.add_argument("--small", type=int, default=100_000, help="增长列的小规模（缺省 100000）")
    p.add_argument("--runs", type=int, default=3, help="每项运行次数，取中位数（缺省 3）")
    p.add_argument("--draws", type=int, default=20, help="抽查季的抽取次数（缺省 20）")
    p.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="只测这个数据库（可重复；缺省 sqlite，设置了 PostgreSQL 地址时两者都测）",
    )
    p.add_argument(
        "--only", help="只运行这些基准，逗号分隔：draw,teams,import,pipeline,publish,season"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="冒烟运行：10 万对象、1 万的小规模、各 1 次、抽查季 3 次抽取",
    )
    p.add_argument("--out", type=Path, help="把全部原始结果写成 JSON")
    args = p.parse_args()
    if args.quick:
        args.size, args.small, args.runs, args.draws = 100_000, 10_000, 1, 3
    pg = os.environ.get("SPOTCHECK_BENCH_POSTGRES_URL") or os.environ.get(
        "SPOTCHECK_TEST_POSTGRES_URL"
    )
    backends = args.backend or (["sqlite", "postgresql"] if pg else ["sqlite"])
    only = set(args.only.split(",")) if args.only else None
    results: dict[tuple[str, str | None, int], Runs] = {}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs(args.draws):
            if only is not None and job.name not in only:
                continue
            sizes = [args.size]
            if job.growth and job.sized and args.small < args.size:
                sizes.insert(0, args.small)
            runs = 1 if job.inner_median else args.runs
            for backend in backends if job.per_backend else [None]:
                for size in sizes:
                    got = results.setdefault((job.name, backend, size), Runs())
                    for _ in range(runs):
                        got.docs.append(run_job(job, backend, size, Path(tmp)))
    report(args, backends, results, time.time() - started)
    if args.out:
        args.out.write_text(
            json.dumps(
                [
                    {"job": j, "backend": b, "size": n, "runs": r.docs}
                    for (j, b, n), r in results.items()
                ],
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )


def report(
    args: argparse.Namespace,
    backends: list[str],
    results: dict[tuple[str, str | None, int], Runs],
    wall: float,
) -> None:
    refs = sorted(r for runs in results.values() for r in runs.refs())
    print(
        f"\n== spotcheck benchmarks: N = {args.size:,} (growth against {args.small:,}),"
        f" median of {args.runs} runs, season of {args.draws} draws; {wall / 60:.0f} min"
    )
    if refs:
        print(
            f"   ref (1,000,000 SHA-256 in a Python loop): {min(refs):.3f}–{max(refs):.3f} s"
            f" over {len(refs)} processes; load average now {os.getloadavg()[0]:.1f}"
        )
    head = f"{'figure':<58} {'target':>8}"
    for b in backends:
        head += f" {b:>12} {'growth':>7} {'met':>4}"
    print(head)
    for fig in FIGURES:
        label = fig.label.format(n=f"{args.size:,}")
        line = f"{label:<58} {_cell(fig.target, fig.unit) if fig.target else '–':>8}"
        seen = False
        for b in backends:
            backend: str | None = b
            if (fig.job, b, args.size) not in results:
                backend = None  # a backend-independent benchmark: the same in every column
            big = results.get((fig.job, backend, args.size))
            value = big.median(fig) if big else None
            growth = None
            if value is not None and fig.growth_of is not None and big is not None:
                base = big.median(Figure(fig.job, fig.growth_of, "", None, kind=fig.kind))
                growth = value / base if base else None
            small = results.get((fig.job, backend, args.small))
            if value is not None and small is not None and fig.growth_of is None:
                low = small.median(fig)
                if low and fig.unit == "×":  # per target: ratio / N
                    growth = (value / args.size) / (low / args.small)
            seen = seen or value is not None
            g = f"{growth:.2f}" if growth is not None else "–"
            line += f" {_cell(value, fig.unit):>12} {g:>7} {_met(value, fig.target):>4}"
        if seen:
            print(line)


if __name__ == "__main__":
    main()
