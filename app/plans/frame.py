"""The sampling frame of a plan read from the registries: the population the draw runs on.

Built for 1,000,000 targets: columnar (app/draw/population.py), strata and weights computed once
per distinct value. A spotcheck-draw/2 plan's frame is captured once, at publication (`capture`),
stored as its population file and read back by the draw (`read_frame`): edits, deactivations or
back-dated grades recorded after the publication cannot change the draw.
"""

import collections
import dataclasses
import gzip
import hashlib
import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ClauseElement, String, and_, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from app.clock import local_date
from app.draw import (
    ALGORITHM_V3,
    CURRENT_ALGORITHM,
    FROZEN_FRAME,
    DrawInputError,
    PlanItem,
    Population,
    PopulationBuilder,
    SamplingParams,
    columns,
    population_file_chunks,
    read_population_file,
    risk_config_from_plan,
    risk_weight,
    stratum_key,
)
from app.draw.engine import FileColumns, PopulationFile
from app.draw.population import USCC_LENGTH, in_uscc_order
from app.draw.team_frame import (
    FrameInspector,
    frame_pool,
    frame_tokens,
    read_team_frame,
    team_frame_bytes,
)
from app.draw.teams import Inspector as TeamInspector
from app.draw.teams import recusal_of
from app.errors import ValidationFailed
from app.gcpause import gc_paused
from app.models import Inspector, Item, Target, TaskMember, Visit, VisitMember
from app.plans import disclosure, exclusions
from app.plans.schemas import PlanIn
from app.registries.grades import grades_at
from app.states import InspectorStatus, TargetStatus
from app.visits import reader as visit_reader

COMPLAINT_TAGS = ("举报", "投诉")


def parse_tags(tags: Iterable[str]) -> tuple[int, frozenset[str]]:
    """(complaint count, flags) from tags like "举报:2", "智能监控:3", "重点监控"."""
    complaints, flags = 0, set()
    for tag in tags:
        name, _, count = tag.partition(":")
        n = int(count) if count.strip().isdigit() else 1
        if name in COMPLAINT_TAGS:
            complaints += n
        elif n > 0:
            flags.add(name)
    return complaints, frozenset(flags)


def _cooling(session: Session, plan: PlanIn, now: Any) -> tuple[dict[str, set[str]], set[str]]:
    """Per USCC, the plan's items it is held for by a visit (docs/rules.md#r4): an inspection
    for `cooldown_days` from the day it was carried out, an open visit of another plan until it
    is closed (app/visits/rule.py); a 未检查 or void visit never; and the ids of the draws that
    contributed (a withheld one makes the frame withheld too, `capture`)."""
    holds = visit_reader.cooling(
        session,
        plan_code=plan.code,
        items=plan.items,
        today=local_date(now),
        cooldown_days=plan.cooldown_days,
    )
    out: dict[str, set[str]] = {}
    draws: set[str] = set()
    for uscc, hs in holds.items():
        out[uscc] = {i for h in hs for i in h.items}
        for h in hs:
            draws |= h.draws
    return out, draws


def cap_exempt(tags: Iterable[str], exempt: Iterable[str]) -> bool:
    """Whether tags like "举报:2" lift the yearly cap: one of the plan's `yearly_cap_exempt`
    tags with a count above 0 (a complaint on record, docs/rules.md#r4-5)."""
    names = set(exempt)
    for tag in tags:
        name, _, count = tag.partition(":")
        if name in names and (int(count) if count.strip().isdigit() else 1) > 0:
            return True
    return False


def _year_checks(session: Session, plan: PlanIn) -> tuple[dict[str, int], set[str]]:
    """Per USCC, its visits (一次检查) counted in the calendar year of the plan's window start:
    inspections carried out that year (北京时间), open visits of other plans planned for it; 未检查
    and void visits never (docs/rules.md#r4-5, app/visits/rule.py); and the ids of the draws
    that contributed."""
    if not plan.yearly_caps:
        return {}, set()
    counted = visit_reader.year_visits(session, plan_code=plan.code, year=plan.window.start.year)
    draws: set[str] = set()
    for cs in counted.values():
        for c in cs:
            draws |= c.draws
    return {uscc: len(cs) for uscc, cs in counted.items()}, draws


