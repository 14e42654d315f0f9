"""`--help` everywhere: every script in docs/, bench/ and tests/ (the mutation runs, the coverage
simulation) and every `spotcheck` sub-command prints its usage (Chinese first) and exits 0 — and
never mistakes `--help` for a file name."""

import argparse
import os
import re
import subprocess
import sys

import pytest

from app import cli
from app.migrate import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
SCRIPTS = sorted(
    str(path.relative_to(ROOT))
    for pattern in ("docs/*.py", "bench/*.py", "tests/**/*.py")
    for path in ROOT.glob(pattern)
    if not path.name.startswith("test_")
    and 'if __name__ == "__main__"' in path.read_text(encoding="utf-8")
)


def test_every_runnable_script_is_listed():
    assert {"docs/verify_draw.py", "docs/cross_check_consistent_sampler.py"} <= set(SCRIPTS)
    assert {"bench/bench_draw.py", "bench/bench_teams.py", "bench/load.py"} <= set(SCRIPTS)
    # the scripts kept among the tests: the mutation runs (--help must not start one)
    assert {"tests/draw/mutate_verifier.py", "tests/mutate_checks.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_prints_usage_and_exits_0(script, tmp_path):
    # In an empty directory: nothing named `--help` may be opened or created there.
    # the scripts under tests/ import the application (tests.stats.simulation): from ROOT
    env = {**os.environ, "PYTHONPATH": str(ROOT)} if script.startswith("tests/") else None
    done = subprocess.run(
        [sys.executable, str(ROOT / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    name = script.rsplit("/", 1)[1]
    assert done.stdout.startswith(f"usage: {name}"), done.stdout
    description = done.stdout.split("\n\n")[1]
    assert CJK.match(description.strip()), description  # Chinese first
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "script", ["docs/verify_draw.py", "docs/cross_check_consistent_sampler.py"]
)
def test_verifier_without_arguments_is_a_usage_error(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / script)], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ") and "DRAW.json" in done.stderr


def test_verifier_standard_library_only_help():
    """The verifier the public downloads answers --help with a bare `python3 -I` too."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "docs" / "verify_draw.py"), "--help"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "POPULATION.csv" in done.stdout


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every leaf command path of the `spotcheck` parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix
        return
    for name, child in subs[0].choices.items():
        yield from _commands(child, (*prefix, name))


COMMANDS = sorted(_commands(cli.build_parser()))


def test_every_documented_command_is_there():
    assert {("db", "upgrade"), ("token", "create"), ("audit", "verify"), ("verify",)} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_spotcheck_sub_command_help(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: spotcheck {' '.join(command)}")
    assert list(tmp_path.iterdir()) == []  # help never opens a database


def test_load_test_help_needs_no_dev_package(tmp_path):
    # `bench/load.py --help` on an install without the dev extras (no pytest): its harness
    # lives among the tests and is imported only to run.
    code = (
        "import runpy, sys; sys.modules['pytest'] = None; sys.argv = ['load.py', '--help'];"
        f"runpy.run_path({str(ROOT / 'bench' / 'load.py')!r}, run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert CJK.search(done.stdout)
