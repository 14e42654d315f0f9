"""The audit log as an account may read it: the chain is verified whole for everyone (its
status says nothing about content), but the entries listed are those about its jurisdiction.

An entry is inside when its object is a task, plan, draw or registry record inside the
jurisdiction (app/auth/jurisdiction.py), or when it was made by a console account whose own
jurisdiction lies inside. Everything else (tokens, credit pushes, entries of other regions)
only an account without a prefix (the province, a national administrator) sees.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.jurisdiction import Jurisdiction
from app.models import AuditEntry, Draw, Inspector, Plan, Target, Task, User

_BATCH = 500


class _Inside:
    """Memoised "is this entry inside the jurisdiction" for one listing."""

    def __init__(self, session: Session, jurisdiction: Jurisdiction) -> None:
        self.session, self.j = session, jurisdiction
        self.memo: dict[str, bool] = {}

    def _region(self, model: Any, key_col: Any, key: str) -> bool:
        region = self.session.scalar(select(model.region).where(key_col == key))
        return region is not None and self.j.covers(region)

    def _plan(self, code: str | None) -> bool:
        spec = self.session.scalar(select(Plan.spec).where(Plan.code == code)) if code else None
        return spec is not None and self.j.covers_plan(spec)

    def _user(self, name: str) -> bool:
        prefix = self.session.scalar(select(User.region_prefix).where(User.username == name))
        return prefix is not None and prefix.startswith(self.j.prefix)

    def entity(self, entity: str) -> bool:
        kind, _, key = entity.partition(":")
        checks: dict[str, Callable[[], bool]] = {
            "task": lambda: self._region(Task, Task.id, key),
            "plan": lambda: self._plan(key),
            "draw": lambda: self._plan(
                self.session.scalar(select(Draw.plan_code).where(Draw.id == key))
            ),
            "targets": lambda: self._region(Target, Target.uscc, key),
            "inspectors": lambda: self._region(Inspector, Inspector.badge, key),
            "items": lambda: True,  # the 抽查事项清单 is everyone's
        }
        check = checks.get(kind)
        return check() if check is not None else False

    def __call__(self, e: AuditEntry) -> bool:
        for key, check in ((e.entity, self.entity), (e.actor, self.actor)):
            if key not in self.memo:
                self.memo[key] = check(key)
            if self.memo[key]:
                return True
        return False

    def actor(self, actor: str) -> bool:
        kind, _, name = actor.partition(":")
        return kind == "user" and self._user(name)


def recent_entries(
    session: Session, *, jurisdiction: Jurisdiction, limit: int = 100
) -> list[AuditEntry]:
    """The newest `limit` entries inside `jurisdiction`, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if jurisdiction.everywhere:
        return list(session.scalars(stmt.limit(limit)))
    inside = _Inside(session, jurisdiction)
    out: list[AuditEntry] = []
    before: int | None = None
    while len(out) < limit:
        page = stmt.limit(_BATCH)
        if before is not None:
            page = page.where(AuditEntry.seq < before)
        batch = list(session.scalars(page))
        if not batch:
            break
        out.extend(e for e in batch if inside(e))
        before = batch[-1].seq
    return out[:limit]
