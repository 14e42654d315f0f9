"""Performs a plan's draw: read the frame, run the pure engine, store tasks, teams and the record.

One transaction, in steps: check the plan and the entropy, draw the targets, draw the teams,
then write the draw, its population file, its tasks and their teams. Any refusal before the
write leaves nothing behind.
"""

import gzip
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.draw import (
    ALGORITHM,
    DrawInputError,
    EntropyError,
    PlanItem,
    TargetDraw,
    derive_seed,
    draw_targets,
    normalize_entropy,
)
from app.draw.teams import TeamAssignment, TeamInfeasible, TeamParams, TeamTask, assign_teams
from app.errors import Conflict, NotFound, ValidationFailed
from app.faults import pause_at
from app.gcpause import gc_paused
from app.models import Draw, DrawPopulation, Item, Plan, Task, TaskMember
from app.models.base import utcnow
from app.plans import frame
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.registries.bulk import bulk_insert
from app.states import DrawStatus, PlanStatus, TaskStatus, plan_label

SCHEMA_VERSION = "1"
_TASKS: Table = Task.__table__  # type: ignore[assignment]
_MEMBERS: Table = TaskMember.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class _Inputs:
    """What a draw is a function of, once the plan and the entropy have been checked."""

    plan: Plan
    spec: PlanIn
    seed: str
    entropy: str
    items: list[Item]
    plan_items: list[PlanItem]
    now: datetime


def perform_draw(session: Session, *, code: str, entropy: str, actor: str) -> Draw:
    """Draws a published plan once; infeasibility or bad entropy writes nothing."""
    with gc_paused():  # snapshot, draw, rows and JSON body: millions of objects, no cycles
        inputs = _inputs(session, code=code, entropy=entropy)
        population = frame.population_units(session, inputs.spec, inputs.items, inputs.now)
        if not population:
            raise ValidationFailed(
                "计划范围内没有可抽取的检查对象（在册、状态正常、适用本计划事项）",
                errors=[{"field": "scope", "message": "抽样总体为空"}],
            )
        try:
            target_draw = draw_targets(
                seed=inputs.seed,
                population=population,
                items=inputs.plan_items,
                params=frame.sampling_params(inputs.spec),
            )
        except DrawInputError as exc:
            raise ValidationFailed(
                str(exc), errors=[{"field": "plan", "message": str(exc)}]
            ) from None
        info = frame.names_regions(session, (t.uscc for t in target_draw.tasks))
        teams = _draw_teams(session, inputs, target_draw, info)
        team_of = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
        draw = _store(session, inputs, target_draw, teams, team_of, info, len(population), actor)
        session.add(
            DrawPopulation(
                draw_id=draw.id,
                sha256=target_draw.population_sha256,
                lines_gz=frame.population_gzip(population, inputs.plan_items),
            )
        )
        session.flush()
        _store_tasks(session, draw, target_draw, team_of, info, inputs.now)
        audit.append(
            session,
            actor=actor,
            action="draw.create",
            entity=f"draw:{draw.id}",
            data={
                "plan": inputs.plan.code,
                "seed": inputs.seed,
                "entropy": inputs.entropy,
                "population_sha256": target_draw.population_sha256,
                "tasks": draw.task_count,
            },
        )
        pause_at("draw.before_commit")
        return draw


