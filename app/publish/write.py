"""Atomic publishing: build the site in a new generation directory, then swap a symlink.

`publish_dir` is a symlink to `<publish_dir>.generations/<generation>`; a reader (the /public
mount, a web server, rsync) resolves it once per file and sees either the old or the new site,
never a half-written one. The swap is `os.replace` of a fresh symlink (atomic on POSIX).
The newest `KEEP_GENERATIONS` old completed generations are kept for readers still streaming a
file, and one more: the next incremental build recycles it rather than deleting it and linking
every carried file anew — it renames it to its building folder (a reader holding its name
finds nothing, as if it had been deleted; no kept or live generation is touched), removes or
replaces the entries that changed since it was built (never writing into a file: a file is
always created anew, its inode may be shared) and keeps the entries that are already the
carried file (the same inode), so that a build's link, unlink and write calls follow what
changed in the last few builds, not the size of the site. Folders of builds that never
completed (`.building-*`, left by a killed process) are removed by the next build and never
count among them.

Units unchanged since the current generation are carried over by hard link, after checking that
their files are still what was written: the manifest records each file's SHA-256 and its
inode, size and change time (ctime, which nobody can set back: any write, even one that puts
the modification time back, moves it). A file whose record no longer matches is hashed; if its
bytes changed, its unit is rendered again and the file is reported (`altered_files`).

A unit whose rendering fails (bad data, a database error) is skipped and reported
(`failed_units`, in the manifest too, which `/api/v1/health` reads): the previous generation's
files of that unit are kept if it had them, and the next build tries again. One bad unit never
stalls the whole site. A unit reads the database inside `guard` (a savepoint), so that its
failure leaves the build's transaction usable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
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
from app.publish.log import LogState, log_publication, render_log
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
    # units that could not be rendered: key → the error (their previous files kept, if any)
    failed_units: dict[str, str] = field(default_factory=dict)
    # files of the generation replaced whose bytes no longer matched their record
    altered_files: list[str] = field(default_factory=list)
    # the public log: its size, leaves appended, witnesses' problems, quorum reached or not
    log: LogState | None = None


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


class _Hashing:
    """A binary file wrapper that hashes what is written through it."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return int(self.fh.write(data))


def _stat_key(path: str | Path) -> list[int]:
    st = os.stat(path)
    return [st.st_ino, st.st_size, st.st_ctime_ns]


