"""Time-driven work: periodic jobs, each run exactly once per period however many processes run
the scheduler.

Register a job once at start-up (app/scheduler.py is where the service's jobs are listed):

    from app import jobs
    jobs.register("draw_due_plans", 60, draw_due_plans)   # fn(session, now) -> None

`fn` gets a session inside a write transaction (SQLite: BEGIN IMMEDIATE) and the time of the
run (tests pass their own); it flushes, never commits: the runner commits when it returns and
rolls back if it raises (the job runs again at the next tick). A job is claimed by moving its
`job_runs.next_run_at` past now in that same transaction (`UPDATE … WHERE next_run_at <= now`):
on PostgreSQL a second worker's claim waits for the first to commit and then finds nothing
due; on SQLite writers are serialised. So each period runs once, by one process, and a failed
run is retried.

Who runs the scheduler: `spotcheck serve` in its own process (a background thread, the
embedded SQLite default), or `spotcheck worker` (production: any number of them beside web
workers started with SPOTCHECK_SCHEDULER=off). docs/operations.md.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from app.db import begin_write
from app.errors import database_unavailable, outage_log
from app.models import JobRun
from app.models.base import utcnow

log = logging.getLogger(__name__)

JobFn = Callable[[Session, datetime], object]


@dataclass(frozen=True)
class Job:
    """A periodic job: `fn(session, now)` every `every_seconds`."""

    name: str
    every_seconds: float
    fn: JobFn


_JOBS: dict[str, Job] = {}


def register(name: str, every_seconds: float, fn: JobFn) -> None:
    """Adds (or replaces) the periodic job `name` (0 seconds: at every tick)."""
    if every_seconds < 0:
        raise ValueError("every_seconds must not be negative")
    _JOBS[name] = Job(name, every_seconds, fn)


def unregister(name: str) -> None:
    """Removes a job (tests)."""
    _JOBS.pop(name, None)


def registered() -> list[Job]:
    """The registered jobs, in registration order."""
    return list(_JOBS.values())


def _claim(session: Session, job: Job, now: datetime) -> bool:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(JobRun)
        .values(name=job.name, next_run_at=now, last_run_at=None, runs=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    claimed = session.execute(
        update(JobRun)
        .where(JobRun.name == job.name, JobRun.next_run_at <= now)
        .values(
            next_run_at=now + timedelta(seconds=job.every_seconds),
            last_run_at=now,
            runs=JobRun.runs + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))


def run_job(factory: sessionmaker[Session], job: Job, now: datetime) -> bool:
    """Runs `job` if it is due at `now` and nobody else has claimed it; whether it ran."""
    with factory() as session:
        try:
            begin_write(session)
            if not _claim(session, job, now):
                session.rollback()
                return False
            job.fn(session, now)
            session.commit()
            outage_log.back()
            return True
        except Exception as exc:
            with contextlib.suppress(Exception):
                session.rollback()
            if database_unavailable(exc):
                outage_log.away(exc, f"定时任务 {job.name}")
                return False
            log.exception("定时任务 %s 失败，下次将重试 (job failed, retried next tick)", job.name)
            return False


def run_due(factory: sessionmaker[Session], now: datetime | None = None) -> list[str]:
    """One tick: runs every registered job that is due at `now`; the names of those run."""
    at = now or utcnow()
    return [job.name for job in registered() if run_job(factory, job, at)]


class Scheduler:
    """Ticks `run_due` every `tick_seconds` in a daemon thread (or `wake()` for an early tick)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        tick_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory = factory
        self.tick_seconds = tick_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts the thread."""
        self._thread = threading.Thread(target=self.run, name="spotcheck-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ticks now rather than at the end of the current wait."""
        self._wake.set()

    def stop(self) -> None:
        """Stops the loop (after the tick in progress) and waits for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def run(self) -> None:
        """The loop (the thread's body, or `spotcheck worker` in the foreground)."""
        while not self._stop.is_set():
            try:
                run_due(self.factory, self.clock())
            except Exception as exc:  # the database is away: try again at the next tick
                if database_unavailable(exc):
                    outage_log.away(exc, "定时任务调度")
                else:
                    log.exception("定时任务调度失败 (scheduler tick failed)")
            self._wake.wait(self.tick_seconds)
            self._wake.clear()
