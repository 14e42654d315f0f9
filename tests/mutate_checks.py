"""Mutation run of the other verifiers: switch off each of their checks in turn.

The stdlib verifier has its own run (tests/draw/mutate_verifier.py); this one covers

  verify-js     app/publish/static/verify.js, the in-browser draw verifier: every
                `problems.push(` / `why.push(` (the detail of a failed check) becomes a no-op,
                every `add(label, ok, …)` records ok (a 未验证 item is dropped instead), every
                `throw new Error(` of the file reader and `this.failed = true` of the team
                replay is dropped, every reason `joinProblem` returns becomes null;
  inspection    app/publish/static/inspection-code.js, the 检查码 check page: every
                `throw new Error(` of verify() and unb64url() is dropped;
  codes         app/tasks/codes.py verify(), the same check on the server (and the notice):
                every `raise CodeInvalid(` is dropped;
  audit         app/audit/service.py verify_chain and `spotcheck audit verify`: every
                `problems.append(` / `problems +=` is dropped, the exit status is always 0;
  beacon        app/draw/beacon.py verify_beacon and what it calls: every `raise BeaconInvalid(`
                is dropped, every rejection of a point or signature (`return None`/`False`) is
                skipped.

Each mutant is written into a copy of the worktree and the target's tests run there (`pytest
-x`); a mutant that no test fails "survives": its check is not tested. Not part of the suite
(verify-js takes some minutes; the others well under one each); docs/verification.md keeps the
results.

    .venv/bin/python tests/mutate_checks.py verify-js inspection audit beacon
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JS_OFF = """
function _off() { return undefined; }
function _offAdd(add, label, ok, detail) { if (ok !== null) add(label, true, detail); }
"""
PY_OFF = "\n\ndef _switched_off(*args, **kwargs):\n    return None\n"


@dataclass(frozen=True)
class Target:
    path: str
    # (pattern, replacement): each match, one at a time, is one mutant
    rules: tuple[tuple[str, str], ...]
    trailer: str
    tests: tuple[str, ...]
    # only lines from the first line matching `start` to the first after it matching `end`
    start: str | None = None
    end: str | None = None


TARGETS = {
    "verify-js": Target(
        "app/publish/static/verify.js",
        (
            (r"\b(?:problems|why)\.push\(", "_off("),
            (r"(?<![.\w])add\(", "_offAdd(add, "),
            (r"throw new Error\((?!`无法读取)", "_off("),
            (r"this\.failed = true", "void 0"),
            (r"return `现有检查组", "return null && `"),
        ),
        JS_OFF,
        (
            "tests/publish/test_verify_js.py",
            "tests/publish/test_verify_js_log.py",
            "tests/draw/test_teams_recusal.py",
            "tests/draw/test_verifier_join_extend.py",
        ),
        end=r"^  /\* Reads a file as a stream",
    ),
    "inspection": Target(
        "app/publish/static/inspection-code.js",
        ((r"throw new Error\(", "_off("),),
        JS_OFF,
        ("tests/publish/test_inspection_js.py",),
        end=r"^  function showValid",
    ),
    "audit": Target(
        "app/audit/service.py",
        (
            (r"\bproblems\.append\(", "_switched_off("),
            (r"\bproblems \+= ", "_ignored = "),
        ),
        PY_OFF,
        (
            "tests/security/test_audit.py",
            "tests/test_cli.py",
            "tests/test_cli_database.py",
        ),
        start=r"^def verify_chain",
        end=r"^def head",
    ),
    "audit-cli": Target(
        "app/cli.py",
        ((r"return 1 if report\.problems else 0", "return 0"),),
        "",
        (
            "tests/security/test_audit.py",
            "tests/test_cli.py",
            "tests/test_cli_database.py",
        ),
        start=r"^def cmd_audit_verify",
        end=r"^def cmd_worker",
    ),
    "codes": Target(
        "app/tasks/codes.py",
        ((r"^(\s+)raise CodeInvalid\((.*)\)(?: from exc)?$", r"\1_switched_off(\2)"),),
        PY_OFF,
        ("tests/publish/test_inspection_js.py", "tests/tasks/test_codes.py"),
        start=r"^def unb64url",
        end=r"^def check_url",
    ),
    "beacon": Target(
        "app/draw/beacon.py",
        (
            (r"\braise BeaconInvalid\(", "_switched_off("),
            (r"^(\s+)return None$", r"\1pass"),
            (r"^(\s+)return False$", r"\1pass"),
        ),
        PY_OFF,
        ("tests/draw/test_beacon.py",),
        start=r"^def beacon_message",
        end=r"^# --- the chains the draw accepts",
    ),
}


def mutants(source: str, target: Target) -> list[tuple[int, str, str]]:
    """(line number, line, mutated source) for every match of every rule in the range."""
    lines = source.splitlines(keepends=True)
    first = 0
    if target.start:
        first = next(k for k, line in enumerate(lines) if re.search(target.start, line))
    last = len(lines)
    if target.end:
        last = next(k for k, line in enumerate(lines) if k > first and re.search(target.end, line))
    out = []
    for k in range(first, last):
        line = lines[k]
        if line.lstrip().startswith(("//", "#", "/*")):
            continue
        for pattern, replacement in target.rules:
            for match in re.finditer(pattern, line, flags=re.M):
                changed = line[: match.start()] + match.expand(replacement) + line[match.end() :]
                text = "".join([*lines[:k], changed, *lines[k + 1 :]]) + target.trailer
                out.append((k + 1, line.strip(), text))
    return out


def run(name: str, copy: Path, only: set[int] | None) -> list[int]:
    target = TARGETS[name]
    path = copy / target.path
    source = (ROOT / target.path).read_text(encoding="utf-8")
    found = mutants(source, target)
    if only:
        found = [m for m in found if m[0] in only]
    survivors = []
    if not _passes(target, copy):  # else every mutant would count as killed
        raise SystemExit(f"{name}: the tests fail without a mutant: {' '.join(target.tests)}")
    try:
        for number, line, text in found:
            path.write_text(text, encoding="utf-8")
            killed = not _passes(target, copy)
            print(f"{'killed  ' if killed else 'SURVIVED'} {name} line {number}: {line[:110]}")
            sys.stdout.flush()
            if not killed:
                survivors.append(number)
    finally:
        path.write_text(source, encoding="utf-8")
    print(f"{name}: {len(found) - len(survivors)} of {len(found)} killed; survivors: {survivors}")
    return survivors


def _passes(target: Target, copy: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *target.tests],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mutate_checks.py",
        description="逐一关闭各验证器的每项检查，运行其测试；无测试失败者为“幸存”（未被测试的检查）。"
        " Mutation run of verify.js, the inspection-code page, the audit chain and the drand check.",
    )
    parser.add_argument("targets", nargs="+", choices=sorted(TARGETS), help="要检验的验证器")
    parser.add_argument("--line", type=int, action="append", help="只试这些行（可重复）")
    parser.add_argument("--list", action="store_true", help="只列出变异点，不运行测试")
    parser.add_argument("--tests", nargs="+", help="改用这些测试（默认：各验证器自己的测试）")
    args = parser.parse_args(argv)
    if args.list:
        for name in args.targets:
            source = (ROOT / TARGETS[name].path).read_text(encoding="utf-8")
            for number, line, _ in mutants(source, TARGETS[name]):
                print(f"{name} line {number}: {line[:110]}")
        return 0
    survivors = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(
            ROOT,
            copy,
            symlinks=True,
            ignore=shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".mypy_cache"),
        )
        for name in args.targets:
            if args.tests:
                TARGETS[name] = dataclasses.replace(TARGETS[name], tests=tuple(args.tests))
            survivors += len(run(name, copy, set(args.line or ())))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
