"""Witnesses as separate processes, each with its own key, state file and clock (a file of
POSIX seconds the test sets: no sleeping), and the service configured to ask them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import get_settings
from app.tlog import note
from app.tlog.keys import load_or_create
from tests.plans.conftest import city  # noqa: F401 (the test city, a fixture)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WitnessProcess:
    """A running `spotcheck witness serve`."""

    name: str
    vkey: str
    url: str
    clock: Path
    state: Path
    proc: subprocess.Popen[str]

    def set_clock(self, seconds: int) -> None:
        self.clock.write_text(str(seconds), encoding="ascii")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_witness(tmp: Path, name: str, log_vkey: str, clock: int) -> WitnessProcess:
    """Generates the witness's key with the CLI and starts it on a free port."""
    key = tmp / f"{name.replace('/', '_')}.key"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "witness", "keygen", "--name", name, "--key", str(key)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    vkey = out.stdout.strip().splitlines()[-1]
    clock_file = tmp / f"{key.stem}.clock"
    clock_file.write_text(str(clock), encoding="ascii")
    state = tmp / f"{key.stem}.state.json"
    cmd = [sys.executable, "-m", "app.cli", "witness", "serve", "--key", str(key)]
    cmd += ["--log", log_vkey, "--state", str(state), "--port", "0"]
    cmd += ["--clock-file", str(clock_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise AssertionError(
            f"witness did not start: {line} {proc.stderr.read() if proc.stderr else ''}"
        )
    url = line.split("http://", 1)[1].split("/add-checkpoint", 1)[0]
    return WitnessProcess(name, vkey, f"http://{url}", clock_file, state, proc)


@pytest.fixture
def log_key(tmp_path: Path) -> Iterator[note.Signer]:
    """The service's log key, in a temporary file."""
    path = tmp_path / "log.key"
    outer = os.environ.get("SPOTCHECK_LOG_KEY_FILE")
    os.environ["SPOTCHECK_LOG_KEY_FILE"] = str(path)
    get_settings.cache_clear()
    yield load_or_create(path, "test.spotcheck.local/log")
    if outer is None:
        os.environ.pop("SPOTCHECK_LOG_KEY_FILE", None)
    else:
        os.environ["SPOTCHECK_LOG_KEY_FILE"] = outer
    get_settings.cache_clear()


@pytest.fixture
def witnesses(tmp_path: Path, log_key: note.Signer) -> Iterator[list[WitnessProcess]]:
    """Three witnesses (their clocks at the real time), configured with a quorum of 2."""
    now = int(time.time())
    started = [
        start_witness(tmp_path, f"w{i}.test.gov.cn/witness", log_key.verifier.vkey, now)
        for i in range(3)
    ]
    os.environ["SPOTCHECK_WITNESSES"] = ";".join(f"{w.vkey} {w.url}" for w in started)
    os.environ["SPOTCHECK_WITNESS_QUORUM"] = "2"
    get_settings.cache_clear()
    try:
        yield started
    finally:
        for w in started:
            w.stop()
        os.environ.pop("SPOTCHECK_WITNESSES", None)
        os.environ.pop("SPOTCHECK_WITNESS_QUORUM", None)
        get_settings.cache_clear()
