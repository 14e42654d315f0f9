"""Performs a plan's draw: snapshot the registries, run the pure engine, store tasks and teams."""

import gzip
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import String, Table, and_, cast, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.draw import (
    ALGORITHM,
    DrawInputError,
    EntropyError,
    PlanItem,
    Population,
    PopulationBuilder,
    SamplingParams,
    derive_seed,
    draw_targets,
    normalize_entropy,
    population_file_chunks,
    risk_config_from_plan,
    risk_weight,
    stratum_key,
)
from app.draw.teams import Inspector as TeamInspector
from app.draw.teams import TeamInfeasible, TeamParams, TeamTask, assign_teams
from app.errors import Conflict, ValidationFailed
from app.faults import pause_at
from app.gcpause import gc_paused
from app.models import Draw, DrawPopulation, Inspector, Item, Target, Task, TaskMember
from app.models.base import utcnow
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.registries.bulk import bulk_insert
from app.registries.grades import grades_at
from app.states import DrawStatus, PlanStatus, TaskStatus

SCHEMA_VERSION = "1"
COMPLAINT_TAGS = ("举报", "投诉")
_TASKS: Table = Task.__table__  # type: ignore[assignment]
_MEMBERS: Table = TaskMember.__table__  # type: ignore[assignment]


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


def _cooling(session: Session, plan: PlanIn, now: Any) -> dict[str, set[str]]:
    """Per USCC, the plan's items it was drawn for within cooldown_days (current draws only)."""
    if plan.cooldown_days == 0:
        return {}
    since = now - timedelta(days=plan.cooldown_days)
    wanted = set(plan.items)
    out: dict[str, set[str]] = defaultdict(set)
    stmt = (
        select(Task.uscc, Task.items)
        .join(Draw, Draw.id == Task.draw_id)
        .where(Draw.status == DrawStatus.CURRENT, Draw.created_at >= since)
    )
    for uscc, items in session.execute(stmt):
        hit = wanted.intersection(items)
        if hit:
            out[uscc] |= hit
    return out


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
) -> tuple[Population, dict[str, tuple[str, str]]]:
    """Streams the in-scope targets into a columnar Population (and names/regions by USCC).

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
    conds = [Target.active.is_(True), Target.status == "正常", kind_col.in_(sorted(applicable))]
    if plan.scope.regions:
        conds.append(or_(*[Target.region.startswith(r) for r in plan.scope.regions]))
    if plan.scope.levels:
        conds.append(Target.level.in_(plan.scope.levels))
    config = risk_config_from_plan(plan.risk_weights)
    cooling = _cooling(session, plan, now)
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
    builder = PopulationBuilder()
    add = builder.add
    info: dict[str, tuple[str, str]] = {}
    with gc_paused():  # a million small objects (app/gcpause.py)
        # Core rows in batches (not ORM result processing, not one fetch call per row).
        result = session.connection().execute(stmt.execution_options(yield_per=5000))
        rows = (row for part in result.partitions() for row in part)
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
            add(uscc, stratum, kind, grade, weight, frozenset(hit) if hit else _NO_ITEMS)
            if with_info:
                info[uscc] = (name, region)
    try:
        population = builder.build()
    except DrawInputError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "plan", "message": str(exc)}]) from None
    return population, info


def snapshot(
    session: Session, plan: PlanIn, items: list[Item], now: Any
) -> tuple[Population, dict[str, tuple[str, str]]]:
    """The population (active, 正常, in scope, some item applies) and names/regions by USCC."""
    return _population(session, plan, items, now, with_info=True)


def population_units(session: Session, plan: PlanIn, items: list[Item], now: Any) -> Population:
    """The population alone: what a draw needs before it knows which targets it drew."""
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


def _team_pool(session: Session) -> list[TeamInspector]:
    rows = session.scalars(
        select(Inspector).where(Inspector.active.is_(True), Inspector.status == "在岗")
    )
    return [
        TeamInspector(
            badge=i.badge,
            name=i.name,
            department=i.department,
            region=i.region,
            expertise=frozenset(i.expertise),
            kind=i.kind,
            employer_uscc=i.employer_uscc,
            conflicts=frozenset(i.conflicts),
            max_tasks=i.max_tasks,
        )
        for i in rows
    ]


def sampling_params(spec: PlanIn) -> SamplingParams:
    """The engine's sampling parameters for a plan."""
    return SamplingParams(
        ratio=spec.ratio,
        min_per_stratum=spec.min_per_stratum,
        grade_rates=spec.grade_rates,
        weighted=bool(spec.risk_weights),
        cooldown_days=spec.cooldown_days,
    )


def perform_draw(session: Session, *, code: str, entropy: str, actor: str) -> Draw:
    """Draws a published plan once; infeasibility or bad entropy writes nothing."""
    with gc_paused():  # snapshot, draw, rows and JSON body: millions of objects, no cycles
        return _perform_draw(session, code=code, entropy=entropy, actor=actor)


