"""Automatic publishing after a publishable change (plan publish, adjustment, draw, result)."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from app.publish.write import publish_in_background


def publish_after_response(request: Request, background: BackgroundTasks) -> None:
    """Re-publishes the site once the response is sent (the request's commit came first)."""
    background.add_task(
        publish_in_background,
        request.app.state.sessionmaker,
        request.app.state.settings.publish_dir,
    )
