"""The API's conventions: one route class for every endpoint (strict JSON bodies: a duplicate
key is a 422, never a silent merge, and malformed JSON names its position; no unknown query
parameter: a misspelt filter is a 422, never silently ignored), the OpenAPI that declares
every problem+json answer, and /docs served without a CDN."""

import json
from collections.abc import Callable, Coroutine
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.errors import PROBLEM_JSON, PROBLEM_TITLES, Problem
from app.inputs import check_texts


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def strict_json_loads(body: bytes | str) -> Any:
    """json.loads that refuses duplicate object keys (the input rule, app/inputs.py, ran on
    the raw bytes before: app/limits.py); RequestValidationError on bad JSON."""
    try:
        return json.loads(body, object_pairs_hook=_pairs)
    except _DuplicateKey as exc:
        raise RequestValidationError(
            [
                {
                    "type": "duplicate_key",
                    "loc": ("body",),
                    "msg": f"duplicate key {exc.key!r}",
                    "ctx": {"key": json.dumps(exc.key, ensure_ascii=False)},
                }
            ]
        ) from None
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": "JSON decode error",
                    "ctx": {
                        "where": f"第 {exc.lineno} 行第 {exc.colno} 列（位置 {exc.pos}）",
                        "error": exc.msg,
                    },
                }
            ]
        ) from None
    except UnicodeDecodeError:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": "JSON decode error",
                    "ctx": {"where": "请求体", "error": "不是 UTF-8 编码 (not UTF-8)"},
                }
            ]
        ) from None


def _json_body(request: Request) -> bool:
    """Whether FastAPI would read this request's body as JSON."""
    ctype = request.headers.get("content-type")
    if ctype is None:
        return True
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


class StrictRoute(APIRoute):
    """An APIRoute that refuses unknown query parameters and duplicate JSON keys (422)."""

    def query_names(self) -> frozenset[str]:
        """Every query parameter the endpoint and its dependencies declare (by alias)."""
        names: set[str] = set()
        todo: list[Dependant] = [self.dependant]
        while todo:
            dependant = todo.pop()
            names.update(f.alias for f in dependant.query_params)
            todo.extend(dependant.dependencies)
        return frozenset(names)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = self.query_names()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            unknown = sorted({k for k in request.query_params if k not in known})
            if unknown:
                raise RequestValidationError(
                    [
                        {"type": "unknown_query_parameter", "loc": ("query", k), "msg": k}
                        for k in unknown
                    ]
                )
            if takes_body and _json_body(request):
                body = await request.body()
                if body:
                    # Starlette's Request.json() returns this cached value to FastAPI.
                    request._json = strict_json_loads(body)
            elif takes_body and _multipart(request):
                # Parsed once (Starlette caches it for FastAPI); its text fields obey the input
                # rule (the files' contents are checked by whoever reads them).
                form = await request.form()
                check_texts((k, v) for k, v in form.multi_items() if isinstance(v, str))
            return await handler(request)

        return strict_handler


# --- OpenAPI: the problem+json errors every operation can answer -----------------------------

_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def _problem_components() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "Problem": schema}


def _with_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation declares the errors it can answer, each a problem+json `Problem`:
    422 always (unknown query parameters), 401/403/429 where a token is needed, 413 where
    there is a body, 400 where there is a cursor; 404/409 come from the route's own
    `responses=problem_responses(...)`. FastAPI's HTTPValidationError is not what we send."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            responses: dict[str, Any] = op.setdefault("responses", {})
            statuses = {422}
            if op.get("security"):
                statuses |= {401, 403, 429}
            if "requestBody" in op:
                statuses.add(413)
            if any(p.get("name") == "cursor" for p in op.get("parameters", [])):
                statuses.add(400)
            for status in statuses:
                responses.setdefault(
                    str(status), {"description": PROBLEM_TITLES.get(status, "错误 (Error)")}
                )
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
                    if response.get("description") == "Validation Error":
                        response["description"] = PROBLEM_TITLES[422]
            op["responses"] = dict(sorted(responses.items()))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas.update(_problem_components())
    return spec


def install_openapi(app: FastAPI) -> None:
    """Replaces app.openapi with one that declares problem+json errors (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_problems(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- /docs and /redoc without a CDN -----------------------------------------------------------

DOCS_ASSETS = "/docs-assets"


def docs_assets_dir() -> Path:
    """Swagger UI and ReDoc as the pinned fastapi-offline package bundles them."""
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """/docs (Swagger UI) and /redoc served from local assets only: they work offline."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def _swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            # No online validator badge: it would call out to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def _redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
