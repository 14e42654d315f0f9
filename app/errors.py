"""Application errors and their RFC 9457 problem+json rendering."""

import logging
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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


class ServerKeyMismatch(Conflict):
    """The server key of this host does not open a published commitment (restored from a
    backup without its key, or a key replaced): a 409 saying what to do."""

    slug = "server-key-mismatch"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "too-large", "请求体过大 (Payload too large)"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation", "数据校验失败 (Validation failed)"


class DatabaseUnavailable(AppError):
    status, slug, title = 503, "database-unavailable", "数据库暂时不可用 (Database unavailable)"


# Seconds a client is asked to wait (Retry-After) while the database is away.
DB_RETRY_AFTER = 5


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or used right now (stopped,
    restarting, connection lost, pool exhausted, SQLite busy), as opposed to a bug."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class OutageLog:
    """Logs that the database is away once per `every` seconds, one line without a traceback
    (an outage otherwise writes one traceback per request), and when it is back."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last = -math.inf
        self._missed = 0
        self._away = False
        self._lock = threading.Lock()

    def away(self, exc: BaseException, where: str) -> None:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        with self._lock:
            self._away = True
            now = time.monotonic()
            if now - self._last < self.every:
                self._missed += 1
                return
            missed, self._missed, self._last = self._missed, 0, now
        log.warning(
            "数据库不可用（%s）：%s（此前 %d 次同类失败未逐条记录；%g 秒内不再重复）",
            where,
            reason[0] if reason else type(exc).__name__,
            missed,
            self.every,
        )

    def back(self) -> None:
        if not self._away:  # the common case, without the lock
            return
        with self._lock:
            if not self._away:
                return
            self._away, self._last = False, -math.inf
        log.warning("数据库已恢复 (database back)")


outage_log = OutageLog()


def problem_response(
    problem: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSONResponse with the problem+json media type."""
    return JSONResponse(
        problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers
    )


class ProblemItem(BaseModel):
    """One failed check: the field (dotted path; "body" for the whole body), the row when the
    input is a list (0-based), and a message, Chinese first."""

    model_config = ConfigDict(extra="allow")

    row: int | None = None
    field: str
    message: str


class Problem(BaseModel):
    """An error as application/problem+json (RFC 9457); `errors` lists each failed check."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[TYPE_BASE + "validation"])
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None


PROBLEM_TITLES: dict[int, str] = {
    400: BadRequest.title,
    401: Unauthorized.title,
    403: Forbidden.title,
    404: NotFound.title,
    409: Conflict.title,
    413: PayloadTooLarge.title,
    422: ValidationFailed.title,
    429: "认证失败次数过多 (Too many failed authentications)",
    500: AppError.title,
    503: DatabaseUnavailable.title,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each a problem+json `Problem`."""
    # app/api.py gives every error response its problem+json content in the OpenAPI.
    return {
        status: {"description": PROBLEM_TITLES.get(status, "错误 (Error)")} for status in statuses
    }


