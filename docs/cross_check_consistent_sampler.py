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

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from consistent_sampler import sampler


def cross_check(draw: dict, rows: list[dict[str, str]]) -> tuple[list[str], int, int]:
    """(problems, strata checked, strata skipped)."""
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


def main(argv: list[str]) -> int:
    draw_path = Path(argv[1])
    draw = json.loads(draw_path.read_text(encoding="utf-8"))
    pop_path = Path(argv[2]) if len(argv) > 2 else draw_path.parent / draw["population_file"]
    with pop_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    problems, checked, skipped = cross_check(draw, rows)
    for p in problems:
        print(p)
    print(f"consistent_sampler 复核：{checked} 层一致性检查，{skipped} 层为加权抽样（跳过）")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
