"""What a request tells the rest of the service once it has committed: "the public site changed".

Domain routers call `site_changed`; what reacts to it (publishing, app/publish) is wired in
app/main.py, so no domain package imports the publishing package that depends on it.
"""

from collections.abc import Callable

from fastapi import BackgroundTasks, FastAPI, Request

SiteChanged = Callable[[FastAPI], None]


def site_changed(request: Request, background: BackgroundTasks) -> None:
    """Runs the app's `on_site_changed` reaction after the response (the commit came first)."""
    react: SiteChanged | None = getattr(request.app.state, "on_site_changed", None)
    if react is not None:
        background.add_task(react, request.app)
