"""create_app(): routers, error handlers, the public site under /public."""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.types import Scope

from app.api import StrictRoute, install_docs, install_openapi
from app.auth.service import resolve as resolve_token
from app.clock import today_local
from app.config import Settings, get_settings
from app.console import install as install_console
from app.console.admin_api import router as admin_router
from app.credit.router import router as credit_router
from app.db import make_engine, make_sessionmaker
from app.errors import database_unavailable, install_error_handlers
from app.jobs import Scheduler
from app.limits import install_limits
from app.plans.router import router as plans_router
from app.publish.hooks import publish_site
from app.publish.write import site_state
from app.registries.router import router as registries_router
from app.scheduler import register_jobs
from app.stats.router import router as stats_router
from app.tasks.deadlines import warn_at_startup
from app.tasks.router import router as tasks_router

# Types the public site needs that the platform's mime table may lack or give without charset.
SITE_TYPES = {".atom": "application/atom+xml; charset=utf-8"}


NOT_YET_PUBLISHED = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>尚未发布 · 双随机、一公开</title></head>
<body><h1>双随机、一公开 公开网站</h1>
<p>本网站尚未发布任何内容：第一份抽查计划公布后，事项清单、抽查计划、任务与结果将在此公开。</p>
<p lang="en">Nothing has been published yet.</p></body></html>
"""


class PublicFiles(StaticFiles):
    """The published site; an Atom feed is served as UTF-8 Atom so that readers and browsers
    neither guess its type nor its encoding. Before a first publication `/public/` says so
    (200), instead of a 404 that looks like a broken service."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path in (".", "", "index.html") and not os.path.isfile(
            os.path.join(str(self.directory), "index.html")
        ):
            return HTMLResponse(NOT_YET_PUBLISHED, headers={"Cache-Control": "no-cache"})
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media = SITE_TYPES.get(os.path.splitext(str(full_path))[1])
        if media:
            response.headers["content-type"] = media
        return response


API_DESCRIPTION = """
spotcheck：医保基金监管“双随机、一公开”抽查服务。
Registries (一单两库), plans, verifiable draws, results and the public site.
Authenticate with `Authorization: Bearer TOKEN` (`spotcheck token create`; the Authorize button).
Every error is `application/problem+json` (schema `Problem`, each failed check in `errors`);
every list is `{items, next_cursor}`: pass `cursor=next_cursor` for the next page, until it is null.
An unknown query parameter or a duplicate JSON key is a 422.
"""


class Health(BaseModel):
    """The liveness answer (always 200 while the process serves): "ok", or "degraded" when the
    database cannot be reached (`database`: "unavailable"; requests needing it get 503) or the
    live public site's last build had to skip units it could not render (`failed_units`:
    unit → error; the rest of the site is current, the next build tries them again)."""

    status: str
    database: str = "ok"
    generation: str | None = None
    failed_units: dict[str, str] = {}


OPENAPI_URL = "/api/v1/openapi.json"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Builds the application; tests pass their own engine."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # SPOTCHECK_SCHEDULER=thread (`spotcheck serve`): the periodic jobs run in this process.
        if settings.scheduler == "thread":
            register_jobs(settings)
            app.state.scheduler = Scheduler(app.state.sessionmaker, settings.scheduler_tick_seconds)
            app.state.scheduler.start()
        try:
            yield
        finally:
            if getattr(app.state, "scheduler", None) is not None:
                app.state.scheduler.stop()
                app.state.scheduler = None

    app = FastAPI(
        lifespan=lifespan,
        title="spotcheck",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.router.route_class = StrictRoute
    install_openapi(app)
    install_docs(app, openapi_url=OPENAPI_URL)
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.on_site_changed = publish_site  # app/events.py
    install_error_handlers(app)
    app.include_router(registries_router)
    app.include_router(plans_router)
    app.include_router(tasks_router)
    app.include_router(credit_router)
    app.include_router(stats_router)
    app.include_router(admin_router)
    install_console(app)

    # Inside the security headers middleware, so its 413/429 answers carry them too.
    def token_valid(token: str) -> bool:
        with app.state.sessionmaker() as session:
            return resolve_token(session, token) is not None

    app.state.auth_limiter = install_limits(
        app,
        upload_limit=lambda: max(settings.max_upload_bytes, settings.max_evidence_bytes),
        token_valid=token_valid,
    )

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.scheme == "https":  # behind a TLS proxy: uvicorn --proxy-headers
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    # From 1 December: next year's holiday calendar missing → a warning in the log at start.
    warn_at_startup(settings.calendar_override_file, today_local())
    settings.publish_dir.mkdir(parents=True, exist_ok=True)
    app.mount(
        "/public",
        PublicFiles(directory=settings.publish_dir, html=True, check_dir=False),
        name="public",
    )

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/public/")

    @app.get("/api/v1/health", tags=["ops"], response_model=Health)
    def health() -> Health:
        """存活检查 (liveness)；公开网站上次生成时跳过的单元 (units the last build skipped)."""
        site = site_state(settings.publish_dir)
        failed = site.get("failed_units", {})
        database = "ok"
        try:
            with app.state.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            database = "unavailable"
        return Health(
            status="degraded" if failed or database != "ok" else "ok",
            database=database,
            generation=site.get("generation"),
            failed_units=failed,
        )

    return app
