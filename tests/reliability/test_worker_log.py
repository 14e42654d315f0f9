"""`spotcheck worker` (production's job runner) says in its log when it built the site, as
docs/operations.md promises ("公开网站已更新 …"), and which units it had to skip."""

import os
import subprocess
import sys
import time
from pathlib import Path

from app.db import make_engine, make_sessionmaker
from app.events import publication_due
from app.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_logs_each_build(tmp_path):
    url = f"sqlite:///{tmp_path / 'spotcheck.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        publication_due(s, "all")
        s.commit()
    engine.dispose()
    env = {
        **os.environ,
        "SPOTCHECK_DATABASE_URL": url,
        "SPOTCHECK_PUBLISH_DIR": str(tmp_path / "publish"),
        "SPOTCHECK_SIGNING_KEY_FILE": str(tmp_path / "signing.key"),
        "SPOTCHECK_SCHEDULER_TICK_SECONDS": "0.2",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "公开网站已更新" not in log.read_text() and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "公开网站已更新" in text, text[-3000:]
    assert "app.publish.publisher" in text
