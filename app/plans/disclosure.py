"""When a plan's draws and tasks may be public: the one rule (docs/rules.md#r8-2).

An `on_draw` plan's task lists are public at the draw; an `after_window` plan's only once its
inspection window has closed (the day after `window.end`, 北京时间). Until then nothing public —
the site, other plans' frames and draws, statistics, the credit feed — may reveal the selection.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Draw, Plan
from app.states import DrawStatus


def tasks_public(spec: dict[str, Any], today: date) -> tuple[bool, str | None]:
    """Whether a plan's task lists may be published today, and from which date if not."""
    if spec.get("publish_tasks", "after_window") == "on_draw":
        return True, None
    end = date.fromisoformat(spec["window"]["end"])
    if today > end:
        return True, None
    return False, (end + timedelta(days=1)).isoformat()


def withheld_plans(session: Session, today: date) -> set[str]:
    """Codes of the plans whose task lists are still withheld today."""
    return {
        code
        for code, spec in session.execute(select(Plan.code, Plan.spec))
        if not tasks_public(spec, today)[0]
    }


def withheld_draws(session: Session, today: date) -> set[str]:
    """Ids of the current (kept) draws whose selection is still withheld today."""
    plans = withheld_plans(session, today)
    if not plans:
        return set()
    stmt = select(Draw.id).where(
        Draw.plan_code.in_(sorted(plans)), Draw.status == DrawStatus.CURRENT
    )
    return set(session.scalars(stmt))