_NO_ITEMS: frozenset[str] = frozenset()


def _stratum_getter(keys: list[str]) -> Callable[[str, str, str | None, str], list[str]]:
    """(kind, level, ownership, region) → the stratum values the plan stratifies by."""

    def values(kind: str, level: str, ownership: str | None, region: str) -> list[str]:
        by_key = {
            "kind": kind,
            "level": level,
            "ownership": ownership or "未知",
            "region": region,
            "city": region[:4],
        }
        return [by_key[k] for k in keys]

    return values


def _population(
    session: Session, plan: PlanIn, items: list[Item], now: Any, *, with_info: bool
) -> tuple[Population, set[str]]:
    """Streams the in-scope targets into a columnar Population (with each unit's name and
    region when `with_info`), and the ids of the draws whose tasks set its cooling items or
    its inspections this year (a plan with yearly caps).

    Built for 1,000,000 rows: strata, tag parsing and risk weights are computed once per
    distinct value (they repeat), tags are parsed from their stored JSON text once per
    distinct text, and the cyclic GC is paused while a million small objects are built.
    """
    kinds = set(plan.scope.kinds)
    applicable = {k for k in kinds if any(not i.target_kinds or k in i.target_kinds for i in items)}
    # On SQLite `kind IN (…)` would walk ix_targets_kind and fetch a million rows one by one
    # through a 2 MB page cache (slower and slower as the table outgrows it); a draw reads most
    # of the table, so the condition is written so that SQLite scans the table in order instead.
    sqlite = session.get_bind().dialect.name == "sqlite"
    kind_col = func.coalesce(Target.kind, "") if sqlite else Target.kind
    conds = [
        Target.active.is_(True),
        Target.status == TargetStatus.NORMAL,
        kind_col.in_(sorted(applicable)),
    ]
    if plan.scope.regions:
        conds.append(or_(*[Target.region.startswith(r) for r in plan.scope.regions]))
    if plan.scope.levels:
        conds.append(Target.level.in_(plan.scope.levels))
    config = risk_config_from_plan(plan.risk_weights)
    cooling, cooling_draws = _cooling(session, plan, now)
    checks, check_draws = _year_checks(session, plan)
    capped = bool(plan.yearly_caps)
    exempt_of: dict[str | None, bool] = {}
    # Grades pushed by the credit module, as valid at the draw time (future ones not yet).
    pushed_grades = grades_at(session, now)
    stmt = select(
        Target.uscc,
        Target.kind,
        Target.level,
        Target.ownership,
        Target.region,
        Target.credit_grade,
        cast(Target.tags, String),
        Target.name if with_info else literal(""),
    ).where(and_(*conds))
    values_of = _stratum_getter(plan.strata)
    strata: dict[tuple[str, str, str | None, str], str] = {}
    tag_cache: dict[str | None, tuple[int, frozenset[str]]] = {}
    weights: dict[tuple[str | None, str | None], float] = {}
    # names and regions joined as they come (not a million name strings held)
    builder = PopulationBuilder(packed=with_info)
    add = builder.add
    region_of: dict[str, str] = {}
    with gc_paused():  # a million small objects (app/gcpause.py)
        # the driver's own rows in batches, not SQLAlchemy's result rows (0.3–0.5 s of CPU
        # less at national scale on SQLite, docs/performance.md)
        rows = (row for part in _driver_batches(session, stmt) for row in part)
        for uscc, kind, level, ownership, region, row_grade, tags, name in rows:
            skey = (kind, level, ownership, region)
            stratum = strata.get(skey)
            if stratum is None:
                stratum = strata[skey] = stratum_key(values_of(kind, level, ownership, region))
            grade = pushed_grades.get(uscc, row_grade)
            weight = weights.get((grade, tags))
            if weight is None:
                parsed = tag_cache.get(tags)
                if parsed is None:
                    parsed = tag_cache[tags] = parse_tags(json.loads(tags) if tags else [])
                complaints, flags = parsed
                weight = weights[(grade, tags)] = risk_weight(
                    grade=grade, complaints=complaints, flags=flags, config=config
                )
            hit = cooling.get(uscc)
            cooling_items = frozenset(hit) if hit else _NO_ITEMS
            year = None
            if capped:
                exempt = exempt_of.get(tags)
                if exempt is None:
                    exempt = exempt_of[tags] = cap_exempt(
                        json.loads(tags) if tags else [], plan.yearly_cap_exempt
                    )
                year = (checks.get(uscc, 0), exempt)
            if with_info:
                add(
                    uscc,
                    stratum,
                    kind,
                    grade,
                    weight,
                    cooling_items,
                    # one string per distinct region, not a million (55 MB at national scale)
                    region=region_of.setdefault(region, region),
                    name=name,
                    year_checks=year,
                )
            else:
                add(uscc, stratum, kind, grade, weight, cooling_items, year_checks=year)
    try:
        # in USCC order, as the file and the columns hold them (one copy of the names, not two)
        population = in_uscc_order(builder.build()) if with_info else builder.build()
    except DrawInputError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "plan", "message": str(exc)}]) from None
    return population, cooling_draws | check_draws


