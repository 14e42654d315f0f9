"""Plans: the list, the plan page, the plan form (new, 修改草稿, 计划调整), publish, close, draw."""

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)
from pydantic import ValidationError

from app.clock import LOCAL_TZ, today_local
from app.console.web import (
    StaffDep,
    Text,
    problem_of,
    render,
    require,
    see_other,
)
from app.db import SessionDep
from app.errors import AppError, Conflict, ValidationFailed
from app.events import site_changed
from app.plans import drawing, entropy, preview
from app.plans import service as plans
from app.plans.schemas import AdjustmentIn, CloseIn, DrawIn, PlanIn
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


def _plan_defaults(staff: Any) -> dict[str, Any]:
    today = today_local()
    return {
        "code": "",
        "title": "",
        "lead_department": staff.user.department,
        "items": "",
        "kinds": ["定点医疗机构", "定点零售药店"],
        "regions": staff.user.region_prefix,
        "ratio": "0.05",
        "min_per_stratum": "1",
        "team_size": "2",
        "yearly_caps": "",
        "start": today.isoformat(),
        "end": (today + timedelta(days=30)).isoformat(),
        "publish_tasks": "after_window",
        # The entropy source announced with the publication: a dice ceremony (北京时间) or a
        # future drand round (`drand_round`, quicknet).
        "dice_at": "",
        "dice_place": "",
        "dice_witnesses": "",
        "drand_round": "",
        # a draft's announced dice time as stored (the input shows it to the second)
        "dice_original": "",
        "extra": "",
    }


def _local_input(at: str) -> str:
    """An ISO time as a datetime-local input shows it: 北京时间, to the second."""
    moment = datetime.fromisoformat(at).astimezone(LOCAL_TZ)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


@router.get("/plans/new")
def plan_new(request: Request, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    return render(
        request,
        "plan_new.html",
        staff,
        form=_plan_defaults(staff),
        errors={},
        problem=None,
        target_kinds=TARGET_KINDS,
    )


def _split(text: str) -> list[str]:
    return [p for p in text.replace("，", ",").replace(";", ",").replace(" ", ",").split(",") if p]


def _caps(text: str) -> dict[str, Any]:
    """ "A:1, B:2" → {"A": 1, "B": 2}; anything else is passed on for PlanIn to refuse by field."""
    out: dict[str, Any] = {}
    for part in _split(text):
        grade, _, cap = part.replace("：", ":").partition(":")
        out[grade] = int(cap) if cap.isascii() and cap.isdigit() else cap
    return out


def _plan_body(form: dict[str, Any]) -> dict[str, Any]:
    """The plan body (as POST /api/v1/plans takes it) from the plan form's fields; `extra`
    (JSON) is merged last, its `team` and `scope` into the form's. ValueError: `extra` is not
    a JSON object."""
    body: dict[str, Any] = {
        "code": form["code"].strip(),
        "title": form["title"].strip(),
        "lead_department": form["lead_department"].strip(),
        "items": _split(form["items"]),
        "scope": {"kinds": form["kinds"], "regions": _split(form["regions"])},
        "ratio": form["ratio"],
        "min_per_stratum": form["min_per_stratum"],
        "team": {"size": form["team_size"]},
        "window": {"start": form["start"], "end": form["end"]},
        "publish_tasks": form["publish_tasks"],
    }
    if form["yearly_caps"].strip():
        body["yearly_caps"] = _caps(form["yearly_caps"])
    if form["drand_round"].strip():
        body["entropy_source"] = {
            "kind": "drand",
            "chain": "quicknet",
            "round": form["drand_round"].strip(),
        }
    elif form["dice_at"].strip():
        at = form["dice_at"].strip()
        original = form.get("dice_original", "").strip()
        if original and _local_input(original) != at:
            original = ""  # the time was changed in the form
        body["entropy_source"] = {
            "kind": "dice",
            # datetime-local carries no zone: the console speaks 北京时间
            "scheduled_at": original or (at if at.endswith("Z") or "+" in at else at + "+08:00"),
            "place": form["dice_place"].strip(),
            "witnesses": _split(form["dice_witnesses"]),
        }
    if form["extra"].strip():
        extra = json.loads(form["extra"])
        if not isinstance(extra, dict):
            raise ValueError("extra")
        for key in ("team", "scope"):
            if isinstance(extra.get(key), dict):
                body[key] = {**body[key], **extra.pop(key)}
        body.update(extra)
    return body


# Plan fields the form has inputs for; everything else of a draft goes into `extra`.
FORM_FIELDS = {
    "code",
    "title",
    "lead_department",
    "items",
    "ratio",
    "min_per_stratum",
    "window",
    "publish_tasks",
    "yearly_caps",
    "entropy_source",
    "team",
    "scope",
}


def _form_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The plan form filled from a draft's body: the inverse of `_plan_body` (what the form has
    no input for goes into `extra`, defaults left out), so saving it unchanged keeps the body."""
    defaults = PlanIn.model_validate(
        {k: spec[k] for k in ("code", "title", "lead_department", "items", "ratio", "window")}
        | {"scope": {"kinds": spec["scope"]["kinds"]}}
    ).model_dump(mode="json")
    extra: dict[str, Any] = {
        k: v for k, v in spec.items() if k not in FORM_FIELDS and v != defaults.get(k)
    }
    team = {k: v for k, v in spec["team"].items() if k != "size" and v != defaults["team"].get(k)}
    scope = {k: v for k, v in spec["scope"].items() if k not in ("kinds", "regions") and v}
    if team:
        extra["team"] = team
    if scope:
        extra["scope"] = scope
    form = {
        "code": spec["code"],
        "title": spec["title"],
        "lead_department": spec["lead_department"],
        "items": ", ".join(spec["items"]),
        "kinds": list(spec["scope"]["kinds"]),
        "regions": ", ".join(spec["scope"].get("regions") or []),
        "ratio": str(spec["ratio"]),
        "min_per_stratum": str(spec["min_per_stratum"]),
        "team_size": str(spec["team"]["size"]),
        "yearly_caps": ", ".join(f"{g}:{n}" for g, n in (spec.get("yearly_caps") or {}).items()),
        "start": spec["window"]["start"],
        "end": spec["window"]["end"],
        "publish_tasks": spec["publish_tasks"],
        "dice_at": "",
        "dice_place": "",
        "dice_witnesses": "",
        "drand_round": "",
        "dice_original": "",
    }
    source = spec.get("entropy_source")
    if source and source["kind"] == "drand" and source.get("chain") == "quicknet":
        form["drand_round"] = str(source["round"])
    elif source and source["kind"] == "dice":
        form["dice_at"] = _local_input(source["scheduled_at"])
        form["dice_original"] = source["scheduled_at"]
        form["dice_place"] = source.get("place", "")
        form["dice_witnesses"] = ", ".join(source.get("witnesses") or [])
        rest = {k: v for k, v in source.items() if k not in ("kind", "scheduled_at", "place")}
        if set(rest) - {"witnesses"}:  # anything the dice fields cannot say stays as it is
            extra["entropy_source"] = source
    elif source:
        extra["entropy_source"] = source
    form["extra"] = json.dumps(extra, ensure_ascii=False, indent=1) if extra else ""
    return form


def _read_plan_form(raw: Any, staff: Any) -> dict[str, Any]:
    form = {k: str(raw.get(k, "")) for k in _plan_defaults(staff)}
    form["kinds"] = [str(v) for v in raw.getlist("kinds")]  # type: ignore[assignment]
    return form


def _plan_form_refused(
    request: Request, session: Any, staff: Any, form: dict[str, Any], exc: Exception, **ctx: Any
) -> HTMLResponse:
    """The plan form again, with the service's errors beside their fields (422)."""
    if isinstance(exc, ValidationError | AppError):
        problem = problem_of(session, exc)
    else:  # `extra` is not a JSON object
        problem = {
            "detail": "其他设置须为 JSON 对象",
            "errors": [{"field": "extra", "message": "不是有效的 JSON 对象"}],
        }
    errors: dict[str, str] = {}
    for err in problem.get("errors") or []:
        errors.setdefault(str(err.get("field", "")).split(".")[0], str(err.get("message")))
    return render(
        request,
        "plan_new.html",
        staff,
        422,
        form=form,
        errors=errors,
        problem=problem,
        target_kinds=TARGET_KINDS,
        **ctx,
    )


