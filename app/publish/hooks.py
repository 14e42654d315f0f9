"""Automatic publishing after a publishable change (plan publish, adjustment, draw, result)."""

from __future__ import annotations

from fastapi import FastAPI

from app.publish.write import publish_in_background


def publish_site(app: FastAPI) -> None:
    """The reaction to app.events.site_changed: re-publish the site (its own session)."""
    publish_in_background(app.state.sessionmaker, app.state.settings.publish_dir)
