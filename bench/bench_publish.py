"""Benchmark: publishing a 50,000-task draw (render + atomic write), docs/rules.md#r14 target <= 5 x ref.

The draw is synthetic but has the published shape: 50,000 tasks with 3-member teams drawn from
a population of 1,000,000 (its stored gzip comes from the database in production, and the CSV
is decompressed from it while it is written). Collecting from the database is not timed;
rendering every page, JSON, CSV, XLSX, Atom and writing the new generation (including that
decompression) with the symlink swap is.
Run: .venv/bin/python bench/bench_publish.py [TASKS]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds, uscc_like_ids

from app.draw import POPULATION_HEADER
from app.publish.collect import DrawData, SiteData
from app.publish.render import render_into, render_site
from app.publish.write import build_site, load_assets

KINDS = ("定点医疗机构", "定点零售药店")
LEVELS = ("三级", "二级", "一级", "未定级")


def site(tasks: int) -> SiteData:
    population = tasks * 20
    ids = uscc_like_ids(population)
    strata = [f"{k}|{lv}|37{r:04d}" for k in KINDS for lv in LEVELS for r in range(40)]
    lines = [POPULATION_HEADER] + [
        f"{u},{strata[i % len(strata)]},{KINDS[i % 2]},A,1.0," for i, u in enumerate(ids)
    ]
    text = ("\n".join(lines) + "\n").encode()
    badges = [f"37{n:012d}" for n in range(20000)]
    body_tasks = [
        {
            "id": f"BENCH-D1-{n + 1:05d}",
            "uscc": ids[n * 20],
            "stratum": strata[(n * 20) % len(strata)],
            "ticket": "0." + f"{n * 7919:064d}",
            "inclusion_prob": 0.05,
            "items": ["YB-01", "YB-02"],
            "despite_cooldown": False,
            "reason": None,
            "name": f"某市第{n}医院",
            "region": "370402",
            "required_expertise": ["医学"],
            "team": [
                {"badge": badges[(3 * n) % 20000], "role": "组长"},
                {"badge": badges[(3 * n + 1) % 20000], "role": "组员"},
                {"badge": badges[(3 * n + 2) % 20000], "role": "联合检查"},
            ],
        }
        for n in range(tasks)
    ]
    per = population // len(strata)
    body = {
        "schema_version": "1",
        "id": "BENCH-D1",
        "plan": "BENCH",
        "plan_version": 2,
        "seq": 1,
        "status": "current",
        "drawn_at": "2026-12-01T02:00:00+00:00",
        "algorithm": "spotcheck-draw/1",
        "seed": "ab" * 32,
        "seed_inputs": {"commitment": "cd" * 32, "secret": "ef" * 32, "entropy": "1-2-3"},
        "population_sha256": "00" * 32,
        "population_file": "BENCH-D1.population.csv",
        "population_size": population,
        "params": {
            "ratio": 0.05,
            "min_per_stratum": 1,
            "grade_rates": {},
            "weighted": False,
            "cooldown_days": 365,
            "items": [],
        },
        "strata": [
            {
                "key": s,
                "N": per,
                "n": per // 20,
                "n_floor": per // 20,
                "eligible": per,
                "despite_cooldown": 0,
            }
            for s in strata
        ],
        "team_params": {},
        "inspector_pool": {"departments": [], "columns": [], "rows": []},
        "exclusions": [],
        "tasks": body_tasks,
    }
    spec = {
        "lead_department": "某市医疗保障局",
        "joint_departments": [],
        "items": ["YB-01"],
        "scope": {"kinds": list(KINDS), "regions": []},
        "strata": ["kind", "level", "region"],
        "ratio": 0.05,
        "min_per_stratum": 1,
        "grade_rates": {},
        "risk_weights": {},
        "cooldown_days": 365,
        "team": {"size": 2, "cross_region": True, "joint_members": 1, "experts": 0},
        "window": {"start": "2026-12-01", "end": "2026-12-31"},
        "publish_tasks": "on_draw",
    }
    plan = {
        "code": "BENCH",
        "title": "基准测试计划",
        "status": "drawn",
        "version": 2,
        "published_at": "2026-11-30T02:00:00+00:00",
        "updated_at": "2026-12-01T02:00:00+00:00",
        "commitment": "cd" * 32,
        "spec": spec,
        "versions": [
            {
                "version": 2,
                "kind": "publish",
                "reason": None,
                "commitment": "cd" * 32,
                "published_at": "2026-11-30T02:00:00+00:00",
                "spec": spec,
            }
        ],
        "draws": ["BENCH-D1"],
    }
    draw = DrawData(
        id="BENCH-D1",
        plan="BENCH",
        seq=1,
        status="current",
        drawn_at=body["drawn_at"],
        task_count=tasks,
        superseded_at=None,
        superseded_reason=None,
        body=body,
        population=None,  # as collect() gives it: the stored gzip, decompressed while written
        population_gz=gzip.compress(text, compresslevel=6, mtime=0),
        tasks_public_from=None,
    )
    return SiteData(
        generated_at=datetime.now(UTC),
        items=[],
        plans=[plan],
        draws=[draw],
        results=[],
        inspector_names={b: "检查员" for b in badges},
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：发布一次含 TASKS 个任务的抽取（渲染 + 原子写入），输出与参考值 ref 的比值"
        " (benchmark: publishing a draw of TASKS tasks).",
    )
    parser.add_argument(
        "tasks", metavar="TASKS", nargs="?", type=int, default=50_000, help="任务数（缺省 50000）"
    )
    return parser.parse_args()


def main() -> None:
    tasks = parse_args().tasks
    data = site(tasks)
    assets = load_assets()
    root = Path(tempfile.mkdtemp())
    try:
        start = time.perf_counter()
        render_site(data, assets)  # render alone, in memory
        rendered = time.perf_counter() - start
        # as `spotcheck publish` does: each file written into the new generation as it is made
        start = time.perf_counter()
        report = build_site(root / "publish", lambda sink: render_into(sink, data, assets))
        total = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ref = reference_seconds()
    print(f"ref = {ref:.3f} s")
    print(f"publish {tasks} tasks: {report.files} files, {report.bytes / 1e6:.1f} MB")
    print(f"render/ref = {rendered / ref:.2f}")
    print(f"publish/ref = {total / ref:.2f}  (target <= 5)")


if __name__ == "__main__":
    main()
