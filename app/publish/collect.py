"""Reads everything publishable from the database into plain data (no rendering here).

What is never collected: draft plans, the secret of an undrawn plan, task lists of
`after_window` plans whose window is still open (Asia/Shanghai date), inspector data beyond
name and 执法证号, evidence.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session, defer

from app.audit.service import head
from app.clock import local_date
from app.models import (
    Draw,
    DrawPopulation,
    DrawReplacement,
    DrawSeal,
    Inspector,
    Item,
    Plan,
    PlanFrame,
    PlanVersion,
)
from app.plans import disclosure, replacing, sealing
from app.publish.body import RawBody
from app.states import PlanStatus


@dataclass
class DrawData:
    """One draw as published; `body` is None while its task list is withheld."""

    id: str
    plan: str
    seq: int
    status: str
    drawn_at: str
    task_count: int
    superseded_at: str | None
    superseded_reason: str | None
    # As given (tests, the API) or, read for publishing, as stored: a RawBody (app/publish/body.py)
    body: dict[str, Any] | RawBody | None
    population: bytes | None
    population_gz: bytes | None
    tasks_public_from: str | None
    # A public draw read from the database has no body yet: `loader` reads its body and stored
    # population when the draw is rendered, one draw at a time (publishing memory is bounded by
    # the largest draw, not by how many draws have been published).
    loader: Callable[[], tuple[RawBody, bytes | None, bytes | None, bytes | None]] | None = None
    # A withheld draw's sealed record (existence, entropy, task-list hash; no secret, no tasks).
    sealed: dict[str, Any] | None = None
    # spotcheck-draw/3: the frozen inspector frame file (gzip) published beside the population.
    team_frame_gz: bytes | None = None
    # Its timelock seal (app/plans/sealing.py): what the sealed record says of it, and a reader
    # of its age files (`draws/{id}.sealed.age` …, published while withheld and after).
    timelock: dict[str, Any] | None = None
    seal_files: Callable[[], dict[str, bytes]] | None = None
    # Why each unit of its frame has π = 0, as frozen with the frame (app/plans/exclusions.py).
    out_gz: bytes | None = None
    # Its replacement steps as published (draws/{id}.replacements.json; docs/draw-spec-teams.md
    # §13): only for a public draw that has any.
    replacements: dict[str, Any] | None = None

    @property
    def public(self) -> bool:
        """Whether the task list is published (else withheld until `tasks_public_from`)."""
        return self.body is not None or self.loader is not None

    def loaded(self) -> DrawData:
        """This draw with its body and population read (itself if they are already here)."""
        if self.loader is None:
            return self
        body, population_gz, out_gz, team_frame_gz = self.loader()
        return replace(
            self,
            body=body,
            population_gz=population_gz,
            out_gz=out_gz,
            team_frame_gz=team_frame_gz,
            loader=None,
        )


# The newest announcements in the feed (and the results read for it).
FEED_LIMIT = 200
# Published results per page of the results section (app/publish/results_source.py).
RESULTS_PER_PAGE = 500


def page_of(result_id: int) -> int:
    """The results page (from 1) a result id is published on (a result keeps its id)."""
    return (result_id - 1) // RESULTS_PER_PAGE + 1


@dataclass
class ResultPage:
    """One page of published results (app/publish/results_source.py): `summary` says what its
    files depend on (the unit's fingerprint); `loader` reads its rows when it is rendered."""

    number: int
    count: int
    summary: Any
    loader: Callable[[], list[dict[str, Any]]]


class InspectorNames(Mapping[str, str]):
    """执法证号 -> name, read from the database the first time a draw's task list needs them
    (a build that renders no draw never reads the inspectors)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._names: dict[str, str] | None = None

    def _all(self) -> dict[str, str]:
        if self._names is None:
            self._names = _inspector_names(self._session)
        return self._names

    def __getitem__(self, badge: str) -> str:
        return self._all()[badge]

    def get(self, badge: str, default: Any = None) -> Any:
        """As Mapping.get, without its __getitem__ and KeyError per lookup (a task list looks
        up every member of every team)."""
        return self._all().get(badge, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass
class SiteData:
    """Everything the public site shows, as plain values.

    Results come either as `results` (every published result, for rendering in memory) or,
    from the database, as `result_pages` + `newest_results` + `draw_results` (read per page,
    only the pages that changed; app/publish/results_source.py)."""

    generated_at: datetime
    items: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    draws: list[DrawData]
    results: list[dict[str, Any]]
    inspector_names: Mapping[str, str] = field(default_factory=dict)
    results_available: bool = True
    # The audit chain head (seq, hash) when collected: printed on every page so that anyone
    # holding a copy of the site can later catch a rewritten audit log.
    audit_head: tuple[int, str] = (0, "0" * 64)
    result_pages: list[ResultPage] | None = None
    newest_results: list[dict[str, Any]] | None = None
    # draw id -> what its statistics depend on among its results (count, newest approval…)
    draw_results: dict[str, Any] | None = None
    # What the inspector names shown in task lists depend on (a draw unit's fingerprint);
    # None: a digest of `inspector_names`.
    inspector_digest: str | None = None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _items(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Item).where(Item.active.is_(True)).order_by(Item.code))
    return [
        {
            "code": i.code,
            "name": i.name,
            "sub_item": i.sub_item,
            "category": i.category,
            "legal_basis": i.legal_basis,
            "department": i.department,
            "target_kinds": list(i.target_kinds),
            "ratio": i.ratio,
            "frequency": i.frequency,
            "method": i.method,
            "expertise": list(i.expertise),
            "version": i.version,
            "updated_at": _iso(i.updated_at),
        }
        for i in rows
    ]


def _public_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "secret"}


def _plans(session: Session) -> list[dict[str, Any]]:
    plans = list(
        session.scalars(
            select(Plan)
            .where(Plan.status != PlanStatus.DRAFT)
            .order_by(Plan.published_at, Plan.code)
        )
    )
    versions: dict[str, list[dict[str, Any]]] = {}
    stmt = (
        select(PlanVersion)
        .where(PlanVersion.public.is_(True))
        .order_by(PlanVersion.plan_code, PlanVersion.version)
    )
    for v in session.scalars(stmt):
        versions.setdefault(v.plan_code, []).append(
            {
                "version": v.version,
                "kind": v.kind,
                "reason": v.reason,
                "commitment": v.commitment,
                "published_at": _iso(v.created_at),
                "algorithm": v.algorithm,
                "frame_sha256": v.frame_sha256,
                "entropy_source": (v.spec or {}).get("entropy_source") if v.frame_sha256 else None,
                "spec": _public_spec(v.spec),
                # spotcheck-draw/3: the frozen inspector frame's hash
                **({"team_frame_sha256": v.team_frame_sha256} if v.team_frame_sha256 else {}),
                # the plan's items as read at the publication (docs/draw-spec-teams.md §12.10)
                **({"frozen_items": v.frozen_items} if v.frozen_items is not None else {}),
                # a re-draw: the listed changes to the original frames, each with its reason
                **({"frame_changes": v.frame_changes} if v.frame_changes else {}),
            }
        )
    draws: dict[str, list[str]] = {}
    for plan_code, draw_id in session.execute(
        select(Draw.plan_code, Draw.id).order_by(Draw.plan_code, Draw.seq)
    ):
        draws.setdefault(plan_code, []).append(draw_id)
    out = []
    for p in plans:
        out.append(
            {
                "code": p.code,
                "title": p.title,
                "status": p.status,
                "version": p.version,
                "published_at": _iso(p.published_at),
                "updated_at": _iso(p.updated_at),
                # The plan's commitment is public; its secret only ever through a draw body.
                "commitment": p.commitment,
                "spec": _public_spec(p.spec),
                "versions": versions.get(p.code, []),
                "draws": draws.get(p.code, []),
            }
        )
    return out


def _draws(session: Session, plan_specs: dict[str, dict[str, Any]], today: date) -> list[DrawData]:
    out = []
    disclosed = disclosure.draw_disclosure(session, today)
    seals = {s.draw_id: sealing.timelock_record(s) for s in session.scalars(select(DrawSeal))}
    replaced: dict[str, list[DrawReplacement]] = {}
    for r in session.scalars(
        select(DrawReplacement).order_by(DrawReplacement.draw_id, DrawReplacement.seq)
    ):
        replaced.setdefault(r.draw_id, []).append(r)
    stmt = select(Draw).options(defer(Draw.body)).order_by(Draw.created_at, Draw.id)
    for d in session.scalars(stmt):
        spec = plan_specs.get(d.plan_code)
        if spec is None:
            continue
        public, public_from = disclosed.get(d.id, (False, None))
        sealed = None
        if not public:  # the few keys of the sealed record, never the withheld task list
            keys = (*disclosure.SEALED_KEYS, "seed_inputs")
            row = session.execute(
                select(*(Draw.body[k].label(k) for k in keys)).where(Draw.id == d.id)
            ).one()
            sealed = disclosure.sealed_record(row._asdict(), d.task_count, seals.get(d.id))
        out.append(
            DrawData(
                id=d.id,
                plan=d.plan_code,
                seq=d.seq,
                status=d.status,
                drawn_at=_iso(d.created_at) or "",
                task_count=d.task_count,
                superseded_at=_iso(d.superseded_at),
                superseded_reason=d.superseded_reason,
                body=None,
                population=None,
                population_gz=None,
                tasks_public_from=public_from,
                loader=partial(
                    _load_draw,
                    session,
                    d.id,
                    {
                        "status": d.status,
                        "superseded_at": _iso(d.superseded_at),
                        "superseded_reason": d.superseded_reason,
                    },
                )
                if public
                else None,
                sealed=sealed,
                timelock=seals.get(d.id),
                seal_files=partial(sealing.seal_files, session, d.id) if d.id in seals else None,
                replacements=replacing.published(d.id, replaced[d.id])
                if public and d.id in replaced
                else None,
            )
        )
    return out


def _load_draw(
    session: Session, draw_id: str, state: dict[str, Any]
) -> tuple[RawBody, bytes | None, bytes | None, bytes | None]:
    """Body (as stored, with its current status laid over it), stored population gzip, the
    frame's reasons of π = 0 and (under /3) the inspector frame gzip of one public draw, read
    as columns so that the session keeps no reference to them. The body stays JSON text, its
    tasks decoded a chunk at a time when rendered (app/publish/body.py)."""
    text = session.execute(select(cast(Draw.body, Text)).where(Draw.id == draw_id)).scalar_one()
    body = RawBody(text, state)
    row = session.execute(
        select(DrawPopulation.lines_gz, DrawPopulation.team_frame_gz).where(
            DrawPopulation.draw_id == draw_id
        )
    ).first()
    population_gz, team_frame_gz = (None, None) if row is None else (row[0], row[1])
    out_gz = None
    plan_version = body.get("plan_version")
    if isinstance(plan_version, int):
        out_gz = session.scalar(
            select(PlanFrame.out_gz).where(
                PlanFrame.plan_code == body.get("plan"),
                PlanFrame.version == plan_version,
            )
        )
    return body, population_gz, out_gz, team_frame_gz


def _inspector_names(session: Session) -> dict[str, str]:
    """执法证号 -> name of every inspector (only those in a published team are shown)."""
    return {badge: name for badge, name in session.execute(select(Inspector.badge, Inspector.name))}


def _inspector_digest(session: Session) -> str:
    """What the inspector names depend on, as one aggregate: their number, the newest change
    and the sum of versions (an import that renames one bumps its version and updated_at)."""
    row = session.execute(
        select(func.count(), func.max(Inspector.updated_at), func.sum(Inspector.version))
    ).one()
    return hashlib.sha256(repr(tuple(row)).encode()).hexdigest()


def _results_available() -> bool:
    """Whether the results module is installed (app/models/results.py)."""
    return importlib.util.find_spec("app.models.results") is not None


def result_pages(data: SiteData) -> list[ResultPage]:
    """The pages of published results: as collected, or made from `data.results`."""
    if data.result_pages is not None:
        return data.result_pages
    by_page: dict[int, list[dict[str, Any]]] = {}
    for k, r in enumerate(data.results, 1):
        by_page.setdefault(page_of(int(r.get("id", k))), []).append(r)
    return [
        ResultPage(n, len(rows), rows, lambda rows=rows: rows)  # type: ignore[misc]
        for n, rows in sorted(by_page.items())
    ]


def newest_results(data: SiteData) -> list[dict[str, Any]]:
    """The FEED_LIMIT most recently published results, newest first."""
    if data.newest_results is not None:
        return data.newest_results
    rows = sorted(data.results, key=lambda r: r.get("published_at") or "", reverse=True)
    return rows[:FEED_LIMIT]


# When the result of a task of a withheld draw goes public: decided_on → the first day it is
# published (app/publish/publisher.py makes it from the 20-working-day deadline).
ResultRelease = Callable[[date], date]


def released(
    result: dict[str, Any], public_draws: set[str], today: date, rule: ResultRelease | None
) -> bool:
    """Whether an approved result is public today: with its draw's task list, or — a task of a
    withheld (after_window) draw, which was visited since it has a result — from the day
    `rule` gives, before its deadline; the draw's unvisited tasks stay hidden."""
    if result.get("published_at") is not None or result.get("draw_id") in public_draws:
        return True
    if rule is None:
        return False
    return today >= rule(date.fromisoformat(result["decided_on"]))


def releasable_results(
    session: Session, *, now: datetime, result_release: ResultRelease | None = None
) -> list[int]:
    """Ids of the approved results not yet published that are public at `now` (`released`):
    the build marks them published before it collects (app/publish/write.py)."""
    if not _results_available():
        return []
    source = importlib.import_module("app.publish.results_source")
    today = local_date(now)
    disclosed = disclosure.draw_disclosure(session, today)
    public_draws = {draw_id for draw_id, (public, _) in disclosed.items() if public}
    waiting: list[dict[str, Any]] = source.unpublished_results(session)
    return [int(r["id"]) for r in waiting if released(r, public_draws, today, result_release)]


def collect(session: Session, *, now: datetime) -> SiteData:
    """Everything publishable at `now`, as plain data: the results published so far (by page,
    read when rendered); `releasable_results` says which to mark published first."""

    today = local_date(now)
    plans = _plans(session)
    specs = {p["code"]: p["spec"] for p in plans}
    draws = _draws(session, specs, today)
    available = _results_available()
    pages: list[ResultPage] = []
    newest: list[dict[str, Any]] = []
    draw_results: dict[str, Any] = {}
    if available:
        source = importlib.import_module("app.publish.results_source")
        pages = [
            ResultPage(n, s["count"], s, partial(source.page_rows, session, n))
            for n, s in source.page_summaries(session).items()
        ]
        newest = source.newest_results(session, FEED_LIMIT)
        draw_results = source.draw_result_summaries(session)
    return SiteData(
        generated_at=now,
        items=_items(session),
        plans=plans,
        draws=draws,
        results=[],
        inspector_names=InspectorNames(session),
        results_available=available,
        audit_head=head(session),
        result_pages=pages,
        newest_results=newest,
        draw_results=draw_results,
        inspector_digest=_inspector_digest(session),
    )
