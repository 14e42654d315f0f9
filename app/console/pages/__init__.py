"""Pages of the staff console (/console/), one module per section: each action calls the
service function the API's router calls, with the signed-in person's principal (role and
jurisdiction)."""

from fastapi import APIRouter
from fastapi.responses import Response

from app.console.pages import (
    admin,
    approvals,
    ceremony,
    dashboard,
    oversight,
    plans,
    registries,
    signin,
    tasks,
)
from app.console.web import HERE

router = APIRouter(prefix="/console", include_in_schema=False)

for section in (signin, dashboard, registries, plans, ceremony, tasks, approvals, oversight, admin):
    router.include_router(section.router, prefix="")


@router.get("/static/console.css")
def stylesheet() -> Response:
    return Response(
        (HERE / "static" / "console.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )
