"""The publisher: the one owner of a build's transaction.

Requests only record that publication is due (`app.events.publication_due`, a
`publish_requests` row in the change's own transaction). `publish_pending` — run by the
scheduler's "publish" job (app/scheduler.py), by the background task of a request when no
scheduler runs in the process, and by `spotcheck publish` — takes the writer lock, builds the
site once for every request recorded so far (a burst of changes is one build), deletes the
requests it served and records the build, all in its own session's transaction.

The writer lock: on PostgreSQL a transaction-scoped advisory lock (one build at a time across
every worker and machine); on SQLite the transaction itself, begun IMMEDIATE (one writer at a
time; others wait up to the busy timeout, readers never block); and always the file lock next
to the publish directory (app/publish/write.py).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.clock import LOCAL_TZ, local_date
from app.config import Settings
from app.db import begin_write
from app.events import publication_due
from app.models import Draw, Plan, PublishBuild, PublishRequest, Result
from app.models.base import utcnow
from app.plans.disclosure import tasks_public
from app.publish.collect import ResultRelease
from app.publish.log import cosign_pending
from app.publish.write import PublishReport, publish
from app.states import PlanStatus
from app.tasks.deadlines import calendar_warnings
from app.tasks.deadlines import publication_due as deadline_of
from app.tasks.workdays import CalendarDataMissing, WorkdayCalendar, load_calendar

log = logging.getLogger(__name__)
# pg_advisory_xact_lock key of the site build ("spotchk" in ASCII).
PUBLISH_LOCK = 0x73706F7463686B


def result_release(settings: Settings, calendar: WorkdayCalendar | None = None) -> ResultRelease:
    """A withheld draw's approved result goes public `result_publish_margin_workdays` working
    days before its deadline (`publish_result_workdays` after the decision); at once when the
    calendar cannot say (never late for lack of data)."""
    cal = calendar or load_calendar(settings.calendar_override_file)
    lead = max(0, settings.publish_result_workdays - settings.result_publish_margin_workdays)

    def release(decided_on: date) -> date:
        try:
            return deadline_of(cal, decided_on, lead)
        except CalendarDataMissing:
            return decided_on

    return release


def writer_lock(session: Session) -> None:
    """Takes the build's writer lock for the rest of the session's transaction (on SQLite
    a transaction already begun must have been begun as a writer, `app.db.begin_write`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK})
    elif not session.in_transaction():  # else begun by the caller as a writer (app/jobs.py)
        begin_write(session)


def publish_pending(
    session: Session,
    publish_dir: Path,
    *,
    now: datetime | None = None,
    release: ResultRelease | None = None,
    full: bool = False,
) -> PublishReport | None:
    """Builds the site if publication is due (or `full`: always, rendering every file); serves
    and deletes the requests, records the build. The caller commits (or rolls back: then the
    requests stay due and the site built is replaced by the next build)."""
    writer_lock(session)
    requests = list(session.execute(select(PublishRequest.id, PublishRequest.scope)))
    if not requests and not full:
        return None
    at = now or utcnow()
    full = full or any(scope == "all" for _, scope in requests)
    report = publish(session, publish_dir, now=at, full=full, result_release=release)
    ids = [rid for rid, _ in requests]
    for i in range(0, len(ids), 1000):
        session.execute(delete(PublishRequest).where(PublishRequest.id.in_(ids[i : i + 1000])))
    session.add(
        PublishBuild(
            built_for=at,
            generation=report.generation.name,
            requests=len(ids),
            files_written=report.files_written,
            files_linked=report.files_linked,
            bytes_written=report.bytes,
            full=full,
        )
    )
    session.flush()
    log.info(
        "公开网站已更新：%s（%d 项变更；写入 %d 个文件 %.1f MB，沿用 %d 个）",
        report.generation.name,
        len(ids),
        report.files_written,
        report.bytes / 1e6,
        report.files_linked,
    )
    if report.failed_units:
        log.warning(
            "本次发布跳过 %d 个无法生成的单元（其余照常更新，下次发布重试）：%s",
            len(report.failed_units),
            "、".join(sorted(report.failed_units)[:20]),
        )
    return report


def publish_now(factory: sessionmaker[Session], settings: Settings) -> PublishReport | None:
    """`build_and_cosign`; failures are logged (the requests stay due, the next run catches
    up)."""
    try:
        return build_and_cosign(factory, settings)
    except Exception:
        log.exception("发布公开网站失败（publish failed）；下次发布时将补上")
        return None


def build_and_cosign(
    factory: sessionmaker[Session], settings: Settings, *, full: bool = False
) -> PublishReport | None:
    """Runs `publish_pending` in its own session and commits; then asks the witnesses to
    cosign the committed checkpoint and, if they did, builds again (incrementally) to publish
    their cosignatures."""
    release = result_release(settings)
    with factory() as session:
        report = publish_pending(session, settings.publish_dir, release=release, full=full)
        session.commit()
    if cosign_now(factory, settings):
        with factory() as session:
            report = publish_pending(session, settings.publish_dir, release=release) or report
            session.commit()
    return report


def cosign_now(factory: sessionmaker[Session], settings: Settings) -> int:
    """The witnesses asked to cosign the newest committed checkpoint, in a session of its own
    (`app.publish.log.cosign_pending`); returns how many cosigned."""
    with factory() as session:
        added = cosign_pending(session, settings)
        session.commit()
    return added


def last_built_for(session: Session) -> datetime | None:
    """The time the newest build was built for."""
    return session.scalar(select(func.max(PublishBuild.built_for)))


def window_openings(session: Session) -> list[tuple[str, datetime]]:
    """(plan, when) the task lists of each drawn `after_window` plan go public: 00:00 北京时间
    of the day after its window."""
    drawn = select(Draw.plan_code).distinct()
    plans = session.execute(
        select(Plan.code, Plan.spec).where(Plan.status != PlanStatus.DRAFT, Plan.code.in_(drawn))
    )
    out = []
    for code, spec in plans:
        public, start = tasks_public(spec, date.min)
        if not public and start is not None:
            opening = datetime.combine(date.fromisoformat(start), time(), LOCAL_TZ)
            out.append((code, opening))
    return out


def publish_on_time(session: Session, now: datetime, release: ResultRelease) -> list[str]:
    """The time-driven part of 一公开: records publication due (scope "time:…") when a window
    closed since the last build, or a result of a withheld draw reached its release day;
    returns the scopes recorded. Under the writer lock, and not again while the same scope is
    still due: a build running in another worker either finishes first (then nothing is due
    any more) or serves the request recorded here — one event, one build."""
    writer_lock(session)
    pending = set(session.scalars(select(PublishRequest.scope)))
    since = last_built_for(session)
    due = [
        f"time:window:{code}"
        for code, opening in window_openings(session)
        if opening <= now and (since is None or opening > since)
    ]
    today = local_date(now)
    waiting = session.execute(
        select(Result.id, Result.decided_on).where(Result.published_at.is_(None))
    )
    if any(release(decided_on) <= today for _, decided_on in waiting):
        # Results of public draws are published with them at once; these are the others.
        due.append("time:results")
    due = [scope for scope in due if scope not in pending]
    if due:
        publication_due(session, *due)
    return due


def calendar_check(settings: Settings, now: datetime) -> list[str]:
    """Warnings about missing 节假日 calendar data (from 1 December for next year), logged."""
    warnings = calendar_warnings(load_calendar(settings.calendar_override_file), local_date(now))
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
