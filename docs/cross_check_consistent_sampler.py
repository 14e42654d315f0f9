#!/usr/bin/env python3
"""Re-checks a published equal-weight draw with Rivest's consistent_sampler (PyPI).

    pip install consistent-sampler
    python cross_check_consistent_sampler.py DRAW.json [POPULATION.csv]

For every stratum drawn with equal weights (no risk weights, no grade minimum rates, nobody in
cooldown) the selected USCCs must be exactly the first n ids `consistent_sampler.sampler`
yields for the stratum's USCCs and the draw's seed — an independent implementation of the
tickets. Weighted strata are reported as skipped (use verify_draw.py for them). Exit 0 / 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def cross_check(draw: dict, rows: list[dict[str, str]]) -> tuple[list[str], int, int]:
    """(problems, strata checked, strata skipped)."""
    # Imported here so that --help works before `pip install consistent-sampler`.
    from consistent_sampler import sampler

    params = draw["params"]
    by_stratum: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_stratum[row["stratum"]].append(row)
    drawn: dict[str, set[str]] = defaultdict(set)
    for task in draw["tasks"]:
        drawn[task["stratum"]].add(task["uscc"])
    problems: list[str] = []
    checked = skipped = 0
    for stratum in draw["strata"]:
        members = by_stratum[stratum["key"]]
        uniform = (
            not params.get("weighted")
            and not any(params.get("grade_rates", {}).get(m["grade"], 0) for m in members)
            and not any(m["cooling_items"] for m in members)
        )
        if not uniform:
            skipped += 1
            continue
        checked += 1
        ids = [m["uscc"] for m in members]
        expected = set(sampler(ids, seed=draw["seed"], take=stratum["n"], output="id"))
        if expected != drawn[stratum["key"]]:
            problems.append(
                f"{stratum['key']}: consistent_sampler 选出 {sorted(expected)}，"
                f"抽取结果为 {sorted(drawn[stratum['key']])}"
            )
    return problems, checked, skipped


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (argv without the program name); usage errors exit 2."""
    parser = argparse.ArgumentParser(
        prog="cross_check_consistent_sampler.py",
        description="用 Rivest 的 consistent_sampler（pip install consistent-sampler）独立复核"
        "一次等权抽取的抽中对象；加权的层跳过，请用 verify_draw.py"
        " (re-checks the equal-weight strata of a draw with consistent_sampler).",
        epilog="退出码 (exit codes)：0 一致，1 不一致或无法读取，2 用法错误。",
    )
    parser.add_argument(
        "draw", metavar="DRAW.json", help="抽取结果文件（公开网站 draws/ 下的 JSON）"
    )
    parser.add_argument(
        "population",
        metavar="POPULATION.csv",
        nargs="?",
        help="抽样总体文件（缺省：DRAW.json 旁、其 population_file 字段所写的文件）",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv[1:])
    draw_path = Path(args.draw)
    try:
        draw = json.loads(draw_path.read_text(encoding="utf-8"))
        pop_path = Path(args.population or draw_path.parent / draw["population_file"])
        with pop_path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"无法读取抽取结果或总体文件（cannot read the files）: {exc!r}")
        return 1
    try:
        problems, checked, skipped = cross_check(draw, rows)
    except ImportError:
        print("需要先安装 consistent_sampler：pip install consistent-sampler")
        return 1
    for p in problems:
        print(p)
    print(f"consistent_sampler 复核：{checked} 层一致性检查，{skipped} 层为加权抽样（跳过）")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
