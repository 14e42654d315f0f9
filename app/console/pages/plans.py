"""Plans: the list, the plan page, the plan form (new, 修改草稿, 计划调整), publish, close, draw."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.clock import today_local
from app.console import plan_form, plan_text
from app.console.web import (
    Staff,
    StaffDep,
    Text,
    act,
    render,
    require,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError, Conflict, ValidationFailed
from app.events import site_changed
from app.models import Plan, PlanVersion
from app.plans import drawing, entropy, preview
from app.plans import service as plans
from app.plans.schemas import AdjustmentIn, CloseIn, DiceSource, PlanIn, PublicRecordSource
from app.regions import region_label, regions_under
from app.registries import service as registries
from app.stats import service as stats

router = APIRouter(include_in_schema=False)

TARGET_KINDS = ("定点医疗机构", "定点零售药店", "医保经办机构", "商业保险机构", "医养结合机构")

# --- plans ----------------------------------------------------------------------------------


@router.get("/plans")
def plans_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    rows = plans.list_plans(
        session, cursor=None, limit=200, jurisdiction=staff.principal.jurisdiction
    ).items
    return render(request, "plans.html", staff, plans=rows)


def _grades(request: Request) -> tuple[str, ...]:
    return settings_of(request).grade_scale


# The source fields of the schema beyond the basic ones (spotcheck-draw/3: dice `count` and
# `faces`, a public record's `decimals`): the form offers the controls the schema takes.
SOURCE_FIELDS = frozenset(DiceSource.model_fields) | frozenset(PublicRecordSource.model_fields)
DICE_FORM = "count" in SOURCE_FIELDS


def _form_page(
    request: Request,
    session: Session,
    staff: Staff,
    form: plan_form.Form,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **mode: Any,
) -> HTMLResponse:
    """The plan form (new, 修改草稿 or 计划调整), its errors beside their controls."""
    items = registries.list_records(session, kind="items", filters={}, limit=1000).items
    choices = [(str(i["code"]), str(i["name"])) for i in items]
    known = {c for c, _ in choices}
    choices += [(c, "（不在抽查事项清单中）") for c in form["items"] if c not in known]
    levels = list(plan_form.LEVELS) + [v for v in form["levels"] if v not in plan_form.LEVELS]
    return render(
        request,
        "plan_new.html",
        staff,
        status,
        form=form,
        errors=errors or {},
        target_kinds=TARGET_KINDS,
        item_choices=choices,
        level_choices=levels,
        region_choices=regions_under(staff.user.region_prefix),
        region_names=[region_label(r) for r in plan_form.codes(form["regions"])],
        strata_choices=list(plan_form.STRATA_LABELS.items()),
        grades=_grades(request),
        publish_choices=list(plan_form.PUBLISH_TASKS.items()),
        entropy_choices=list(plan_form.ENTROPY_KINDS.items()),
        drand_chains=list(plan_form.DRAND_CHAINS.items()),
        dice_form=DICE_FORM,
        **mode,
    )


def _problem_errors(problem: dict[str, Any], grades: tuple[str, ...]) -> dict[str, str]:
    """A service's refusal beside the form's controls (its summary when it names none)."""
    errors = plan_form.field_errors(problem.get("errors") or [], grades)
    return errors or {"form": plan_form.chinese(str(problem.get("detail") or ""))}


def _validated(request: Request, form: plan_form.Form) -> tuple[PlanIn | None, dict[str, str]]:
    """The plan the form says, or every problem with it: the form's own (a number that is not
    one, the JSON box) and the schema's together."""
    grades = _grades(request)
    body, errors = plan_form.body_of(form, grades, SOURCE_FIELDS)
    try:
        data = PlanIn.model_validate(body)
    except ValidationError as exc:
        return None, plan_form.field_errors(exc.errors(), grades) | errors
    return (None if errors else data), errors


