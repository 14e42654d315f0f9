"""Benchmark: a spotcheck-draw/1 target draw over 1,000,000 targets (docs/rules.md#r14).

Prints draw/ref (target <= 1.5) and consistent_sampler/draw on the same uniform sample
(target >= 6). consistent_sampler is run on a smaller population and scaled linearly.
The draw is timed on the columnar `Population` the registry snapshot builds (USCCs in
generation order, not sorted); building it from `Unit`s is timed and printed apart.
Run: .venv/bin/python bench/bench_draw.py [N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds, uscc_like_ids
from _report import Figures, add_json_argument

from app.draw import PlanItem, Population, SamplingParams, Unit, draw_targets

SEED = "5f2b" * 16
KINDS = ("定点医疗机构", "定点零售药店")
LEVELS = ("三级", "二级", "一级", "未定级")


def population(n: int, strata: bool) -> list[Unit]:
    ids = uscc_like_ids(n)
    if not strata:
        return [Unit(u, "全部", KINDS[0], None, 1.0, frozenset()) for u in ids]
    units = []
    for k, u in enumerate(ids):
        kind = KINDS[k % 2]
        level = LEVELS[(k // 2) % 4]
        region = f"37{k % 97:02d}{k % 7:02d}"
        units.append(Unit(u, f"{kind}|{level}|{region}", kind, None, 1.0, frozenset()))
    return units


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：对 N 个检查对象做一次 spotcheck-draw/1 抽取，输出与参考值 ref 的比值"
        " (benchmark: a target draw over N targets, as ratios to ref).",
    )
    parser.add_argument(
        "n", metavar="N", nargs="?", type=int, default=1_000_000, help="检查对象数（缺省 1000000）"
    )
    add_json_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    n = args.n
    items = [PlanItem("YB-01", frozenset())]
    ref = reference_seconds()
    figures = Figures(ref)
    print(f"参考值 ref（100万次 SHA-256）: {ref:.3f} s")

    flat_units = population(n, strata=False)
    start = time.perf_counter()
    flat = Population.from_units(flat_units)
    build = time.perf_counter() - start
    print(f"由 {n:,} 个 Unit 构建列式总体（不计入抽样）: {build:.3f} s = {build / ref:.2f} x ref")
    params = SamplingParams(ratio=0.05)
    best = min(
        timed(lambda: draw_targets(seed=SEED, population=flat, items=items, params=params))
        for _ in range(3)
    )
    print(f"等权抽样 {n:,} 个对象（单层）: {best:.3f} s = {best / ref:.2f} x ref（目标 <= 1.5）")
    figures.time("draw_flat", best)

    layered_units = population(n, strata=True)
    layered = Population.from_units(layered_units)
    best_s = min(
        timed(lambda: draw_targets(seed=SEED, population=layered, items=items, params=params))
        for _ in range(2)
    )
    draw = draw_targets(seed=SEED, population=layered, items=items, params=params)
    print(
        f"等权分层抽样 {n:,} 个对象（{len(draw.strata)} 层）: {best_s:.3f} s = "
        f"{best_s / ref:.2f} x ref（目标 <= 1.5）"
    )
    figures.time("draw_strata", best_s, f"{len(draw.strata)} strata")

    weighted_pop = Population.from_units(
        Unit(u.uscc, u.stratum, u.kind, "ABCD"[k % 4], (0.5, 1.0, 2.0, 4.0)[k % 4], frozenset())
        for k, u in enumerate(layered_units)
    )
    wparams = SamplingParams(ratio=0.05, grade_rates={"D": 0.2}, weighted=True)
    best_w = timed(
        lambda: draw_targets(seed=SEED, population=weighted_pop, items=items, params=wparams)
    )
    print(
        f"加权分层抽样 {n:,} 个对象: {best_w:.3f} s = {best_w / ref:.2f} x ref（无目标，仅供参考）"
    )
    # spotcheck-draw/2 (π floor, Pareto keys) and /3 (exact π: group sizes allocated per
    # stratum, then ticket order) on the same weighted population (docs/draw-spec.md §11.3)
    for algorithm in ("spotcheck-draw/2", "spotcheck-draw/3"):
        aparams = SamplingParams(
            ratio=0.05, grade_rates={"D": 0.2}, weighted=True, algorithm=algorithm
        )
        best_a = min(
            timed(
                lambda aparams=aparams: draw_targets(
                    seed=SEED, population=weighted_pop, items=items, params=aparams
                )
            )
            for _ in range(2)
        )
        print(
            f"加权分层抽样 {algorithm} {n:,} 个对象: {best_a:.3f} s = {best_a / ref:.2f} x ref"
            "（无目标，仅供参考）"
        )

    from consistent_sampler import sampler

    small = min(n, 100_000)
    ids = [u.uscc for u in flat_units[:small]]
    take = -(-small * 5 // 100)
    cs = timed(lambda: list(sampler(ids, seed=SEED, take=take, output="id")))
    cs_scaled = cs * n / small
    note = f"（在 {small:,} 个对象上实测 {cs:.3f} s，按线性放大到 {n:,}）" if small < n else ""
    print(
        f"consistent_sampler 同一等权样本: {cs_scaled:.3f} s{note}; "
        f"consistent_sampler / draw = {cs_scaled / best:.1f} x（目标 >= 6）"
    )
    figures.time("consistent_sampler", cs_scaled)
    figures.write(args.json)


if __name__ == "__main__":
    main()
