"""What a request tells the rest of the service: "the public site changed".

A publishable change records that publication is due in its own transaction
(`publication_due`: a `publish_requests` row, committed or rolled back with the change), and
`site_changed` also asks the process to publish after the response. What builds the site
(app/publish/publisher.py) is wired in app/main.py, so no domain package imports the
publishing package that depends on it.
"""

from collections.abc import Callable

from fastapi import BackgroundTasks, FastAPI, Request
from sqlalchemy.orm import Session

from app.models import PublishRequest
from app.models.base import utcnow

SiteChanged = Callable[[FastAPI], None]


def publication_due(session: Session, *scopes: str) -> None:
    """Records in the session's transaction that the site must be rebuilt for `scopes`
    ("plan:CODE", "draw:ID", "result:ID", "time:…"; "all" renders every file)."""
    at = utcnow()
    session.add_all(PublishRequest(scope=s[:200], requested_at=at) for s in scopes or ("all",))
    session.flush()


def site_changed(
    request: Request, background: BackgroundTasks, session: Session, *scopes: str
) -> None:
    """Publication is due (same transaction as the change); after the response (the commit
    came first) the app's `on_site_changed` reaction runs: it wakes the scheduler or publishes."""
    publication_due(session, *scopes)
    react: SiteChanged | None = getattr(request.app.state, "on_site_changed", None)
    if react is not None:
        background.add_task(react, request.app)