def _file_sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class _TreeWriter:
    """A file sink that writes each file into the generation being built as it is given (the
    site is never held whole in memory), and carries units unchanged since the generation it
    replaces (`render_unit`, app/publish/formats.py) over as hard links, once their files are
    checked against their record."""

    def __init__(
        self,
        root: Path,
        previous: Path | None,
        units: Mapping[str, Any],
        guard: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
        failed_before: Mapping[str, str] | None = None,
        recycled: Mapping[str, int] | None = None,
    ) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self.linked = 0
        self._root = str(root)
        self._made: set[str] = set()
        self._previous = previous
        self._previous_units = units
        self._guard = guard
        self._failed_before = failed_before or {}
        self.units: dict[str, dict[str, Any]] = {}
        self.sums: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.altered: list[str] = []
        self._unit: list[str] | None = None
        self._given: set[str] = set()
        # A recycled generation (`root` was one, renamed): its entries, rel → inode, each
        # replaced, kept (a carried file already linked there) or, at the end, removed.
        self._stale: dict[str, int] = dict(recycled or {})
        self._recycling = bool(recycled)
        # records [inode, size, ctime] taken by `_intact` of files kept as they are
        self._kept: dict[str, list[int]] = {}
        self.removed = 0

    def _path(self, rel: str) -> str:
        """The path of `rel` in the generation being built (plain strings: this runs for
        every file of the site, carried ones included)."""
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"不安全的路径：{rel!r}")
        if rel in self._given:
            raise ValueError(f"同一文件生成了两次：{rel!r}")
        path = os.path.join(self._root, rel)
        folder = os.path.dirname(path)
        if folder not in self._made:
            try:
                os.makedirs(folder, exist_ok=True)
            except (FileExistsError, NotADirectoryError):  # a recycled file where a folder goes
                parts = rel.split("/")
                for k in range(1, len(parts)):
                    self._clear("/".join(parts[:k]), os.path.join(self._root, *parts[:k]))
                os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        self._given.add(rel)
        if self._unit is not None:
            self._unit.append(rel)
        return path

    def _clear(self, rel: str, path: str) -> None:
        """Removes the recycled generation's entry at `rel`, if any: a file is never written
        in place (its inode may be shared with other generations), always anew."""
        if self._stale.pop(rel, None) is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            self.removed += 1

    def _clear_folder(self, rel: str, path: str) -> None:
        """A recycled folder where a file goes: it holds only the recycled generation's files
        (one of this build's own would be a clash, reported when written)."""
        inside = [r for r in self._stale if r.startswith(f"{rel}/")]
        if any(r.startswith(f"{rel}/") for r in self._given):
            raise ValueError(f"文件与目录同名：{rel!r}")
        for r in inside:
            del self._stale[r]
        self._made = {f for f in self._made if not f.startswith(f"{path}/") and f != path}
        shutil.rmtree(path)

    def __setitem__(self, rel: str, data: FileBody) -> None:
        path = self._path(rel)
        self._clear(rel, path)
        self._kept.pop(rel, None)
        if self._recycling and os.path.isdir(path):
            self._clear_folder(rel, path)
        if isinstance(data, bytes):
            with open(path, "wb") as fh:
                fh.write(data)
            self.bytes += len(data)
            self.sums[rel] = hashlib.sha256(data).hexdigest()
        else:
            with open(path, "wb") as fh:
                out = _Hashing(fh)
                self.bytes += data.write_to(out)  # type: ignore[arg-type]
                self.sums[rel] = out.sha.hexdigest()
        self.files += 1

    def _intact(self, old: Mapping[str, Any]) -> bool:
        """Whether every file of a unit of the previous generation is still what was written
        (hashing only the files whose inode, size or ctime moved); altered ones are reported."""
        assert self._previous is not None
        previous = str(self._previous)
        sums: Mapping[str, Any] = old.get("sums") or {}
        intact = True
        for rel in old["files"]:
            path = os.path.join(previous, rel)
            record = sums.get(rel)
            try:
                if record is None:
                    return False  # written before files had records: render it again
                key = _stat_key(path)
                self._kept[rel] = key
                if key == record[1:]:
                    continue
                if _file_sha256(path) == record[0]:
                    continue
            except OSError:
                return False
            self.altered.append(rel)
            intact = False
        return intact

    def render_unit(
        self, key: str, fingerprint: str, render: Callable[[], Meta | None]
    ) -> Meta | None:
        if self._unit is not None:
            raise ValueError(f"发布单元不能嵌套：{key!r}")
        old = self._previous_units.get(key) if self._previous is not None else None
        intact: bool | None = None
        if old is not None and old.get("fingerprint") == fingerprint:
            intact = self._intact(old)
            if intact:
                return self._carry_unit(key, old)
        files: list[str] = []
        self._unit = files
        try:
            with self._guard():
                meta = render()
        except Exception as exc:
            self._unit = None
            self._failed(key, exc, files)
            if old is not None and (intact if intact is not None else self._intact(old)):
                # the site keeps what it showed; not current, so rendered again next build
                meta = self._carry_unit(key, old)
                self.units[key]["fingerprint"] = ""
                return meta
            return None
        finally:
            self._unit = None
        self.units[key] = {"fingerprint": fingerprint, "files": files, "meta": meta}
        return meta

    def _carry_unit(self, key: str, old: Mapping[str, Any]) -> Meta | None:
        sums = old.get("sums") or {}
        for rel in old["files"]:
            self._carry(rel)
            self.sums[rel] = sums[rel][0]
        self.units[key] = dict(old)
        meta: Meta | None = old.get("meta")
        return meta

    def _failed(self, key: str, exc: Exception, files: list[str]) -> None:
        """Records a unit that could not be rendered and removes its partial files. A failure
        already reported by the build before is logged in one line, not another traceback."""
        message = f"{type(exc).__name__}: {exc}"[:500]
        if self._failed_before.get(key) == message:
            log.warning("发布单元 %s 仍无法生成（已跳过）：%s", key, message)
        else:
            log.error("发布单元 %s 无法生成，已跳过，网站其余部分照常更新", key, exc_info=exc)
        self.failed[key] = message
        for rel in files:
            self._given.discard(rel)
            path = self.root / rel
            if path.is_file():
                self.bytes -= path.stat().st_size
                self.files -= 1
                path.unlink()
            self.sums.pop(rel, None)

    def _carry(self, rel: str) -> None:
        assert self._previous is not None
        source = os.path.join(self._previous, rel)
        path = self._path(rel)
        kept = self._kept.pop(rel, None)
        if kept is not None and self._stale.get(rel) == kept[0]:
            # the recycled generation holds this very file already: nothing to do, and its
            # record (taken by `_intact` just now) stays true, no link having moved its ctime
            del self._stale[rel]
            self._kept[rel] = kept
            self.linked += 1
            return
        self._clear(rel, path)
        if self._recycling and os.path.isdir(path):
            self._clear_folder(rel, path)
        try:
            os.link(source, path)  # files are never changed in place: sharing them is safe
            self.linked += 1
        except OSError:  # a file system without hard links: copy
            shutil.copyfile(source, path)
            self.files += 1
            self.bytes += os.stat(path).st_size

    def forget_kept(self) -> None:
        """The records taken by `_intact` are stale: the manifest takes every file's anew."""
        self._kept.clear()

    def finish(self) -> None:
        """Removes what is left of the recycled generation: files no unit gave this build, then
        the folders they leave empty."""
        folders: set[Path] = set()
        for rel in self._stale:
            path = self.root / rel
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self.removed += 1
            folders.update(p for p in path.parents if p != self.root and self.root in p.parents)
        self._stale.clear()
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty: still holds this build's files
                folder.rmdir()

    def manifest(self, root: Path) -> dict[str, Any]:
        """The units with each file's record [sha256, inode, size, ctime] in `root` (the
        generation), taken now: after the swap and the pruning, which move the ctime of files
        they link or unlink."""
        units: dict[str, Any] = {}
        for key, unit in self.units.items():
            sums = {}
            for rel in unit["files"]:
                try:
                    record = self._kept.get(rel) or _stat_key(root / rel)
                    sums[rel] = [self.sums[rel], *record]
                except (KeyError, OSError):
                    continue
            units[key] = {**unit, "sums": sums}
        return {"units": units, "failed": self.failed}


