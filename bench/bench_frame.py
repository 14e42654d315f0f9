"""Benchmark: the spotcheck-draw/2 frame file of 1,000,000 targets — write, read back, draw.

Writes the /2 population (frame) file (regions, names, some quoted), gzips it as publication
stores it, reads it back with `read_population_file` (gunzip included) and draws on what was
read, each as a ratio to ref (docs/rules.md#r14; no target — the draw's own is bench_draw.py).
Run: .venv/bin/python bench/bench_frame.py [N]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds, uscc_like_ids

from app.draw import (
    ALGORITHM_V2,
    PlanItem,
    PopulationBuilder,
    SamplingParams,
    draw_targets,
    population_file_chunks,
    read_population_file,
)

SEED = "5f2b" * 16


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：N 个检查对象的 spotcheck-draw/2 抽样框文件：写出、读回（含解压）、抽取，"
        "输出与参考值 ref 的比值 (benchmark: write, read back and draw on a /2 frame file).",
    )
    parser.add_argument(
        "n", metavar="N", nargs="?", type=int, default=1_000_000, help="检查对象数（缺省 1000000）"
    )
    return parser.parse_args()


def main() -> None:
    n = parse_args().n
    ref = reference_seconds()
    print(f"参考值 ref（100万次 SHA-256）: {ref:.3f} s")
    builder = PopulationBuilder()
    for k, uscc in enumerate(uscc_like_ids(n)):
        name = f"某某医院第{k}分院" + ('（"东",西）' if k % 1000 == 0 else "")
        region = f"37{k % 97:02d}{k % 7:02d}"
        builder.add(
            uscc, f"定点医疗机构|{region}", "定点医疗机构", "ABCD"[k % 4], 1.0 + k % 5,
            frozenset(), region, name,
        )  # fmt: skip
    population = builder.build()
    items = [PlanItem("YB-01", frozenset())]
    start = time.perf_counter()
    data = b"".join(population_file_chunks(population, items, algorithm=ALGORITHM_V2))
    write = time.perf_counter() - start
    stored = gzip.compress(data, compresslevel=6, mtime=0)
    print(
        f"写出抽样框 {n:,} 行（{len(data) / 1e6:.1f} MB）: {write:.3f} s = {write / ref:.2f} x ref"
    )
    start = time.perf_counter()
    back = read_population_file(gzip.decompress(stored))
    read = time.perf_counter() - start
    print(f"读回抽样框（解压 + 解析）: {read:.3f} s = {read / ref:.2f} x ref")
    params = SamplingParams(
        ratio=0.05, grade_rates={"D": 0.2}, weighted=True, algorithm=ALGORITHM_V2
    )
    start = time.perf_counter()
    draw = draw_targets(seed=SEED, population=back, items=items, params=params)
    took = time.perf_counter() - start
    print(
        f"在读回的抽样框上加权抽取（{len(draw.tasks):,} 个任务）: {took:.3f} s = {took / ref:.2f} x ref"
    )


if __name__ == "__main__":
    main()
