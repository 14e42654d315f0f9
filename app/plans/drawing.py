"""Performs a plan's draw: read the frame, run the pure engine, store tasks, teams and the record.

One transaction, in steps: check the plan and the entropy, draw the targets, draw the teams,
then write the draw, its population file, its tasks and their teams. Any refusal before the
write leaves nothing behind.
"""

import gzip
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import keys
from app.audit import service as audit
from app.clock import local_date, local_time
from app.config import get_settings
from app.draw import (
    ALGORITHM,
    ALGORITHM_V2,
    ALGORITHM_V3,
    FROZEN_FRAME,
    SEED_INPUTS_V3,
    DrawInputError,
    EntropyError,
    PlanItem,
    TargetDraw,
    canonical_json,
    derive_seed,
    derive_seed_v2,
    derive_seed_v3,
    draw_targets,
    normalize_entropy,
    params_dict,
)
from app.draw.team_frame import openings as recusal_openings
from app.draw.teams import (
    TEAMS_ALGORITHM,
    TEAMS_ALGORITHM_2,
    TEAMS_ALGORITHM_3,
    Inspector,
    TeamAssignment,
    TeamInfeasible,
    TeamParams,
    TeamTask,
    assign_teams,
    pool_dict,
    reduced_pool,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.events import publication_due
from app.faults import pause_at
from app.gcpause import gc_paused
from app.models import (
    Draw,
    DrawPopulation,
    Item,
    Plan,
    PlanFrame,
    PlanTeamFrame,
    PlanVersion,
    Task,
    TaskMember,
)
from app.models.base import utcnow
from app.plans import entropy, frame, sealing, visits
from app.plans import service as plans
from app.plans.schemas import DrandSource, DrawIn, EntropySource, PlanIn
from app.registries.bulk import bulk_insert_rows
from app.states import DrawStatus, PlanStatus, TaskStatus, plan_label
from app.tlog import service as tlog
from app.visits import service as visit_records

log = logging.getLogger(__name__)
SCHEMA_VERSION = "1"
_TASKS: Table = Task.__table__  # type: ignore[assignment]
_MEMBERS: Table = TaskMember.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class _Inputs:
    """What a draw is a function of, once the plan and the entropy have been checked."""

    plan: Plan
    spec: PlanIn
    algorithm: str
    draw_id: str
    seed: str
    secret: str
    entropy: str
    seed_inputs: dict[str, Any]
    beacon: dict[str, Any] | None
    version: PlanVersion
    items: list[Item] | list[frame.FrozenItem]
    plan_items: list[PlanItem]
    now: datetime
    # /3: the plan version's frozen inspector frame (docs/draw-spec-teams.md §12)
    team_frame: PlanTeamFrame | None = None
    # per distinct tuple of item codes, the expertise they need (`_needs`; filled as drawn)
    needs: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DrawOutcome:
    """A kept draw, or a failed attempt recorded (and published) with its error."""

    draw: Draw
    problem: ValidationFailed | None = None


def perform_draw(session: Session, *, code: str, body: DrawIn, actor: str) -> DrawOutcome:
    """Draws a published plan once, with the entropy it announced.

    Refused (nothing written) before the announced entropy exists or with other entropy. A draw
    without a valid team is a failed attempt: recorded and published with its error (never with
    its selection), and the plan takes an adjustment with new secret and entropy source next.
    """
    # Frame, draw, rows and JSON body: millions of objects, no cycles. The collector resumes
    # once the draw's temporaries are freed (its next pass walks every object made while it
    # was paused and still alive: 0.4 s at national scale when the frame was still held).
    with gc_paused():
        return _perform_draw(session, code=code, body=body, actor=actor)


def _perform_draw(session: Session, *, code: str, body: DrawIn, actor: str) -> DrawOutcome:
    serialize_draws(session)
    compress_fast(session)
    inputs = _inputs(session, code=code, body=body)
    if inputs.algorithm in FROZEN_FRAME:
        stored = _frame(session, inputs)
        population = frame.read_frame(stored.lines_gz, inputs.algorithm, stored.frame_columns)
        population_gz = stored.lines_gz
        session.expire(stored, ["frame_columns"])  # read: not kept in the session
    else:  # a /1 plan published before the upgrade: its frame is read now, as it always was
        population = frame.population_units(
            session,
            inputs.spec,
            [i for i in inputs.items if isinstance(i, Item)],
            inputs.now,
        )
        population_gz = b""
    if not len(population):
        raise ValidationFailed(
            "计划范围内没有可抽取的检查对象（在册、状态正常、适用本计划事项）",
            errors=[{"field": "scope", "message": "抽样总体为空"}],
        )
    try:
        target_draw = draw_targets(
            seed=inputs.seed,
            population=population,
            items=inputs.plan_items,
            params=frame.sampling_params(inputs.spec, inputs.algorithm),
        )
    except DrawInputError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "plan", "message": str(exc)}]) from None
    if inputs.algorithm in FROZEN_FRAME:
        # the engine carries each drawn unit's name and region from the frozen frame
        info = {t.uscc: (t.name or "", t.region or "") for t in target_draw.tasks}
    else:
        info = frame.names_regions(session, (t.uscc for t in target_draw.tasks))
        population_gz = frame.population_gzip(population, inputs.plan_items)
    population_size = len(population)
    del population  # a national frame's columns: not held while the teams and rows are made
    pool = _pool(session, inputs)
    visit = _visits(session, inputs, target_draw, info, pool)
    # the quotas the extensions of joined visits took are not the team draw's (§13.3)
    team_pool = reduced_pool(pool, _team_params(inputs), visit.loads) if visit.loads else pool
    try:
        teams = _draw_teams(inputs, target_draw, info, team_pool, set(visit.joined))
    except ValidationFailed as problem:
        if inputs.algorithm not in FROZEN_FRAME:
            raise  # /1 kept its behaviour: nothing written
        replay = _failure_replay(inputs, target_draw, info, team_pool, set(visit.joined))
        if replay is not None and visit.rule is not None:
            replay["inspector_pool"] = _published_pool(replay["inspector_pool"], pool)
            replay |= _failed_visits(inputs, visit, replay)
        failed = _store_failed(
            session, inputs, target_draw, population_size, problem, actor, replay
        )
        _store_population(session, failed, population_gz, inputs)  # so its seed and sizes replay
        sealing.seal_draw(
            session,
            failed,
            failed.body,
            population_gz,
            local_date(inputs.now),
            _frame_file(inputs),
        )
        return DrawOutcome(failed, problem)
    team_of = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
    for t in target_draw.tasks:  # a joined task: the visit's team (docs/draw-spec-teams §11)
        if t.uscc in visit.joined:
            team_of[t.uscc] = {
                "required_expertise": sorted(_needs(inputs, t.items)),
                "team": visit.team(t.uscc),
            }
    draw = _store(
        session, inputs, target_draw, teams, team_of, info, population_size, actor, visit, pool
    )
    _store_population(session, draw, population_gz, inputs)
    _store_tasks(session, draw, target_draw, team_of, info, inputs.now, visit, inputs.plan.spec)
    seal = sealing.seal_draw(
        session, draw, draw.body, population_gz, local_date(inputs.now), _frame_file(inputs)
    )
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
            **({"sealed_to_round": seal.round} if seal is not None else {}),
        },
    )
    pause_at("draw.before_commit")
    return DrawOutcome(draw)


