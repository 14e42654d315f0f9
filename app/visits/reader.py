"""Reading visits: what every reader of inspections asks (the frame's cooldown and yearly
counts, inspector loads, the public yearly counts, the 周报表, the credit feed, notices) — the
decisions are the rule's (app/visits/rule.py); the queries here only narrow the rows read."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import Task, Visit, VisitMember
from app.states import VisitState
from app.visits import rule


@dataclass(frozen=True)
class Hold:
    """A visit that keeps some of a plan's items cooling for a target: which, why, until when
    (None: an open visit, until it is closed)."""

    visit: str
    items: frozenset[str]
    state: str
    inspected_on: date | None
    until: date | None
    draws: frozenset[str]

    def reason(self) -> str:
        """Why the target is out, in words anyone can check against the visit records."""
        items = "、".join(sorted(self.items))
        if self.until is None:
            return f"冷却：检查 {self.visit}（{items}）尚未完成"
        return (
            f"冷却至 {self.until.isoformat()}：{self.inspected_on}"
            f" 实施的检查 {self.visit}（{items}）"
        )


def _draws(parts: Iterable[dict[str, Any]]) -> frozenset[str]:
    return frozenset(p["draw"] for p in parts if p["counts"] and p.get("draw"))


def cooling(
    session: Session, *, plan_code: str, items: Iterable[str], today: date, cooldown_days: int
) -> dict[str, list[Hold]]:
    """Per USCC, the visits that keep some of the plan's `items` cooling on `today`."""
    if cooldown_days <= 0:
        return {}
    wanted = set(items)
    since = today - timedelta(days=cooldown_days)
    stmt = select(Visit.id, Visit.uscc, Visit.state, Visit.inspected_on, Visit.parts).where(
        or_(
            Visit.state == VisitState.OPEN,
            and_(Visit.state == VisitState.INSPECTED, Visit.inspected_on > since),
        )
    )
    out: dict[str, list[Hold]] = {}
    for visit, uscc, state, on, parts in session.execute(stmt):
        if not rule.cools(state, on, today, cooldown_days):
            continue
        hit = wanted & rule.holding_items(state, parts, plan_code)
        if hit:
            until = rule.cooling_until(on, cooldown_days) if on is not None else None
            out.setdefault(uscc, []).append(
                Hold(visit, frozenset(hit), state, on, until, _draws(parts))
            )
    return out


@dataclass(frozen=True)
class Counted:
    """A visit counted in a target's year: which, and the draws it serves."""

    visit: str
    state: str
    inspected_on: date | None
    draws: frozenset[str]


def year_visits(session: Session, *, plan_code: str, year: int) -> dict[str, list[Counted]]:
    """Per USCC, its visits counted in `year` as the frame of plan `plan_code` sees them."""
    stmt = select(
        Visit.id, Visit.uscc, Visit.state, Visit.inspected_on, Visit.planned_on, Visit.parts
    ).where(
        or_(
            and_(Visit.state == VisitState.INSPECTED, Visit.counted_year == year),
            and_(
                Visit.state == VisitState.OPEN,
                Visit.planned_on >= date(year, 1, 1),
                Visit.planned_on <= date(year, 12, 31),
            ),
        )
    )
    out: dict[str, list[Counted]] = {}
    for visit, uscc, state, on, planned, parts in session.execute(stmt):
        if rule.year_of(state, on, planned, parts, plan_code) == year:
            out.setdefault(uscc, []).append(Counted(visit, state, on, _draws(parts)))
    return out


def open_load(session: Session) -> dict[str, int]:
    """Per badge, the visits its inspector is on that are not done (some kept task not 已办结)."""
    stmt = (
        select(VisitMember.badge, func.count())
        .join(Visit, Visit.id == VisitMember.visit_id)
        .where(Visit.busy.is_(True))
        .group_by(VisitMember.badge)
    )
    return {badge: int(n) for badge, n in session.execute(stmt)}


def open_visits(session: Session, visit_ids: Iterable[str]) -> set[str]:
    """Which of these visits are open (a later plan's target may join them)."""
    ids = sorted(set(visit_ids))
    out: set[str] = set()
    for i in range(0, len(ids), 900):
        out.update(
            session.scalars(
                select(Visit.id).where(
                    Visit.id.in_(ids[i : i + 900]), Visit.state == VisitState.OPEN
                )
            )
        )
    return out


def carried_out_between(session: Session, *, start: date, end: date) -> list[tuple[str, str]]:
    """(医保区划, USCC) of the visits carried out in [start, end] (北京时间 days)."""
    rows = session.execute(
        select(Visit.id, Visit.uscc, Visit.state).where(
            Visit.state == VisitState.INSPECTED,
            Visit.inspected_on >= start,
            Visit.inspected_on <= end,
        )
    ).all()
    ids = [v for v, _u, state in rows if rule.counts_as_inspection(state)]
    region: dict[str, str] = {}
    for i in range(0, len(ids), 900):
        region.update(
            session.execute(select(Task.id, Task.region).where(Task.id.in_(ids[i : i + 900])))
            .tuples()
            .all()
        )
    return [(region.get(v, ""), u) for v, u, state in rows if v in region]


def team(session: Session, visit_id: str) -> list[dict[str, str]]:
    """A visit's one team in order ({badge, role}, 组长 first), from its record."""
    rows = session.execute(
        select(VisitMember.badge, VisitMember.role)
        .where(VisitMember.visit_id == visit_id)
        .order_by(VisitMember.position)
    )
    return [{"badge": b, "role": r} for b, r in rows]


def visit_record(session: Session, visit_id: str) -> Visit | None:
    """The stored record of a visit (None if there is no such visit)."""
    return session.get(Visit, visit_id)


def records(session: Session, visit_ids: Iterable[str]) -> dict[str, Visit]:
    """The stored records of these visits, by id."""
    ids = sorted(set(visit_ids))
    out: dict[str, Visit] = {}
    for i in range(0, len(ids), 900):
        out.update(
            (v.id, v) for v in session.scalars(select(Visit).where(Visit.id.in_(ids[i : i + 900])))
        )
    return out


def void_tasks(session: Session, draw_ids: Iterable[str]) -> list[str]:
    """The tasks of these draws whose visit is void (their notices are void, rule.void)."""
    wanted = set(draw_ids)
    out: list[str] = []
    for state, parts in session.execute(
        select(Visit.state, Visit.parts).where(Visit.state == VisitState.VOID)
    ):
        if rule.void(state):
            out += [p["task"] for p in parts if p.get("draw") in wanted]
    return sorted(out)
