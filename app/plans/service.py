"""Plans: create, edit drafts, publish with a commitment, adjust (计划调整)."""

import dataclasses
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import keys
from app.audit import service as audit
from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.clock import today_local
from app.config import get_settings
from app.draw import CURRENT_ALGORITHM, FROZEN_FRAME, commitment_of
from app.errors import Conflict, NotFound, ServerKeyMismatch, ValidationFailed, validation_message
from app.models import Draw, Item, Plan, PlanFrame, PlanTeamFrame, PlanVersion
from app.models.base import utcnow
from app.pagination import Page, decode_int_cursor, int_key, page_after, page_of
from app.plans import disclosure, entropy, frame
from app.plans.labels import field_label
from app.plans.schemas import AdjustmentIn, FrameChangesIn, PlanIn
from app.states import DrawStatus, PlanStatus
from app.visits import service as visit_records

# Fields that may change after a draw without redrawing (they do not enter the draw).
POST_DRAW_MUTABLE = frozenset({"title", "window", "publish_tasks"})


def _errors_of(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": validation_message(e)}
        for e in exc.errors()
    ]


def check_against_registries(session: Session, data: PlanIn) -> None:
    """Items exist, are active and apply to the scope; grades belong to the scale (422)."""
    errors: list[dict[str, Any]] = []
    found = {i.code: i for i in session.scalars(select(Item).where(Item.code.in_(data.items)))}
    for n, code in enumerate(data.items):
        item = found.get(code)
        if item is None or not item.active:
            errors.append({"field": f"items.{n}", "message": f"事项 {code} 不在抽查事项清单中"})
        elif item.target_kinds and not set(item.target_kinds) & set(data.scope.kinds):
            errors.append(
                {
                    "field": f"items.{n}",
                    "message": f"事项 {code} 适用对象（{'、'.join(item.target_kinds)}）"
                    f"与计划范围（{'、'.join(data.scope.kinds)}）无交集",
                }
            )
    scale = get_settings().grade_scale
    for field, grades in (
        ("grade_rates", data.grade_rates),
        ("risk_weights", data.risk_weights),
        ("yearly_caps", data.yearly_caps),
    ):
        for grade in grades:
            if field == "risk_weights" and grade in ("complaint", "flags"):
                continue
            if grade not in scale:
                errors.append(
                    {
                        "field": f"{field}.{grade}",
                        "message": f"等级 {grade} 不在等级体系 {'/'.join(scale)} 中",
                    }
                )
    try:
        from app.draw import risk_config_from_plan

        risk_config_from_plan(data.risk_weights)
    except ValueError as exc:
        errors.append({"field": "risk_weights", "message": str(exc)})
    if errors:
        raise ValidationFailed("计划未通过校验 (plan rejected)", errors=errors)