SCHEDULER_ACTOR = "scheduler"
DRAW_LOCK = 727003  # pg_advisory_xact_lock key, with the schema (as the audit chain's 727001)


def serialize_draws(session: Session) -> None:
    """One draw at a time, until commit: a plan drawn while another is being drawn then sees
    the other's committed tasks, and joins their visits (docs/rules.md#r4-4) and counts their
    quotas, instead of missing them. SQLite's BEGIN IMMEDIATE already serialises writers; on
    PostgreSQL, with several workers, this advisory lock does (re-entrant in one transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :k)"), {"k": DRAW_LOCK}
        )


def compress_fast(session: Session) -> None:
    """PostgreSQL (14 on, built with lz4): the rest of the transaction stores its large values
    compressed with lz4 instead of pglz (`SET LOCAL`, undone at its end). A national draw's body
    is tens of MB of JSON, which pglz took seconds to compress; the value read back is the
    same, only its compressed form on disk differs. Elsewhere nothing is done."""
    if session.get_bind().dialect.name != "postgresql":
        return
    lz4 = session.scalar(
        text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    )
    if lz4:
        session.execute(text("SET LOCAL default_toast_compression = 'lz4'"))


def draw_due_plans(session: Session, now: datetime) -> list[str]:
    """The scheduled job (app/scheduler.py): draws every published /2 plan whose announced drand
    round has come, fetching the round from a relay — the draw is determined from then on, so
    the service makes it without anyone asking (docs/rules.md#r7-2); a request made later gets
    the same draw. A round no relay serves yet is left for the next run. Dice and public-record
    plans wait for their entropy to be entered. Returns the ids of the draws made."""
    made: list[str] = []
    for plan in list(session.scalars(select(Plan).where(Plan.status == PlanStatus.PUBLISHED))):
        source = entropy.source_of(plan.spec)
        if (
            not isinstance(source, DrandSource)
            or not plan.secret_nonce
            or not entropy.exists(source, now)
            or plans.failed_attempt(session, plan) is not None
        ):
            continue
        try:
            with session.begin_nested():
                outcome = perform_draw(
                    session, code=plan.code, body=DrawIn(), actor=SCHEDULER_ACTOR
                )
        except (ValidationFailed, Conflict) as exc:
            log.info("定时抽取 %s 暂未进行：%s (scheduled draw not made yet)", plan.code, exc)
            continue
        publication_due(session, f"draw:{outcome.draw.id}")
        made.append(outcome.draw.id)
    return made


def _store_population(session: Session, draw: Draw, population_gz: bytes, inputs: _Inputs) -> None:
    """The draw's population file (its frozen frame under /2) as stored gzip; under /3 its
    inspector frame file beside it."""
    team_frame = inputs.team_frame
    session.add(
        DrawPopulation(
            draw_id=draw.id,
            sha256=draw.population_sha256,
            lines_gz=population_gz,
            team_frame_gz=None if team_frame is None else team_frame.lines_gz,
        )
    )
    session.flush()


def _frame_file(inputs: _Inputs) -> bytes | None:
    """/3: the inspector frame file as published (draws/{id}.inspectors.csv), for the seal."""
    if inputs.team_frame is None:
        return None
    return gzip.decompress(inputs.team_frame.lines_gz)


def _pool(session: Session, inputs: _Inputs) -> list[Inspector]:
    """The inspectors the draw may put on teams: under /3 the plan version's frozen inspector
    frame alone (registry edits after the publication change nothing); before /3 the
    registry as it is now."""
    if inputs.team_frame is None:
        return frame.team_pool(session)
    return frame.read_team_frame_pool(inputs.team_frame.lines_gz, inputs.team_frame.recusals)


def _team_frame(session: Session, plan: Plan, version: PlanVersion) -> PlanTeamFrame:
    stored = session.get(PlanTeamFrame, (plan.code, version.version))
    if (
        stored is None
        or version.team_frame_sha256 is None
        or stored.sha256 != version.team_frame_sha256
    ):
        raise Conflict(
            "计划版本的冻结执法人员名录缺失或与公布的哈希不符，须以计划调整重新发布"
            "（frozen inspector frame missing）"
        )
    return stored


def _frame(session: Session, inputs: _Inputs) -> PlanFrame:
    stored = session.get(PlanFrame, (inputs.plan.code, inputs.version.version))
    if stored is None or stored.sha256 != inputs.version.frame_sha256:
        raise Conflict("计划版本的冻结抽样框缺失或与公布的哈希不符 (frozen frame missing)")
    return stored


def bound_version(session: Session, plan: Plan) -> PlanVersion:
    """The public version whose commitment (and, under /2, frame and entropy source) the next
    draw of `plan` is bound to (app/plans/service.py `bound_version`)."""
    version = plans.bound_version(session, plan)
    assert version is not None, "a published plan has a public version with its commitment"
    return version


def check_anchored(session: Session, code: str, version: int, source: EntropySource) -> None:
    """With witnesses configured (a quorum), a plan version counts as published only once a
    checkpoint holding its leaf was cosigned by the quorum, and its entropy must come after
    that cosigned time (witnesses' clocks, not this server's): 409 otherwise, nothing drawn."""
    settings = get_settings()
    if settings.witness_quorum <= 0:
        return
    idx = tlog.first_leaf(session, "plan_version", tlog.plan_version_ref(code, version))
    anchor = (
        None
        if idx is None
        else tlog.anchor_of(
            session, idx, tlog.configured_witnesses(settings), settings.witness_quorum
        )
    )
    if anchor is None:
        raise Conflict(
            f"计划第 {version} 版尚未经 {settings.witness_quorum} 位见证人联署的检查点收录，"
            "不能视为已公布，不能抽取；请待公开日志发布并经见证人联署（docs/transparency-log.md）"
            "（the plan version is not yet in a checkpoint cosigned by the witnesses' quorum）"
        )
    at = entropy.source_time(source)
    if at <= anchor.at:
        raise Conflict(
            f"公布的随机源产生于 {local_time(at)}，不晚于见证人联署本计划版本的时间 "
            f"{local_time(anchor.at)}：无法证明计划在随机数产生之前已公布，拒绝抽取；"
            "请提交计划调整，公布新的未来随机源（the announced entropy does not come after "
            "the witnessed publication）"
        )


def _inputs(session: Session, *, code: str, body: DrawIn) -> _Inputs:
    """The locked plan, the checked entropy and the seed; 409/422 when it cannot be drawn."""
    plan = plans.get(session, code, for_update=True)
    if plan.status == PlanStatus.DRAWN:
        raise Conflict("该计划已抽取，不得重复抽取；如确需重抽，请提交计划调整（附理由）")
    if plan.status != PlanStatus.PUBLISHED:
        raise Conflict(f"计划状态为{plan_label(plan.status)}，须先发布（公布承诺值）才能抽取")
    assert plan.commitment
    version = bound_version(session, plan)
    failed = plans.failed_attempt(session, plan)
    if failed is not None:
        raise Conflict(
            f"本版本计划的抽取已失败并已公布（{failed}），结果已确定，不得再抽；"
            "请提交计划调整（新的密钥、承诺值与随机源）"
        )
    spec = PlanIn.model_validate(plan.spec)
    now = utcnow()
    items: list[Item] | list[frame.FrozenItem]
    if version.frozen_items is not None:
        # /3 from §12.10 on: the items as read at the publication, never the registry now
        items = frame.read_frozen_items(version.frozen_items)
    else:
        stmt = select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)
        items = list(session.scalars(stmt))
    draw_id = f"{plan.code}-D{plan.draw_count + 1}"
    if version.algorithm in FROZEN_FRAME:
        assert spec.entropy_source is not None and plan.secret_nonce and version.frame_sha256
        algorithm = version.algorithm
        got = entropy.resolve(spec.entropy_source, body, now, algorithm=algorithm)
        check_anchored(session, plan.code, version.version, spec.entropy_source)
        secret = plans.plan_secret(plan)  # 409 when this host's key does not open it
        source = plan.spec["entropy_source"]
        seed_inputs: dict[str, Any] = {
            "commitment": plan.commitment,
            "secret": secret,
            "frame_sha256": version.frame_sha256,
            "entropy_source": source,
            "entropy": got.text,
        }
        if algorithm == ALGORITHM_V3:
            team_frame = _team_frame(session, plan, version)
            seed_inputs["team_frame_sha256"] = team_frame.sha256
            # every published input but the secret is hashed in (draw-spec §11.1)
            seed = derive_seed_v3(secret=secret, inputs={k: seed_inputs[k] for k in SEED_INPUTS_V3})
        else:
            seed = derive_seed_v2(
                commitment=plan.commitment,
                secret=secret,
                frame_sha256=version.frame_sha256,
                entropy_source=source,
                entropy=got.text,
            )
        text, beacon = got.text, got.beacon
    else:
        team_frame = None
        if body.entropy is None:
            raise ValidationFailed(
                "须提交公开随机数（entropy）", errors=[{"field": "entropy", "message": "缺少"}]
            )
        try:
            text = normalize_entropy(body.entropy)
        except EntropyError as exc:
            raise ValidationFailed(
                str(exc), errors=[{"field": "entropy", "message": str(exc)}]
            ) from None
        assert plan.secret
        secret, beacon, algorithm = plan.secret, None, ALGORITHM
        seed = derive_seed(commitment=plan.commitment, secret=secret, entropy=text)
        seed_inputs = {"commitment": plan.commitment, "secret": secret, "entropy": text}
    return _Inputs(
        plan=plan,
        spec=spec,
        algorithm=algorithm,
        draw_id=draw_id,
        seed=seed,
        secret=secret,
        entropy=text,
        seed_inputs=seed_inputs,
        beacon=beacon,
        version=version,
        items=items,
        plan_items=frame.plan_items_of(items),
        now=now,
        team_frame=team_frame,
    )


def _needs(inputs: _Inputs, items: tuple[str, ...]) -> frozenset[str]:
    """The expertise a target's items need (once per distinct tuple of items)."""
    got = inputs.needs.get(items)
    if got is None:
        expertise = {i.code: frozenset(i.expertise) for i in inputs.items}
        got = inputs.needs[items] = frozenset().union(*(expertise[c] for c in items))
    return got


def _visits(
    session: Session,
    inputs: _Inputs,
    target_draw: TargetDraw,
    info: dict[str, tuple[str, str]],
    pool: list[Inspector],
) -> visits.Visits:
    """The open visits of other plans the drawn targets could join, and which tasks join."""
    found = visits.open_visits(
        session,
        plan_code=inputs.plan.code,
        spec=inputs.plan.spec,
        usccs=(t.uscc for t in target_draw.tasks),
        pool=pool,
        levels=inputs.algorithm == ALGORITHM_V3,
    )
    needs = (
        visits.Need(t.uscc, info[t.uscc][1], _needs(inputs, t.items))
        for t in target_draw.tasks
        if t.uscc in found
    )
    if inputs.algorithm == ALGORITHM_V3:  # join with extension (docs/draw-spec-teams.md §13)
        return visits.decide_extend(
            found,
            needs,
            _team_params(inputs),
            pool,
            seed=inputs.seed,
            n_tasks=len(target_draw.tasks),
        )
    return visits.decide(found, needs, _team_params(inputs), pool)


# /2: the live registry with private recusals; /3: the same rules on the frozen inspector frame.
_TEAMS_OF = {ALGORITHM_V2: TEAMS_ALGORITHM_2, ALGORITHM_V3: TEAMS_ALGORITHM_3}


def _team_params(inputs: _Inputs) -> TeamParams:
    spec = inputs.spec
    return TeamParams(
        size=spec.team.size,
        lead_department=spec.lead_department,
        joint_departments=tuple(spec.joint_departments),
        joint_members=spec.team.joint_members,
        experts=spec.team.experts,
        cross_region=spec.team.cross_region,
        region_level=spec.team.region_level,
        max_tasks_per_inspector=spec.team.max_tasks_per_inspector,
        algorithm=_TEAMS_OF.get(inputs.algorithm, TEAMS_ALGORITHM),
    )


def _draw_teams(
    inputs: _Inputs,
    target_draw: TargetDraw,
    info: dict[str, tuple[str, str]],
    pool: list[Inspector],
    joined: set[str],
) -> TeamAssignment:
    """The second random: a team per drawn target that did not join an open visit (a joined
    task takes no quota: counted once); 422 naming targets and constraints."""
    team_tasks = _team_tasks(inputs, target_draw, info, joined)
    params = _team_params(inputs)
    try:
        return assign_teams(
            seed=inputs.seed,
            tasks=team_tasks,
            inspectors=pool,
            params=params,
            # /2: the exclusion tokens are keyed (auditors get the key), recusals stay private.
            recusal_key=keys.recusal_key(inputs.draw_id)
            if inputs.algorithm in FROZEN_FRAME
            else None,
        )
    except TeamInfeasible as exc:
        problems = list(exc.problems)
        if inputs.algorithm in FROZEN_FRAME:
            # The attempt is published, but not a list of the targets it would have drawn: the
            # first target and its binding constraint, and how many targets could not be teamed.
            short = len({p.uscc for p in problems})
            head = (
                f"无法组成满足条件的检查组，本次抽取（{inputs.draw_id}）记为失败并公开："
                f"{problems[0].message}（共 {short} 处无法组队）"
            )
            problems = problems[:1]
        else:
            head = "无法组成满足条件的检查组，未写入任何数据：" + "；".join(
                p.message for p in problems[:5]
            )
        raise ValidationFailed(
            head,
            errors=[
                {
                    "field": f"team.{p.constraint}",
                    "message": p.message,
                    "uscc": p.uscc,
                    "region": p.region,
                }
                for p in problems
            ],
        ) from None


def _team_tasks(
    inputs: _Inputs, target_draw: TargetDraw, info: dict[str, tuple[str, str]], joined: set[str]
) -> list[TeamTask]:
    return [
        TeamTask(uscc=t.uscc, region=info[t.uscc][1], required_expertise=_needs(inputs, t.items))
        for t in target_draw.tasks
        if t.uscc not in joined
    ]


def _failure_replay(
    inputs: _Inputs,
    target_draw: TargetDraw,
    info: dict[str, tuple[str, str]],
    pool: list[Inspector],
    joined: set[str],
) -> dict[str, Any] | None:
    """/3: what a failed attempt publishes so that the verifiers re-derive its failure from the
    published files (docs/draw-spec-teams.md §12.6): the team parameters, the pool (derived
    from the frozen inspector frame), each item's expertise, the drawn targets that joined an
    open visit, and — from a run without the up-front checks — the recusals that changed a step
    before the walks failed, opened against the frame's tokens. The selection itself is not
    listed (it re-derives from the revealed secret and the population file)."""
    if inputs.team_frame is None:
        return None
    try:
        assign_teams(
            seed=inputs.seed,
            tasks=_team_tasks(inputs, target_draw, info, joined),
            inspectors=pool,
            params=_team_params(inputs),
            recusal_key=keys.recusal_key(inputs.draw_id),
            exhaustive=True,
        )
    except TeamInfeasible as exc:
        if exc.pool is None:  # the search bound was hit: the failure is not re-derivable
            return None
        recused = {u: list(b) for u, b in sorted(exc.recused.items())}
        pairs = [(b, u) for u, badges in recused.items() for b in badges]
        return {
            "team_params": _team_params(inputs).to_dict(),
            "inspector_pool": exc.pool,
            "failed_teams": {
                "item_expertise": {i.code: sorted(i.expertise) for i in inputs.items},
                "joined": sorted(joined),
                "recused": recused,
            },
            "recusal_openings": recusal_openings(
                keys.team_frame_key(inputs.plan.code, inputs.version.version), pairs
            ),
        }
    return None  # found by the exhaustive run: cannot happen (the checks never change a team)


def _failed_visits(inputs: _Inputs, visit: visits.Visits, replay: dict[str, Any]) -> dict[str, Any]:
    """/3 join-extend: what a failed attempt adds so that its joins and extensions re-derive
    (docs/draw-spec-teams.md §13.4) instead of being taken as published: the `open_visits` a
    kept draw would publish, the members added per joined target (`visit_added`), the recusals
    that blocked a join or that the extension walks skipped (`visit_recused`) and their
    openings. Listing other plans' visits makes the record withheld like a kept draw
    (app/plans/disclosure.py `draw_disclosure`)."""
    failed = dict(replay["failed_teams"])
    failed["visit_added"] = {
        u: [m.badge for m in added] for u, added in sorted(visit.added.items())
    }
    failed["visit_recused"] = {u: list(b) for u, b in sorted(visit.recused.items())}
    pairs = {(b, u) for u, badges in failed["recused"].items() for b in badges}
    pairs |= {(b, u) for u, badges in failed["visit_recused"].items() for b in badges}
    return {
        "visit_rule": visit.rule,
        "open_visits": visit.published(),
        "failed_teams": failed,
        "recusal_openings": recusal_openings(
            keys.team_frame_key(inputs.plan.code, inputs.version.version), pairs
        ),
    }


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
    visit: visits.Visits,
    pool_of: list[Inspector],
) -> Draw:
    """The draw row and its published body; 409 if another request drew the plan first."""
    plan, now = inputs.plan, inputs.now
    seq = plan.draw_count + 1
    draw_id = inputs.draw_id
    published_tasks: list[dict[str, Any]] = []
    for n, t in enumerate(target_draw.tasks, start=1):
        name, region = info[t.uscc]
        task_id = _task_id(draw_id, n)
        team = team_by_uscc[t.uscc]
        published = {
            "id": task_id,
            **t.to_dict(),
            "name": name,
            "region": region,
            "required_expertise": team["required_expertise"],
            "team": team["team"],
            **visit.task_fields(task_id, t.uscc),
        }
        if "recused" in team:  # /2: only the recusals that changed a step
            published["recused"] = team["recused"]
        published_tasks.append(published)
    body = _head(inputs, target_draw, population_size, status=DrawStatus.CURRENT)
    body |= {
        "team_params": teams.params.to_dict(),
        "inspector_pool": _published_pool(teams.inspector_pool_dict(), pool_of),
        "exclusions": list(teams.exclusions),
        "open_visits": visit.published(),
        "tasks": published_tasks,
    }
    if visit.rule is not None:  # /3 from §13 on: the join rule it used (records before: §11)
        body["visit_rule"] = visit.rule
    if inputs.team_frame is not None:
        body["recusal_openings"] = _openings(inputs, published_tasks)
    if inputs.algorithm in FROZEN_FRAME:
        # Published at the draw even when the list is withheld: the list cannot be redone later.
        body["tasks_sha256"] = hashlib.sha256(canonical_json(published_tasks)).hexdigest()
    draw = _add_draw(session, inputs, body, status=DrawStatus.CURRENT, actor=actor)
    plan.status, plan.draw_count, plan.updated_at = PlanStatus.DRAWN, seq, now
    return draw