def _driver_batches(session: Session, stmt: ClauseElement, size: int = 5000) -> Iterator[list[Any]]:
    """The rows of `stmt` as the driver gives them (tuples), `size` at a time: through a
    server-side cursor on PostgreSQL, SQLite's own cursor otherwise; the values are bound as
    SQLAlchemy binds them (plain text here: no type needs converting)."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params()
    args: Any = (
        [params[name] for name in compiled.positiontup or ()] if compiled.positional else params
    )
    raw = conn.connection.driver_connection
    assert raw is not None
    postgres = conn.dialect.name == "postgresql"
    cursor = raw.cursor(name="spotcheck_frame_capture") if postgres else raw.cursor()
    try:
        cursor.execute(str(compiled), args)
        while part := cursor.fetchmany(size):
            yield part
    finally:
        cursor.close()


@dataclass(frozen=True)
class Frame:
    """A plan version's frozen frame: the /2 population file (gzip), its hash and size, and the
    withheld draws whose selection its `cooling_items` or `year_checks` would reveal."""

    sha256: str
    size: int
    lines_gz: bytes
    depends_on: list[str]
    population: Population | None = None
    out_gz: bytes = b""  # why each unit has π = 0 (app/plans/exclusions.py)
    # the same units as binary columns bound to `lines_gz` (app/draw/columns.py); None: parse
    columns: bytes | None = None


def capture(session: Session, plan: PlanIn, items: list[Item], now: datetime) -> Frame:
    """The frame of a plan as the registries, grades and inspections are recorded at `now`
    (the publication): active, 正常, in scope, some plan item applies; with name and region."""
    population, cooling_draws = _population(session, plan, items, now, with_info=True)
    if not len(population):
        raise ValidationFailed(
            "计划范围内没有可抽取的检查对象（在册、状态正常、适用本计划事项）",
            errors=[{"field": "scope", "message": "抽样总体为空"}],
        )
    plan_items = plan_items_of(items)
    written = PopulationFile(population, plan_items, CURRENT_ALGORITHM)
    cols = written.columns()
    # zlib and hashlib release the GIL on large buffers: a thread of its own hashes and gzips
    # the file (then compresses the columns) while this one writes the file's lines and finds
    # the π = 0 reasons — the same calls on the same bytes in the same order, on another core.
    packed = _Packer()
    packed.start()
    try:
        for chunk in written.chunks():
            packed.put(chunk)
        packed.put(None)
        packed.set_columns(cols)
        del cols, written
        out = exclusions.out_of_draw(
            session, plan, population, plan_items, sampling_params(plan, CURRENT_ALGORITHM), now
        )
        depends_on = disclosure.frame_dependencies(session, local_date(now), cooling_draws)
        out_gz = exclusions.frozen(out)
    finally:
        packed.finish()
    sha256, lines_gz, stored_columns = packed.result()
    return Frame(
        sha256=sha256,
        size=len(population),
        lines_gz=lines_gz,
        depends_on=depends_on,
        out_gz=out_gz,
        population=population,
        columns=stored_columns,
    )


class _Packer(threading.Thread):
    """The population file's SHA-256 and gzip (level 6, no name, mtime 0: the published
    bytes), taken chunk by chunk from `put` in a thread of its own; then, once the columns are
    set, the stored columns bound to that gzip (app/draw/columns.py). A chunk is handed over
    (`put` returns once the thread took it), so two are alive at most: the one compressed and
    the next one written. An error in the thread is raised again by `result`."""

    def __init__(self) -> None:
        super().__init__(name="frame-gzip", daemon=True)
        self._handed: collections.deque[bytes | None] = collections.deque()
        self._handover = threading.Condition()
        self._columns: FileColumns | None = None
        self._columns_set = threading.Event()
        self._out: tuple[str, bytes, bytes | None] | None = None
        self._error: BaseException | None = None

    def put(self, chunk: bytes | None) -> None:
        """The next chunk of the file (None: the file is whole), once the thread took it; at
        once when the thread has stopped (an error, raised by `result`)."""
        with self._handover:
            self._handed.append(chunk)
            self._handover.notify_all()
            while self._handed and self.is_alive():
                self._handover.wait(0.5)
            self._handed.clear()

    def _take(self) -> bytes | None:
        with self._handover:
            while not self._handed:
                self._handover.wait()
            chunk = self._handed.popleft()
            self._handover.notify_all()
            return chunk

    def set_columns(self, cols: FileColumns) -> None:
        """The file's columns, compressed once the gzip is made (its hash is in them)."""
        self._columns = cols
        self._columns_set.set()

    def finish(self) -> None:
        """Wait for the thread: after the columns were set, or on an error on the way (the
        file is then cut short, no columns are made and `result` is not asked for)."""
        self._columns_set.set()
        self.put(None)  # harmless after the last chunk: the thread stops at the first None
        self.join()

    def run(self) -> None:
        try:
            digest = hashlib.sha256()
            packer = zlib.compressobj(6, zlib.DEFLATED, 31)
            parts: list[bytes] = []
            while (chunk := self._take()) is not None:
                digest.update(chunk)
                parts.append(packer.compress(chunk))
            parts.append(packer.flush())
            lines_gz = b"".join(parts)
            del parts
            sha256 = digest.hexdigest()
            self._columns_set.wait()
            cols, self._columns = self._columns, None
            stored = None if cols is None else columns.of_written(cols, sha256, lines_gz)
            self._out = (sha256, lines_gz, stored)
        except BaseException as exc:  # raised again in the caller's thread (`result`)
            self._error = exc

    def result(self) -> tuple[str, bytes, bytes | None]:
        """(the file's SHA-256, its gzip, the stored columns)."""
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out


