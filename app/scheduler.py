"""The service's periodic jobs (app/jobs.py), registered in one place.

A new time-driven feature writes its job as `fn(session, now)` in its own package and adds one
`jobs.register(name, every_seconds, fn)` line to `register_jobs` below.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app import jobs
from app.auth.signin import SignInPolicy, prune
from app.config import Settings
from app.plans.drawing import draw_due_plans
from app.publish.log import cosign_pending
from app.publish.publisher import calendar_check, publish_on_time, publish_pending, result_release

PUBLISH = "publish"
PUBLISH_ON_TIME = "publish_on_time"
COSIGN = "cosign"
CALENDAR_CHECK = "calendar_check"
DRAW_DUE = "draw_due_plans"
SIGN_IN_PRUNE = "sign_in_prune"


def register_jobs(settings: Settings) -> None:
    """Registers every periodic job of the service for `settings`."""
    release = result_release(settings)

    def publish(session: Session, now: datetime) -> None:
        # One build for every change recorded since the last one (a burst is one build).
        publish_pending(session, settings.publish_dir, now=now, release=release)

    def on_time(session: Session, now: datetime) -> None:
        # Windows that closed and results due: publication due, built by the next "publish".
        publish_on_time(session, now, release)

    # In this order: a draw whose beacon round has come, and a window that closed, are
    # published in the same tick.
    jobs.register(DRAW_DUE, settings.time_check_seconds, draw_due_plans)
    jobs.register(PUBLISH_ON_TIME, settings.time_check_seconds, on_time)
    jobs.register(PUBLISH, settings.publish_interval_seconds, publish)
    # The witnesses cosign each committed checkpoint; their cosignatures are published by the
    # next "publish" (docs/transparency-log.md).
    jobs.register(
        COSIGN, settings.publish_interval_seconds, lambda s, _now: cosign_pending(s, settings)
    )
    jobs.register(CALENDAR_CHECK, 24 * 3600, lambda _s, now: calendar_check(settings, now))
    # The sign-in audit is kept `sign_in_retention_days` (at least six months), then deleted.
    policy = SignInPolicy.of(settings)
    jobs.register(SIGN_IN_PRUNE, 24 * 3600, lambda session, now: prune(session, now, policy))
