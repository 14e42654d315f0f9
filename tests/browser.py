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


def chromium_settled(url: str, settled: Callable[[str], bool], attempts: int = 6) -> str:
    """The DOM once the page's script has finished (`settled`), retrying the load if headless
    chromium dumped it early: its virtual clock may run out while WebCrypto promises are still
    pending on another thread. What the test asserts on is the settled page only."""
    dom = ""
    for _ in range(attempts):
        dom = chromium(url)
        if settled(dom):
            break
    return dom


def print_pdf(url: str, out: Path) -> int:
    """Prints `url` with headless chromium (A4 unless the page's @page says otherwise, no
    header or footer of chromium's own) to `out`; the number of pages."""
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
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
        ]
        subprocess.run([*args, url], capture_output=True, text=True, timeout=120)
    return pdf_pages(out.read_bytes())


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF chromium printed (its page objects are not compressed)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def pdf_page_size_mm(pdf: bytes) -> tuple[float, float]:
    """The first page's MediaBox in millimetres."""
    import re

    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert m, "no MediaBox"
    return float(m[1]) * 25.4 / 72, float(m[2]) * 25.4 / 72


def driver(width: int, height: int = 900):  # type: ignore[no-untyped-def]
    """Selenium on Debian chromium-driver; below 600 px the viewport of a phone is emulated (a
    desktop window has a minimum width of about 500 px)."""
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or "/usr/bin/chromium"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
    ):
        opts.add_argument(arg)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    d = webdriver.Chrome(options=opts, service=service)
    if width < 600:
        d.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
    return d


def page_width(d, url: str) -> int:  # type: ignore[no-untyped-def]
    """The laid-out width of `url` in driver `d` (more than the viewport: sideways scrolling)."""
    d.get(url)
    return int(d.execute_script("return document.documentElement.scrollWidth"))


def full_shot(d, path: Path, limit: int = 4000) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of the whole page at the driver's width."""
    width = d.execute_script("return window.innerWidth")
    height = min(int(d.execute_script("return document.documentElement.scrollHeight")), limit)
    d.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": max(height, 600), "deviceScaleFactor": 1, "mobile": width < 600},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(path))


def pdf_to_pngs(pdf: Path, out_dir: Path, stem: str) -> list[Path]:
    """Each page of a printed PDF as a PNG (`stem`-1.png …), drawn by chromium's own PDF viewer
    is not scriptable headless: the pages are rendered with pypdfium2 when it is installed."""
    try:
        import pypdfium2 as pdfium  # type: ignore[import-not-found]
    except ImportError:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(str(pdf))
    paths = []
    for n in range(len(doc)):
        image = doc[n].render(scale=1.5).to_pil()
        path = out_dir / f"{stem}-{n + 1}.png"
        image.save(path)
        paths.append(path)
    return paths


def shots_dir() -> Path | None:
    """Where screenshots go: SPOTCHECK_SCREENSHOTS=DIR (=1: docs/screenshots); None: none."""
    value = os.environ.get("SPOTCHECK_SCREENSHOTS")
    if not value:
        return None
    out = (
        Path(__file__).resolve().parents[1] / "docs" / "screenshots"
        if value == "1"
        else Path(value)
    )
    out.mkdir(parents=True, exist_ok=True)
    return out
