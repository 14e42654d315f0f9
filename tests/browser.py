"""Headless Debian chromium for browser tests: the DOM after scripts ran, or a screenshot."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
)
BROWSER = [  # pytestmark of every test that drives chromium
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)"
    ),
]


def chromium(
    url: str,
    *,
    screenshot: Path | None = None,
    budget_ms: int = 300000,
    window: str = "1280,1600",
) -> str:
    """The DOM after scripts ran (or a screenshot), from headless chromium.

    The budget is virtual time: idle waits are skipped, so a generous one costs little real
    time, while a small one can cut off the WebCrypto replay on a loaded machine.
    """
    with tempfile.TemporaryDirectory() as profile:
        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window}",
        ]
        if screenshot is not None:
            args += [f"--screenshot={screenshot}", "--hide-scrollbars"]
        else:
            args += ["--dump-dom"]
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=120)
    return out.stdout


def chromium_settled(url: str, settled: Callable[[str], bool], attempts: int = 4) -> str:
    """The DOM once the page's script has finished (`settled`), retrying the load if headless
    chromium dumped it early: its virtual clock may run out while WebCrypto promises are still
    pending on another thread. What the test asserts on is the settled page only."""
    dom = ""
    for _ in range(attempts):
        dom = chromium(url)
        if settled(dom):
            break
    return dom
