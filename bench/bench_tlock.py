"""Benchmark: the timelock seal of a withheld draw (app/draw/tlock.py, docs/drand.md).

Seals and opens (with the round's real signature: drand's tlock vector, round 12040883) a
1 KiB file — the pairing and the two scalar multiplications alone; a second file sealed to the
same round reuses the round's pairing — and a draw record of
`--mib` MiB (default 24: about the JSON body of a 50,000-task draw), best of three each, as
ratios to ref (docs/rules.md#r14). Run: .venv/bin/python bench/bench_tlock.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.draw import tlock
from bench._ref import reference_seconds
from bench._report import Figures, add_json_argument

VECTOR = json.loads(
    (Path(__file__).resolve().parent.parent / "tests/draw/data/tlock_vectors.json").read_text()
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="基准：时间锁密封（drand tlock）的加密与开启，输出与参考值 ref 的比值"
        "（sealing and opening a timelock seal, as ratios to ref）"
    )
    parser.add_argument(
        "--mib", type=int, default=24, help="抽取记录的大小（MiB，缺省 24，约 5 万个任务）"
    )
    add_json_argument(parser)
    return parser.parse_args()


def best_of_three(run: object) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = parse_args()
    ref = reference_seconds()
    round_number, signature = VECTOR["round"], VECTOR["signature"]
    small = os.urandom(1024)
    # a record-like payload: JSON text compresses nothing under ChaCha20, so its bytes suffice
    record = (b'{"uscc":"91370100MA3C1234X5","name":"\xe5\x8c\xbb\xe9\x99\xa2"},' * 10**6)[
        : args.mib * 2**20
    ]
    sealed_small = tlock.encrypt(small, round_number)
    sealed_record = tlock.encrypt(record, round_number)
    assert tlock.decrypt(sealed_record, signature) == record
    figures = Figures(ref)

    def seal_cold() -> None:  # the first file sealed to a round pays its pairing
        tlock._round_pairing.cache_clear()
        tlock.encrypt(small, round_number)

    rows = (
        ("seal_1k", seal_cold),
        ("seal_1k_same_round", lambda: tlock.encrypt(small, round_number)),
        ("open_1k", lambda: tlock.decrypt(sealed_small, signature)),
        ("seal_record", lambda: tlock.encrypt(record, round_number)),
        ("open_record", lambda: tlock.decrypt(sealed_record, signature)),
    )
    print(f"ref                 {ref:.3f} s")
    for name, run in rows:
        seconds = best_of_three(run)
        figures.time(name, seconds)
        print(f"{name:<19} {seconds:.3f} s  = {seconds / ref:.2f} × ref")
    print(
        f"record              {len(record) / 2**20:.0f} MiB → seal {len(sealed_record) / 2**20:.1f} MiB"
    )
    figures.write(args.json)


if __name__ == "__main__":
    main()
