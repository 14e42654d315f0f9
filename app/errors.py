"""Application errors and their RFC 9457 problem+json rendering."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("spotcheck")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://spotcheck.example/problems/"


class AppError(Exception):
    """Base of every error the API turns into problem+json."""

    status = 500
    slug = "internal"
    title = "服务器内部错误 (Internal error)"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}

    def to_problem(self) -> dict[str, Any]:
        """The problem document (RFC 9457)."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "请求无效 (Bad request)"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "未认证 (Unauthorized)"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "无权限 (Forbidden)"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "未找到 (Not found)"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "状态冲突 (Conflict)"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "too-large", "请求体过大 (Payload too large)"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation", "数据校验失败 (Validation failed)"


def problem_response(
    problem: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSONResponse with the problem+json media type."""
    return JSONResponse(
        problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers
    )


def _loc_to_field(loc: tuple[Any, ...]) -> tuple[int | None, str]:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    row = next((p for p in parts if isinstance(p, int)), None)
    return row, ".".join(str(p) for p in parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json, never a bare 500 page."""

    @app.exception_handler(AppError)
    async def _app_error(_req: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.to_problem(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            row, field = _loc_to_field(tuple(err.get("loc", ())))
            item: dict[str, Any] = {"field": field, "message": err.get("msg", "")}
            if row is not None:
                item["row"] = row
            errors.append(item)
        err_obj = ValidationFailed(
            "请求数据不符合要求 (request does not match the schema)", errors=errors
        )
        return problem_response(err_obj.to_problem())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "未找到 (Not found)", 405: "方法不允许 (Method not allowed)"}
        problem = {
            "type": TYPE_BASE + f"http-{exc.status_code}",
            "title": titles.get(exc.status_code, "请求错误 (HTTP error)"),
            "status": exc.status_code,
            "detail": str(exc.detail),
        }
        return problem_response(problem, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _unhandled(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            AppError("服务器内部错误，已记录 (internal error, logged)").to_problem()
        )
