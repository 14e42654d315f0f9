"""Publication due (outbox), the builds that served it, and the claims of scheduled jobs."""

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PublishRequest(Base):
    """ "Publication is due": one row per publishable change, written in the change's own
    transaction (app/events.py); the publisher deletes the rows a build has served."""

    __tablename__ = "publish_requests"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # What changed: "plan:CODE", "draw:ID", "result:ID", "time", "all".
    scope: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]


class PublishBuild(Base):
    """One build of the public site (app/publish/publisher.py)."""

    __tablename__ = "publish_builds"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # The time the site was built for (its `generated_at`, what the time-driven job compares).
    built_for: Mapped[datetime]
    generation: Mapped[str] = mapped_column(String(200))
    requests: Mapped[int] = mapped_column(Integer)
    files_written: Mapped[int] = mapped_column(Integer)
    files_linked: Mapped[int] = mapped_column(Integer)
    bytes_written: Mapped[int] = mapped_column(BigInteger)
    full: Mapped[bool]


class JobRun(Base):
    """The claim of one periodic job (app/jobs.py): whoever moves `next_run_at` past now runs it."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(Integer, default=0)
