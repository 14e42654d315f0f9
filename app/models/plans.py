"""Plans (抽查计划) with their versions, draws (抽取) and tasks (抽查任务)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Plan(Base):
    """A plan; `spec` is its current validated body, `status` draft→published→drawn→closed."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # app.states.PlanStatus
    version: Mapped[int] = mapped_column(Integer, default=1)
    spec: Mapped[dict[str, Any]]
    # Commit-reveal: commitment is public once published; the secret only after the draw.
    commitment: Mapped[str | None] = mapped_column(String(64))
    # spotcheck-draw/1 plans stored their secret here; /2 plans store only `secret_nonce`, and
    # the secret is HMAC(server key, code, nonce) — one fresh nonce per commitment (app/keys.py): a dump cannot open it.
    secret: Mapped[str | None] = mapped_column(String(64))
    secret_nonce: Mapped[str | None] = mapped_column(String(32))
    draw_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanVersion(Base):
    """Every version of a plan: creation, draft edits, publication, adjustments (计划调整)."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    commitment: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    public: Mapped[bool] = mapped_column(default=False)
    # What a published version binds its draw to (spotcheck-draw/2): the frozen frame's hash and
    # the algorithm; the entropy source is in `spec`.
    algorithm: Mapped[str | None] = mapped_column(String(32))
    frame_sha256: Mapped[str | None] = mapped_column(String(64))
    # spotcheck-draw/3: the frozen inspector frame's hash (app/draw/team_frame.py).
    team_frame_sha256: Mapped[str | None] = mapped_column(String(64))
    # A re-draw: the changes it made to the original frames, each with its reason (public).
    frame_changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # spotcheck-draw/3, from docs/draw-spec-teams.md §12.10 on: the plan's items as the registry
    # read at the publication — [{"code", "target_kinds", "expertise"}] — which the draw reads
    # instead of the live registry (NULL: a version frozen before, whose draw reads the registry)
    frozen_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class PlanFrame(Base):
    """The population frame of a published plan version, frozen at publication (gzip of the
    population file, docs/draw-spec.md §7): the draw reads it back, never the registries."""

    __tablename__ = "plan_frames"

    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    lines_gz: Mapped[bytes] = mapped_column(LargeBinary)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Draws still withheld (after_window, window open) whose tasks entered `cooling_items`: while
    # any is withheld, only `sha256` of this frame is public (it would reveal their selection).
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The units with π = 0 at the capture and why (app/plans/exclusions.py): gzip of JSON
    # [[uscc, reason], …], published beside the draw's population file (`{draw}.out.csv`).
    out_gz: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The same units in binary columns (app/draw/columns.py), bound to `lines_gz`: what the draw
    # reads back instead of parsing the file (None for frames captured before: parsed).
    frame_columns: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class PlanTeamFrame(Base):
    """The inspector frame of a published spotcheck-draw/3 plan version, frozen at publication
    (docs/draw-spec-teams.md §12): the public file (gzip; recusals as keyed tokens) and the
    private recusal pairs the tokens stand for. The draw reads it back, never the registry."""

    __tablename__ = "plan_team_frames"

    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    lines_gz: Mapped[bytes] = mapped_column(LargeBinary)
    # [[badge, uscc], …]: each declared conflict or own employer with a target of the frame.
    recusals: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draw(Base):
    """One draw of a plan; a redraw supersedes it, both stay on record."""

    __tablename__ = "draws"
    __table_args__ = (UniqueConstraint("plan_code", "seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # app.states.DrawStatus
    algorithm: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(64))
    entropy: Mapped[str] = mapped_column(String(512))
    population_sha256: Mapped[str] = mapped_column(String(64))
    task_count: Mapped[int] = mapped_column(Integer)
    # The published body (a national draw's is tens of MB): loaded only when read, not by every
    # approval or task lookup that needs the draw's status.
    body: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    superseded_at: Mapped[datetime | None]
    superseded_reason: Mapped[str | None] = mapped_column(Text)
    # A failed attempt (no valid team…): why, as published; it has no tasks.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DrawPopulation(Base):
    """The population snapshot file of a draw (gzip of the canonical lines)."""

    __tablename__ = "draw_populations"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    lines_gz: Mapped[bytes] = mapped_column(LargeBinary)
    # spotcheck-draw/3: the frozen inspector frame file (gzip) published beside the population.
    team_frame_gz: Mapped[bytes | None] = mapped_column(LargeBinary)


class DrawSeal(Base):
    """The timelock seal of a withheld draw (docs/drand.md#timelock-encryption-tlock): its whole
    record and its population file, encrypted at the draw to the drand round due when its list must be public, so that
    anyone opens it after that round without the service. Written once, never changed."""

    __tablename__ = "draw_seals"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))  # a name in app.draw.beacon.CHAINS
    round: Mapped[int] = mapped_column(BigInteger)
    # the moment the list must be public: 00:00 北京时间 of tasks_public_from (UTC stored)
    opens_at: Mapped[datetime]
    record_sha256: Mapped[str] = mapped_column(String(64))  # of the sealed bytes
    file_sha256: Mapped[str] = mapped_column(String(64))
    file: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # armored age, tlock stanza
    # the draw's population file (its stored gzip) sealed to the same round, so that an opened
    # seal replays the whole draw; NULL when the draw stored none
    population_file_sha256: Mapped[str | None] = mapped_column(String(64))
    population_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # a /3 draw's frozen inspector frame file (draws/{id}.inspectors.csv, its exact bytes)
    # sealed to the same round, so that an opened seal replays the teams too; NULL when the
    # draw has none (or was sealed before frames were)
    team_frame_file_sha256: Mapped[str | None] = mapped_column(String(64))
    team_frame_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class DrawReplacement(Base):
    """One replacement step of a drawn team (docs/draw-spec-teams.md §14), append-only: the
    inspector replaced, the published reason and the member the rule gave (NULL: the step
    failed, `failure` says why). Written once, never changed; published with the draw."""

    __tablename__ = "draw_replacements"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    badge: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    replacement: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    # candidates skipped for a recusal (sorted) and their openings (draw-spec-teams §12.4)
    recused: Mapped[list[str]] = mapped_column(JSON, default=list)
    openings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))


class Task(Base):
    """抽查任务: one drawn target, one visit covering the plan items that apply to it."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_draw_seq", "draw_id", "seq"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    # NULL for a follow-up (回头看) task: it is not part of any draw.
    draw_id: Mapped[str | None] = mapped_column(ForeignKey("draws.id"))
    # The task a follow-up looks back at (NULL for drawn tasks).
    parent_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    plan_code: Mapped[str] = mapped_column(String(40), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(6))
    stratum: Mapped[str] = mapped_column(String(200))
    ticket: Mapped[str] = mapped_column(String(100))
    inclusion_prob: Mapped[float] = mapped_column(Float)
    items: Mapped[list[str]] = mapped_column(JSON)
    despite_cooldown: Mapped[bool] = mapped_column(default=False)
    # drawn although its target reached its yearly cap, to fill the floor (docs/rules.md#r4-5)
    despite_cap: Mapped[bool] = mapped_column(default=False, server_default=false())
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # app.states.TaskStatus
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 一次检查: the visit this task belongs to — its own id when it starts one, the first task's
    # id when it joined an open visit of another plan (docs/draw-spec-teams.md §11).
    visit: Mapped[str | None] = mapped_column(String(80), index=True)


class TaskMember(Base):
    """An inspector on a task's team: the one store of teams (组长 at position 0)."""

    __tablename__ = "task_members"

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, server_default="0")