def _perform_draw(session: Session, *, code: str, entropy: str, actor: str) -> Draw:
    plan = plans.get(session, code, for_update=True)
    if plan.status == PlanStatus.DRAWN:
        raise Conflict("该计划已抽取，不得重复抽取；如确需重抽，请提交计划调整（附理由）")
    if plan.status != PlanStatus.PUBLISHED:
        raise Conflict(f"计划状态为 {plan.status}，须先发布（公布承诺值）才能抽取")
    try:
        public_entropy = normalize_entropy(entropy)
    except EntropyError as exc:
        raise ValidationFailed(
            str(exc), errors=[{"field": "entropy", "message": str(exc)}]
        ) from None
    spec = PlanIn.model_validate(plan.spec)
    assert plan.commitment and plan.secret
    seed = derive_seed(commitment=plan.commitment, secret=plan.secret, entropy=public_entropy)
    now = utcnow()
    items = list(session.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    plan_items = [PlanItem(code=i.code, target_kinds=frozenset(i.target_kinds)) for i in items]
    population = population_units(session, spec, items, now)
    if not population:
        raise ValidationFailed(
            "计划范围内没有可抽取的检查对象（在册、状态正常、适用本计划事项）",
            errors=[{"field": "scope", "message": "抽样总体为空"}],
        )
    params = sampling_params(spec)
    try:
        target_draw = draw_targets(
            seed=seed, population=population, items=plan_items, params=params
        )
    except DrawInputError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "plan", "message": str(exc)}]) from None
    info = names_regions(session, (t.uscc for t in target_draw.tasks))
    expertise = {i.code: frozenset(i.expertise) for i in items}
    team_tasks = [
        TeamTask(
            uscc=t.uscc,
            region=info[t.uscc][1],
            required_expertise=frozenset().union(*(expertise[c] for c in t.items)),
        )
        for t in target_draw.tasks
    ]
    team_params = TeamParams(
        size=spec.team.size,
        lead_department=spec.lead_department,
        joint_departments=tuple(spec.joint_departments),
        joint_members=spec.team.joint_members,
        experts=spec.team.experts,
        cross_region=spec.team.cross_region,
        region_level=spec.team.region_level,
        max_tasks_per_inspector=spec.team.max_tasks_per_inspector,
    )
    try:
        teams = assign_teams(
            seed=seed, tasks=team_tasks, inspectors=_team_pool(session), params=team_params
        )
    except TeamInfeasible as exc:
        raise ValidationFailed(
            "无法组成满足条件的检查组，未写入任何数据："
            + "；".join(p.message for p in exc.problems[:5]),
            errors=[
                {
                    "field": f"team.{p.constraint}",
                    "message": p.message,
                    "uscc": p.uscc,
                    "region": p.region,
                }
                for p in exc.problems
            ],
        ) from None

    seq = plan.draw_count + 1
    draw_id = f"{code}-D{seq}"
    team_by_uscc = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
    task_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    published_tasks: list[dict[str, Any]] = []
    for n, t in enumerate(target_draw.tasks, start=1):
        task_id = f"{draw_id}-{n:05d}"
        name, region = info[t.uscc]
        team = team_by_uscc[t.uscc]["team"]
        task_rows.append(
            {
                "id": task_id,
                "draw_id": draw_id,
                "seq": n,
                "plan_code": code,
                "uscc": t.uscc,
                "name": name,
                "region": region,
                "stratum": t.stratum,
                "ticket": t.ticket,
                "inclusion_prob": t.inclusion_prob,
                "items": list(t.items),
                "despite_cooldown": t.despite_cooldown,
                "reason": t.reason,
                "status": TaskStatus.TO_INSPECT.value,
                "updated_at": now,
            }
        )
        member_rows += [
            {"task_id": task_id, "badge": m["badge"], "role": m["role"], "position": k}
            for k, m in enumerate(team)
        ]
        published_tasks.append(
            {
                "id": task_id,
                **t.to_dict(),
                "name": name,
                "region": region,
                "required_expertise": team_by_uscc[t.uscc]["required_expertise"],
                "team": team,
            }
        )
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": draw_id,
        "plan": code,
        "plan_version": plan.version,
        "seq": seq,
        "status": DrawStatus.CURRENT.value,
        "drawn_at": now.isoformat(),
        "algorithm": ALGORITHM,
        "seed": seed,
        "seed_inputs": {
            "commitment": plan.commitment,
            "secret": plan.secret,
            "entropy": public_entropy,
        },
        "population_sha256": target_draw.population_sha256,
        "population_file": f"{draw_id}.population.csv",
        "population_size": len(population),
        "params": target_draw.to_dict()["params"],
        "strata": [s.to_dict() for s in target_draw.strata],
        "team_params": teams.params.to_dict(),
        "inspector_pool": teams.inspector_pool_dict(),
        "exclusions": list(teams.exclusions),
        "tasks": published_tasks,
    }
    draw = Draw(
        id=draw_id,
        plan_code=code,
        seq=seq,
        status=DrawStatus.CURRENT,
        algorithm=ALGORITHM,
        seed=seed,
        commitment=plan.commitment,
        secret=plan.secret,
        entropy=public_entropy,
        population_sha256=target_draw.population_sha256,
        task_count=len(task_rows),
        body=body,
        created_at=now,
        actor=actor,
    )
    session.add(draw)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("该计划已被另一请求抽取 (drawn concurrently)") from None
    session.add(
        DrawPopulation(
            draw_id=draw_id,
            sha256=target_draw.population_sha256,
            lines_gz=population_gzip(population, plan_items),
        )
    )
    session.flush()
    bulk_insert(session, _TASKS, task_rows)
    bulk_insert(session, _MEMBERS, member_rows)
    plan.status, plan.draw_count, plan.updated_at = PlanStatus.DRAWN, seq, now
    audit.append(
        session,
        actor=actor,
        action="draw.create",
        entity=f"draw:{draw_id}",
        data={
            "plan": code,
            "seed": seed,
            "entropy": public_entropy,
            "population_sha256": target_draw.population_sha256,
            "tasks": len(task_rows),
        },
    )
    pause_at("draw.before_commit")
    return draw


def population_text(session: Session, draw_id: str) -> str:
    """The canonical population file of a draw."""
    row = session.get(DrawPopulation, draw_id)
    if row is None:
        from app.errors import NotFound

        raise NotFound(f"没有抽取 {draw_id}")
    return gzip.decompress(row.lines_gz).decode()
