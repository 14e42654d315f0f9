"""Benchmark: team assignment for 50,000 tasks from 20,000 inspectors (docs/rules.md#r14: ≤ 3 × ref).

Synthetic province: 16 cities × 10 counties; cross-region on (county level); 2 members per
team, cap 8 tasks per inspector; "1% conflicts" = 1% of inspectors each declare conflicts with
1% of the drawn targets (≈100,000 recusal pairs) and another 1% are employed by a drawn target.
Prints the best of three runs as a ratio to the reference, and the load spread.  Run: .venv/bin/python bench/bench_teams.py
(`--v2`: the same draw under `spotcheck-draw/2 teams`, keyed tokens and lazy recusal; `--v3`:
under `spotcheck-draw/3 teams`, as a /3 draw calls it — the /2 rules, with a recusal key).
CPU seconds of the best run are printed too, against the reference loop's CPU seconds (the machine
is shared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.draw.teams import (
    TEAMS_ALGORITHM,
    TEAMS_ALGORITHM_2,
    TEAMS_ALGORITHM_3,
    Inspector,
    TeamParams,
    TeamTask,
    assign_teams,
)
from bench._ref import reference_seconds, uscc_like_ids
from bench._report import Figures, add_json_argument

SKILLS = ("医学", "药学", "财务", "信息")


def province(
    n_tasks: int, n_inspectors: int, seed: int = 7
) -> tuple[list[TeamTask], list[Inspector]]:
    """Synthetic tasks and inspectors (data generation only; the draw never uses `random`)."""
    rng = random.Random(seed)
    regions = [f"37{c:02d}{k:02d}" for c in range(1, 17) for k in range(1, 11)]
    ids = uscc_like_ids(n_tasks)
    needs = [frozenset({"医学"}), frozenset({"药学"}), frozenset(), frozenset({"医学", "财务"})]
    tasks = [
        TeamTask(uscc=u, region=rng.choice(regions), required_expertise=rng.choice(needs))
        for u in ids
    ]
    inspectors = []
    for k in range(n_inspectors):
        conflicts: frozenset[str] = frozenset()
        employer = None
        r = rng.random()
        if r < 0.01:
            conflicts = frozenset(rng.sample(ids, n_tasks // 100))
        elif r < 0.02:
            employer = rng.choice(ids)
        inspectors.append(
            Inspector(
                badge=f"37{k:08d}",
                name=f"检查员{k}",
                department="山东省医疗保障局",
                region=rng.choice(regions),
                expertise=frozenset(rng.sample(SKILLS, rng.choice((1, 1, 2)))),
                kind="执法人员",
                employer_uscc=employer,
                conflicts=conflicts,
                max_tasks=None,
            )
        )
    return tasks, inspectors


def reference_cpu_seconds() -> float:
    """CPU seconds of `reference_seconds`'s loop (on a loaded machine wall time is not CPU)."""
    ids = uscc_like_ids(1_000_000)
    start = time.process_time()
    for s in ids:
        hashlib.sha256(s.encode()).hexdigest()
    return time.process_time() - start


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：从 20000 名检查人员中为 50000 个任务组队，输出与参考值 ref 的比值"
        " (benchmark: team assignment).",
    )
    versions = parser.add_mutually_exclusive_group()
    versions.add_argument(
        "--v2",
        action="store_true",
        help="按 spotcheck-draw/2 组队（带密钥的排除标记、只公布起作用的回避）",
    )
    versions.add_argument(
        "--v3",
        action="store_true",
        help="按 spotcheck-draw/3 组队（/3 抽取的调用方式：带回避密钥）",
    )
    add_json_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    tasks, inspectors = province(50_000, 20_000)
    params = TeamParams(
        size=2,
        lead_department="山东省医疗保障局",
        cross_region=True,
        max_tasks_per_inspector=8,
        algorithm=(
            TEAMS_ALGORITHM_3 if args.v3 else TEAMS_ALGORITHM_2 if args.v2 else TEAMS_ALGORITHM
        ),
    )
    key = b"bench-recusal-key-32-bytes-long!" if args.v2 or args.v3 else None
    ref = reference_seconds()
    ref_cpu = reference_cpu_seconds()
    runs, cpu = [], []
    for _ in range(3):  # best of three, as bench_draw: the same result each time
        start, start_cpu = time.perf_counter(), time.process_time()
        result = assign_teams(
            seed="bench-seed", tasks=tasks, inspectors=inspectors, params=params, recusal_key=key
        )
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    elapsed = min(runs)
    start = time.perf_counter()
    published = json.dumps(
        {**result.to_dict(), "inspector_pool": result.inspector_pool_dict()},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    publish_s = time.perf_counter() - start
    loads = Counter(result.loads)
    dist = Counter(loads.values())
    print(f"ref                 {ref:.3f} s")
    print(
        f"assign_teams        {elapsed:.3f} s  = {elapsed / ref:.2f} × ref (target ≤ 3; best of "
        f"{', '.join(f'{r:.3f}' for r in runs)} s)"
    )
    print(f"ref CPU             {ref_cpu:.3f} s")
    print(
        f"assign_teams CPU    {min(cpu):.3f} s  = {min(cpu) / ref_cpu:.2f} × ref CPU "
        "(best of three)"
    )
    print(f"to_dict+json        {publish_s:.3f} s  = {publish_s / ref:.2f} × ref")
    print(f"published size      {len(published.encode()) / 1e6:.1f} MB")
    print(f"algorithm           {params.algorithm}")
    print(f"exclusion tokens    {len(result.exclusions)}")
    if args.v2 or args.v3:
        print(f"published recusals  {sum(len(b) for b in result.recused.values())}")
    print(
        f"load min/max/mean   {min(loads.values())}/{max(loads.values())}/"
        f"{sum(loads.values()) / len(loads):.2f}  distribution {sorted(dist.items())}"
    )
    figures = Figures(ref)
    figures.time("teams", elapsed, params.algorithm)
    figures.write(args.json)


if __name__ == "__main__":
    main()
