"""Benchmark: a season of publishing (issue 15) — several draws and thousands of approvals, each
burst followed by one run of the publisher (app/publish/publisher.py). Shows whether the cost
of a site update follows the number of changes, not the history: per phase (after each new
draw) the cost per approval, and a probe — one approval, one build — whose time and bytes
should stay flat while draws and results accumulate. Ratios to ref (bench/_ref.py, same run).

Setup as bench_pipeline.py (N targets, the first draw, a full publish); then for each further
draw (pharmacies, a later window): the draw and its build, a probe, and `--approvals` approvals
spread over the tasks of every draw so far, in bursts of `BURSTS` sizes, one build per burst.
By default a phase is one results page (the probe and RESULTS_PER_PAGE − 1 approvals), so each
probe is the first result of a new page: the probes do the same work with more history behind
them (a probe in a fuller page rewrites a larger page).

Each probe row also says which files its build rendered (not carried: a new inode, counted
outside the timing): how many, and how many of its bytes are the approved draw's own statistics
(`statistics/{draw}.*`, which grow with that draw's results, not with the history); `--files`
lists them with their sizes.

Run: .venv/bin/python bench/bench_publish_season.py [N] [--draws 5] [--approvals 499] [--files]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from bench_pipeline import database, run_pipeline
from bench_publish_incremental import approve, build, new_draw
from sqlalchemy import Engine, select

from app.config import Settings
from app.db import make_sessionmaker
from app.models import Task
from app.publish.collect import RESULTS_PER_PAGE

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


def main() -> None:
    p = argparse.ArgumentParser(description="基准：一个抽查季的增量发布 (a season of publishing).")
    p.add_argument("n", nargs="?", type=int, default=100_000, help="检查对象数（缺省 100000）")
    p.add_argument("--draws", type=int, default=5, help="抽取次数（缺省 5）")
    p.add_argument(
        "--approvals",
        type=int,
        default=RESULTS_PER_PAGE - 1,
        help=f"每次抽取后探测之外的审核数（缺省 {RESULTS_PER_PAGE - 1}）",
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--files", action="store_true", help="列出探测构建写入的每个文件及其大小")
    args = p.parse_args()
    ref = reference_seconds()
    print(f"N = {args.n:,}, {args.draws} draws, backend {args.backend}; ref = {ref:.3f} s")
    phases: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as engine:
        work = Path(tmp)
        run_pipeline(engine, args.n, ref, work)
        settings = Settings(publish_dir=work / "publish")
        full_s, full = build(engine, settings, full=True)
        print(
            f"  full publish: {full_s:.3f} s = {full_s / ref:.2f} × ref, {full.bytes / 1e6:.1f} MB"
        )
        with make_sessionmaker(engine)() as session:
            first = session.scalar(select(Task.draw_id).where(Task.draw_id.is_not(None)))
        assert first is not None
        pool: list[str] = tasks_of(engine, first)
        used: set[str] = set()
        bursts = itertools.cycle(BURSTS)
        total_changes, total_s, total_bytes, builds = 0, 0.0, 0, 0
        for k in range(1, args.draws + 1):
            if k > 1:
                draw_id = new_draw(engine, f"SEASON-{k}", month=1 + k)
                draw_s, rep = build(engine, settings)
                pool += tasks_of(engine, draw_id)
                print(f"  draw {k}: build {draw_s:.3f} s, {rep.bytes / 1e6:.1f} MB", flush=True)
            fresh = [t for t in pool if t not in used]
            # the probe: one approval, one build, with k draws and every earlier result published
            probe = fresh[:1]
            approve(engine, probe)
            before = _files(settings.publish_dir.resolve())
            probe_s, probe_rep = build(engine, settings)
            # rendered, not carried: a new inode (outside the timing)
            after = _files(settings.publish_dir.resolve())
            written = {
                rel: size for rel, (ino, size) in after.items() if before.get(rel, (0,))[0] != ino
            }
            own_stats = sum(
                size
                for rel, size in written.items()
                if rel.startswith("statistics/") and not rel.startswith("statistics/index.")
            )
            if args.files:
                print(f"  probe {k}: {len(written)} files, {sum(written.values()):,} bytes")
                for rel, size in sorted(written.items(), key=lambda kv: -kv[1]):
                    print(f"    {size:>10,}  {rel}")
            used.update(probe)
            fresh = fresh[1:]
            # spread over every draw so far: every k-th fresh task, interleaved
            chosen = [t for _, t in sorted(enumerate(fresh), key=lambda it: (it[0] % k, it[0]))]
            chosen = chosen[: args.approvals]
            phase_s, phase_bytes, phase_builds, i = 0.0, 0, 0, 0
            while i < len(chosen):
                burst = chosen[i : i + next(bursts)]
                i += len(burst)
                approve(engine, burst)
                secs, rep = build(engine, settings)
                phase_s += secs
                phase_bytes += rep.bytes
                phase_builds += 1
            used.update(chosen)
            n_changes = len(chosen) + 1
            total_changes += n_changes
            total_s += phase_s + probe_s
            total_bytes += phase_bytes + probe_rep.bytes
            builds += phase_builds + 1
            phases.append(
                {
                    "draws": k,
                    "results": len(used),
                    "probe_s": probe_s,
                    "probe_mb": probe_rep.bytes / 1e6,
                    "probe_files": len(written),
                    "probe_stats_mb": own_stats / 1e6,
                    "approvals": len(chosen),
                    "builds": phase_builds,
                    "per_approval_s": phase_s / max(len(chosen), 1),
                    "per_approval_kb": phase_bytes / 1e3 / max(len(chosen), 1),
                }
            )
            print(f"  phase {k}: {phases[-1]}", flush=True)
    print(
        f"\n  {'draws':>5} {'results':>8} {'probe s':>8} {'× ref':>6} {'÷ full':>7}"
        f" {'files':>5} {'probe MB':>9} {'own stats':>9} {'rest MB':>7}"
        f" {'approvals':>9} {'builds':>6} {'s/approval':>10} {'kB/approval':>11}"
    )
    for ph in phases:
        print(
            f"  {ph['draws']:5.0f} {ph['results']:8,.0f} {ph['probe_s']:8.3f}"
            f" {ph['probe_s'] / ref:6.2f} {ph['probe_s'] / full_s:7.1%} {ph['probe_files']:5.0f}"
            f" {ph['probe_mb']:9.3f} {ph['probe_stats_mb']:9.3f}"
            f" {ph['probe_mb'] - ph['probe_stats_mb']:7.3f}"
            f" {ph['approvals']:9,.0f} {ph['builds']:6.0f} {ph['per_approval_s']:10.4f}"
            f" {ph['per_approval_kb']:11.1f}"
        )
    print(
        f"\n  season: {total_changes:,} approvals in {builds} builds, {total_s:.1f} s"
        f" ({total_s / ref:.1f} × ref) and {total_bytes / 1e6:.1f} MB written;"
        f" a full publish per approval would be {total_changes * full_s:.0f} s"
        f" and {total_changes * full.bytes / 1e9:.1f} GB"
    )
    print(
        f"  probe growth (last ÷ first phase): time {phases[-1]['probe_s'] / phases[0]['probe_s']:.2f},"
        f" bytes {phases[-1]['probe_mb'] / max(phases[0]['probe_mb'], 1e-9):.2f}"
    )


if __name__ == "__main__":
    main()
