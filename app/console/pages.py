"""Pages of the staff console (/console/): each action calls the service function the API's
router calls, with the signed-in person's principal (role and jurisdiction)."""

import json
import tempfile
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.audit.service import verify_chain
from app.auth import accounts, sessions
from app.auth.service import issue_token, list_tokens, revoke_token
from app.clock import today_local
from app.console.web import (
    StaffDep,
    idle_of,
    problem_of,
    render,
    require,
    secure_cookie,
    see_other,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError
from app.events import site_changed
from app.plans import drawing, preview
from app.plans import service as plans
from app.plans.schemas import AdjustmentIn, DrawIn, PlanIn
from app.registries import importer
from app.registries import service as registries
from app.tasks import reports, results
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
    limiter = request.app.state.auth_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(client)
    if wait is not None:
        return _login_page(request, f"登录失败次数过多，请 {wait} 秒后重试", 429)
    s = settings_of(request)
    policy = accounts.LoginPolicy(
        max_failures=s.login_max_failures, lockout=timedelta(minutes=s.login_lockout_minutes)
    )
    try:
        user = accounts.authenticate(session, username=username, password=password, policy=policy)
    except accounts.LoginRefused as refused:
        limiter.failed(client)
        return _login_page(request, refused.message, 423 if refused.locked else 401)
    value, _row = sessions.start(session, user, idle=idle_of(request))
    response = see_other("/console/")
    response.set_cookie(
        sessions.COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request),
        path="/",
        max_age=int(idle_of(request).total_seconds()),
    )
    response.delete_cookie("spotcheck_login_csrf", path="/console/login")
    return response


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
    return render(request, "dashboard.html", staff, tasks=my_tasks, queue=queue, plans=plan_rows)


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
        while chunk := file.file.read(1 << 20):
            tmp.write(chunk)
        tmp.seek(0)
        try:
            result = importer.import_file(session, kind=kind, fh=tmp, actor=staff.principal.actor)
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
        problem=problem,
        result=result,
        filename=file.filename,
    )


@router.get("/registries/{kind}/{key}/history")
def registry_history(
    request: Request, session: SessionDep, staff: StaffDep, kind: str, key: str
) -> HTMLResponse:
    from app.registries import history

    require(staff, "supervisor")
    try:
        registries.check_visible(
            session, kind=kind, key=key, jurisdiction=staff.principal.jurisdiction
        )
    except AppError as exc:
        return render(request, "error.html", staff, 404, message=exc.detail)
    versions = history.history(session, kind=kind, key=key)
    return render(
        request, "history.html", staff, kind=kind, kinds=KINDS, key=key, versions=versions
    )


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
        "extra": "",
    }


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


@router.post("/plans/new")
async def plan_create(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    """Creates a draft through plans.service.create; the API's 422 errors shown by field."""
    require(staff, "supervisor")
    raw = await request.form()
    form = {k: str(raw.get(k, "")) for k in _plan_defaults(staff)}
    form["kinds"] = [str(v) for v in raw.getlist("kinds")]  # type: ignore[assignment]
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
        body["entropy_source"] = {
            "kind": "dice",
            # datetime-local carries no zone: the console speaks 北京时间
            "scheduled_at": at if at.endswith("Z") or "+" in at else at + "+08:00",
            "place": form["dice_place"].strip(),
            "witnesses": _split(form["dice_witnesses"]),
        }
    problem = None
    try:
        if form["extra"].strip():
            extra = json.loads(form["extra"])
            if not isinstance(extra, dict):
                raise ValueError
            body.update(extra)
        data = PlanIn.model_validate(body)
        plan = plans.create(
            session,
            data=data,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        )
        return see_other(f"/console/plans/{plan.code}")
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            problem = problem_of(session, exc)
        else:
            problem = {
                "detail": "其他设置须为 JSON 对象",
                "errors": [{"field": "extra", "message": "不是有效的 JSON 对象"}],
            }
    except AppError as exc:
        problem = problem_of(session, exc)
    errors: dict[str, str] = {}
    for err in (problem or {}).get("errors") or []:
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
    )


def _plan_context(session: Any, staff: Any, code: str) -> dict[str, Any]:
    plan = plans.visible(session, code, staff.principal.jurisdiction)
    draws = [plans.get_draw(session, d) for d in plans.draw_ids(session, code)]
    versions = plans.versions(session, code, cursor=None, limit=200).items
    inclusion = None
    try:
        inclusion = preview.inclusion_preview(session, code=code)
    except AppError as exc:
        inclusion = {"error": exc.detail}
    return {
        "plan": plan,
        "draws": draws,
        "versions": versions,
        "inclusion": inclusion,
        "entropy_source": plan.spec.get("entropy_source"),
    }


@router.get("/plans/{code}")
def plan_page(request: Request, session: SessionDep, staff: StaffDep, code: str) -> HTMLResponse:
    require(staff, "supervisor")
    try:
        ctx = _plan_context(session, staff, code)
    except AppError as exc:
        return render(request, "error.html", staff, exc.status, message=exc.detail)
    return render(request, "plan.html", staff, problem=None, **ctx)


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
        plans.adjust(session, code=code, adj=adj, actor=staff.principal.actor)
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
    from app.models.base import utcnow
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


# --- reports, audit -------------------------------------------------------------------------


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
    from sqlalchemy import select

    from app.models import AuditEntry

    report = verify_chain(session)
    recent = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(100)))
    return render(request, "audit.html", staff, report=report, entries=recent)


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
