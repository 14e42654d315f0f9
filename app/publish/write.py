"""Atomic publishing: build the site in a new generation directory, then swap a symlink.

`publish_dir` is a symlink to `<publish_dir>.generations/<generation>`; a reader (the /public
mount, a web server, rsync) resolves it once per file and sees either the old or the new site,
never a half-written one. The swap is `os.replace` of a fresh symlink (atomic on POSIX).
The newest `KEEP_GENERATIONS` old generations are kept for readers still streaming a file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.faults import pause_at
from app.gcpause import gc_paused
from app.migrate import ROOT
from app.models.base import utcnow
from app.publish.collect import ResultRelease, SiteData, collect, releasable_results
from app.publish.formats import FileBody, FileSink, Meta, render_unit
from app.publish.inspections import inspection_pages
from app.publish.render import Assets, fingerprint, render_into
from app.states import DrawStatus
from app.stats.render import (
    draw_statistics_files,
    index_entry,
    statistics_index,
    strata_page_file,
    strata_pages_inputs,
)
from app.stats.service import draw_statistics
from app.tasks.results import mark_published

log = logging.getLogger(__name__)
KEEP_GENERATIONS = 2
STATIC_DIR = Path(__file__).parent / "static"
DOCS_DIR = ROOT / "docs"
VERIFIERS = ("verify_draw.py",)
METHOD_HREF = "index.html#method"


@dataclass(frozen=True)
class PublishReport:
    """What one publication made: the generation, its files (written + carried over by a hard
    link from the generation it replaced) and the bytes written."""

    generation: Path
    files: int
    bytes: int
    files_written: int = 0
    files_linked: int = 0


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
    site is never held whole in memory), and carries units unchanged since the generation it
    replaces (`render_unit`, app/publish/formats.py) over as hard links."""

    def __init__(self, root: Path, previous: Path | None, units: Mapping[str, Any]) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self.linked = 0
        self._made: set[Path] = set()
        self._previous = previous
        self._previous_units = units
        self.units: dict[str, dict[str, Any]] = {}
        self._unit: list[str] | None = None

    def _path(self, rel: str) -> Path:
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise ValueError(f"不安全的路径：{rel!r}")
        path = self.root / rel
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        if path.exists():
            raise ValueError(f"同一文件生成了两次：{rel!r}")
        if self._unit is not None:
            self._unit.append(rel)
        return path

    def __setitem__(self, rel: str, data: FileBody) -> None:
        path = self._path(rel)
        if isinstance(data, bytes):
            path.write_bytes(data)
            self.bytes += len(data)
        else:
            with path.open("wb") as fh:
                self.bytes += data.write_to(fh)
        self.files += 1

    def render_unit(
        self, key: str, fingerprint: str, render: Callable[[], Meta | None]
    ) -> Meta | None:
        if self._unit is not None:
            raise ValueError(f"发布单元不能嵌套：{key!r}")
        old = self._previous_units.get(key)
        if (
            self._previous is not None
            and old is not None
            and old.get("fingerprint") == fingerprint
            and all((self._previous / rel).is_file() for rel in old["files"])
        ):
            for rel in old["files"]:
                self._carry(rel)
            self.units[key] = old
            meta: Meta | None = old.get("meta")
            return meta
        files: list[str] = []
        self._unit = files
        try:
            meta = render()
        finally:
            self._unit = None
        self.units[key] = {"fingerprint": fingerprint, "files": files, "meta": meta}
        return meta

    def _carry(self, rel: str) -> None:
        assert self._previous is not None
        source = self._previous / rel
        path = self._path(rel)
        try:
            os.link(source, path)  # files are never changed in place: sharing them is safe
            self.linked += 1
        except OSError:  # a file system without hard links: copy
            shutil.copyfile(source, path)
            self.files += 1
            self.bytes += path.stat().st_size


def _manifest_path(generation: Path) -> Path:
    """Which units a generation holds (beside it, so that syncing the site never copies it)."""
    return generation.parent / f"{generation.name}.manifest.json"


