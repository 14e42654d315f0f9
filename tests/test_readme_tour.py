"""README.md's five-minute tour, run as written: its shell blocks, step by step, with bash and curl
against a real `spotcheck serve` on a free loopback port, in a temporary directory, on a machine
whose clock is not in China (the service dates in 北京时间). The commands live only in README.md; this test holds
what each step must print."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.migrate import ROOT
from tests.reliability.harness import free_port

TOUR_HEADING = "## A five-minute tour with curl"
README_BASE = "http://127.0.0.1:8000"
MARK = "@@tour-step "
DRAW_ID = "2026-YB-12-D1"
# The machine's zone: 24 hours behind Beijing (POSIX TZ, UTC−16), so a plain `date +%F` is never
# the service's today (北京时间) — stricter than TZ=UTC, which differs only after 16:00 UTC.
BEHIND_BEIJING = "TOUR+16"


def tour_steps(readme: str) -> dict[int, str]:
    """The tour's shell code by step number (`# N. …` starts step N)."""
    section = readme.split(TOUR_HEADING, 1)[1].split("\n## ", 1)[0]
    script = "\n".join(re.findall(r"```sh\n(.*?)```", section, re.S))
    steps = {}
    for part in re.split(r"^(?=# \d+\. )", script, flags=re.M):
        found = re.match(r"# (\d+)\. ", part)
        if found:
            steps[int(found.group(1))] = part
    return steps


def json_docs(text: str) -> list[object]:
    """The JSON documents curl printed one after the other (no newline between them)."""
    decoder, docs, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] not in "[{":  # plain output of another command (e.g. an HTTP status)
            end = text.find("\n", pos)
            docs.append(text[pos : None if end < 0 else end].strip())
            pos = len(text) if end < 0 else end
            continue
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
    return docs


def test_tour_steps_are_found_in_the_readme():
    steps = tour_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    assert sorted(steps) == list(range(1, 10))
    assert all(README_BASE in steps[n] for n in range(2, 10))


@pytest.fixture
def tour_dir(tmp_path):
    """The working directory `make run` leaves: demo loaded and published, `.venv`, `docs/` and
    `registries/` of the checkout beside it."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (.ci/run installs it): the README tour needs it")
    venv = Path(sys.prefix)
    if not (venv / "bin" / "spotcheck").exists():
        pytest.skip(f"no spotcheck console script in {venv}/bin (make install-dev)")
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    (tmp_path / "registries").symlink_to(ROOT / "registries")
    return tmp_path


@pytest.fixture
def tour_env(tour_dir):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SPOTCHECK_") and key not in ("TZ", "PYTHONPATH")
    }
    env.update(TZ=BEHIND_BEIJING, SPOTCHECK_DATABASE_URL=f"sqlite:///{tour_dir / 'spotcheck.db'}")
    env["SPOTCHECK_PUBLISH_DIR"] = str(tour_dir / "publish")
    env["SPOTCHECK_EVIDENCE_DIR"] = str(tour_dir / "evidence")
    return env


@pytest.fixture
def served(tour_dir, tour_env):
    """`spotcheck demo` (no `db upgrade`: the embedded database migrates itself), then
    `spotcheck serve` on a free port; yields the base URL."""
    spotcheck = str(tour_dir / ".venv" / "bin" / "spotcheck")
    demo = subprocess.run(
        [spotcheck, "demo"], cwd=tour_dir, env=tour_env, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    log = tour_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [spotcheck, "serve", "--port", str(port)],
            cwd=tour_dir,
            env=tour_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_tour(steps: dict[int, str], base: str, cwd: Path, env: dict[str, str]) -> dict[int, str]:
    """Runs every step in one bash (variables carry over); returns each step's stdout."""
    script = ["set -u -o pipefail"]
    for n in sorted(steps):
        script += [f"echo '{MARK}{n}'", steps[n].replace(README_BASE, base)]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    outputs = {}
    for chunk in done.stdout.split(MARK)[1:]:
        number, _, rest = chunk.partition("\n")
        outputs[int(number)] = rest
    assert "错误" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert sorted(outputs) == sorted(steps), done.stderr
    return outputs


def test_the_readme_tour_runs_as_written(served, tour_dir, tour_env):
    steps = tour_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    out = run_tour(steps, served, tour_dir, tour_env)
    shown = {n: out[n][:2000] for n in out}

    # 1. the token went into $TOKEN, nothing printed
    assert out[1].strip() == "", shown[1]

    # 2. filtered page of targets, then two items
    targets, items = json_docs(out[2])
    assert 1 <= len(targets["items"]) <= 3, shown[2]
    assert {(t["region"], t["kind"]) for t in targets["items"]} == {("370402", "定点零售药店")}
    assert len(items["items"]) == 2 and all("code" in i for i in items["items"])

    # 3. re-importing the demo's own file changes nothing
    (imported,) = json_docs(out[3])
    assert imported["rows"] > 0 and imported["unchanged"] == imported["rows"], shown[3]
    assert imported["created"] == imported["updated"] == 0

    # 4. a draft, 5. published
    (draft,) = json_docs(out[4])
    assert (draft["code"], draft["status"]) == ("2026-YB-12", "draft"), shown[4]
    (published,) = json_docs(out[5])
    assert published["status"] == "published", shown[5]

    # 6. the draw is saved under its published name; the second draw is refused
    assert out[6].strip() == "409", shown[6]
    draw = json.loads((tour_dir / f"{DRAW_ID}.json").read_text(encoding="utf-8"))
    assert draw["id"] == DRAW_ID and draw["tasks"], draw
    assert draw["population_file"] == f"{DRAW_ID}.population.csv"

    # 7. both verifiers replay it, the standalone one with the population file it found
    lines = [  # verdicts, without the notes (注：) that may follow them
        line for line in out[7].splitlines() if line.strip() and not line.startswith("注：")
    ]
    assert lines[0].startswith(f"验证通过（draw valid）：{DRAW_ID}"), shown[7]
    for name in (draw["population_file"], f"{DRAW_ID}.tasks.csv", f"{DRAW_ID}.tasks.xlsx"):
        assert (tour_dir / "downloaded" / name).stat().st_size > 0
    assert "任务清单均已完整复算" in lines[1], shown[7]
    assert lines[1].startswith("验证通过"), shown[7]
    assert "未提供总体文件" not in out[7]

    # 8. the inspector sees only own tasks, and the result (dated today in Beijing) is taken
    task = draw["tasks"][0]
    badge = task["team"][0]["badge"]
    tasks, result = json_docs(out[8])
    assert tasks["items"] and task["id"] in {t["id"] for t in tasks["items"]}, shown[8]
    assert all(badge in {m["badge"] for m in t["team"]} for t in tasks["items"])
    assert "type" not in result, result  # not a problem document (422 …)
    assert result["outcome"] == "发现问题已责令改正", result

    # 9. approved; the weekly report as JSON and as an XLSX file
    approved, weekly = json_docs(out[9])
    assert "type" not in approved and approved["outcome"] == "发现问题已责令改正", approved
    assert "周报表" in weekly["title"], shown[9]
    assert (tour_dir / "weekly.xlsx").read_bytes()[:2] == b"PK"  # a zip: XLSX, not a problem
