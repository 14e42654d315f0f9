"""The reaction to `app.events.site_changed` (wired in app/main.py): publication is already
recorded as due in the request's transaction; this only gets it built soon."""

from __future__ import annotations

from fastapi import FastAPI

from app.publish.publisher import publish_now


def publish_site(app: FastAPI) -> None:
    """Wakes this process's scheduler (its "publish" job builds at its next due tick); without
    one, builds now in this background task ("inline"); with SPOTCHECK_SCHEDULER=off a
    `spotcheck worker` builds."""
    scheduler = getattr(app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.wake()
    elif app.state.settings.scheduler == "inline":
        publish_now(app.state.sessionmaker, app.state.settings)
