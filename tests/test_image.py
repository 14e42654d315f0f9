"""The container image works as shipped: built and run where the machine has a working docker
or podman; everywhere, its entry point is run in the image's layout (data and keys in their
own volumes, nothing written beside the code) — a first plan publication succeeds, `/public/`
answers before any publication, the first administrator is created once from the environment,
and a restart keeps everything."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.migrate import ROOT
from tests.entropy import dice_source
from tests.reliability.harness import free_port

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
ADMIN_PASSWORD = "Shouci denglu 2026!"


def _env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTCHECK_")}
    return {
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "SPOTCHECK_DATA": str(tmp / "data"),
        "SPOTCHECK_KEYS": str(tmp / "keys"),
        "SPOTCHECK_DRAND_RELAYS": "",
        "SPOTCHECK_ADMIN_USERNAME": "guanli",
        "SPOTCHECK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WORKERS": "1",
    }


def _start(tmp: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["sh", str(ENTRYPOINT), "serve"],
            cwd=tmp / "workdir",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(log.read_text()[-3000:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)


def _cli(env: dict[str, str], tmp: Path, *args: str) -> str:
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        cwd=tmp / "workdir",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_entrypoint_in_the_image_layout(tmp_path):
    (tmp_path / "workdir").mkdir()
    port = free_port()
    env = _env(tmp_path, port)
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, env, log)
    try:
        r = httpx.get(base + "/public/")
        assert r.status_code == 200 and "尚未发布" in r.text  # before any publication
        assert "已创建首个管理员账号 guanli" in log.read_text()
        token = _cli(env, tmp_path, "token", "create", "--role", "supervisor", "--name", "t")
        sup = {"Authorization": f"Bearer {token.strip().splitlines()[-1]}"}
        for kind in ("items", "targets", "inspectors"):
            path = ROOT / "registries" / f"{kind}.csv"
            r = httpx.post(
                f"{base}/api/v1/registries/{kind}/import",
                headers=sup,
                files={"file": (path.name, path.read_bytes())},
                timeout=120,
            )
            assert r.status_code == 200, r.text
        body = {
            "code": "IMG-1",
            "title": "容器首次发布",
            "lead_department": "某市医疗保障局",
            "items": ["YB-01"],
            "scope": {"kinds": ["定点医疗机构"], "regions": ["3704"]},
            "strata": ["region"],
            "ratio": 0.05,
            "team": {"size": 2},
            "window": {"start": "2026-12-01", "end": "2026-12-31"},
            "publish_tasks": "on_draw",
            "entropy_source": dice_source(),
        }
        assert httpx.post(base + "/api/v1/plans", headers=sup, json=body).status_code == 201
        r = httpx.post(base + "/api/v1/plans/IMG-1/publish", headers=sup, timeout=60)
        assert r.status_code == 200, r.text  # it was a 500: the keys' default var/ not writable
    finally:
        _stop(proc)
    keys = tmp_path / "keys"
    assert (keys / "server.key").is_file()
    assert oct((keys / "server.key").stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "workdir" / "var").exists()  # nothing beside the code
    assert (tmp_path / "data" / "spotcheck.db").is_file()
    key_before = (keys / "server.key").read_bytes()
    # a restart (a new container on the same volumes): same key, the admin not created again
    proc = _start(tmp_path, env, log)
    try:
        assert "已有账号，不再创建首个管理员" in log.read_text()
        plan = httpx.get(base + "/api/v1/plans/IMG-1", headers=sup).json()
        assert plan["status"] == "published"
    finally:
        _stop(proc)
    assert (keys / "server.key").read_bytes() == key_before


def _engine() -> str | None:
    for tool in ("podman", "docker"):
        if shutil.which(tool) is None:
            continue
        ok = subprocess.run([tool, "info"], capture_output=True, timeout=60).returncode == 0
        if ok:
            return tool
    return None


@pytest.mark.slow
def test_the_image_builds_and_serves():
    tool = _engine()
    if tool is None:
        pytest.skip("no working docker or podman here: the entry point test above stands in")
    tag = "spotcheck-test:ci"
    built = subprocess.run([tool, "build", "-t", tag, str(ROOT)], capture_output=True, timeout=1800)
    if built.returncode != 0:
        pytest.skip(f"image not built here (no base image reachable?): {built.stderr[-500:]!r}")
    port = free_port()
    run = subprocess.run(
        [
            tool,
            "run",
            "-d",
            "--rm",
            "-p",
            f"127.0.0.1:{port}:8000",
            "-e",
            "SPOTCHECK_ADMIN_USERNAME=guanli",
            "-e",
            f"SPOTCHECK_ADMIN_PASSWORD={ADMIN_PASSWORD}",
            tag,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    container = run.stdout.strip()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/public/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
    finally:
        subprocess.run([tool, "rm", "-f", container], capture_output=True, timeout=120)
