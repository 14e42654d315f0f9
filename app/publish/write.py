"""Atomic publishing: build the site in a new generation directory, then swap a symlink.

`publish_dir` is a symlink to `<publish_dir>.generations/<generation>`; a reader (the /public
mount, a web server, rsync) resolves it once per file and sees either the old or the new site,
never a half-written one. The swap is `os.replace` of a fresh symlink (atomic on POSIX).
The newest `KEEP_GENERATIONS` old generations are kept for readers still streaming a file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings
from app.faults import pause_at
from app.gcpause import gc_paused
from app.migrate import ROOT
from app.models.base import utcnow
from app.publish.collect import collect
from app.publish.formats import FileBody, FileSink
from app.publish.inspections import inspection_pages
from app.publish.render import Assets, render_into
from app.states import DrawStatus
from app.stats.service import site_statistics
from app.tasks.results import mark_published

log = logging.getLogger(__name__)
KEEP_GENERATIONS = 2
STATIC_DIR = Path(__file__).parent / "static"
DOCS_DIR = ROOT / "docs"
VERIFIERS = ("verify_draw.py",)


@dataclass(frozen=True)
class PublishReport:
    """What one publication wrote."""

    generation: Path
    files: int
    bytes: int


def load_assets(docs_dir: Path = DOCS_DIR) -> Assets:
    """Static CSS/JS, JSON Schemas from docs/schemas, and the standalone verifiers."""
    files: dict[str, bytes] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            files[f"static/{path.name}"] = path.read_bytes()
    schema_dir = docs_dir / "schemas"
    if schema_dir.is_dir():
        for path in sorted(schema_dir.glob("*.json")):
            files[f"schemas/{path.name}"] = path.read_bytes()
    for name in VERIFIERS:
        path = docs_dir / name
        if path.is_file():
            files[f"downloads/{name}"] = path.read_bytes()
    return Assets(files=files)


def _generations_dir(publish_dir: Path) -> Path:
    return publish_dir.parent / f"{publish_dir.name}.generations"


@contextmanager
def _lock(publish_dir: Path) -> Iterator[None]:
    lock_path = publish_dir.parent / f".{publish_dir.name}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _TreeWriter:
    """A file sink that writes each file into the generation being built as it is given (the
    site is never held whole in memory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self._made: set[Path] = set()

    def __setitem__(self, rel: str, data: FileBody) -> None:
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise ValueError(f"不安全的路径：{rel!r}")
        path = self.root / rel
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        if path.exists():
            raise ValueError(f"同一文件生成了两次：{rel!r}")
        if isinstance(data, bytes):
            path.write_bytes(data)
            self.bytes += len(data)
        else:
            with path.open("wb") as fh:
                self.bytes += data.write_to(fh)
        self.files += 1


def _swap(publish_dir: Path, generation: Path) -> None:
    gens = generation.parent
    if publish_dir.exists() and not publish_dir.is_symlink():
        # First publication over a plain directory (e.g. created empty by the app): move it
        # aside once; afterwards every swap is a single atomic rename.
        legacy = gens / f"legacy-{time.time_ns()}"
        os.rename(publish_dir, legacy)
    tmp_link = publish_dir.parent / f".{publish_dir.name}.link-{os.getpid()}-{time.time_ns()}"
    os.symlink(os.path.relpath(generation, publish_dir.parent), tmp_link)
    os.replace(tmp_link, publish_dir)


def _prune(gens: Path, current: Path) -> None:
    old = sorted(
        (p for p in gens.iterdir() if p.is_dir() and p != current),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for path in old[KEEP_GENERATIONS:]:
        shutil.rmtree(path, ignore_errors=True)


def build_site(publish_dir: Path, produce: Callable[[FileSink], None]) -> PublishReport:
    """Builds a new generation from the files `produce` gives its sink (each written as it
    comes) and makes it current atomically; if `produce` fails, nothing changes."""
    publish_dir = Path(os.path.abspath(publish_dir))
    publish_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(publish_dir):
        gens = _generations_dir(publish_dir)
        gens.mkdir(exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        building = gens / f".building-{stamp}-{os.getpid()}-{time.time_ns()}"
        try:
            building.mkdir()
            sink = _TreeWriter(building)
            produce(sink)
            pause_at("publish.before_swap")
            generation = gens / f"g-{stamp}-{time.time_ns()}"
            os.rename(building, generation)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _swap(publish_dir, generation)
        _prune(gens, generation)
    return PublishReport(generation=generation, files=sink.files, bytes=sink.bytes)


def write_site(publish_dir: Path, files: Mapping[str, FileBody]) -> PublishReport:
    """Writes `files` as a new generation and makes it current atomically."""

    def produce(sink: FileSink) -> None:
        for rel, data in files.items():
            sink[rel] = data

    return build_site(publish_dir, produce)


def publish(session: Session, publish_dir: Path, *, now: datetime | None = None) -> PublishReport:
    """Collects, renders and atomically writes the whole site, then records which results
    went public (commits: the caller owns this session, e.g. the CLI or a background task)."""
    at = now or utcnow()
    data = collect(session, now=at)
    assets = load_assets()
    # 统计分析 section (app/stats/service.py): HT estimates of the current public draws.

    public = [d.id for d in data.draws if d.public and d.status == DrawStatus.CURRENT]

    def produce(sink: FileSink) -> None:
        render_into(sink, data, assets)
        with gc_paused():  # per-stratum estimates and pages (11,000 strata nationally)
            pages = site_statistics(session, public, at)
        for rel, body in pages.items():
            sink[rel] = body
        # 检查码核验 and 机构年度检查次数 (app/publish/inspections.py)
        key_file = get_settings().signing_key_file
        for rel, body in inspection_pages(session, data, key_file=key_file).items():
            sink[rel] = body

    report = build_site(publish_dir, produce)
    if data.results:
        mark_published(session, [int(r["id"]) for r in data.results], at)
    session.commit()
    return report


def publish_in_background(factory: sessionmaker[Session], publish_dir: Path) -> None:
    """Publishes after a committed change; failures are logged (the next publish catches up)."""
    try:
        with factory() as session:
            report = publish(session, publish_dir)
        log.info("公开网站已更新：%s（%d 个文件）", report.generation.name, report.files)
    except Exception:
        log.exception("自动发布公开网站失败（publish failed）；下次发布时将补上")