def _inputs(session: Session, *, code: str, entropy: str) -> _Inputs:
    """The locked plan, the checked entropy and the seed; 409/422 when it cannot be drawn."""
    plan = plans.get(session, code, for_update=True)
    if plan.status == PlanStatus.DRAWN:
        raise Conflict("该计划已抽取，不得重复抽取；如确需重抽，请提交计划调整（附理由）")
    if plan.status != PlanStatus.PUBLISHED:
        raise Conflict(f"计划状态为{plan_label(plan.status)}，须先发布（公布承诺值）才能抽取")
    try:
        public_entropy = normalize_entropy(entropy)
    except EntropyError as exc:
        raise ValidationFailed(
            str(exc), errors=[{"field": "entropy", "message": str(exc)}]
        ) from None
    spec = PlanIn.model_validate(plan.spec)
    assert plan.commitment and plan.secret
    items = list(session.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    return _Inputs(
        plan=plan,
        spec=spec,
        seed=derive_seed(commitment=plan.commitment, secret=plan.secret, entropy=public_entropy),
        entropy=public_entropy,
        items=items,
        plan_items=[PlanItem(code=i.code, target_kinds=frozenset(i.target_kinds)) for i in items],
        now=utcnow(),
    )


def _draw_teams(
    session: Session,
    inputs: _Inputs,
    target_draw: TargetDraw,
    info: dict[str, tuple[str, str]],
) -> TeamAssignment:
    """The second random: a team per drawn target; 422 naming targets and constraints."""
    spec = inputs.spec
    expertise = {i.code: frozenset(i.expertise) for i in inputs.items}
    team_tasks = [
        TeamTask(
            uscc=t.uscc,
            region=info[t.uscc][1],
            required_expertise=frozenset().union(*(expertise[c] for c in t.items)),
        )
        for t in target_draw.tasks
    ]
    params = TeamParams(
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
        return assign_teams(
            seed=inputs.seed, tasks=team_tasks, inspectors=frame.team_pool(session), params=params
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


def _task_id(draw_id: str, n: int) -> str:
    return f"{draw_id}-{n:05d}"


def _store(
    session: Session,
    inputs: _Inputs,
    target_draw: TargetDraw,
    teams: TeamAssignment,
    team_by_uscc: dict[str, dict[str, Any]],
    info: dict[str, tuple[str, str]],
    population_size: int,
    actor: str,
) -> Draw:
    """The draw row and its published body; 409 if another request drew the plan first."""
    plan, now = inputs.plan, inputs.now
    seq = plan.draw_count + 1
    draw_id = f"{plan.code}-D{seq}"
    published_tasks: list[dict[str, Any]] = []
    for n, t in enumerate(target_draw.tasks, start=1):
        name, region = info[t.uscc]
        published_tasks.append(
            {
                "id": _task_id(draw_id, n),
                **t.to_dict(),
                "name": name,
                "region": region,
                "required_expertise": team_by_uscc[t.uscc]["required_expertise"],
                "team": team_by_uscc[t.uscc]["team"],
            }
        )
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": draw_id,
        "plan": plan.code,
        "plan_version": plan.version,
        "seq": seq,
        "status": DrawStatus.CURRENT.value,
        "drawn_at": now.isoformat(),
        "algorithm": ALGORITHM,
        "seed": inputs.seed,
        "seed_inputs": {
            "commitment": plan.commitment,
            "secret": plan.secret,
            "entropy": inputs.entropy,
        },
        "population_sha256": target_draw.population_sha256,
        "population_file": f"{draw_id}.population.csv",
        "population_size": population_size,
        "params": target_draw.to_dict()["params"],
        "strata": [s.to_dict() for s in target_draw.strata],
        "team_params": teams.params.to_dict(),
        "inspector_pool": teams.inspector_pool_dict(),
        "exclusions": list(teams.exclusions),
        "tasks": published_tasks,
    }
    assert plan.commitment and plan.secret
    draw = Draw(
        id=draw_id,
        plan_code=plan.code,
        seq=seq,
        status=DrawStatus.CURRENT,
        algorithm=ALGORITHM,
        seed=inputs.seed,
        commitment=plan.commitment,
        secret=plan.secret,
        entropy=inputs.entropy,
        population_sha256=target_draw.population_sha256,
        task_count=len(published_tasks),
        body=body,
        created_at=now,
        actor=actor,
    )
    session.add(draw)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("该计划已被另一请求抽取 (drawn concurrently)") from None
    plan.status, plan.draw_count, plan.updated_at = PlanStatus.DRAWN, seq, now
    return draw


def _store_tasks(
    session: Session,
    draw: Draw,
    target_draw: TargetDraw,
    team_by_uscc: dict[str, dict[str, Any]],
    info: dict[str, tuple[str, str]],
    now: datetime,
) -> None:
    """The task rows and their teams (task_members, the one store of teams), in bulk."""
    task_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    for n, t in enumerate(target_draw.tasks, start=1):
        task_id = _task_id(draw.id, n)
        name, region = info[t.uscc]
        task_rows.append(
            {
                "id": task_id,
                "draw_id": draw.id,
                "seq": n,
                "plan_code": draw.plan_code,
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
            for k, m in enumerate(team_by_uscc[t.uscc]["team"])
        ]
    bulk_insert(session, _TASKS, task_rows)
    bulk_insert(session, _MEMBERS, member_rows)


def population_text(session: Session, draw_id: str) -> str:
    """The canonical population file of a draw."""
    row = session.get(DrawPopulation, draw_id)
    if row is None:
        raise NotFound(f"没有抽取 {draw_id}")
    return gzip.decompress(row.lines_gz).decode()
