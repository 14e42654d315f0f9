"""HTTP endpoints of the registries: thin wrappers over service, importer, history and export."""

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from app.api import StrictRoute
from app.auth.deps import Supervisor
from app.auth.jurisdiction import Jurisdiction
from app.config import get_settings
from app.db import SessionDep
from app.errors import Unauthorized, problem_responses
from app.pagination import int_key, page_after
from app.registries import export, history, importer, repository, service
from app.registries.schemas import (
    HistoryPage,
    ImportOut,
    InspectorOut,
    InspectorPage,
    ItemOut,
    ItemPage,
    TargetOut,
    TargetPage,
)

router = APIRouter(prefix="/api/v1", tags=["registries"], route_class=StrictRoute)

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]
AsOf = Annotated[datetime | None, Query(description="读取该时刻的名录 (registry as of)")]
Patch = Annotated[dict[str, Any], Body(examples=[{"credit_grade": "C", "tags": ["举报:1"]}])]

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _inspected_upload(request: Request, file: UploadFile = File(...)) -> Iterator[IO[bytes]]:
    """The upload, spooled and checked against the XLSX limits. A dependency listed before the
    session, so it runs before the request's transaction begins (SQLite: BEGIN IMMEDIATE): a
    hostile file is refused without holding any writer up. Only a request that carries a
    bearer token gets this far; the token itself is checked next, by `Supervisor`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("需要 Bearer 令牌 (Authorization: Bearer TOKEN required)")
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as tmp:
        importer.spool_upload(file.file, tmp, get_settings().max_upload_bytes)
        importer.inspect_upload(tmp)
        yield tmp


@router.post(
    "/registries/{kind}/import", response_model=ImportOut, responses=problem_responses(404)
)
def import_registry(
    kind: str,
    upload: Annotated[IO[bytes], Depends(_inspected_upload)],
    session: SessionDep,
    principal: Supervisor,
) -> ImportOut:
    """导入名录：CSV（UTF-8/GB18030）或 XLSX，全部成功或全部不写入。"""
    result = importer.import_file(
        session,
        kind=kind,
        fh=upload,
        actor=principal.actor,
        inspected=True,
        jurisdiction=principal.jurisdiction,
    )
    return ImportOut(**result.__dict__)


@router.get(
    "/registries/{kind}/export",
    response_class=Response,
    responses={
        200: {
            "description": "CSV 或 XLSX 文件",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                _MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(404),
    },
)
def export_registry(
    kind: str,
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """导出名录（可再次导入；本账号辖区内）。CSV 分块流式发送（百万行不整体驻留内存）。"""
    j = principal.jurisdiction
    if format == "csv":
        repository.spec_for(kind)  # an unknown registry is a 404 before anything is sent
        return StreamingResponse(
            export.export_csv_chunks(request.app.state.sessionmaker, kind=kind, jurisdiction=j),
            media_type=_MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="{kind}.{format}"'},
        )
    body = export.export(session, kind=kind, fmt=format, jurisdiction=j)
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{kind}.{format}"'},
    )


@dataclass(frozen=True)
class Paging:
    """Query parameters every registry list takes."""

    include_inactive: bool = False
    cursor: Cursor = None
    limit: Limit = 50
    as_of: AsOf = None


PagingDep = Annotated[Paging, Depends()]


def _page(
    request: Request,
    session: Session,
    kind: str,
    allowed: tuple[str, ...],
    paging: Paging,
    jurisdiction: Jurisdiction,
) -> dict[str, Any]:
    filters = {k: v for k, v in request.query_params.items() if k in allowed and v != ""}
    page = service.list_records(
        session,
        kind=kind,
        filters=filters,
        include_inactive=paging.include_inactive,
        cursor=paging.cursor,
        limit=paging.limit,
        as_of=paging.as_of,
        jurisdiction=jurisdiction,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/targets", response_model=TargetPage)
def list_targets(
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    paging: PagingDep,
    kind: str | None = None,
    level: str | None = None,
    ownership: str | None = None,
    region: Annotated[str | None, Query(description="医保区划前缀")] = None,
    credit_grade: str | None = None,
    status: str | None = None,
    tags: str | None = None,
    q: Annotated[str | None, Query(description="名称包含")] = None,
) -> Any:
    """检查对象列表（筛选、游标分页、历史时点）。"""
    allowed = ("kind", "level", "ownership", "region", "credit_grade", "status", "tags", "q")
    return _page(request, session, "targets", allowed, paging, principal.jurisdiction)


@router.get("/items", response_model=ItemPage)
def list_items(
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    paging: PagingDep,
    category: str | None = None,
    method: str | None = None,
    target_kinds: str | None = None,
    q: str | None = None,
) -> Any:
    """抽查事项列表。"""
    allowed = ("category", "method", "target_kinds", "q")
    return _page(request, session, "items", allowed, paging, principal.jurisdiction)


@router.get("/inspectors", response_model=InspectorPage)
def list_inspectors(
    request: Request,
    session: SessionDep,
    principal: Supervisor,
    paging: PagingDep,
    department: str | None = None,
    region: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    expertise: str | None = None,
    q: str | None = None,
) -> Any:
    """执法检查人员列表。"""
    allowed = ("department", "region", "kind", "status", "expertise", "q")
    return _page(request, session, "inspectors", allowed, paging, principal.jurisdiction)


def _crud(kind: str, key_name: str, out: type[Any]) -> None:
    path = f"/{kind}/{{{key_name}}}"

    @router.get(path, response_model=out, name=f"get_{kind}", responses=problem_responses(404))
    def get_one(
        key: Annotated[str, _key_path(key_name)], session: SessionDep, principal: Supervisor
    ) -> Any:
        return service.get(session, kind=kind, key=key, jurisdiction=principal.jurisdiction)

    @router.patch(path, response_model=out, name=f"patch_{kind}", responses=problem_responses(404))
    def patch_one(
        key: Annotated[str, _key_path(key_name)],
        changes: Patch,
        session: SessionDep,
        principal: Supervisor,
    ) -> Any:
        return service.patch(
            session,
            kind=kind,
            key=key,
            changes=changes,
            actor=principal.actor,
            jurisdiction=principal.jurisdiction,
        )

    @router.delete(
        path, response_model=out, name=f"delete_{kind}", responses=problem_responses(404)
    )
    def delete_one(
        key: Annotated[str, _key_path(key_name)],
        session: SessionDep,
        principal: Supervisor,
        reason: Annotated[str, Query(max_length=500, description="停用理由")] = "",
    ) -> Any:
        return service.deactivate(
            session,
            kind=kind,
            key=key,
            actor=principal.actor,
            jurisdiction=principal.jurisdiction,
            reason=reason,
        )

    @router.get(
        path + "/history",
        response_model=HistoryPage,
        name=f"history_{kind}",
        responses=problem_responses(404),
    )
    def history_of(
        key: Annotated[str, _key_path(key_name)],
        session: SessionDep,
        principal: Supervisor,
        cursor: Cursor = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> Any:
        """一条记录的全部版本，从第 1 版起（游标分页）。"""
        service.check_visible(session, kind=kind, key=key, jurisdiction=principal.jurisdiction)
        versions = history.history(session, kind=kind, key=key)
        page = page_after(versions, cursor, limit, lambda v: int_key(v["version"]))
        return {"items": page.items, "next_cursor": page.next_cursor}


def _key_path(name: str) -> Any:
    return Path(alias=name, max_length=64)


_crud("targets", "uscc", TargetOut)
_crud("items", "code", ItemOut)
_crud("inspectors", "badge", InspectorOut)
