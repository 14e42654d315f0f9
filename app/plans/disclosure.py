"""When a plan's draws and tasks may be public: the one rule (docs/rules.md#r8-2).

An `on_draw` plan's task lists are public at the draw; an `after_window` plan's only once its
inspection window has closed (the day after `window.end`, 北京时间). Until then nothing public —
the site, other plans' frames and draws, statistics, the credit feed — may reveal the selection.
"""

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Draw, Plan, PlanFrame, PlanVersion
from app.states import DrawStatus

# What a sealed (withheld) draw shows at once: that it happened, how it was seeded (the secret
# excepted), its entropy and a hash of the task list — so it cannot be redone in secret.
SEALED_KEYS = (
    "schema_version",
    "id",
    "plan",
    "plan_version",
    "plan_published_at",
    "seq",
    "drawn_at",
    "algorithm",
    "beacon",
    "population_sha256",
    "population_size",
    "tasks_sha256",
    "status",
)


def tasks_public(spec: dict[str, Any], today: date) -> tuple[bool, str | None]:
    """Whether a plan's task lists may be published today, and from which date if not."""
    if spec.get("publish_tasks", "after_window") == "on_draw":
        return True, None
    end = date.fromisoformat(spec["window"]["end"])
    if today > end:
        return True, None
    return False, (end + timedelta(days=1)).isoformat()


def draw_disclosure(session: Session, today: date) -> dict[str, tuple[bool, str | None]]:
    """Per draw: whether its task list (and everything that depends on it) is public today, and
    from which date if not.

    A kept draw of an `after_window` plan is withheld until its window has closed; a draw whose
    frozen frame took cooling information or inspector loads from a withheld draw (frame
    `depends_on`, `frame_dependencies`) is withheld until that one is public too, since its
    population file, strata and `despite_cooldown` flags, or its inspector frame's open loads
    and quotas, would reveal the other's selection. A failed attempt has no tasks of its own to withhold,
    but its record carries its frame (population file, strata, the error's target): it is
    public at once unless that frame depends on a withheld draw, and then sealed like one. One
    that lists open visits of other plans (`open_visits`, /3 join-extend: docs/draw-spec-teams.md
    §13.4) is withheld like a kept draw of its plan: those plans' lists are public no later than
    its own (app/plans/visits.py `_lists_public_no_later`), not necessarily at its draw.
    """
    specs: dict[str, dict[str, Any]] = {
        code: spec for code, spec in session.execute(select(Plan.code, Plan.spec))
    }
    version_of = {
        (code, commitment): version
        for code, commitment, version in session.execute(
            select(PlanVersion.plan_code, PlanVersion.commitment, PlanVersion.version).where(
                PlanVersion.frame_sha256.is_not(None)
            )
        )
    }
    depends = {
        (code, version): list(dep or [])
        for code, version, dep in session.execute(
            select(PlanFrame.plan_code, PlanFrame.version, PlanFrame.depends_on)
        )
    }
    rows = {
        draw_id: (code, status, commitment)
        for draw_id, code, status, commitment in session.execute(
            select(Draw.id, Draw.plan_code, Draw.status, Draw.commitment)
        )
    }
    # a failed attempt that lists other plans' open visits (/3 join-extend, so that its joins
    # re-derive) shows their selections: withheld like a kept draw of its plan (below)
    lists_visits = {
        draw_id
        for draw_id, listed in session.execute(
            select(Draw.id, Draw.body["open_visits"]).where(Draw.status == DrawStatus.FAILED)
        )
        if listed
    }
    out: dict[str, tuple[bool, str | None]] = {}

    def decide(draw_id: str, seen: frozenset[str]) -> tuple[bool, str | None]:
        if draw_id in out:
            return out[draw_id]
        code, status, commitment = rows[draw_id]
        # a failed attempt has no tasks of its own to withhold; its frame may still reveal
        # another draw's selection (below), and so may the open visits it lists
        failed = status == DrawStatus.FAILED and draw_id not in lists_visits
        public, since = (True, None) if failed else tasks_public(specs[code], today)
        for dep in depends.get((code, version_of.get((code, commitment), -1)), []):
            if dep in rows and dep not in seen:
                dep_public, dep_since = decide(dep, seen | {draw_id})
                if not dep_public:
                    public = False
                    since = max(filter(None, (since, dep_since)), default=None)
        out[draw_id] = (public, since)
        return public, since

    for draw_id in rows:
        decide(draw_id, frozenset())
    return out


def withheld_draws(session: Session, today: date) -> set[str]:
    """Ids of the draws whose selection is still withheld today: kept ones, and superseded ones
    of a plan whose list is not public yet (their inspected tasks still count for the cooldown
    and the yearly cap of other plans' frames, app/visits/rule.py)."""
    return {d for d, (public, _since) in draw_disclosure(session, today).items() if not public}


def frame_dependencies(session: Session, today: date, sources: Iterable[str]) -> list[str]:
    """The one rule of what a frozen frame may take from other draws without revealing them:
    the draws among `sources` (the draws whose tasks set a target's cooling items or
    inspections this year, or an inspector's open load) whose selection is still withheld
    today. The frame records them (`depends_on`); while any is withheld, the frame's file and
    every draw made on it are withheld too (`draw_disclosure`) — so neither the population
    file nor the inspector frame's open loads and quotas leak a withheld selection."""
    return sorted(withheld_draws(session, today) & set(sources))


def sealed_record(
    body: Mapping[str, Any], task_count: int, timelock: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a withheld draw publishes at once (docs/draw-spec.md §10): no secret, no tasks;
    `timelock`: its seal (app/plans/sealing.py `timelock_record`), when it has one.

    A pure function of the stored body (only `SEALED_KEYS` and `seed_inputs` are read) and the
    seal, so the record published at the draw and the one kept beside the revealed draw are the
    same bytes.
    """
    record = {k: body[k] for k in SEALED_KEYS if body.get(k) is not None}
    inputs = {k: v for k, v in body.get("seed_inputs", {}).items() if k != "secret"}
    record |= {"sealed": True, "task_count": task_count, "seed_inputs": inputs}
    if timelock is not None:
        record["timelock"] = dict(timelock)
    return record