@router.get("/plans/new")
def plan_new(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    today = today_local()
    form = plan_form.blank(
        department=staff.user.department,
        region=staff.user.region_prefix,
        start=today.isoformat(),
        end=(today + timedelta(days=30)).isoformat(),
        grades=_grades(request),
    )
    if not DICE_FORM:
        form.update(dice_count="", dice_faces="", record_decimals="")
    return _form_page(request, session, staff, form)


@router.post("/plans/new")
async def plan_create(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    """Creates a draft through plans.service.create; every problem beside its control."""
    require(staff, "supervisor")
    form = plan_form.read(await request.form(), _grades(request))
    data, errors = _validated(request, form)
    if data is None:
        return _form_page(request, session, staff, form, errors, 422)
    checked = data
    return act(
        session,
        lambda: plans.create(
            session,
            data=checked,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        ),
        then=lambda plan: f"/console/plans/{plan.code}",
        refused=lambda problem, status: _form_page(
            request, session, staff, form, _problem_errors(problem, _grades(request)), status
        ),
    )


def _form_mode(plan: Plan) -> dict[str, Any]:
    """How the plan form opens for a plan: a draft is edited, a published or drawn plan is
    adjusted (with a public reason; a drawn one may be re-drawn), a closed one not at all."""
    if plan.status == "closed":
        raise Conflict("计划已结束，不能修改或调整")
    adjusting = plan.status != "draft"
    return {"editing": plan.code, "adjusting": adjusting, "drawn": plan.status == "drawn"}


def _adjust(
    request: Request,
    background: BackgroundTasks,
    session: Session,
    staff: Staff,
    code: str,
    adj: AdjustmentIn,
) -> None:
    """计划调整 through plans.adjust (inside the account's jurisdiction); the site follows."""
    plans.adjust(
        session,
        code=code,
        adj=adj,
        actor=staff.principal.actor,
        jurisdiction=staff.principal.jurisdiction,
    )
    site_changed(request, background, session, f"plan:{code}")


@router.get("/plans/{code}/form")
def plan_form_page(
    request: Request, session: SessionDep, staff: StaffDep, code: str
) -> HTMLResponse:
    """The plan form filled from the plan: 修改草稿, or 计划调整 of a published plan."""
    require(staff, "supervisor")
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
        mode = _form_mode(plan)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    form = plan_form.form_of(plan.spec, _grades(request)) | {"reason": ""}
    return _form_page(request, session, staff, form, **mode)


@router.post("/plans/{code}/form")
async def plan_form_save(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
) -> Response:
    """Saves a draft through plans.replace_draft (as PUT /plans/{code}), or adjusts a published
    plan through plans.adjust with the fields the form changed (as POST …/adjustments)."""
    require(staff, "supervisor")
    raw = await request.form()
    form = plan_form.read(raw, _grades(request))
    form["code"] = code  # the code of a plan is not edited
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
        mode = _form_mode(plan)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    data, errors = _validated(request, form)
    if data is None:
        return _form_page(request, session, staff, form, errors, 422, **mode)
    checked = data

    def save() -> None:
        if not mode["adjusting"]:
            plans.replace_draft(
                session,
                code=code,
                data=checked,
                actor=staff.principal.actor,
                jurisdiction=staff.principal.jurisdiction,
            )
            return
        spec = checked.model_dump(mode="json")
        changes = {k: v for k, v in spec.items() if plan.spec.get(k) != v}
        adj = AdjustmentIn.model_validate(
            {"reason": form["reason"], "changes": changes, "redraw": "redraw" in raw}
        )
        _adjust(request, background, session, staff, code, adj)

    return act(
        session,
        save,
        then=f"/console/plans/{code}",
        refused=lambda problem, status: _form_page(
            request,
            session,
            staff,
            form,
            _problem_errors(problem, _grades(request)),
            status,
            **mode,
        ),
    )


def plan_context(session: Session, staff: Staff, code: str) -> dict[str, Any]:
    plan = plans.visible(session, code, staff.principal.jurisdiction)
    draws = [plans.get_draw(session, d) for d in plans.draw_ids(session, code)]
    versions = plans.versions(session, code, cursor=None, limit=200).items
    inclusion = None
    try:
        inclusion = preview.inclusion_preview(session, code=code)
    except AppError as exc:
        inclusion = {"error": exc.detail}
    source = entropy.source_of(plan.spec) if plan.spec.get("entropy_source") else None
    bound = drawing.bound_version(session, plan) if plan.commitment else None
    current = next((d for d in draws if d.status == "current"), None)
    return {
        # the same estimates as GET /api/v1/draws/{id}/statistics (数据不足 until enough results)
        "statistics": stats.draw_statistics(session, draw_id=current.id) if current else None,
        "plan": plan,
        "settings": plan_text.rows(plan.spec),
        "draws": draws,
        "versions": versions,
        "inclusion": inclusion,
        "entropy_source": plan.spec.get("entropy_source"),
        "entropy_at": entropy.source_time(source) if source is not None else None,
        # spotcheck-draw/3: the exact form the typed value takes (None for drand and /2 plans)
        "entropy_form": entropy.expected_form(source)
        if source is not None and source.kind != "drand"
        else None,
        "entropy_example": entropy.form_example(source) if source is not None else None,
        "frame_sha256": bound.frame_sha256 if bound is not None else None,
    }


def _side_by_side(
    versions: list[PlanVersion], a: int | None, b: int | None
) -> dict[str, Any] | None:
    """Two versions of a plan, setting by setting in Chinese (default: the last two)."""
    by_number = {v.version: v for v in versions}
    if len(by_number) < 2:
        return None
    numbers = sorted(by_number)
    left = by_number.get(a or numbers[-2]) or by_number[numbers[-2]]
    right = by_number.get(b or numbers[-1]) or by_number[numbers[-1]]
    rows = plan_text.compare(left.spec, right.spec)
    return {"a": left, "b": right, "rows": rows, "numbers": numbers}


@router.get("/plans/{code}")
def plan_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    a: Annotated[int | None, Query(ge=1)] = None,
    b: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    require(staff, "supervisor")
    try:
        ctx = plan_context(session, staff, code)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    compare = _side_by_side(ctx["versions"], a, b)
    return render(request, "plan.html", staff, problem=None, compare=compare, **ctx)


def _plan_action(
    request: Request,
    session: Session,
    staff: Staff,
    code: str,
    action: Callable[[], object],
    then: str,
) -> Response:
    """An action on the plan page: done, or the plan page again with the refusal."""
    require(staff, "supervisor")

    def refused(problem: dict[str, Any], status: int) -> Response:
        try:
            ctx = plan_context(session, staff, code)
        except AppError as again:
            return render(request, "error.html", staff, again.status, message=again.detail)
        return render(request, "plan.html", staff, status, problem=problem, **ctx)

    def checked() -> object:
        plans.visible(session, code, staff.principal.jurisdiction)
        return action()

    return act(session, checked, then=then, refused=refused)


@router.post("/plans/{code}/publish")
def plan_publish(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
) -> Response:
    def publish() -> None:
        plans.publish(session, code=code, actor=staff.principal.actor)
        site_changed(request, background, session, f"plan:{code}")

    return _plan_action(request, session, staff, code, publish, f"/console/plans/{code}")


def _json_object(text: str, field: str) -> dict[str, Any]:
    """The JSON box of an expert's form, or a 422 naming it."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        where = f"（第 {exc.lineno} 行）" if isinstance(exc, json.JSONDecodeError) else ""
        raise ValidationFailed(
            "JSON 格式有误", errors=[{"field": field, "message": f"不是有效的 JSON{where}"}]
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed(
            "JSON 格式有误", errors=[{"field": field, "message": "应为一个 JSON 对象"}]
        )
    return value


@router.post("/plans/{code}/adjust")
def plan_adjust(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
    reason: Text = "",
    changes: Text = "",
    # a form field (the checkbox 重新抽取), not a query parameter: it was ignored before
    redraw: Annotated[bool, Form()] = False,
    frame_changes: Text = "",
) -> Response:
    """计划调整 with the changed fields as JSON (for experts; the form does the same); a
    re-draw may list its changes to the original frames (`frame_changes`, docs/rules.md#r6-3)."""

    def adjust() -> None:
        parsed = _json_object(changes, "changes")
        body: dict[str, Any] = {"reason": reason, "changes": parsed, "redraw": redraw}
        if frame_changes.strip():
            body["frame_changes"] = _json_object(frame_changes, "frame_changes")
        try:
            adj = AdjustmentIn.model_validate(body)
        except ValidationError as exc:
            raise ValidationFailed(
                "调整内容不符合要求",
                errors=[
                    {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()
                ],
            ) from None
        _adjust(request, background, session, staff, code, adj)

    return _plan_action(request, session, staff, code, adjust, f"/console/plans/{code}")


@router.post("/plans/{code}/edit")
def plan_edit(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    spec: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """修改草稿: the whole plan body (JSON), through plans.replace_draft as the API's PUT."""

    def edit() -> None:
        plans.replace_draft(
            session,
            code=code,
            data=PlanIn.model_validate(_json_object(spec, "spec")),
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )

    return _plan_action(request, session, staff, code, edit, f"/console/plans/{code}")


@router.post("/plans/{code}/close")
def plan_close(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
    reason: Text = "",
) -> Response:
    """结束计划 with a reason, through plans.close as the API."""

    def close() -> None:
        body = CloseIn.model_validate({"reason": reason})
        plans.close(session, code=code, reason=body.reason, actor=staff.principal.actor)
        site_changed(request, background, session, f"plan:{code}")

    return _plan_action(request, session, staff, code, close, f"/console/plans/{code}")