# A required field left out (pydantic's "missing", and the same refusal made by a service).
MISSING_FIELD = "缺少必填字段 (field required)"
# pydantic's error types in Chinese (English beside); ctx fills the braces.
_MESSAGES: dict[str, str] = {
    "missing": MISSING_FIELD,
    "extra_forbidden": "不允许的字段 (extra field not permitted)",
    "unknown_query_parameter": "未知的查询参数 (unknown query parameter)",
    "duplicate_key": "JSON 对象中键 {key} 重复 (duplicate key)",
    "json_invalid": "JSON 格式错误：{where}（{error}）(invalid JSON)",
    "json_type": "应为 JSON (JSON expected)",
    "model_type": "应为对象 (object expected)",
    "model_attributes_type": "应为对象 (object expected)",
    "dict_type": "应为对象 (object expected)",
    "list_type": "应为数组 (array expected)",
    "tuple_type": "应为数组 (array expected)",
    "set_type": "应为数组 (array expected)",
    "string_type": "应为字符串 (string expected)",
    "string_sub_type": "应为字符串 (string expected)",
    "string_unicode": "应为有效的 Unicode 字符串 (valid unicode expected)",
    "string_too_short": "长度至少 {min_length} 个字符 (at least {min_length} characters)",
    "string_too_long": "长度至多 {max_length} 个字符 (at most {max_length} characters)",
    "string_pattern_mismatch": "格式不符合要求：{pattern} (should match pattern)",
    "too_short": "至少 {min_length} 项 (at least {min_length} items)",
    "too_long": "至多 {max_length} 项 (at most {max_length} items)",
    "int_type": "应为整数 (integer expected)",
    "int_parsing": "应为整数 (integer expected)",
    "int_parsing_size": "整数超出范围 (integer out of range)",
    "int_from_float": "应为整数，不能有小数部分 (integer expected, got a fraction)",
    "float_type": "应为数字 (number expected)",
    "float_parsing": "应为数字 (number expected)",
    "finite_number": "应为有限数 (finite number expected)",
    "bool_type": "应为布尔值 true/false (boolean expected)",
    "bool_parsing": "应为布尔值 true/false (boolean expected)",
    "greater_than": "应大于 {gt} (should be greater than {gt})",
    "greater_than_equal": "应大于或等于 {ge} (should be greater than or equal to {ge})",
    "less_than": "应小于 {lt} (should be less than {lt})",
    "less_than_equal": "应小于或等于 {le} (should be less than or equal to {le})",
    "multiple_of": "应为 {multiple_of} 的倍数 (should be a multiple of {multiple_of})",
    "literal_error": "取值应为 {expected} 之一 (should be one of {expected})",
    "enum": "取值应为 {expected} 之一 (should be one of {expected})",
    "date_type": "应为日期 YYYY-MM-DD (date expected)",
    "date_parsing": "日期格式无效，应为 YYYY-MM-DD (invalid date)",
    "date_from_datetime_parsing": "日期格式无效，应为 YYYY-MM-DD (invalid date)",
    "date_from_datetime_inexact": "应为日期，不能带时间 (date without time expected)",
    "datetime_type": "应为 ISO 8601 时间 (datetime expected)",
    "datetime_parsing": "时间格式无效，应为 ISO 8601 (invalid datetime)",
    "datetime_from_date_parsing": "时间格式无效，应为 ISO 8601 (invalid datetime)",
    "datetime_object_invalid": "时间无效 (invalid datetime)",
    "decimal_type": "应为十进制数 (decimal expected)",
    "decimal_parsing": "应为十进制数 (decimal expected)",
    "decimal_max_digits": "数字位数过多 (too many digits)",
    "decimal_max_places": "小数位数过多 (too many decimal places)",
    "decimal_whole_digits": "整数位数过多 (too many digits)",
    "uuid_parsing": "应为 UUID (UUID expected)",
    "uuid_type": "应为 UUID (UUID expected)",
    "bytes_type": "应为字节串 (bytes expected)",
    "bytes_too_long": "内容过长 (too long)",
    "bytes_too_short": "内容过短 (too short)",
    "none_required": "应为 null (null expected)",
    "is_instance_of": "类型不符合要求 (wrong type)",
    "union_tag_invalid": "类型标记无效 (invalid discriminator)",
    "union_tag_not_found": "缺少类型标记 (discriminator missing)",
    "recursion_loop": "数据嵌套循环 (recursion loop)",
    "url_parsing": "应为有效网址 (valid URL expected)",
    "url_type": "应为有效网址 (valid URL expected)",
}


def validation_message(err: Mapping[str, Any]) -> str:
    """The Chinese message of one pydantic/FastAPI validation error."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", ""))
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    if kind in ("value_error", "assertion_error"):
        # Our own validators raise ValueError with a Chinese message.
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _MESSAGES.get(kind)
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            return template.split(" (")[0]
    return f"数据不符合要求 ({msg})" if msg else "数据不符合要求 (invalid value)"


def _loc_to_field(loc: tuple[Any, ...], kind: str) -> tuple[int | None, str]:
    if kind == "json_invalid":  # FastAPI puts the character offset where a field would be
        return None, "body"
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    row = next((p for p in parts if isinstance(p, int)), None)
    return row, ".".join(str(p) for p in parts) or "body"


def validation_problem(errors: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 problem document of a list of validation errors."""
    items: list[dict[str, Any]] = []
    for err in errors:
        kind = str(err.get("type", ""))
        row, field = _loc_to_field(tuple(err.get("loc", ())), kind)
        if kind == "json_invalid" and "where" not in (err.get("ctx") or {}):
            loc = tuple(err.get("loc", ()))
            pos = loc[1] if len(loc) > 1 else "?"
            err = {**err, "ctx": {**(err.get("ctx") or {}), "where": f"位置 {pos}"}}
        item: dict[str, Any] = {"field": field, "message": validation_message(err)}
        if row is not None:
            item["row"] = row
        items.append(item)
    return ValidationFailed(
        "请求数据不符合要求 (request does not match the schema)", errors=items
    ).to_problem()


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json, never a bare 500 page."""

    @app.exception_handler(AppError)
    async def _app_error(_req: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.to_problem(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(list(exc.errors())))

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

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(_req: Request, exc: Exception) -> JSONResponse:
        if not database_unavailable(exc):
            log.exception("unhandled database error", exc_info=exc)
            return problem_response(
                AppError("服务器内部错误，已记录 (internal error, logged)").to_problem()
            )
        outage_log.away(exc, "请求")
        problem = DatabaseUnavailable(
            f"数据库暂时不可用，请 {DB_RETRY_AFTER} 秒后重试；已受理的数据不会丢失 "
            f"(database unavailable, retry after {DB_RETRY_AFTER} s)"
        ).to_problem()
        return problem_response(problem, {"Retry-After": str(DB_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def _unhandled(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            AppError("服务器内部错误，已记录 (internal error, logged)").to_problem()
        )