@dataclass(frozen=True)
class TeamFrame:
    """A plan version's frozen inspector frame (docs/draw-spec-teams.md §12): the public file
    (gzip), its hash, the private recusal pairs its tokens stand for, and the withheld draws
    whose tasks its open loads count."""

    sha256: str
    lines_gz: bytes
    recusals: list[list[str]]
    depends_on: list[str]


def capture_team_frame(
    session: Session, population: Population, now: datetime, key: bytes
) -> TeamFrame:
    """The inspector frame as the registry and the open tasks are recorded at `now` (the
    publication): every inspector in the registry and 在岗, with their 任务上限 and open load,
    and their declared recusals with targets of `population` as tokens keyed by `key`."""
    pool = team_pool(session)
    busy = open_tasks(session)
    declared = sorted({(i.badge, u) for i in pool for u in recusal_of(i)})
    wanted = np.array(sorted({u for _, u in declared}), dtype=f"S{USCC_LENGTH}")
    present: set[str] = set()
    if len(wanted) and len(population):
        # a sort and a binary search (np.isin hashed the million USCCs: 1.8 s at national scale)
        usccs = np.sort(np.frombuffer(population.data, dtype=f"S{USCC_LENGTH}"))
        at = np.minimum(np.searchsorted(usccs, wanted), len(usccs) - 1)
        present = {u.decode("ascii") for u in wanted[usccs[at] == wanted]}
    recusals = [[b, u] for b, u in declared if u in present]
    loaded = load_draws(session, [i.badge for i in pool if busy.get(i.badge)])
    rows = _frame_rows(session, pool, busy)
    return _team_frame(session, rows, recusals, key, now, loaded)


