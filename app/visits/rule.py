"""PURE: the one rule of what a visit (一次检查) is and what it counts for (docs/rules.md#r4).

- A visit serves the tasks sharing its id (tasks.visit): the task that started it, the tasks of
  later plans that joined it, or a 回头看 of its own (a 回头看 is a visit).
- It is **inspected** once a task it serves has an approved result other than 未检查（停业、注销等）,
  dated the day it was carried out (the result's `inspected_on`, by default its decision day);
  an inspection carried out in a draw since superseded was carried out all the same.
- It is **not inspected** (未检查) when every kept task has an approved 未检查 result: it never
  counts.
- It is **void** when nothing it served is kept (its draws superseded before anyone went): it
  counts nowhere, and its notice says 作废.
- Otherwise it is **open**: it holds its target for the items of the other plans it serves until
  it is carried out or closed otherwise (a plan's own open tasks never hold its re-draw).
- An inspection counts in the cooldown from the day it was carried out, for `cooldown_days`;
  in the yearly count of the year it was carried out (北京时间, `counted_year`). An open visit
  counts in the year it is planned for (`planned_on`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.states import ResultOutcome, TaskStatus, VisitState


@dataclass(frozen=True)
class TaskFacts:
    """What one task of a visit contributes: kept (a current draw's, or a 回头看), its step,
    items, approved outcome and the day it was carried out, its team, and when it is public."""

    task: str
    plan: str
    draw: str | None
    kept: bool
    status: str
    items: tuple[str, ...]
    outcome: str | None = None
    inspected_on: date | None = None
    planned_on: date | None = None
    public_at: datetime | None = None
    team: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class VisitRecord:
    """A visit as the rule derives it from the facts of its tasks."""

    id: str
    uscc: str
    state: VisitState
    inspected_on: date | None
    counted_year: int | None
    planned_on: date
    busy: bool
    parts: list[dict[str, Any]] = field(default_factory=list)
    public_at: datetime | None = None
    team: list[tuple[str, str]] = field(default_factory=list)


def carried_out(outcome: str | None) -> bool:
    """Whether an approved outcome says the inspection was carried out (未检查 was none)."""
    return outcome is not None and outcome != ResultOutcome.NOT_INSPECTED


def derive(visit_id: str, uscc: str, facts: Sequence[TaskFacts]) -> VisitRecord:
    """The visit its tasks make (the first task, the one whose id the visit bears, first)."""
    ordered = sorted(facts, key=lambda f: (f.task != visit_id, f.task))
    counting = [f for f in ordered if f.kept or carried_out(f.outcome)]
    done = [f for f in counting if carried_out(f.outcome)]
    if done:
        state = VisitState.INSPECTED
        inspected_on = min(f.inspected_on for f in done if f.inspected_on is not None)
    elif not counting:
        state, inspected_on = VisitState.VOID, None
    elif any(f.outcome is None for f in counting):
        state, inspected_on = VisitState.OPEN, None
    else:
        state, inspected_on = VisitState.NOT_INSPECTED, None
    shown = counting or ordered
    team: list[tuple[str, str]] = []
    seen: set[str] = set()
    for f in shown:
        for badge, role in f.team:
            if badge not in seen:
                seen.add(badge)
                team.append((badge, role))
    planned = [f.planned_on for f in shown if f.planned_on is not None]
    public = [f.public_at for f in shown if f.public_at is not None]
    return VisitRecord(
        id=visit_id,
        uscc=uscc,
        state=state,
        inspected_on=inspected_on,
        counted_year=inspected_on.year if inspected_on is not None else None,
        planned_on=min(planned) if planned else date.min,
        busy=any(f.kept and f.status != TaskStatus.CLOSED for f in ordered),
        parts=[
            {
                "task": f.task,
                "plan": f.plan,
                "draw": f.draw,
                "items": sorted(set(f.items)),
                "kept": f.kept,
                "counts": f in counting,
            }
            for f in ordered
        ],
        public_at=min(public) if public else None,
        team=team,
    )


# What the readers ask of a stored visit (state, inspected_on, planned_on, parts): one place.


def counts_as_inspection(state: str) -> bool:
    """An inspection carried out: what 机构年度检查次数, the 周报表 and the credit feed count."""
    return state == VisitState.INSPECTED


def holding_items(state: str, parts: Iterable[dict[str, Any]], plan_code: str) -> set[str]:
    """The items an open or inspected visit holds its target for, as the frame of plan
    `plan_code` sees it: an inspected visit, every item it served; an open one, the items of
    the other plans it serves (a plan's own open tasks never hold its re-draw); else none."""
    if state == VisitState.INSPECTED:
        return {i for p in parts if p["counts"] for i in p["items"]}
    if state == VisitState.OPEN:
        return {i for p in parts if p["counts"] and p["plan"] != plan_code for i in p["items"]}
    return set()


def cooling_until(inspected_on: date, cooldown_days: int) -> date:
    """The last day an inspection carried out on `inspected_on` keeps its items cooling."""
    return inspected_on + timedelta(days=cooldown_days - 1)


def cools(state: str, inspected_on: date | None, today: date, cooldown_days: int) -> bool:
    """Whether a visit keeps its items cooling on `today`: an open one until it is closed, an
    inspection for `cooldown_days` from the day it was carried out (that day included)."""
    if cooldown_days <= 0:
        return False
    if state == VisitState.OPEN:
        return True
    return (
        state == VisitState.INSPECTED
        and inspected_on is not None
        and today <= cooling_until(inspected_on, cooldown_days)
    )


def year_of(
    state: str,
    inspected_on: date | None,
    planned_on: date,
    parts: Iterable[dict[str, Any]],
    plan_code: str,
) -> int | None:
    """The year a visit counts in for the yearly cap of plan `plan_code`: an inspection, the
    year it was carried out (北京时间); an open visit serving another plan, the year it is planned
    for; otherwise none (未检查, void, or only this plan's own open tasks)."""
    if state == VisitState.INSPECTED and inspected_on is not None:
        return inspected_on.year
    if state == VisitState.OPEN and any(p["counts"] and p["plan"] != plan_code for p in parts):
        return planned_on.year
    return None


def void(state: str) -> bool:
    """A void visit: its notice says 作废 and the 检查码 page says so."""
    return state == VisitState.VOID
