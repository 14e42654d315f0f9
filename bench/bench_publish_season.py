"""Benchmark: a season of publishing (issues 15, 28) — many draws and their approvals, each
burst followed by one run of the publisher (app/publish/publisher.py). Shows whether the cost
of a site update follows the change, not the history (docs/rules.md#r14: an approval ≤ 5 % of a full
publish, independent of the number of earlier draws; a new draw's build grows with that draw).

Setup as bench_pipeline.py (N targets, the first, national draw, its publication); a full
publish (median of `--repeat`). Then for each draw k = 1 … `--draws`: from the second on, a
further plan (pharmacies, `--later-ratio` of each stratum, its own month) is published and
drawn, and the build that publishes it is timed (seconds, MB and files written, per task of
that draw); at k = 1, at the last k and every `--probe-every` draws, two probes, each the median
of `--repeat` rounds of (one approval of a task of the first draw, one build): an ordinary result
(未发现问题) and a 未检查（停业、注销等） result (it changes the 机构年度检查次数 pages); then
`--approvals` approvals spread over every draw so far, in bursts of BURSTS sizes, one build
per burst. At the end a full publish of the whole season's site.

Each probe is reported as seconds, × ref, ÷ the first full publish, ÷ the last one, MB and
files rendered (a new inode; counted outside the timing; `--files` lists the largest).

Run: .venv/bin/python bench/bench_publish_season.py [N] [--draws 20] [--approvals 99]
     [--repeat 3] [--later-ratio 0.05] [--backend sqlite|postgresql] [--files] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from _report import Figures, add_json_argument
from bench_pipeline import database, run_pipeline
from bench_publish_incremental import approve, build, new_draw
from sqlalchemy import Engine, select

from app.config import Settings
from app.db import make_sessionmaker
from app.models import Task

# Burst sizes, cycled: single approvals between larger batches, as a working day brings them.
BURSTS = (1, 7, 1, 40, 1, 100, 1, 15, 1, 250)


def tasks_of(engine: Engine, draw_id: str) -> list[str]:
    """The task ids of a draw in draw order."""
    with make_sessionmaker(engine)() as session:
        stmt = select(Task.id).where(Task.draw_id == draw_id).order_by(Task.seq)
        return list(session.scalars(stmt))


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of a generation: path -> (inode, size)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (st.st_ino, st.st_size)
    return out


def _window(k: int) -> tuple[int, int]:
    """(year, month) of draw k's inspection window (k >= 2): one month each from 2027-01."""
    return 2027 + (k - 2) // 12, (k - 2) % 12 + 1


def _written(before: dict[str, tuple[int, int]], root: Path) -> dict[str, int]:
    """The files of the generation at `root` that were rendered (a new inode), with sizes."""
    after = _files(root)
    return {rel: size for rel, (ino, size) in after.items() if before.get(rel, (0,))[0] != ino}


