"""Benchmark: importing a generated targets file (docs/rules.md#r14: 1,000,000 rows in <= 30 x ref).

Stages, each as a ratio to the SHA-256 reference measured in the same run:
generate the file, parse + validate only, full import into SQLite, re-import (all
unchanged), and full import into PostgreSQL through COPY when SPOTCHECK_BENCH_POSTGRES_URL
(or SPOTCHECK_TEST_POSTGRES_URL) is set. Peak RSS is printed too.
Run: .venv/bin/python bench/bench_import.py [N]
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
from sqlalchemy import create_engine, text

from app.db import begin_write, make_engine, make_sessionmaker
from app.demo.generate import write_registries
from app.migrate import upgrade
from app.registries import importer
from app.registries.fields import TARGETS
from app.registries.reader import read_chunks
from app.registries.validate import Validator


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


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


def timed_import(url: str, path: Path, *, connect_args: dict[str, str] | None = None) -> float:
    engine = make_engine(url, connect_args=connect_args) if connect_args else make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        with path.open("rb") as fh:
            result = importer.import_file(session, kind="targets", fh=fh, actor="bench")
        session.commit()
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert result.rows == result.created + result.updated + result.unchanged
    return elapsed


def main(n: int) -> None:
    ref = reference_seconds()
    print(f"reference (1,000,000 SHA-256 in a Python loop): {ref:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        files = write_registries(work, targets=n, inspectors=100)
        gen = time.perf_counter() - t
        print(f"generate {n:,} targets:            {gen:7.2f} s = {gen / ref:6.1f} x ref")
        t = time.perf_counter()
        validate_only(files["targets"])
        val = time.perf_counter() - t
        print(f"parse + validate only:              {val:7.2f} s = {val / ref:6.1f} x ref")
        db = work / "bench.db"
        sqlite_s = timed_import(f"sqlite:///{db}", files["targets"])
        print(
            f"import into SQLite (all new):       {sqlite_s:7.2f} s = {sqlite_s / ref:6.1f} x ref"
            f"   (target <= 30 x for 1,000,000)"
        )
        again = timed_import(f"sqlite:///{db}", files["targets"])
        print(f"re-import into SQLite (unchanged):  {again:7.2f} s = {again / ref:6.1f} x ref")
        pg = os.environ.get("SPOTCHECK_BENCH_POSTGRES_URL") or os.environ.get(
            "SPOTCHECK_TEST_POSTGRES_URL"
        )
        if pg:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                pg_s = timed_import(
                    pg, files["targets"], connect_args={"options": f"-csearch_path={schema}"}
                )
                print(
                    f"import into PostgreSQL (COPY):      {pg_s:7.2f} s = {pg_s / ref:6.1f} x ref"
                )
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(
        f"peak RSS: {_peak_mb():.0f} MB"
        f" (largest forked validator: {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB)"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：导入生成的 N 行检查对象名录（SQLite，设置了 PostgreSQL 地址时也测 COPY），"
        "输出与参考值 ref 的比值 (benchmark: importing a generated targets file).",
    )
    parser.add_argument(
        "n", metavar="N", nargs="?", type=int, default=1_000_000, help="行数（缺省 1000000）"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args().n)
