"""The staff console (/console/): server-rendered pages over the same services as the API,
and the admin API of accounts and tokens (/api/v1/admin)."""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.console.pages import router
from app.console.security import router as security_router
from app.console.web import CsrfRefused, RoleRefused, SignInRequired, templates


def install(app: FastAPI) -> None:
    """Mounts the console's pages and the answers to a missing sign-in, CSRF token or role."""
    app.include_router(router)
    app.include_router(security_router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"staff": None, "message": "表单校验失败（CSRF），请返回刷新页面后重试"},
            status_code=403,
        )

    @app.exception_handler(RoleRefused)
    async def _role(request: Request, _exc: RoleRefused) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"staff": None, "message": "您的角色无权使用此页面 (role not allowed)"},
            status_code=403,
        )

    @app.get("/console", include_in_schema=False)
    def _console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)