def _frame_rows(
    session: Session, pool: Sequence[TeamInspector], busy: dict[str, int]
) -> list[FrameInspector]:
    """The frame rows of inspectors of `pool` as the registry has them now: their 任务上限
    and open load (`busy`); tokens come with the whole frame (`_team_frame`)."""
    limits: dict[str, int | None] = {
        badge: limit
        for badge, limit in session.execute(
            select(Inspector.badge, Inspector.max_tasks).where(Inspector.active.is_(True))
        )
    }
    return [
        FrameInspector(
            badge=i.badge,
            department=i.department,
            region=i.region,
            kind=i.kind,
            expertise=i.expertise,
            max_tasks=limits.get(i.badge),
            open_tasks=busy.get(i.badge, 0),
        )
        for i in pool
    ]


def _team_frame(
    session: Session,
    rows: list[FrameInspector],
    recusals: list[list[str]],
    key: bytes,
    now: datetime,
    loaded: Iterable[str],
) -> TeamFrame:
    """The frozen frame of `rows`, each with its recusal tokens keyed by `key`; withheld while
    any draw of `loaded` (whose tasks its open loads count) is."""
    tokens = frame_tokens(key, ((b, u) for b, u in recusals))
    rows = [dataclasses.replace(r, tokens=tokens.get(r.badge, ())) for r in rows]
    data = team_frame_bytes(rows)
    return TeamFrame(
        sha256=hashlib.sha256(data).hexdigest(),
        lines_gz=gzip.compress(data, compresslevel=6, mtime=0),
        recusals=recusals,
        depends_on=disclosure.frame_dependencies(session, local_date(now), loaded),
    )


def frame_without(lines_gz: bytes, remove: set[str]) -> tuple[Frame, set[str], set[str]]:
    """A re-draw's population frame: the original frame file (gzip) less the units listed in
    `remove` (docs/rules.md#r7-3), its other lines unchanged; with the USCCs it keeps and those
    of `remove` it did not hold."""
    text = gzip.decompress(lines_gz).decode("utf-8")
    header, _, body = text.partition("\n")
    kept: list[str] = [header]
    usccs: set[str] = set()
    found: set[str] = set()
    for line in _records(body):
        uscc = line.split(",", 1)[0]
        if uscc in remove:
            found.add(uscc)
            continue
        kept.append(line)
        usccs.add(uscc)
    data = ("\n".join(kept) + "\n").encode("utf-8")
    frame = Frame(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(kept) - 1,
        lines_gz=gzip.compress(data, compresslevel=6, mtime=0),
        depends_on=[],
    )
    return frame, usccs, remove - found


def _records(body: str) -> Iterator[str]:
    """The records of a population file's body: its lines, a quoted name holding a line break
    kept whole (a record's quotes pair up)."""
    pending: list[str] = []
    quotes = 0
    for piece in body.split("\n"):
        if not pending and not piece:
            continue  # the final LF
        pending.append(piece)
        quotes += piece.count('"')
        if quotes % 2 == 0:
            yield "\n".join(pending)
            pending, quotes = [], 0
    if pending:
        yield "\n".join(pending)


def team_frame_changed(
    session: Session,
    original_gz: bytes,
    original_recusals: Iterable[Sequence[str]],
    *,
    usccs: set[str],
    remove: set[str],
    add: set[str],
    key: bytes,
    now: datetime,
) -> tuple[TeamFrame, set[str]]:
    """A re-draw's inspector frame: the original frame less the inspectors in `remove`, plus
    those in `add` as the registry has them now (in the registry and 在岗, with their 任务上限,
    open load and recusals), recusals kept only with targets still in the frame (`usccs`),
    every token keyed anew with the new version's `key`. Also the badges of `remove` and `add`
    that could not be applied (not in the frame, or not in the registry and 在岗 / already
    in the frame)."""
    original = read_team_frame(gzip.decompress(original_gz))
    rows = [r for r in original if r.badge not in remove]
    bad = remove - {r.badge for r in original}
    held = {r.badge for r in rows}
    recusals = [[b, u] for b, u in original_recusals if b in held and u in usccs]
    loaded: set[str] = set()
    if add:
        pool = {i.badge: i for i in team_pool(session) if i.badge in add}
        bad |= {b for b in add if b not in pool or b in held}
        new = [pool[b] for b in sorted(set(pool) - held)]
        rows += _frame_rows(session, new, open_tasks(session))
        for i in new:
            recusals += [[i.badge, u] for u in sorted(recusal_of(i)) if u in usccs]
        loaded = load_draws(session, [i.badge for i in new])
    recusals.sort()
    return _team_frame(session, rows, recusals, key, now, loaded), bad


