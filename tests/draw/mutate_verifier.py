"""Mutation run of the stdlib verifier: switch off each check of docs/verify_draw.py in turn.

Every `problems.append(`, `not_checked.append(` and `notes.append(` call is replaced, one at a
time, by a no-op, and the verifier tests are run against that mutant (SPOTCHECK_VERIFIER names
it; tests/draw/draw_helpers.py and test_teams.py load it). A mutant that no test fails
"survives": its check is not tested. Not part of the suite (a few minutes):

    .venv/bin/python tests/draw/mutate_verifier.py            # prints survivors, exit 1 if any
    .venv/bin/python tests/draw/mutate_verifier.py --changed-since main   # the checks changed since

Besides the appends, every `return "…"` of a function whose name ends in `_problem` (a check
that answers with its reason: `entropy_form_problem`, `_cells_problem`, `join_problem`) is
switched to `return None`.
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
    "tests/draw/test_teams_recusal.py",
    "tests/draw/test_verifier_visits.py",
    "tests/draw/test_verifier_join_extend.py",
    "tests/draw/test_yearly_caps.py",
    "tests/draw/test_draw_v3.py",
    "tests/draw/test_team_frame.py",
    "tests/draw/test_replacement.py",
    "tests/draw/test_verifier_log.py",
    "tests/publish/test_seal.py",
]
CHECK = re.compile(r"\b(?:problems|not_checked|notes)\.append\(")
PROBLEM_FUNCTION = re.compile(r"^\s*def \w*_problem\(")
RETURN_REASON = re.compile(r"^(\s*)return (?!None\b)(f?\"|\()")


def mutants(source: str) -> list[tuple[int, str]]:
    """(line number, mutated source) for every check call."""
    lines = source.splitlines(keepends=True)
    out = []
    inside_problem = False
    for k, line in enumerate(lines):
        if line.startswith("def ") or line.lstrip().startswith("def "):
            inside_problem = bool(PROBLEM_FUNCTION.match(line))
        if CHECK.search(line):
            mutated = [*lines[:k], CHECK.sub("_switched_off(", line, count=1), *lines[k + 1 :]]
            text = "".join(mutated) + "\n\ndef _switched_off(*args, **kwargs):\n    return None\n"
            out.append((k + 1, text))
        elif inside_problem and RETURN_REASON.match(line):
            indent = RETURN_REASON.match(line).group(1)  # type: ignore[union-attr]
            # `return None` plus the rest of the statement as a dead expression
            mutated = [*lines[:k], f"{indent}return None\n{indent}", line.lstrip(), *lines[k + 1 :]]
            out.append((k + 1, "".join(mutated)))
    return out


def changed_lines(ref: str) -> set[int]:
    """Line numbers of docs/verify_draw.py added or changed since git `ref`."""
    diff = subprocess.run(
        ["git", "diff", "-U0", ref, "--", "docs/verify_draw.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out: set[int] = set()
    for match in re.finditer(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, re.M):
        start, count = int(match[1]), int(match[2] or 1)
        out |= set(range(start, start + count))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mutate_verifier.py",
        description="逐一关闭 docs/verify_draw.py 的每项检查并运行验证器测试；无测试失败者为“幸存”。"
        " Mutation run of the stdlib verifier (a few minutes); exit 1 if a mutant survives.",
    )
    parser.add_argument(
        "--changed-since",
        metavar="GIT_REF",
        help="只关闭自该提交以来改动过的检查（only the checks changed since GIT_REF）",
    )
    parser.add_argument(
        "--line", type=int, action="append", help="只试这些行的检查（可重复）(only these lines)"
    )
    args = parser.parse_args(argv)
    source = VERIFIER.read_text(encoding="utf-8")
    lines = source.splitlines()
    survivors = []
    found = mutants(source)
    if args.changed_since:
        changed = changed_lines(args.changed_since)
        found = [(number, text) for number, text in found if number in changed]
    if args.line:
        found = [(number, text) for number, text in found if number in set(args.line)]
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