@router.post("/plans/new")
async def plan_create(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    """Creates a draft through plans.service.create; the API's 422 errors shown by field."""
    require(staff, "supervisor")
    form = _read_plan_form(await request.form(), staff)
    try:
        plan = plans.create(
            session,
            data=PlanIn.model_validate(_plan_body(form)),
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
    except (ValueError, AppError) as exc:
        return _plan_form_refused(request, session, staff, form, exc)
    return see_other(f"/console/plans/{plan.code}")


def _form_mode(plan: Any) -> dict[str, Any]:
    """How the plan form opens for a plan: a draft is edited, a published or drawn plan is
    adjusted (with a public reason; a drawn one may be re-drawn), a closed one not at all."""
    if plan.status == "closed":
        raise Conflict("计划已结束，不能修改或调整")
    adjusting = plan.status != "draft"
    return {"editing": plan.code, "adjusting": adjusting, "drawn": plan.status == "drawn"}


def _adjust(
    request: Request,
    background: BackgroundTasks,
    session: Any,
    staff: Any,
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
def plan_form(request: Request, session: SessionDep, staff: StaffDep, code: str) -> HTMLResponse:
    """The plan form filled from the plan: 修改草稿, or 计划调整 of a published plan."""
    require(staff, "supervisor")
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
        mode = _form_mode(plan)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    return render(
        request,
        "plan_new.html",
        staff,
        form=_form_of(plan.spec) | {"reason": ""},
        errors={},
        problem=None,
        target_kinds=TARGET_KINDS,
        **mode,
    )


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
    form = _read_plan_form(raw, staff)
    form["code"] = code  # the code of a plan is not edited
    form["reason"] = str(raw.get("reason", ""))
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
        mode = _form_mode(plan)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    try:
        data = PlanIn.model_validate(_plan_body(form))
        if not mode["adjusting"]:
            plans.replace_draft(
                session,
                code=code,
                data=data,
                actor=staff.principal.actor,
                jurisdiction=staff.principal.jurisdiction,
            )
        else:
            spec = data.model_dump(mode="json")
            changes = {k: v for k, v in spec.items() if plan.spec.get(k) != v}
            adj = AdjustmentIn.model_validate(
                {"reason": form["reason"], "changes": changes, "redraw": "redraw" in raw}
            )
            _adjust(request, background, session, staff, code, adj)
    except (ValueError, AppError) as exc:
        return _plan_form_refused(request, session, staff, form, exc, **mode)
    return see_other(f"/console/plans/{code}")


def plan_context(session: Any, staff: Any, code: str) -> dict[str, Any]:
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
        "draws": draws,
        "versions": versions,
        "inclusion": inclusion,
        "entropy_source": plan.spec.get("entropy_source"),
        "entropy_at": entropy.source_time(source) if source is not None else None,
        "frame_sha256": bound.frame_sha256 if bound is not None else None,
    }


def _side_by_side(versions: list[Any], a: int | None, b: int | None) -> dict[str, Any] | None:
    """Two versions of a plan, field by field (default: the last two), for 版本对照."""
    by_number = {v.version: v for v in versions}
    if len(by_number) < 2:
        return None
    numbers = sorted(by_number)
    left = by_number.get(a or numbers[-2]) or by_number[numbers[-2]]
    right = by_number.get(b or numbers[-1]) or by_number[numbers[-1]]

    def shown(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    keys = sorted(set(left.spec) | set(right.spec))
    rows = [
        {
            "key": k,
            "a": shown(left.spec.get(k)),
            "b": shown(right.spec.get(k)),
            "changed": left.spec.get(k) != right.spec.get(k),
        }
        for k in keys
    ]
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
    request: Request, session: Any, staff: Any, code: str, action: Any, then: str
) -> Response:
    require(staff, "supervisor")
    try:
        plans.visible(session, code, staff.principal.jurisdiction)
        action()
    except (AppError, ValidationError) as exc:
        problem = problem_of(session, exc)
        try:
            ctx = plan_context(session, staff, code)
        except AppError as again:
            return render(request, "error.html", staff, again.status, message=again.detail)
        return render(request, "plan.html", staff, 422, problem=problem, **ctx)
    return see_other(then)


@router.post("/plans/{code}/publish")
def plan_publish(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
) -> Response:
    def act() -> None:
        plans.publish(session, code=code, actor=staff.principal.actor)
        site_changed(request, background, session, f"plan:{code}")

    return _plan_action(request, session, staff, code, act, f"/console/plans/{code}")


@router.post("/plans/{code}/adjust")
def plan_adjust(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
    reason: Text = "",
    changes: Text = "",
    redraw: bool = False,
) -> Response:
    def act() -> None:
        try:
            parsed = json.loads(changes) if changes.strip() else {}
        except ValueError:
            parsed = None
        adj = AdjustmentIn.model_validate({"reason": reason, "changes": parsed, "redraw": redraw})
        _adjust(request, background, session, staff, code, adj)

    return _plan_action(request, session, staff, code, act, f"/console/plans/{code}")


@router.post("/plans/{code}/edit")
def plan_edit(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    spec: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """修改草稿: the whole plan body (JSON), through plans.replace_draft as the API's PUT."""

    def act() -> None:
        try:
            body = json.loads(spec)
        except ValueError:
            raise ValidationFailed(
                "草稿内容须为 JSON 对象", errors=[{"field": "spec", "message": "不是有效的 JSON"}]
            ) from None
        plans.replace_draft(
            session,
            code=code,
            data=PlanIn.model_validate(body),
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )

    return _plan_action(request, session, staff, code, act, f"/console/plans/{code}")


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

    def act() -> None:
        body = CloseIn.model_validate({"reason": reason})
        plans.close(session, code=code, reason=body.reason, actor=staff.principal.actor)
        site_changed(request, background, session, f"plan:{code}")

    return _plan_action(request, session, staff, code, act, f"/console/plans/{code}")


@router.post("/plans/{code}/draw")
def plan_draw(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    code: str,
    background: BackgroundTasks,
    entropy: Text = "",
) -> Response:
    failed: list[dict[str, Any]] = []

    def act() -> None:
        # A drand plan takes no typed entropy: the service fetches and verifies the round.
        body = DrawIn(entropy=entropy.strip() or None)
        outcome = drawing.perform_draw(session, code=code, body=body, actor=staff.principal.actor)
        site_changed(request, background, session, f"draw:{outcome.draw.id}")
        if outcome.problem is not None:  # recorded and kept: a failed attempt is public
            failed.append(outcome.problem.to_problem() | {"draw": outcome.draw.id})

    response = _plan_action(request, session, staff, code, act, f"/console/plans/{code}/ceremony")
    if failed:
        ctx = plan_context(session, staff, code)
        return render(request, "plan.html", staff, 422, problem=failed[0], **ctx)
    return response