def read_team_frame_pool(lines_gz: bytes, recusals: Iterable[Sequence[str]]) -> list[TeamInspector]:
    """The inspectors a /3 draw puts on teams, read from its plan version's frozen frame."""
    rows = read_team_frame(gzip.decompress(lines_gz))
    return frame_pool(rows, ((b, u) for b, u in recusals))


def load_draws(session: Session, badges: Sequence[str]) -> set[str]:
    """The draws whose visits count in the open load of `badges` (as `open_tasks` counts: the
    visits not done that they are on): what an inspector frame's loads take from other draws."""
    out: set[str] = set()
    for i in range(0, len(badges), _TEAM_CHUNK):
        stmt = (
            select(Visit.parts)
            .join(VisitMember, VisitMember.visit_id == Visit.id)
            .where(Visit.busy.is_(True), VisitMember.badge.in_(badges[i : i + _TEAM_CHUNK]))
        )
        for parts in session.scalars(stmt):
            out.update(str(p["draw"]) for p in parts or [] if p.get("draw"))
    return out


def read_frame(
    lines_gz: bytes, algorithm: str = CURRENT_ALGORITHM, stored_columns: bytes | None = None
) -> Population:
    """The population a frozen frame holds (names and regions included): from its binary
    columns when it has them and they were made with this very file (app/draw/columns.py),
    else parsed from the file (a /3 frame's names carry the formula guard)."""
    if stored_columns is not None:
        population = columns.decode(stored_columns, lines_gz)
        if population is not None:
            return population
    return read_population_file(_gunzip_chunks(lines_gz), guarded=algorithm == ALGORITHM_V3)


