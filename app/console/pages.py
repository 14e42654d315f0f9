"""Pages of the staff console (/console/): each action calls the service function the API's
router calls, with the signed-in person's principal (role and jurisdiction)."""

import json
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request, UploadFile
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from pydantic import ValidationError

from app.audit.service import verify_chain
from app.auth import accounts, sessions
from app.auth.service import issue_token, list_tokens, revoke_token
from app.clock import LOCAL_TZ, today_local
from app.console import security
from app.console.web import (
    StaffDep,
    problem_of,
    render,
    require,
    secure_cookie,
    see_other,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError, Conflict, ValidationFailed
from app.events import site_changed
from app.models.base import utcnow
from app.plans import drawing, entropy, preview
from app.plans import service as plans
from app.plans.schemas import AdjustmentIn, CloseIn, DrawIn, PlanIn
from app.registries import importer
from app.registries import service as registries
from app.stats import service as stats
from app.tasks import deadlines, evidence, reports, results
from app.tasks import service as tasks
from app.tasks.schemas import MEASURE_KINDS, OUTCOMES, PENALTY, ResultIn

router = APIRouter(prefix="/console", include_in_schema=False)

KINDS = {"targets": "检查对象名录库", "inspectors": "执法检查人员名录库", "items": "抽查事项清单"}
TARGET_KINDS = ("定点医疗机构", "定点零售药店", "医保经办机构", "商业保险机构", "医养结合机构")
PAGE = 50
Text = Annotated[str, Form(max_length=10000)]


# --- sign-in -------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form (its CSRF token is a double-submit cookie: there is no session yet)."""
    return _login_page(request)


def _login_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status, error=error, login_csrf=token)
    response.set_cookie(
        "spotcheck_login_csrf",
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request),
        path="/console/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Signs in: a new server-side session and its HttpOnly, SameSite=Lax cookie."""
    import hmac

    expected = request.cookies.get("spotcheck_login_csrf", "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(request, "表单已过期，请重新登录 (form expired)", 403)
    # failures per account and source, the second factor, the audit: app/console/security.py
    return security.sign_in_response(request, session, username, password, _login_page)


@router.post("/logout")
def logout(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    sessions.end(session, request.cookies.get(sessions.COOKIE, ""))
    response = see_other("/console/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


# --- dashboard ------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    p = staff.principal
    my_tasks = tasks.list_tasks(session, principal=p, plan=None, cursor=None, limit=20).items
    queue = (
        results.awaiting_approval(session, principal=p, limit=20)
        if p.role in ("admin", "supervisor")
        else []
    )
    plan_rows = (
        plans.list_plans(session, cursor=None, limit=10, jurisdiction=p.jurisdiction).items
        if p.role in ("admin", "supervisor")
        else []
    )
    due = _deadline_counts(request, session, staff) if p.role in ("admin", "supervisor") else None
    return render(
        request, "dashboard.html", staff, tasks=my_tasks, queue=queue, plans=plan_rows, due=due
    )


def _deadline_counts(request: Request, session: Any, staff: Any) -> dict[str, Any] | None:
    """The dashboard's 公示期限 card: counts by state and the calendar warnings."""
    s = settings_of(request)
    try:
        report = deadlines.deadlines_report(
            session,
            today=today_local(),
            within=5,
            override_file=s.calendar_override_file,
            workdays=s.publish_result_workdays,
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError:
        return None  # the 公示期限 page names the problem
    counts = {"overdue": 0, "due_soon": 0, "calendar_missing": 0}
    for item in report["items"]:
        counts[item["state"]] = counts.get(item["state"], 0) + 1
    return {"counts": counts, "warnings": report["warnings"]}


# --- registries -----------------------------------------------------------------------------


@router.get("/registries/{kind}")
def registry_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    kind: str,
    q: Annotated[str, Query(max_length=100)] = "",
    region: Annotated[str, Query(max_length=6)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    include_inactive: bool = False,
    as_of: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    require(staff, "supervisor")
    if kind not in KINDS:
        return render(request, "error.html", staff, 404, message="没有这个名录")
    filters = {
        k: v
        for k, v in (("q", q), ("region", region))
        if v and not (k == "region" and kind == "items")
    }
    problem = None
    page = None
    try:
        page = registries.list_records(
            session,
            kind=kind,
            filters=filters,
            include_inactive=include_inactive,
            cursor=cursor,
            limit=PAGE,
            as_of=_as_of(as_of),
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError as exc:
        problem = problem_of(session, exc)
    return render(
        request,
        "registry.html",
        staff,
        kind=kind,
        kinds=KINDS,
        page=page,
        q=q,
        region=region,
        include_inactive=include_inactive,
        as_of=as_of,
        problem=problem,
        result=None,
    )


@router.post("/registries/{kind}/import")
def registry_import(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    kind: str,
    file: UploadFile,
) -> HTMLResponse:
    """All or nothing: the bad rows in a table, or created/updated/unchanged."""
    require(staff, "supervisor")
    problem = None
    result = None
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as tmp:
        try:
            importer.spool_upload(file.file, tmp, settings_of(request).max_upload_bytes)
            result = importer.import_file(
                session,
                kind=kind,
                fh=tmp,
                actor=staff.principal.actor,
                jurisdiction=staff.principal.jurisdiction,
            )
        except AppError as exc:
            problem = problem_of(session, exc)
    return render(
        request,
        "registry.html",
        staff,
        422 if problem else 200,
        kind=kind,
        kinds=KINDS,
        page=None,
        q="",
        region="",
        include_inactive=False,
        as_of="",
        problem=problem,
        result=result,
        filename=file.filename,
    )


def _as_of(text: str) -> datetime | None:
    """A datetime-local field (北京时间, as the console speaks) as an aware moment."""
    text = text.strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"时间“{text}”无效", errors=[{"field": "as_of", "message": "应为 年-月-日 时:分"}]
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=LOCAL_TZ)


@router.get("/registries/{kind}/export")
def registry_export(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    kind: str,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The API's export (active records inside the jurisdiction), for a signed-in person."""
    from app.registries import export

    require(staff, "supervisor")
    if kind not in KINDS:
        return render(request, "error.html", staff, 404, message="没有这个名录")
    j = staff.principal.jurisdiction
    headers = {"Content-Disposition": f'attachment; filename="{kind}.{format}"'}
    if format == "csv":
        return StreamingResponse(
            export.export_csv_chunks(request.app.state.sessionmaker, kind=kind, jurisdiction=j),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )
    return Response(
        export.export(session, kind=kind, fmt=format, jurisdiction=j),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


def _history_page(
    request: Request, session: Any, staff: Any, kind: str, key: str, problem: Any = None
) -> HTMLResponse:
    from app.registries import history
    from app.registries.repository import spec_for

    try:
        current = registries.get(
            session, kind=kind, key=key, jurisdiction=staff.principal.jurisdiction
        )
    except AppError as exc:
        return render(request, "error.html", staff, 404, message=exc.detail)
    versions = history.history(session, kind=kind, key=key)
    return render(
        request,
        "history.html",
        staff,
        422 if problem else 200,
        kind=kind,
        kinds=KINDS,
        key=key,
        current=current,
        versions=versions,
        reasons=history.reasons(session, kind=kind, key=key),
        problem=problem,
        fields=[
            (f, registries.raw_value(current.get(f.name)))
            for f in spec_for(kind).fields
            if f.name != spec_for(kind).key
        ],
    )


@router.get("/registries/{kind}/{key}/history")
def registry_history(
    request: Request, session: SessionDep, staff: StaffDep, kind: str, key: str
) -> HTMLResponse:
    require(staff, "supervisor")
    return _history_page(request, session, staff, kind, key)


@router.post("/registries/{kind}/{key}/edit")
async def registry_edit(
    request: Request, session: SessionDep, staff: StaffDep, kind: str, key: str
) -> Response:
    """Changes a record through registries.patch (the API's PATCH): only the fields whose text
    the form changed are sent, validated as an import row is."""
    require(staff, "supervisor")
    from app.registries.repository import spec_for

    raw = await request.form()
    try:
        spec = spec_for(kind)
        current = registries.get(
            session, kind=kind, key=key, jurisdiction=staff.principal.jurisdiction
        )
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    changes = {
        f.name: str(raw.get(f.name, ""))
        for f in spec.fields
        if f.name != spec.key
        and f.name in raw
        and str(raw.get(f.name, "")).strip() != registries.raw_value(current.get(f.name)).strip()
    }
    if not changes:
        return see_other(f"/console/registries/{kind}/{key}/history")
    try:
        registries.patch(
            session,
            kind=kind,
            key=key,
            changes=changes,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError as exc:
        return _history_page(request, session, staff, kind, key, problem_of(session, exc))
    return see_other(f"/console/registries/{kind}/{key}/history?saved=1")


@router.post("/registries/{kind}/{key}/deactivate")
def registry_deactivate(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    kind: str,
    key: str,
    reason: Text = "",
) -> Response:
    """停用 with a reason, through the service the API's DELETE calls."""
    require(staff, "supervisor")
    if not reason.strip():
        problem = {
            "detail": "停用须填写理由",
            "errors": [{"field": "reason", "message": "不能为空"}],
        }
        return _history_page(request, session, staff, kind, key, problem)
    try:
        registries.deactivate(
            session,
            kind=kind,
            key=key,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
            reason=reason,
        )
    except AppError as exc:
        return _history_page(request, session, staff, kind, key, problem_of(session, exc))
    return see_other(f"/console/registries/{kind}/{key}/history")


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


def _plan_context(session: Any, staff: Any, code: str) -> dict[str, Any]:
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
        ctx = _plan_context(session, staff, code)
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
            ctx = _plan_context(session, staff, code)
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
        ctx = _plan_context(session, staff, code)
        return render(request, "plan.html", staff, 422, problem=failed[0], **ctx)
    return response


@router.get("/plans/{code}/ceremony")
def ceremony(request: Request, session: SessionDep, staff: StaffDep, code: str) -> HTMLResponse:
    """The full-screen draw ceremony; after the draw, the printable 抽取记录."""
    require(staff, "supervisor")
    try:
        ctx = _plan_context(session, staff, code)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    current = next((d for d in reversed(ctx["draws"]) if d.status == "current"), None)
    return render(request, "ceremony.html", staff, draw=current, **ctx)


@router.get("/plans/{code}/ceremony/status")
def ceremony_status(
    request: Request, session: SessionDep, staff: StaffDep, code: str
) -> JSONResponse:
    """What the ceremony view polls: the plan's state and its current draw (a drand plan is
    drawn by the scheduler once its round has come; the projector then shows the record)."""
    require(staff, "supervisor")
    try:
        plan = plans.visible(session, code, staff.principal.jurisdiction)
    except AppError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    draws = [plans.get_draw(session, d) for d in plans.draw_ids(session, code)]
    current = next((d for d in reversed(draws) if d.status == "current"), None)
    return JSONResponse(
        {
            "status": plan.status,
            "version": plan.version,
            "draws": len(draws),
            "current": current.id if current else None,
            "tasks": len(current.body.get("tasks", [])) if current else 0,
            "now": utcnow().isoformat(),
        },
        headers={"Cache-Control": "no-store"},
    )


# --- tasks and results ----------------------------------------------------------------------


@router.get("/tasks")
def tasks_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    page = tasks.list_tasks(
        session, principal=staff.principal, plan=None, cursor=cursor, limit=PAGE
    )
    return render(request, "tasks.html", staff, page=page)


def _task_page(
    request: Request,
    session: Any,
    staff: Any,
    task_id: str,
    problem: Any = None,
    form: Any = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        task = tasks.task_view(session, task_id=task_id, principal=staff.principal)
        view = results.result_view(session, task_id=task_id, principal=staff.principal)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    attached = evidence.list_for(
        session, task_id=task_id, principal=staff.principal, cursor=None, limit=200
    ).items
    errors: dict[str, str] = {}
    for err in (problem or {}).get("errors") or []:
        errors.setdefault(str(err.get("field", "")), str(err.get("message")))
    return render(
        request,
        "task.html",
        staff,
        status,
        task=task,
        view=view,
        evidence=attached,
        problem=problem,
        errors=errors,
        outcomes=OUTCOMES,
        measure_kinds=MEASURE_KINDS,
        penalty=PENALTY,
        form=form or {"decided_on": today_local().isoformat(), "measures": []},
    )


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: SessionDep, staff: StaffDep, task_id: str) -> Response:
    return _task_page(request, session, staff, task_id)


@router.get("/tasks/{task_id}/notice")
def task_notice(request: Request, session: SessionDep, staff: StaffDep, task_id: str) -> Response:
    """The printable 检查通知书 (the same rendering as GET /api/v1/tasks/{id}/notice)."""
    from app.tasks.access import visible_task

    try:
        task = visible_task(session, task_id, staff.principal)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    from app.config import get_settings
    from app.tasks import codes

    settings = get_settings()
    html = reports.render_notice(
        session,
        task,
        issued_at=utcnow(),
        signing_key=codes.load_signing_key(settings.signing_key_file),
        site_url=settings.public_site_url or f"{request.base_url}public/",
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _money(text: str) -> str | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        Decimal(text)
    except InvalidOperation:
        return text  # the schema names the field
    return text


@router.post("/tasks/{task_id}/result")
async def task_result(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str
) -> Response:
    """Enters a result through results.submit_result (the API's PUT)."""
    raw = await request.form()
    chosen = [str(k) for k in raw.getlist("measures")]
    fine = str(raw.get("fine_amount", ""))
    recovered = str(raw.get("recovered_amount", ""))
    form: dict[str, Any] = {
        "outcome": str(raw.get("outcome", "")),
        "decided_on": str(raw.get("decided_on", "")),
        "findings": str(raw.get("findings", "")),
        "measures": chosen,
        "fine_amount": str(raw.get("fine_amount", "")),
        "recovered_amount": str(raw.get("recovered_amount", "")),
    }
    body: dict[str, Any] = {
        "outcome": form["outcome"],
        "decided_on": form["decided_on"],
        "findings": form["findings"],
        "measures": [
            {"kind": k, **({"fine_amount": _money(fine)} if k == PENALTY else {})} for k in chosen
        ],
        "recovered_amount": _money(recovered),
    }
    try:
        data = ResultIn.model_validate(body)
        results.submit_result(
            session, task_id=task_id, data=data, principal=staff.principal, today=today_local()
        )
    except (AppError, ValidationError) as exc:
        return _task_page(request, session, staff, task_id, problem_of(session, exc), form, 422)
    return see_other(f"/console/tasks/{task_id}?saved=1")


@router.post("/tasks/{task_id}/follow-up")
def task_follow_up(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    """安排回头看 through revisits.create_revisit (the API's POST …/follow-ups)."""
    from app.tasks import revisits
    from app.tasks.schemas import FollowUpIn

    require(staff, "supervisor")
    try:
        child = revisits.create_revisit(
            session,
            task_id=task_id,
            data=FollowUpIn.model_validate({"reason": reason}),
            actor=staff.principal.actor,
            principal=staff.principal,
        )
    except (AppError, ValidationError) as exc:
        return _task_page(
            request, session, staff, task_id, problem_of(session, exc), None, exc_status(exc)
        )
    return see_other(f"/console/tasks/{child.id}")


@router.post("/tasks/{task_id}/evidence")
def task_evidence(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    file: UploadFile,
    note: Text = "",
) -> Response:
    """Attaches evidence (a photo from the phone's camera, or a PDF) through evidence.store,
    as the API's upload does."""
    s = settings_of(request)
    try:
        evidence.store(
            session,
            task_id=task_id,
            upload=file.file,
            filename=file.filename,
            note=note,
            principal=staff.principal,
            evidence_dir=s.evidence_dir,
            max_bytes=s.max_evidence_bytes,
        )
    except AppError as exc:
        problem = problem_of(session, exc)
        return _task_page(request, session, staff, task_id, problem, None, exc.status)
    return see_other(f"/console/tasks/{task_id}?attached=1#evidence")


@router.get("/tasks/{task_id}/evidence/{sha256}")
def task_evidence_file(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, sha256: str
) -> Response:
    try:
        row, path = evidence.open_blob(
            session,
            task_id=task_id,
            sha256=sha256,
            principal=staff.principal,
            evidence_dir=settings_of(request).evidence_dir,
        )
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    return FileResponse(
        path,
        media_type=row.media_type,
        filename=row.filename,
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/approvals")
def approvals(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    queue = results.awaiting_approval(session, principal=staff.principal)
    views = [results.result_view(session, task_id=t.id, principal=staff.principal) for t in queue]
    return render(
        request, "approvals.html", staff, items=list(zip(queue, views, strict=True)), problem=None
    )


def _approval_action(request: Request, session: Any, staff: Any, action: Any) -> Response:
    require(staff, "supervisor")
    try:
        action()
    except (AppError, ValidationError) as exc:
        problem = problem_of(session, exc)
        queue = results.awaiting_approval(session, principal=staff.principal)
        views = [
            results.result_view(session, task_id=t.id, principal=staff.principal) for t in queue
        ]
        return render(
            request,
            "approvals.html",
            staff,
            exc_status(exc),
            items=list(zip(queue, views, strict=True)),
            problem=problem,
        )
    return see_other("/console/approvals")


def exc_status(exc: Exception) -> int:
    return exc.status if isinstance(exc, AppError) else 422


@router.post("/tasks/{task_id}/approve")
def approve(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    task_id: str,
    background: BackgroundTasks,
) -> Response:
    def act() -> None:
        results.approve_result(
            session,
            task_id=task_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
        site_changed(request, background, session, f"result:{task_id}")

    return _approval_action(request, session, staff, act)


@router.post("/tasks/{task_id}/return")
def send_back(
    request: Request, session: SessionDep, staff: StaffDep, task_id: str, reason: Text = ""
) -> Response:
    def act() -> None:
        results.return_result(
            session,
            task_id=task_id,
            reason=reason,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )

    return _approval_action(request, session, staff, act)


# --- reports, deadlines, audit --------------------------------------------------------------


@router.get("/deadlines")
def deadlines_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    within: Annotated[int, Query(ge=0, le=250)] = 5,
) -> HTMLResponse:
    """公示期限: overdue and due-soon results of the jurisdiction (the API's deadlines list),
    with the calendar warnings from 1 December."""
    require(staff, "supervisor")
    s = settings_of(request)
    problem = None
    report = None
    try:
        report = deadlines.deadlines_report(
            session,
            today=today_local(),
            within=within,
            override_file=s.calendar_override_file,
            workdays=s.publish_result_workdays,
            jurisdiction=staff.principal.jurisdiction,
        )
    except AppError as exc:
        problem = problem_of(session, exc)
    return render(
        request,
        "deadlines.html",
        staff,
        500 if problem else 200,
        report=report,
        within=within,
        problem=problem,
    )


@router.get("/reports")
def reports_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    region: Annotated[str, Query(max_length=6)] = "",
    format: Annotated[str, Query(pattern="^(html|xlsx)$")] = "html",
) -> Response:
    require(staff, "supervisor")
    today = today_local()
    start = start or today - timedelta(days=today.weekday())
    end = end or start + timedelta(days=6)
    problem = None
    report = None
    try:
        narrowed = staff.principal.jurisdiction.narrow(region or None)
        report = reports.weekly_report(session, start=start, end=end, region=narrowed)
    except AppError as exc:
        problem = problem_of(session, exc)
    if report is not None and format == "xlsx":
        body = reports.weekly_xlsx(report, filled_on=today)
        name = f"weekly-{start.isoformat()}-{end.isoformat()}.xlsx"
        return Response(
            body,
            media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render(
        request,
        "reports.html",
        staff,
        report=report,
        start=start,
        end=end,
        region=region,
        problem=problem,
    )


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff, "supervisor")
    from app.auth.audit_view import recent_entries

    report = verify_chain(session)
    j = staff.principal.jurisdiction
    recent = recent_entries(session, jurisdiction=j, limit=100)
    return render(request, "audit.html", staff, report=report, entries=recent, jurisdiction=j)


# --- admin ----------------------------------------------------------------------------------


def _admin_page(
    request: Request,
    session: Any,
    staff: Any,
    status: int = 200,
    problem: Any = None,
    new_token: str = "",
) -> HTMLResponse:
    j = staff.principal.jurisdiction
    return render(
        request,
        "admin.html",
        staff,
        status,
        users=accounts.list_users(session, jurisdiction=j),
        tokens=list_tokens(session, jurisdiction=j),
        problem=problem,
        new_token=new_token,
    )


@router.get("/admin")
def admin_page(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    require(staff)
    return _admin_page(request, session, staff)


def _admin_action(request: Request, session: Any, staff: Any, action: Any) -> Response:
    """An admin action: back to the accounts page, or that page with the refusal."""
    require(staff)
    try:
        action()
    except AppError as exc:
        return _admin_page(request, session, staff, exc.status, problem_of(session, exc))
    return see_other("/console/admin")


@router.post("/admin/users")
def admin_create_user(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    username: Text = "",
    password: Text = "",
    role: Text = "",
    department: Text = "",
    region: Text = "",
    inspector: Text = "",
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: accounts.create_user(
            session,
            username=username,
            password=password,
            role=role,
            department=department,
            region=region,
            badge=inspector or None,
            actor=staff.principal.actor,
            within=staff.principal.jurisdiction,
        ),
    )


@router.post("/admin/users/{username}/disable")
def admin_disable_user(
    request: Request, session: SessionDep, staff: StaffDep, username: str
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: accounts.disable_user(
            session,
            username=username,
            actor=staff.principal.actor,
            within=staff.principal.jurisdiction,
        ),
    )


@router.post("/admin/tokens")
def admin_create_token(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    name: Text = "",
    role: Text = "",
    region: Text = "",
    department: Text = "",
    inspector: Text = "",
) -> Response:
    require(staff)
    try:
        value, _row = issue_token(
            session,
            role=role,
            name=name,
            badge=inspector or None,
            actor=staff.principal.actor,
            region=region,
            department=department,
            within=staff.principal.jurisdiction,
        )
    except AppError as exc:
        return _admin_page(request, session, staff, exc.status, problem_of(session, exc))
    return _admin_page(request, session, staff, new_token=value)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    request: Request, session: SessionDep, staff: StaffDep, token_id: int
) -> Response:
    return _admin_action(
        request,
        session,
        staff,
        lambda: revoke_token(
            session,
            token_id=token_id,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        ),
    )


@router.get("/static/console.css")
def stylesheet() -> Response:
    from app.console.web import HERE

    return Response(
        (HERE / "static" / "console.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


def redirect_to_login(request: Request) -> RedirectResponse:
    return see_other("/console/login")
