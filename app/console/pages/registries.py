"""The 一单两库 registries: list, search, import, export, history, edit, deactivate."""

import tempfile
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import (
    HTMLResponse,
    Response,
    StreamingResponse,
)
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.console.web import (
    PAGE,
    Staff,
    StaffDep,
    Text,
    act,
    problem_of,
    render,
    require,
    see_other,
    settings_of,
)
from app.db import SessionDep
from app.errors import AppError, ValidationFailed
from app.regions import regions_under
from app.registries import importer
from app.registries import service as registries

router = APIRouter(include_in_schema=False)

KINDS = {"targets": "检查对象名录库", "inspectors": "执法检查人员名录库", "items": "抽查事项清单"}

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
    total: int | None = None
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
        if not as_of:  # the count of a past moment would have to replay the history
            total = registries.count_records(
                session,
                kind=kind,
                filters=filters,
                include_inactive=include_inactive,
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
        total=total,
        regions=regions_under(staff.user.region_prefix),
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
        total=None,
        regions=[],
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
    request: Request,
    session: Session,
    staff: Staff,
    kind: str,
    key: str,
    problem: dict[str, Any] | None = None,
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
    return act(
        session,
        lambda: registries.patch(
            session,
            kind=kind,
            key=key,
            changes=changes,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
        ),
        then=f"/console/registries/{kind}/{key}/history?saved=1",
        refused=lambda problem, _status: _history_page(request, session, staff, kind, key, problem),
    )


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
    return act(
        session,
        lambda: registries.deactivate(
            session,
            kind=kind,
            key=key,
            actor=staff.principal.actor,
            jurisdiction=staff.principal.jurisdiction,
            reason=reason,
        ),
        then=f"/console/registries/{kind}/{key}/history",
        refused=lambda problem, _status: _history_page(request, session, staff, kind, key, problem),
    )


# --- plans ----------------------------------------------------------------------------------
