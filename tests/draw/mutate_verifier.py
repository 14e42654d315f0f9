"""Mutation run of the stdlib verifier: switch off each check of docs/verify_draw.py in turn.

Every `problems.append(`, `not_checked.append(` and `notes.append(` call is replaced, one at a
time, by a no-op, and the verifier tests are run against that mutant (SPOTCHECK_VERIFIER names
it; tests/draw/draw_helpers.py and test_teams.py load it). A mutant that no test fails
"survives": its check is not tested. Not part of the suite (a few minutes):

    .venv/bin/python tests/draw/mutate_verifier.py            # prints survivors, exit 1 if any
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "docs" / "verify_draw.py"
TESTS = [
    "tests/draw/test_verifier_checks.py",
    "tests/draw/test_draw_v2.py",
    "tests/draw/test_draw_seed_stats.py",
    "tests/draw/test_teams.py",
    "tests/draw/test_verifier_visits.py",
    "tests/draw/test_yearly_caps.py",
]
CHECK = re.compile(r"\b(?:problems|not_checked|notes)\.append\(")


def mutants(source: str) -> list[tuple[int, str]]:
    """(line number, mutated source) for every check call."""
    lines = source.splitlines(keepends=True)
    out = []
    for k, line in enumerate(lines):
        if CHECK.search(line):
            mutated = [*lines[:k], CHECK.sub("_switched_off(", line, count=1), *lines[k + 1 :]]
            text = "".join(mutated) + "\n\ndef _switched_off(*args, **kwargs):\n    return None\n"
            out.append((k + 1, text))
    return out


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="mutate_verifier.py",
        description="逐一关闭 docs/verify_draw.py 的每项检查并运行验证器测试；无测试失败者为“幸存”。"
        " Mutation run of the stdlib verifier (a few minutes); exit 1 if a mutant survives.",
    ).parse_args(argv)
    source = VERIFIER.read_text(encoding="utf-8")
    lines = source.splitlines()
    survivors = []
    found = mutants(source)
    with tempfile.TemporaryDirectory() as tmp:
        for number, text in found:
            path = Path(tmp) / "verify_draw.py"
            path.write_text(text, encoding="utf-8")
            env = dict(os.environ, SPOTCHECK_VERIFIER=str(path))
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            killed = done.returncode != 0
            print(
                f"{'killed  ' if killed else 'SURVIVED'} line {number}: {lines[number - 1].strip()}"
            )
            sys.stdout.flush()
            if not killed:
                survivors.append(number)
    print(f"{len(found) - len(survivors)} of {len(found)} checks killed; survivors: {survivors}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