def _current(publish_dir: Path) -> tuple[Path | None, dict[str, Any]]:
    """The generation `publish_dir` points at and its units (none if it has no manifest)."""
    if not publish_dir.is_symlink():
        return None, {}
    generation = publish_dir.resolve()
    try:
        manifest = json.loads(_manifest_path(generation).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    units: dict[str, Any] = manifest.get("units", {})
    return generation, units


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
        _manifest_path(path).unlink(missing_ok=True)


def build_site(
    publish_dir: Path, produce: Callable[[FileSink], None], *, carry: bool = True
) -> PublishReport:
    """Builds a new generation from the files `produce` gives its sink (each written as it
    comes; units unchanged since the current generation linked from it unless `carry` is
    False) and makes it current atomically; if `produce` fails, nothing changes."""
    publish_dir = Path(os.path.abspath(publish_dir))
    publish_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(publish_dir):
        gens = _generations_dir(publish_dir)
        gens.mkdir(exist_ok=True)
        previous, units = _current(publish_dir) if carry else (None, {})
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        building = gens / f".building-{stamp}-{os.getpid()}-{time.time_ns()}"
        try:
            building.mkdir()
            sink = _TreeWriter(building, previous, units)
            produce(sink)
            pause_at("publish.before_swap")
            generation = gens / f"g-{stamp}-{time.time_ns()}"
            manifest = {"units": sink.units}
            _manifest_path(generation).write_text(
                json.dumps(manifest, ensure_ascii=False, sort_keys=True), encoding="utf-8"
            )
            os.rename(building, generation)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            if "generation" in locals():
                _manifest_path(generation).unlink(missing_ok=True)
            raise
        _swap(publish_dir, generation)
        _prune(gens, generation)
    return PublishReport(
        generation=generation,
        files=sink.files + sink.linked,
        bytes=sink.bytes,
        files_written=sink.files,
        files_linked=sink.linked,
    )


def write_site(publish_dir: Path, files: Mapping[str, FileBody]) -> PublishReport:
    """Writes `files` as a new generation and makes it current atomically."""

    def produce(sink: FileSink) -> None:
        for rel, data in files.items():
            sink[rel] = data

    return build_site(publish_dir, produce)


def publish(
    session: Session,
    publish_dir: Path,
    *,
    now: datetime | None = None,
    full: bool = False,
    result_release: ResultRelease | None = None,
) -> PublishReport:
    """Collects, renders and atomically writes the site as of `now`: the units that changed
    since the current generation are rendered, the others carried over (`full`: everything
    rendered). Records first, in the session, which results go public with it (so the site
    shows their publication and the audit entry of it). Never commits: the caller owns the
    session (the publisher job, app/publish/publisher.py, or the CLI)."""
    at = now or utcnow()
    # Results going public with this build are recorded first (so the site shows their
    # publication and the audit entry of it); then the site is read as the database holds it.
    mark_published(session, releasable_results(session, now=at, result_release=result_release), at)
    data = collect(session, now=at)
    assets = load_assets()
    # 统计分析 section (app/stats): HT estimates of the current public draws, one unit each.
    public = [d.id for d in data.draws if d.public and d.status == DrawStatus.CURRENT]

    def produce(sink: FileSink) -> None:
        render_into(sink, data, assets)
        with gc_paused():  # per-stratum estimates and pages (11,000 strata nationally)
            _render_statistics(sink, session, data, public)
        # 检查码核验 and 机构年度检查次数 (app/publish/inspections.py)
        inspection_pages(sink, session, data, key_file=get_settings().signing_key_file)

    return build_site(publish_dir, produce, carry=not full)


def _give(sink: FileSink, files: Mapping[str, FileBody]) -> None:
    for rel, body in files.items():
        sink[rel] = body


def _render_statistics(sink: FileSink, session: Session, data: SiteData, draws: list[str]) -> None:
    results_of: dict[str, Any] = {}
    if data.draw_results is not None:  # collected: one aggregate per draw
        results_of = data.draw_results
    else:
        for r in data.results:
            results_of.setdefault(str(r["draw_id"]), []).append((r["task_id"], r["outcome"]))
            results_of[str(r["draw_id"])].sort()
    entries = []
    for draw_id in draws:
        computed: dict[str, dict[str, Any]] = {}

        def stats_of(draw_id: str = draw_id, computed: dict[str, Any] = computed) -> Any:
            if "stats" not in computed:  # read and estimated once, only if something renders
                computed["stats"] = draw_statistics(session, draw_id=draw_id)
            return computed["stats"]

        def render(stats_of: Callable[[], Any] = stats_of) -> Meta:
            stats = stats_of()
            for rel, body in draw_statistics_files(stats, METHOD_HREF, strata_pages=False).items():
                sink[rel] = body
            pages = [[k, fingerprint(inputs)] for k, inputs in strata_pages_inputs(stats)]
            return {**index_entry(stats), "strata_pages": pages}

        inputs = {"draw": draw_id, "results": results_of.get(draw_id)}
        meta = render_unit(sink, f"statistics:{draw_id}", fingerprint(inputs), render)
        assert meta is not None
        # The strata pages of a large draw: each its own unit, so that an approval rewrites the
        # draw's page and the one strata page of its stratum, not 11 of them.
        for page, page_fingerprint in meta.get("strata_pages", []):
            render_unit(
                sink,
                f"statistics:{draw_id}:strata:{page}",
                page_fingerprint,
                lambda page=page, stats_of=stats_of: _give(  # type: ignore[misc]
                    sink, strata_page_file(stats_of(), page)
                ),
            )
        entries.append({k: v for k, v in meta.items() if k != "strata_pages"})
    # The index lists every current draw's estimates: rendered when one of them changed.
    render_unit(
        sink,
        "statistics:index",
        fingerprint({"entries": entries}),
        lambda: _give(sink, statistics_index(entries, None, METHOD_HREF)),
    )