def _manifest_path(generation: Path) -> Path:
    """Which units a generation holds (beside it, so that syncing the site never copies it)."""
    return generation.parent / f"{generation.name}.manifest.json"


def _read_manifest(generation: Path) -> dict[str, Any] | None:
    try:
        manifest: dict[str, Any] = json.loads(
            _manifest_path(generation).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return manifest


def _current(publish_dir: Path) -> tuple[Path | None, dict[str, Any], dict[str, str]]:
    """The generation `publish_dir` points at, its units and the units that failed in it
    (none if it has no manifest)."""
    if not publish_dir.is_symlink():
        return None, {}, {}
    generation = publish_dir.resolve()
    manifest = _read_manifest(generation)
    if manifest is None:
        return None, {}, {}
    return generation, manifest.get("units", {}), manifest.get("failed", {})


def site_state(publish_dir: Path) -> dict[str, Any]:
    """What the live site is: its generation and the units its build could not render (for
    `/api/v1/health`); {} before a first publication."""
    publish_dir = Path(os.path.abspath(publish_dir))
    if not publish_dir.is_symlink():
        return {}
    generation = publish_dir.resolve()
    manifest = _read_manifest(generation) or {}
    return {"generation": generation.name, "failed_units": manifest.get("failed", {})}


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


BUILDING = ".building-"


def _clean_leftovers(gens: Path) -> None:
    """Removes folders of builds that never completed (a killed process left them): under the
    build lock, no other build is running."""
    for path in gens.iterdir():
        if path.name.startswith(BUILDING) and path.is_dir():
            log.warning("删除未完成的发布目录（上次发布被中断）：%s", path.name)
            shutil.rmtree(path, ignore_errors=True)


def _olds(gens: Path, current: Path | None) -> list[Path]:
    """The completed generations besides `current`, newest first."""
    return sorted(
        (
            p
            for p in gens.iterdir()
            if p.is_dir() and p != current and not p.name.startswith(BUILDING)
        ),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )


def _prune(gens: Path, current: Path) -> int:
    """Keeps the newest `KEEP_GENERATIONS` completed generations besides the current one, and
    one more, which the next build recycles (`_recyclable`); removes the others. Returns how
    many it removed."""
    old = _olds(gens, current)[KEEP_GENERATIONS + 1 :]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
        _manifest_path(path).unlink(missing_ok=True)
    return len(old)


def _recyclable(gens: Path, current: Path) -> Path | None:
    """The generation a build may reuse as its building folder: the one beyond the
    `KEEP_GENERATIONS` newest besides `current`, which would otherwise be deleted."""
    old = _olds(gens, current)
    return old[KEEP_GENERATIONS] if len(old) > KEEP_GENERATIONS else None


def _entries(root: Path) -> dict[str, int]:
    """Every file under `root`: rel → inode (from the directory listing, no stat)."""
    out: dict[str, int] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                rel = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), f"{rel}/"))
                else:
                    out[rel] = entry.inode()
    return out