def get(session: Session, code: str, *, for_update: bool = False) -> Plan:
    """The plan `code` (locked for update when asked); 404 if unknown."""
    stmt = select(Plan).where(Plan.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    plan = session.scalar(stmt)
    if plan is None:
        raise NotFound(f"没有编号为 {code} 的抽查计划")
    return plan


def visible(session: Session, code: str, jurisdiction: Jurisdiction) -> Plan:
    """The plan `code` if its scope lies inside the jurisdiction; 404 otherwise (a plan of
    another region is, to the caller, not there)."""
    plan = get(session, code)
    if not jurisdiction.covers_plan(plan.spec):
        raise NotFound(f"没有编号为 {code} 的抽查计划")
    return plan


def visible_draw(session: Session, draw_id: str, jurisdiction: Jurisdiction) -> Draw:
    """The draw `draw_id` if its plan is visible to the jurisdiction; 404 otherwise."""
    draw = get_draw(session, draw_id)
    plan = session.get(Plan, draw.plan_code)
    if plan is None or not jurisdiction.covers_plan(plan.spec):
        raise NotFound(f"没有抽取 {draw_id}")
    return draw


def _version(
    session: Session,
    plan: Plan,
    kind: str,
    actor: str,
    reason: str | None = None,
    public: bool = False,
    frame_sha256: str | None = None,
    at: datetime | None = None,
    team_frame_sha256: str | None = None,
    frame_changes: dict[str, Any] | None = None,
    frozen_items: list[dict[str, Any]] | None = None,
) -> None:
    session.add(
        PlanVersion(
            plan_code=plan.code,
            version=plan.version,
            kind=kind,
            spec=plan.spec,
            reason=reason,
            commitment=plan.commitment,
            actor=actor,
            public=public,
            algorithm=CURRENT_ALGORITHM if frame_sha256 else None,
            frame_sha256=frame_sha256,
            team_frame_sha256=team_frame_sha256,
            frame_changes=frame_changes,
            frozen_items=frozen_items,
            created_at=at or utcnow(),
        )
    )


def create(
    session: Session,
    *,
    data: PlanIn,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
    at: datetime | None = None,
) -> Plan:
    """Creates a draft plan (its scope inside the creator's jurisdiction); `at`: the demo dates
    its finished round back (before the publication it dates back too); the API never does."""
    jurisdiction.require_regions(list(data.scope.regions or []), field="scope.regions")
    check_against_registries(session, data)
    if session.get(Plan, data.code) is not None:
        raise Conflict(f"计划编号 {data.code} 已存在")
    plan = Plan(
        code=data.code,
        title=data.title,
        status=PlanStatus.DRAFT,
        version=1,
        spec=data.model_dump(mode="json"),
        created_by=actor,
        draw_count=0,
    )
    if at is not None:
        plan.created_at = plan.updated_at = at
    session.add(plan)
    session.flush()
    _version(session, plan, "create", actor, at=at)
    audit.append(
        session,
        actor=actor,
        action="plan.create",
        entity=f"plan:{plan.code}",
        data={"spec": plan.spec},
    )
    return plan


def replace_draft(
    session: Session,
    *,
    code: str,
    data: PlanIn,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> Plan:
    """Replaces a draft's body (its scope inside the editor's jurisdiction); published plans
    change only through adjustments."""
    plan = get(session, code, for_update=True)
    if plan.status != PlanStatus.DRAFT:
        raise Conflict("计划已发布，修改须通过计划调整（POST /adjustments，附理由）")
    if data.code != code:
        raise ValidationFailed(
            "计划编号不可修改", errors=[{"field": "code", "message": "不可修改"}]
        )
    jurisdiction.require_regions(list(data.scope.regions or []), field="scope.regions")
    check_against_registries(session, data)
    plan.spec, plan.title = data.model_dump(mode="json"), data.title
    plan.version += 1
    plan.updated_at = utcnow()
    _version(session, plan, "edit", actor)
    audit.append(
        session,
        actor=actor,
        action="plan.edit",
        entity=f"plan:{code}",
        data={"version": plan.version, "spec": plan.spec},
    )
    return plan


@dataclass(frozen=True)
class Frozen:
    """The hashes of what a published version froze: the target frame and the inspector frame."""

    frame_sha256: str
    team_frame_sha256: str
    # the plan's items as read at the freeze (docs/draw-spec-teams.md §12.10); None: a re-draw
    # of a version frozen before items were
    items: list[dict[str, Any]] | None = None


def _commit(session: Session, plan: Plan, spec: PlanIn, now: datetime) -> Frozen:
    """A fresh commitment and frozen frames (targets and inspectors, docs/draw-spec-teams.md
    §12) for the plan's (new) version; their hashes.

    The secret is derived from the server key (outside the database) and a stored nonce; only
    the nonce and the commitment are written (app/keys.py).
    """
    entropy.check_announced(spec, now)
    items = list(session.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    captured = frame.capture(session, spec, items, now)
    assert captured.population is not None
    team = frame.capture_team_frame(
        session, captured.population, now, keys.team_frame_key(plan.code, plan.version)
    )
    stored = _store(
        session,
        plan,
        now,
        captured=captured,
        depends_on=captured.depends_on,
        out_gz=captured.out_gz,
        team=team,
    )
    return dataclasses.replace(stored, items=frame.frozen_items(items))


def _store(
    session: Session,
    plan: Plan,
    now: datetime,
    *,
    captured: frame.Frame,
    depends_on: list[str],
    out_gz: bytes | None,
    team: frame.TeamFrame,
) -> Frozen:
    """The version's fresh commitment and its two frozen frames, written; their hashes."""
    plan.secret, plan.secret_nonce = None, keys.new_nonce()
    secret = keys.plan_secret(plan.code, plan.secret_nonce)
    plan.commitment = commitment_of(secret, algorithm=CURRENT_ALGORITHM)
    session.merge(
        PlanFrame(
            plan_code=plan.code,
            version=plan.version,
            sha256=captured.sha256,
            size=captured.size,
            lines_gz=captured.lines_gz,
            captured_at=now,
            # the draws on this version are withheld while any draw either frame took from is
            # (app/plans/disclosure.py `frame_dependencies`)
            depends_on=sorted(set(depends_on) | set(team.depends_on)),
            out_gz=out_gz,
            frame_columns=captured.columns,
        )
    )
    session.merge(
        PlanTeamFrame(
            plan_code=plan.code,
            version=plan.version,
            sha256=team.sha256,
            lines_gz=team.lines_gz,
            recusals=team.recusals,
            captured_at=now,
        )
    )
    return Frozen(captured.sha256, team.sha256)


# Plan fields the population frame is made from (scope, strata, items, weights, cooling, caps):
# a re-draw keeps the original frame, so it cannot change them (docs/rules.md#r7-3).
FRAME_FIELDS = frozenset(
    {
        "scope",
        "strata",
        "items",
        "risk_weights",
        "cooldown_days",
        "yearly_caps",
        "yearly_cap_exempt",
    }
)


def bound_version(session: Session, plan: Plan) -> PlanVersion | None:
    """The public version whose commitment (and, from /2 on, frames and entropy source) the
    plan's draw is bound to: the latest publication or adjustment that took a commitment."""
    stmt = (
        select(PlanVersion)
        .where(
            PlanVersion.plan_code == plan.code,
            PlanVersion.public.is_(True),
            PlanVersion.commitment == plan.commitment,
        )
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def _redraw_commit(
    session: Session,
    plan: Plan,
    spec: PlanIn,
    now: datetime,
    original: PlanVersion,
    changes: FrameChangesIn,
) -> Frozen:
    """A re-draw's commitment and frames: the frames frozen with `original` (the version of
    the draw it supersedes, itself the original's frames with their listed changes) with only
    the listed `changes` applied — grades, registry edits and inspections recorded after the
    original publication never enter it (docs/rules.md#r7-3)."""
    entropy.check_announced(spec, now)
    population = session.get(PlanFrame, (plan.code, original.version))
    team = session.get(PlanTeamFrame, (plan.code, original.version))
    assert population is not None and team is not None
    remove = {c.uscc for c in changes.remove_targets}
    captured, usccs, missing = frame.frame_without(population.lines_gz, remove)
    if missing:
        raise ValidationFailed(
            "重新抽取只能从原抽样框中移除其中的检查对象：" + "、".join(sorted(missing)),
            errors=[
                {"field": "frame_changes.remove_targets", "message": f"{u} 不在原抽样框中"}
                for u in sorted(missing)
            ],
        )
    if not captured.size:
        raise ValidationFailed(
            "移除后抽样框为空",
            errors=[{"field": "frame_changes.remove_targets", "message": "为空"}],
        )
    teams, bad = frame.team_frame_changed(
        session,
        team.lines_gz,
        team.recusals,
        usccs=usccs,
        remove={c.badge for c in changes.remove_inspectors},
        add={c.badge for c in changes.add_inspectors},
        key=keys.team_frame_key(plan.code, plan.version),
        now=now,
    )
    if bad:
        raise ValidationFailed(
            "重新抽取只能移除原执法人员名录中的人员、加入名录库中在岗且尚未在名录中的人员："
            + "、".join(sorted(bad)),
            errors=[
                {"field": "frame_changes", "message": f"{b} 不能移除或加入"} for b in sorted(bad)
            ],
        )
    # the original frame's reasons for π = 0 still hold when no target left it (a removal can
    # change what a stratum's floor needs; then the re-draw publishes none, as before)
    stored = _store(
        session,
        plan,
        now,
        captured=captured,
        depends_on=list(population.depends_on or []),
        out_gz=None if remove else population.out_gz,
        team=teams,
    )
    return dataclasses.replace(stored, items=original.frozen_items)


def publish(session: Session, *, code: str, actor: str, at: datetime | None = None) -> Plan:
    """Publishes a draft: a commitment to a fresh secret, the frozen frame (or its hash) and the
    entropy source announced in advance go public together (docs/draw-spec.md §2.2)."""
    plan = get(session, code, for_update=True)
    if plan.status != PlanStatus.DRAFT:
        raise Conflict(f"计划状态为 {plan.status}，只能发布草稿")
    spec = PlanIn.model_validate(plan.spec)
    check_against_registries(session, spec)
    now = at or utcnow()  # `at`: the demo dates its finished round back; the API never does
    plan.version += 1
    frozen = _commit(session, plan, spec, now)
    frame_sha256 = frozen.frame_sha256
    plan.status = PlanStatus.PUBLISHED
    plan.published_at = plan.updated_at = now
    _version(
        session,
        plan,
        "publish",
        actor,
        public=True,
        frame_sha256=frame_sha256,
        team_frame_sha256=frozen.team_frame_sha256,
        at=now,
        frozen_items=frozen.items,
    )
    audit.append(
        session,
        actor=actor,
        action="plan.publish",
        entity=f"plan:{code}",
        data={
            "version": plan.version,
            "commitment": plan.commitment,
            "frame_sha256": frame_sha256,
            "team_frame_sha256": frozen.team_frame_sha256,
            "entropy_source": plan.spec.get("entropy_source"),
        },
    )
    return plan


def _determined_undrawn(session: Session, plan: Plan, now: datetime) -> bool:
    """A published, undrawn /2 plan whose announced entropy exists and whose draw has not been
    attempted: its draw is determined, so it must be made (and kept on record) before any change."""
    if plan.status != PlanStatus.PUBLISHED or not plan.secret_nonce:
        return False
    source = entropy.source_of(plan.spec)
    if source is None or not entropy.exists(source, now):
        return False
    return failed_attempt(session, plan) is None


def failed_attempt(session: Session, plan: Plan) -> str | None:
    """The failed draw attempt made under the plan's current commitment, if any: it determined
    that version's draw, which therefore cannot be attempted again."""
    return session.scalar(
        select(Draw.id).where(
            Draw.plan_code == plan.code,
            Draw.status == DrawStatus.FAILED,
            Draw.commitment == plan.commitment,
        )
    )


def adjust(
    session: Session,
    *,
    code: str,
    adj: AdjustmentIn,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> Plan:
    """计划调整: changes and/or a redraw of a published plan, with a public reason; the
    adjusted scope stays inside the adjusting account's jurisdiction."""
    plan = get(session, code, for_update=True)
    if plan.status == PlanStatus.DRAFT:
        raise Conflict("草稿计划可直接修改，无需调整 (edit the draft instead)")
    if plan.status == PlanStatus.CLOSED:
        raise Conflict("计划已结束，不能调整")
    if not adj.changes and not adj.redraw:
        raise ValidationFailed(
            "调整须包含 changes 或 redraw（调整没有修改任何设置，也没有要求重新抽取）",
            errors=[{"field": "changes", "message": "没有修改任何设置，也没有要求重新抽取"}],
        )
    if "code" in adj.changes:
        raise ValidationFailed(
            "计划编号不可修改", errors=[{"field": "changes.code", "message": "不可修改"}]
        )
    drawn = plan.status == PlanStatus.DRAWN
    if adj.redraw and not drawn:
        raise Conflict("计划尚未抽取，无需重抽")
    if adj.frame_changes is not None and not adj.redraw:
        raise ValidationFailed(
            "抽样框的调整（frame_changes）只能随重新抽取提出（redraw: true）",
            errors=[{"field": "frame_changes", "message": "须同时 redraw: true"}],
        )
    original = bound_version(session, plan) if adj.redraw else None
    keep_frames = original is not None and _has_team_frame(session, plan, original)
    if keep_frames:
        shaping = sorted(set(adj.changes) & FRAME_FIELDS)
        if shaping:
            raise ValidationFailed(
                "重新抽取沿用原版本冻结的抽样框，不能同时修改"
                f"{'、'.join(field_label(k) for k in shaping)}（只能在 frame_changes 中逐一列出"
                "移除的检查对象、移除或加入的执法人员并说明理由）",
                errors=[{"field": f"changes.{k}", "message": "重新抽取不能修改"} for k in shaping],
            )
    if drawn and not adj.redraw:
        locked = sorted(set(adj.changes) - POST_DRAW_MUTABLE)
        if locked:
            raise Conflict(
                f"已抽取的计划修改{'、'.join(field_label(k) for k in locked)}须同时重新抽取"
                f"（redraw: true）；不重新抽取只能修改"
                f"{'、'.join(field_label(k) for k in sorted(POST_DRAW_MUTABLE))}"
            )
    now = utcnow()
    if _determined_undrawn(session, plan, now):
        raise Conflict(
            "公布的随机源已产生，本次抽取结果已确定：须先抽取（POST /draw），"
            "再以重新抽取（redraw）的方式调整，原抽取结果保留并公开"
            "（the announced entropy exists: draw first, then adjust with a re-draw）"
        )
    try:
        data = PlanIn.model_validate({**plan.spec, **adj.changes})
    except ValidationError as exc:
        raise ValidationFailed("调整后的计划未通过校验", errors=_errors_of(exc)) from None
    jurisdiction.require_regions(list(data.scope.regions or []), field="changes.scope.regions")
    check_against_registries(session, data)
    plan.spec, plan.title = data.model_dump(mode="json"), data.title
    plan.version += 1
    plan.updated_at = now
    superseded: str | None = None
    frame_sha256: str | None = None
    team_frame_sha256: str | None = None
    frozen_items: list[dict[str, Any]] | None = None
    frame_changes = adj.frame_changes or FrameChangesIn()
    if keep_frames:
        # A re-draw: a fresh secret and an entropy source that does not exist yet, on the
        # original frames with only the listed changes (docs/rules.md#r7-3).
        assert original is not None
        frozen = _redraw_commit(session, plan, data, now, original, frame_changes)
        frame_sha256, team_frame_sha256 = frozen.frame_sha256, frozen.team_frame_sha256
        frozen_items = frozen.items
    elif adj.redraw or not drawn:
        # Any change before the draw (and a re-draw of a plan drawn before /3) takes a fresh
        # secret, a frame captured now and an entropy source that does not exist yet.
        frozen = _commit(session, plan, data, now)
        frame_sha256, team_frame_sha256 = frozen.frame_sha256, frozen.team_frame_sha256
        frozen_items = frozen.items
    if adj.redraw:
        current = session.scalar(
            select(Draw).where(Draw.plan_code == code, Draw.status == DrawStatus.CURRENT)
        )
        if current is not None:
            current.status, current.superseded_at = DrawStatus.SUPERSEDED, now
            current.superseded_reason = adj.reason
            superseded = current.id
            visit_records.refresh_draw(session, current.id)  # void, unless carried out or joined
        plan.status = PlanStatus.PUBLISHED
    _version(
        session,
        plan,
        "adjustment",
        actor,
        reason=adj.reason,
        public=True,
        frame_sha256=frame_sha256,
        team_frame_sha256=team_frame_sha256,
        at=now,
        frame_changes=frame_changes.model_dump() if keep_frames else None,
        frozen_items=frozen_items,
    )
    audit.append(
        session,
        actor=actor,
        action="plan.adjust",
        entity=f"plan:{code}",
        data={
            "version": plan.version,
            "reason": adj.reason,
            "changes": adj.changes,
            "redraw": adj.redraw,
            "superseded_draw": superseded,
            "commitment": plan.commitment,
            "frame_sha256": frame_sha256,
            "team_frame_sha256": team_frame_sha256,
            "frame_changes": frame_changes.model_dump() if keep_frames else None,
        },
    )
    return plan


def _has_team_frame(session: Session, plan: Plan, version: PlanVersion) -> bool:
    """Whether `version` froze an inspector frame (published under spotcheck-draw/3)."""
    return (
        version.team_frame_sha256 is not None
        and session.get(PlanTeamFrame, (plan.code, version.version)) is not None
    )


def close(session: Session, *, code: str, reason: str, actor: str) -> Plan:
    """Closes a drawn plan (抽查工作结束); it takes no more adjustments or draws."""
    plan = get(session, code, for_update=True)
    if plan.status != PlanStatus.DRAWN:
        raise Conflict(f"计划状态为 {plan.status}，只有已抽取的计划可以结束")
    plan.status, plan.updated_at = PlanStatus.CLOSED, utcnow()
    plan.version += 1
    _version(session, plan, "close", actor, reason=reason, public=True)
    audit.append(
        session,
        actor=actor,
        action="plan.close",
        entity=f"plan:{code}",
        data={"version": plan.version, "reason": reason},
    )
    return plan


def list_plans(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> Page[Plan]:
    """A page of the plans inside the jurisdiction, newest first (a city has tens of plans a
    year: the codes are read whole and the page cut from them)."""
    order = select(Plan.code, Plan.spec).order_by(Plan.created_at.desc(), Plan.code)
    inside = [c for c, spec in session.execute(order) if jurisdiction.covers_plan(spec)]
    codes = page_after(inside, cursor, limit, lambda c: c)
    rows = {p.code: p for p in session.scalars(select(Plan).where(Plan.code.in_(codes.items)))}
    return Page([rows[c] for c in codes.items], codes.next_cursor)


def versions(session: Session, code: str, *, cursor: str | None, limit: int) -> Page[PlanVersion]:
    """A page of the versions of a plan, oldest first."""
    get(session, code)
    stmt = select(PlanVersion).where(PlanVersion.plan_code == code)
    if cursor:
        stmt = stmt.where(PlanVersion.version > decode_int_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(PlanVersion.version).limit(limit + 1)))
    return page_of(rows, limit, lambda v: int_key(v.version))


def draw_ids(session: Session, code: str) -> list[str]:
    """Ids of the plan's draws, oldest first."""
    return list(session.scalars(select(Draw.id).where(Draw.plan_code == code).order_by(Draw.seq)))


def get_draw(session: Session, draw_id: str) -> Draw:
    """The draw `draw_id`; 404 if unknown."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFound(f"没有抽取 {draw_id}")
    return draw


def plan_secret(plan: Plan) -> str:
    """The secret of the plan's current commitment, from the server key; ServerKeyMismatch
    (409) when this host's key does not open the published commitment."""
    assert plan.secret_nonce and plan.commitment
    secret = keys.plan_secret(plan.code, plan.secret_nonce)
    opens = (commitment_of(secret, algorithm=a) for a in FROZEN_FRAME)
    if not any(hmac.compare_digest(c, plan.commitment) for c in opens):
        raise ServerKeyMismatch(
            f"本机的服务器密钥与发布计划 {plan.code} 时所用的不同，无法打开已公布的承诺值，"
            "不能抽取：请恢复发布时的服务器密钥（SPOTCHECK_SERVER_KEY 或 "
            "SPOTCHECK_SERVER_KEY_FILE，见 docs/operations.md#server-key），或提交计划调整"
            "（新的密钥与承诺值，重新公告）。 (this host's server key does not open the "
            "published commitment: restore the key used when the plan was published, or adjust "
            "the plan)"
        )
    return secret


def revealed_secret(plan: Plan) -> str | None:
    """The plan's secret once it may be public (after the draw), else None (the draw's own
    record reveals it; for a withheld draw only when its window has closed)."""
    if plan.status not in (PlanStatus.DRAWN, PlanStatus.CLOSED):
        return None
    if plan.secret_nonce is None:
        return plan.secret
    if not disclosure.tasks_public(plan.spec, today_local())[0]:
        return None
    try:
        return plan_secret(plan)
    except ServerKeyMismatch:  # never publish a secret that does not open the commitment
        return None