def _published_pool(drawn: dict[str, Any], pool: list[Inspector]) -> dict[str, Any]:
    """The published `inspector_pool`: the pool members with their quotas from the frozen frame
    (§12.5), not those the team draw used after an extension took some (§13.3)."""
    by_badge = {i.badge: i for i in pool}
    return pool_dict(by_badge[str(row[0])] for row in drawn["rows"])


def _head(
    inputs: _Inputs, target_draw: TargetDraw, population_size: int, *, status: DrawStatus
) -> dict[str, Any]:
    """The part of a draw's published body that a failed attempt has too."""
    plan = inputs.plan
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": inputs.draw_id,
        "plan": plan.code,
        "plan_version": inputs.version.version,
        "seq": plan.draw_count + 1,
        "status": status.value,
        "drawn_at": inputs.now.isoformat(),
        "algorithm": inputs.algorithm,
        "seed": inputs.seed,
        "seed_inputs": inputs.seed_inputs,
        "population_sha256": target_draw.population_sha256,
        "population_file": f"{inputs.draw_id}.population.csv",
        "population_size": population_size,
        "params": params_dict(target_draw.params, target_draw.items),
        "strata": [s.to_dict() for s in target_draw.strata],
    }
    if inputs.algorithm in FROZEN_FRAME:
        body["plan_published_at"] = inputs.version.created_at.isoformat()
    if inputs.team_frame is not None:
        body["team_frame_file"] = f"{inputs.draw_id}.inspectors.csv"
    if inputs.beacon is not None:
        body["beacon"] = inputs.beacon
    return body