def build_site(
    publish_dir: Path,
    produce: Callable[[FileSink], None],
    *,
    carry: bool = True,
    guard: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
) -> PublishReport:
    """Builds a new generation from the files `produce` gives its sink (each written as it
    comes; units unchanged since the current generation linked from it unless `carry` is
    False; each unit rendered inside `guard`, skipped and reported if it fails) and makes it
    current atomically; if `produce` itself fails, nothing changes."""
    publish_dir = Path(os.path.abspath(publish_dir))
    publish_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(publish_dir):
        gens = _generations_dir(publish_dir)
        gens.mkdir(exist_ok=True)
        _clean_leftovers(gens)
        previous, units, failed_before = _current(publish_dir)
        if not carry:
            previous, units = None, {}
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        building = gens / f"{BUILDING}{stamp}-{os.getpid()}-{time.time_ns()}"
        # An incremental build reuses the generation it would otherwise delete: renamed away
        # first (a reader still holding its name finds nothing, as when it is deleted), then
        # updated — the files carried since it was built are already there, so it costs no
        # link now and no unlink later; only what changed since is removed or written.
        recycle = _recyclable(gens, previous) if previous is not None else None
        try:
            recycled: dict[str, int] = {}
            if recycle is not None:
                _manifest_path(recycle).unlink(missing_ok=True)
                os.rename(recycle, building)
                recycled = _entries(building)
            else:
                building.mkdir()
            sink = _TreeWriter(building, previous, units, guard, failed_before, recycled)
            produce(sink)
            sink.finish()
            os.utime(building)  # generations are ordered by the time they were built
            pause_at("publish.before_swap")
            generation = gens / f"g-{stamp}-{time.time_ns()}"
            os.rename(building, generation)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _swap(publish_dir, generation)
        if _prune(gens, generation):
            # the generations removed may have shared files with this one (their ctime moved)
            sink.forget_kept()
        # Written last, with the files' final ctimes; a build killed before this point leaves
        # a generation without a manifest: the next build renders every unit.
        tmp = gens / f".{generation.name}.manifest.tmp"
        tmp.write_text(
            json.dumps(sink.manifest(generation), ensure_ascii=False, sort_keys=True),
            encoding="utf-8",
        )
        os.replace(tmp, _manifest_path(generation))
    if sink.altered:
        log.warning(
            "公开网站上 %d 个文件与发布时不一致，已重新生成：%s",
            len(sink.altered),
            "、".join(sink.altered[:20]),
        )
    return PublishReport(
        generation=generation,
        files=sink.files + sink.linked,
        bytes=sink.bytes,
        files_written=sink.files,
        files_linked=sink.linked,
        failed_units=dict(sink.failed),
        altered_files=list(sink.altered),
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
    # 一公开 as a log (app/publish/log.py): every event above logged, a checkpoint signed and
    # cosigned, each plan version linked to its leaf — before anything is rendered.
    log_state, logged = log_publication(session, data, get_settings())
    assets = load_assets()
    # 统计分析 section (app/stats): HT estimates of the current public draws, one unit each.
    public = [d.id for d in data.draws if d.public and d.status == DrawStatus.CURRENT]

    def produce(sink: FileSink) -> None:
        render_into(sink, data, assets)
        with gc_paused():  # per-stratum estimates and pages (11,000 strata nationally)
            _render_statistics(sink, session, data, public)
        # 检查码核验 and 机构年度检查次数 (app/publish/inspections.py)
        inspection_pages(sink, session, data, key_file=get_settings().signing_key_file)
        render_log(sink, logged)

    report = build_site(publish_dir, produce, carry=not full, guard=session.begin_nested)
    return dataclasses.replace(report, log=log_state)


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
        if meta is None:  # could not be rendered (reported by the writer): no index entry
            continue
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