def _median(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(rows, key=lambda r: r["s"])[len(rows) // 2]


def main() -> None:
    p = argparse.ArgumentParser(
        description="基准：一个抽查季的增量发布——多次抽取、成批审核、每批发布一次；"
        "审核（含“未检查”）的更新成本在 1 次和多次抽取之后各是多少，新抽取的发布是否只随"
        "该次抽取增长 (benchmark: a season of publishing).",
    )
    p.add_argument("n", nargs="?", type=int, default=100_000, help="检查对象数（缺省 100000）")
    p.add_argument("--draws", type=int, default=5, help="抽取次数（缺省 5）")
    p.add_argument(
        "--approvals",
        type=int,
        default=99,
        help="每个阶段探测之外的审核数，分批发布（缺省 99）",
    )
    p.add_argument("--repeat", type=int, default=3, help="每个探测重复次数，取中位数（缺省 3）")
    p.add_argument(
        "--later-ratio", type=float, default=0.05, help="后续抽取（药店）的抽取比例（缺省 0.05）"
    )
    p.add_argument(
        "--probe-every", type=int, default=5, help="除第一次和最后一次外，每隔几次抽取探测一次"
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--files", action="store_true", help="列出探测构建写入的每个文件及其大小")
    add_json_argument(p)
    args = p.parse_args()
    ref = reference_seconds()
    figures = Figures(ref)
    print(f"N = {args.n:,}, {args.draws} draws, backend {args.backend}; ref = {ref:.3f} s")
    probes: list[dict[str, Any]] = []
    draws: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as engine:
        work = Path(tmp)
        run_pipeline(engine, args.n, ref, work)
        settings = Settings(publish_dir=work / "publish")

        def full_publish(label: str) -> float:
            got = [build(engine, settings, full=True) for _ in range(args.repeat)]
            secs = statistics.median(s for s, _ in got)
            mb = got[0][1].bytes / 1e6
            print(f"  full publish {label}: {secs:.3f} s = {secs / ref:.2f} × ref, {mb:.1f} MB")
            return secs

        full_first = full_publish("(1 draw)")
        with make_sessionmaker(engine)() as session:
            first = session.scalar(select(Task.draw_id).where(Task.draw_id.is_not(None)))
        assert first is not None
        # the probes approve tasks of the first (national) draw: the same work at every probe
        probe_pool = iter(tasks_of(engine, first))
        pool: list[str] = []
        used: set[str] = set()
        bursts = itertools.cycle(BURSTS)

        def probe(k: int, outcome: str) -> dict[str, Any]:
            rows = []
            for _ in range(args.repeat):
                task = next(probe_pool)
                used.add(task)
                approve(engine, [task], outcome)
                root = settings.publish_dir.resolve()
                before = _files(root)
                secs, rep = build(engine, settings)
                written = _written(before, settings.publish_dir.resolve())
                rows.append({"s": secs, "mb": rep.bytes / 1e6, "files": len(written), "w": written})
            row = _median(rows)
            row |= {"draws": k, "outcome": outcome, "all": [r["s"] for r in rows]}
            if args.files:
                print(f"  probe {k} {outcome}: {row['files']} files")
                for rel, size in sorted(row["w"].items(), key=lambda kv: -kv[1])[:25]:
                    print(f"    {size:>12,}  {rel}")
            print(
                f"  probe after {k} draw(s), {outcome}: {row['s']:.3f} s"
                f" ({', '.join(f'{s:.3f}' for s in row['all'])}) = {row['s'] / full_first:.1%}"
                f" of a full publish, {row['mb']:.2f} MB, {row['files']} files",
                flush=True,
            )
            return row

        for k in range(1, args.draws + 1):
            if k > 1:
                year, month = _window(k)
                start = time.perf_counter()
                draw_id = new_draw(
                    engine, f"SEASON-{k}", month=month, year=year, ratio=args.later_ratio
                )
                draw_made = time.perf_counter() - start
                before = _files(settings.publish_dir.resolve())
                draw_s, rep = build(engine, settings)
                written = _written(before, settings.publish_dir.resolve())
                new = tasks_of(engine, draw_id)
                pool += new
                draws.append({"draws": k, "tasks": len(new), "s": draw_s, "mb": rep.bytes / 1e6})
                print(
                    f"  draw {k} ({len(new):,} tasks; plan + draw {draw_made:.1f} s):"
                    f" build {draw_s:.3f} s = {draw_s / ref:.2f} × ref, {rep.bytes / 1e6:.1f} MB,"
                    f" {len(written)} files, {rep.bytes / max(len(new), 1) / 1e3:.2f} kB per task",
                    flush=True,
                )
            else:
                pool += [t for t in tasks_of(engine, first)[args.repeat * 2 * args.draws :]]
            if k in (1, args.draws) or k % args.probe_every == 0:
                probes.append(probe(k, "未发现问题"))
                probes.append(probe(k, "未检查（停业、注销等）"))
            fresh = [t for t in pool if t not in used]
            # spread over every draw so far: every k-th fresh task, interleaved
            chosen = [t for _, t in sorted(enumerate(fresh), key=lambda it: (it[0] % k, it[0]))]
            chosen = chosen[: args.approvals]
            i = 0
            while i < len(chosen):
                burst = chosen[i : i + next(bursts)]
                i += len(burst)
                approve(engine, burst)
                build(engine, settings)
            used.update(chosen)
        full_last = full_publish(f"({args.draws} draws)")
    print(
        f"\n  {'draws':>5} {'probe':<12} {'s':>7} {'× ref':>6} {'÷ full(1)':>9}"
        f" {'÷ full(last)':>12} {'MB':>7} {'files':>5}"
    )
    for pr in probes:
        print(
            f"  {pr['draws']:5d} {pr['outcome'][:3]:<12} {pr['s']:7.3f} {pr['s'] / ref:6.2f}"
            f" {pr['s'] / full_first:9.1%} {pr['s'] / full_last:12.1%} {pr['mb']:7.2f}"
            f" {pr['files']:5d}"
        )
    if draws:
        print(f"\n  {'draw':>5} {'tasks':>7} {'build s':>8} {'MB':>7} {'kB/task':>8}")
        for d in draws:
            print(
                f"  {d['draws']:5d} {d['tasks']:7,} {d['s']:8.3f} {d['mb']:7.1f}"
                f" {d['mb'] * 1e3 / max(d['tasks'], 1):8.2f}"
            )
    first_probe = {pr["outcome"]: pr for pr in probes if pr["draws"] == 1}
    last_probe = {pr["outcome"]: pr for pr in probes if pr["draws"] == args.draws}
    for outcome, name in (("未发现问题", "approval"), ("未检查（停业、注销等）", "not_inspected")):
        figures.value(f"{name}_1", first_probe[outcome]["s"] / full_first)
        figures.value(f"{name}_last", last_probe[outcome]["s"] / full_first)
        figures.time(f"{name}_1", first_probe[outcome]["s"])
        figures.time(f"{name}_last", last_probe[outcome]["s"])
        figures.value(f"{name}_mb_1", first_probe[outcome]["mb"])
        figures.value(f"{name}_mb_last", last_probe[outcome]["mb"])
    figures.time("full_first", full_first)
    figures.time("full_last", full_last)
    if draws:
        figures.value("new_draw_mb_per_task_first", draws[0]["mb"] / max(draws[0]["tasks"], 1))
        figures.value("new_draw_mb_per_task_last", draws[-1]["mb"] / max(draws[-1]["tasks"], 1))
        figures.value("new_draw_s_per_task_first", draws[0]["s"] / max(draws[0]["tasks"], 1))
        figures.value("new_draw_s_per_task_last", draws[-1]["s"] / max(draws[-1]["tasks"], 1))
    figures.write(args.json, probes=[{k: v for k, v in pr.items() if k != "w"} for pr in probes])


if __name__ == "__main__":
    main()
