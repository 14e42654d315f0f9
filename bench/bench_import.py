"""Benchmark: importing a generated targets file (docs/rules.md#r14: 1,000,000 rows in <= 30 x ref).

Stages, each as a ratio to the SHA-256 reference measured in the same run:
generate the file, parse + validate only, then per database a full import (all new), a
re-import of the same file (all unchanged; docs/rules.md#r14 as extended by issue 28: <= 15 x
ref — the file of the last import, recognised by its SHA-256) and an import of a copy with one
row in 100 changed (no target: every row hashed and compared, the changed ones written):
SQLite, and PostgreSQL (COPY) when SPOTCHECK_BENCH_POSTGRES_URL (or
SPOTCHECK_TEST_POSTGRES_URL) is set. Peak RSS is printed too.
Run: .venv/bin/python bench/bench_import.py [N] [--backend sqlite|postgresql] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds
from _report import Figures, add_json_argument, peak_mb
from sqlalchemy import create_engine, text

from app.db import begin_write, make_engine, make_sessionmaker
from app.demo.generate import write_registries
from app.migrate import upgrade
from app.registries import importer
from app.registries.fields import TARGETS
from app.registries.reader import read_chunks
from app.registries.validate import Validator


def validate_only(path: Path) -> int:
    """Parses and validates every row as the importer does, without a database (CPU floor of
    the validating process)."""
    with path.open("rb") as fh:
        header, chunks = read_chunks(fh, importer.CHUNK)
        mapping: list[str | None] = [TARGETS.header_index.get(h.lower()) for h in header]
        validator = Validator(TARGETS, mapping, max_rows=10**9, max_listed=1000)
        for _ in validator.run(chunks):
            pass
    return validator.rows


def changed_copy(path: Path, every: int = 100) -> Path:
    """A copy of a generated targets file with the name of every `every`-th row changed."""
    out = path.with_name(f"changed-{path.name}")
    with path.open(encoding="utf-8-sig", newline="") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i and i % every == 0:
                cells = line.split(",", 2)
                line = ",".join([cells[0], cells[1] + "分院", cells[2]])
            dst.write(line)
    return out


def timed_import(
    url: str, path: Path, *, connect_args: dict[str, str] | None = None, times: int = 1
) -> list[float]:
    """Imports `path` into a migrated database `times` times (the first all new, then
    unchanged), then a copy of it with one row in 100 changed when `times` is 3; the wall time
    of each import, commit included."""
    engine = make_engine(url, connect_args=connect_args) if connect_args else make_engine(url)
    upgrade(engine)
    out = []
    try:
        for k in range(times):
            cpu = _cpu()
            start = time.perf_counter()
            with make_sessionmaker(engine)() as session:
                begin_write(session)
                with (changed_copy(path) if k == 2 else path).open("rb") as fh:
                    result = importer.import_file(session, kind="targets", fh=fh, actor="bench")
                session.commit()
            wall = time.perf_counter() - start
            out.append(wall)
            spent = _cpu() - cpu
            again = reference_seconds()  # the load changes: ref once more, right after
            print(
                f"  ({wall:.2f} s = {wall / again:.1f} x a ref measured right after it"
                f" ({again:.3f} s); CPU of this process and the forked validator:"
                f" {spent:.2f} s, a database server's own not counted)"
            )
            assert result.rows == result.created + result.updated + result.unchanged
            if k < 2:
                assert result.created == result.rows or result.unchanged == result.rows, result
            else:
                assert result.updated == result.rows // 100 and not result.created, result
    finally:
        engine.dispose()
    return out


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the forked validators): less
    sensitive to the machine's load than the wall time."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _postgres(pg: str, path: Path) -> list[float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return timed_import(pg, path, connect_args={"options": f"-csearch_path={schema}"}, times=3)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(args: argparse.Namespace) -> None:
    n = args.n
    ref = reference_seconds()
    figures = Figures(ref)
    print(f"reference (1,000,000 SHA-256 in a Python loop): {ref:.3f} s")
    pg = os.environ.get("SPOTCHECK_BENCH_POSTGRES_URL") or os.environ.get(
        "SPOTCHECK_TEST_POSTGRES_URL"
    )
    backends = [args.backend] if args.backend else ["sqlite"] + (["postgresql"] if pg else [])
    if "postgresql" in backends and not pg:
        raise SystemExit("需要 SPOTCHECK_BENCH_POSTGRES_URL (PostgreSQL URL not set)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        files = write_registries(work, targets=n, inspectors=100)
        gen = time.perf_counter() - t
        print(f"generate {n:,} targets:            {gen:7.2f} s = {gen / ref:6.1f} x ref")
        t = time.perf_counter()
        validate_only(files["targets"])
        val = time.perf_counter() - t
        figures.time("parse_validate", val)
        print(f"parse + validate only:              {val:7.2f} s = {val / ref:6.1f} x ref")
        for backend in backends:
            if backend == "sqlite":
                first, again, changed = timed_import(
                    f"sqlite:///{work / 'bench.db'}", files["targets"], times=3
                )
                name = "SQLite"
            else:
                assert pg is not None
                first, again, changed = _postgres(pg, files["targets"])
                name = "PostgreSQL"
            print(
                f"import into {name} (all new): {first:7.2f} s = {first / ref:6.1f} x ref"
                f"   (target <= 30 x for 1,000,000)"
            )
            print(
                f"re-import into {name} (unchanged): {again:7.2f} s = {again / ref:6.1f} x ref"
                f"   (target <= 15 x for 1,000,000)"
            )
            print(
                f"re-import into {name} (1 row in 100 changed): {changed:7.2f} s"
                f" = {changed / ref:6.1f} x ref"
            )
            suffix = "" if len(backends) == 1 else f"_{backend}"
            figures.time(f"import_new{suffix}", first)
            figures.time(f"reimport_unchanged{suffix}", again)
            figures.time(f"reimport_changed{suffix}", changed)
    print(
        f"peak RSS: {peak_mb():.0f} MB"
        f" (largest forked validator: {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB)"
    )
    figures.write(args.json)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：导入生成的 N 行检查对象名录并原样再导入一次（SQLite；设置了 PostgreSQL"
        " 地址时也测 PostgreSQL），输出与参考值 ref 的比值 (benchmark: importing a generated"
        " targets file, then the same file again).",
    )
    parser.add_argument(
        "n", metavar="N", nargs="?", type=int, default=1_000_000, help="行数（缺省 1000000）"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), help="只测这个数据库（缺省：能测的都测）"
    )
    add_json_argument(parser)
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args())