def _openings(inputs: _Inputs, tasks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """/3: the openings of the frozen frame's recusal tokens of every pair the draw names — each
    `recused` (a recusal that changed a step) and `visit_recused` (one that decided a join)."""
    assert inputs.team_frame is not None
    pairs = [
        (b, t["uscc"]) for t in tasks for b in (*t.get("recused", ()), *t.get("visit_recused", ()))
    ]
    return recusal_openings(keys.team_frame_key(inputs.plan.code, inputs.version.version), pairs)


def _add_draw(
    session: Session,
    inputs: _Inputs,
    body: dict[str, Any],
    *,
    status: DrawStatus,
    actor: str,
    error: dict[str, Any] | None = None,
) -> Draw:
    """The draw row (kept or failed); 409 if another request drew the plan first."""
    assert inputs.plan.commitment
    draw = Draw(
        id=inputs.draw_id,
        plan_code=inputs.plan.code,
        seq=inputs.plan.draw_count + 1,
        status=status,
        algorithm=inputs.algorithm,
        seed=inputs.seed,
        commitment=inputs.plan.commitment,
        secret=inputs.secret,
        entropy=inputs.entropy,
        population_sha256=body["population_sha256"],
        task_count=len(body.get("tasks", [])),
        body=body,
        created_at=inputs.now,
        actor=actor,
        error=error,
    )
    session.add(draw)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("该计划已被另一请求抽取 (drawn concurrently)") from None
    return draw


def _store_failed(
    session: Session,
    inputs: _Inputs,
    target_draw: TargetDraw,
    population_size: int,
    problem: ValidationFailed,
    actor: str,
    replay: dict[str, Any] | None = None,
) -> Draw:
    """A failed attempt: its seed, entropy, sizes and error, no tasks (the selection of a draw
    that is not kept is never shown; the revealed secret lets anyone confirm the failure)."""
    plan = inputs.plan
    error = {"title": problem.detail, "errors": problem.errors}
    body = _head(inputs, target_draw, population_size, status=DrawStatus.FAILED)
    body["error"] = error  # and no "tasks" key (docs/draw-spec.md §10: a failed record)
    if replay is not None:  # /3: the failure re-derives (docs/draw-spec-teams.md §12.6)
        body |= replay
    draw = _add_draw(session, inputs, body, status=DrawStatus.FAILED, actor=actor, error=error)
    plan.draw_count, plan.updated_at = plan.draw_count + 1, inputs.now
    audit.append(
        session,
        actor=actor,
        action="draw.failed",
        entity=f"draw:{draw.id}",
        data={"plan": plan.code, "seed": inputs.seed, "entropy": inputs.entropy, "error": error},
    )
    return draw


_TASK_COLUMNS = (
    "id",
    "draw_id",
    "seq",
    "plan_code",
    "uscc",
    "name",
    "region",
    "stratum",
    "ticket",
    "inclusion_prob",
    "items",  # a tuple: bulk_insert_rows encodes each distinct one once
    "despite_cooldown",
    "despite_cap",
    "reason",
    "status",
    "updated_at",
    "visit",
)
_MEMBER_COLUMNS = ("task_id", "badge", "role", "position")


def _store_tasks(
    session: Session,
    draw: Draw,
    target_draw: TargetDraw,
    team_by_uscc: dict[str, dict[str, Any]],
    info: dict[str, tuple[str, str]],
    now: datetime,
    visit: visits.Visits,
    draw_spec: dict[str, Any],
) -> None:
    """The task rows and their teams (task_members, the one store of teams), in bulk as value
    tuples, and the visits they start or join (app/visits)."""
    task_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[str, str, str, int]] = []
    teams: dict[str, list[tuple[str, str]]] = {}
    started: list[tuple[str, str, str, tuple[str, ...], str]] = []
    draw_id, plan_code, status = draw.id, draw.plan_code, TaskStatus.TO_INSPECT.value
    for n, t in enumerate(target_draw.tasks, start=1):
        task_id = _task_id(draw_id, n)
        uscc = t.uscc
        name, region = info[uscc]
        visit_id = visit.visit_of(task_id, uscc)
        task_rows.append(
            (
                task_id,
                draw_id,
                n,
                plan_code,
                uscc,
                name,
                region,
                t.stratum,
                t.ticket,
                t.inclusion_prob,
                t.items,
                t.despite_cooldown,
                bool(t.despite_cap),
                t.reason,
                status,
                now,
                visit_id,
            )
        )
        team = teams[task_id] = [(m["badge"], m["role"]) for m in team_by_uscc[uscc]["team"]]
        member_rows += [(task_id, badge, role, k) for k, (badge, role) in enumerate(team)]
        started.append((task_id, uscc, status, t.items, visit_id))
    bulk_insert_rows(session, _TASKS, _TASK_COLUMNS, task_rows)
    bulk_insert_rows(session, _MEMBERS, _MEMBER_COLUMNS, member_rows)
    # the visits it starts, and the open visits of other plans it joined (docs/rules.md#r4-0)
    visit_records.start_visits(session, draw=draw, spec=draw_spec, tasks=started, teams=teams)
    visit_records.refresh(session, {v for task_id, *_, v in started if v != task_id})


def population_text(session: Session, draw_id: str) -> str:
    """The canonical population file of a draw."""
    row = session.get(DrawPopulation, draw_id)
    if row is None:
        raise NotFound(f"没有抽取 {draw_id}")
    return gzip.decompress(row.lines_gz).decode()