def _gunzip_chunks(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    inflater = zlib.decompressobj(31)
    for i in range(0, len(data), size):
        piece = inflater.decompress(data[i : i + size])
        if piece:
            yield piece
    tail = inflater.flush()
    if tail:
        yield tail


@dataclass(frozen=True, slots=True)
class FrozenItem:
    """A plan item as the registry read it at the version's publication (draw-spec-teams
    §12.10): what the draw reads of items instead of the live registry."""

    code: str
    target_kinds: list[str]
    expertise: list[str]


def frozen_items(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The published form: [{"code", "target_kinds", "expertise"}] by code, lists sorted."""
    return [
        {
            "code": i.code,
            "target_kinds": sorted(i.target_kinds),
            "expertise": sorted(i.expertise),
        }
        for i in sorted(items, key=lambda i: i.code)
    ]


def read_frozen_items(rows: Sequence[dict[str, Any]]) -> list[FrozenItem]:
    return [FrozenItem(r["code"], list(r["target_kinds"]), list(r["expertise"])) for r in rows]


def plan_items_of(items: Sequence[Item | FrozenItem]) -> list[PlanItem]:
    """The plan items as the pure draw takes them."""
    return [PlanItem(code=i.code, target_kinds=frozenset(i.target_kinds)) for i in items]


def population_units(session: Session, plan: PlanIn, items: list[Item], now: Any) -> Population:
    """The population alone, as the registries say now (the π preview; a /1 draw)."""
    return _population(session, plan, items, now, with_info=False)[0]


def names_regions(session: Session, usccs: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(name, region) of the given targets, read in chunks (only the drawn ones are needed)."""
    wanted = sorted(set(usccs))
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(wanted), 900):
        part = wanted[i : i + 900]
        stmt = select(Target.uscc, Target.name, Target.region).where(Target.uscc.in_(part))
        out.update((u, (n, r)) for u, n, r in session.execute(stmt))
    return out


def population_gzip(population: Population, items: list[PlanItem]) -> bytes:
    """gzip of the canonical population file, compressed while it is produced (the text of
    1,000,000 lines is never held whole)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [packer.compress(chunk) for chunk in population_file_chunks(population, items)]
    parts.append(packer.flush())
    return b"".join(parts)


def team_inspector(
    row: Any, *, max_tasks: int | None, as_set: Callable[[Any], frozenset[str]] = frozenset
) -> TeamInspector:
    """A registry inspector as the pure team rules see it (active = in the registry and 在岗):
    `row` an Inspector or a row of its columns by the same names, `as_set` reading its
    expertise and conflicts (lists on an Inspector)."""
    return TeamInspector(
        badge=row.badge,
        name=row.name,
        department=row.department,
        region=row.region,
        expertise=as_set(row.expertise),
        kind=row.kind,
        employer_uscc=row.employer_uscc,
        conflicts=as_set(row.conflicts),
        max_tasks=max_tasks,
        active=_on_duty(row.active, row.status),
    )


def _on_duty(active: bool, status: str) -> bool:
    """Whether an inspector may be put on a team: in the registry and 在岗."""
    return active and status == InspectorStatus.ON_DUTY


def open_tasks(session: Session) -> dict[str, int]:
    """Per badge, the visits (一次检查) the inspector is on that are not done — some kept task
    (of a current draw, or a 回头看) not 已办结 — across all plans (app/visits/reader.py)."""
    return visit_reader.open_load(session)


_TEAM_CHUNK = 900  # task ids per IN (SQLite's parameter limit)


def teams_of(session: Session, task_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Per task id, its team in order ({badge, role}, 组长 first)."""
    out: dict[str, list[dict[str, str]]] = {}
    ids = sorted(set(task_ids))
    for i in range(0, len(ids), _TEAM_CHUNK):
        rows = session.execute(
            select(TaskMember.task_id, TaskMember.badge, TaskMember.role)
            .where(TaskMember.task_id.in_(ids[i : i + _TEAM_CHUNK]))
            .order_by(TaskMember.task_id, TaskMember.position)
        )
        for task_id, badge, role in rows:
            out.setdefault(task_id, []).append({"badge": badge, "role": role})
    return out


def team_pool(session: Session) -> list[TeamInspector]:
    """Every inspector a draw may put on a team (in the registry and 在岗), with the task quota
    left: the registry's 任务上限 counts open tasks across all plans (docs/rules.md#r5-4), so
    `max_tasks` here (and in the published pool) is 任务上限 minus the open tasks."""
    busy = open_tasks(session)
    # Columns, not ORM objects, and each distinct expertise / conflicts text parsed once (20,000
    # inspectors share a few dozen); `team_inspector` makes the same inspectors of them.
    stmt = select(
        Inspector.badge,
        Inspector.name,
        Inspector.department,
        Inspector.region,
        cast(Inspector.expertise, String).label("expertise"),
        Inspector.kind,
        Inspector.employer_uscc,
        cast(Inspector.conflicts, String).label("conflicts"),
        Inspector.max_tasks,
        Inspector.active,
        Inspector.status,
    ).where(Inspector.active.is_(True), Inspector.status == InspectorStatus.ON_DUTY)
    sets: dict[str, frozenset[str]] = {}

    def as_set(text: str) -> frozenset[str]:
        got = sets.get(text)
        if got is None:
            got = sets[text] = frozenset(json.loads(text))
        return got

    return [
        team_inspector(
            r,
            max_tasks=None if r.max_tasks is None else max(0, r.max_tasks - busy.get(r.badge, 0)),
            as_set=as_set,
        )
        for r in session.execute(stmt)
    ]


def sampling_params(spec: PlanIn, algorithm: str) -> SamplingParams:
    """The engine's sampling parameters for a plan drawn under `algorithm`."""
    return SamplingParams(
        algorithm=algorithm,
        ratio=spec.ratio,
        min_per_stratum=spec.min_per_stratum,
        grade_rates=spec.grade_rates,
        weighted=bool(spec.risk_weights),
        cooldown_days=spec.cooldown_days,
        yearly_caps=spec.yearly_caps if algorithm in FROZEN_FRAME else {},
    )
