"""One visit across plans (一次检查): the open visits a plan's drawn targets could join, and the
join decision for each (the rule itself is app/draw/teams.py `join_problem`).

Read at the draw, in the draw's transaction, and published with it (`open_visits`), so that the
decision replays from the published files (docs/draw-spec-teams.md §11).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.draw.teams import (
    JOIN_RULE_EXTEND,
    Inspector,
    Member,
    OpenVisit,
    TeamParams,
    TeamTask,
    VisitMember,
    extend_visits,
    join_blocker,
    join_problem,
    recusal_of,
    visit_note,
    windows_overlap,
)
from app.models import Draw, Plan, Task
from app.plans.frame import teams_of
from app.states import DrawStatus, TaskStatus
from app.visits import reader as visit_reader

CHUNK = 900


@dataclass(frozen=True)
class Need:
    """What one drawn target asks of a team: its region and the expertise its items need."""

    uscc: str
    region: str
    required_expertise: frozenset[str]


@dataclass
class Visits:
    """The visit part of a draw: the published inputs and, per USCC, the decision."""

    open_visits: dict[str, OpenVisit] = field(default_factory=dict)
    joined: dict[str, OpenVisit] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    recused: dict[str, list[str]] = field(default_factory=dict)
    # JOIN_RULE_EXTEND (/3): per joined USCC the members this plan added to the visit's team,
    # and per added inspector the tasks that took (their quota for the team draw)
    rule: str | None = None
    added: dict[str, tuple[Member, ...]] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)

    def published(self) -> list[dict[str, Any]]:
        """The draw body's `open_visits`, sorted by USCC."""
        return [self.open_visits[u].to_dict() for u in sorted(self.open_visits)]

    def visit_of(self, task_id: str, uscc: str) -> str:
        """A drawn task's visit: the open visit it joined, or its own (its id)."""
        joined = self.joined.get(uscc)
        return task_id if joined is None else joined.visit

    def task_fields(self, task_id: str, uscc: str) -> dict[str, Any]:
        """A published task's `visit` and, where an open visit was listed, `joins` or
        `visit_note` (with `visit_recused` when a recusal decided)."""
        joined = self.joined.get(uscc)
        if joined is not None:
            out_joined: dict[str, Any] = {
                "visit": joined.visit,
                "joins": {"draw": joined.draw, "task": joined.task, "plan": joined.plan},
            }
            if self.rule == JOIN_RULE_EXTEND:
                out_joined["visit_added"] = [
                    {"badge": m.badge, "role": m.role} for m in self.added.get(uscc, ())
                ]
                if uscc in self.recused:  # candidates a recusal kept off the extension
                    out_joined["visit_recused"] = self.recused[uscc]
            return out_joined
        out: dict[str, Any] = {"visit": task_id}
        if uscc in self.notes:
            out["visit_note"] = self.notes[uscc]
        if uscc in self.recused:
            out["visit_recused"] = self.recused[uscc]
        return out

    def team(self, uscc: str) -> list[dict[str, str]]:
        """The team of a joined task: the visit's team, same badges and roles (and, under
        JOIN_RULE_EXTEND, the members this plan added after them)."""
        team = [{"badge": m.badge, "role": m.role} for m in self.joined[uscc].team]
        return team + [{"badge": m.badge, "role": m.role} for m in self.added.get(uscc, ())]


def _lists_public_no_later(other: dict[str, Any], mine: dict[str, Any]) -> bool:
    """Whether the other plan's task list is public no later than this plan's: else this
    draw's `open_visits` would reveal a withheld selection of the other plan."""
    if other.get("publish_tasks", "after_window") == "on_draw":
        return True
    if mine.get("publish_tasks", "after_window") == "on_draw":
        return False
    return str(other["window"]["end"]) <= str(mine["window"]["end"])


def open_visits(
    session: Session,
    *,
    plan_code: str,
    spec: dict[str, Any],
    usccs: Iterable[str],
    pool: Sequence[Inspector],
    levels: bool = False,
) -> dict[str, OpenVisit]:
    """Per drawn USCC, the earliest open visit of another plan it could join: an open visit
    (its record, app/visits/rule.py) with a still open (待检查) task of a current draw of another plan whose window overlaps this plan's and whose
    list is public no later than this plan's; earliest by draw time, then task id. `levels`
    (/3 join-extend): each with the strictest 交叉互查 level of the plans it serves."""
    window = (str(spec["window"]["start"]), str(spec["window"]["end"]))
    wanted = sorted(set(usccs))
    found: dict[str, tuple[datetime, str, str, str, str, str]] = {}
    specs: dict[str, dict[str, Any]] = {}
    # The current draws of other plans (a small table), so that the task query below has only
    # the USCC index to use: joined to draws, PostgreSQL's generic plan for the repeated
    # (prepared) chunk query scans a whole draw's tasks per chunk (bench/bench_visits.py).
    current: dict[str, datetime] = {
        draw_id: created
        for draw_id, created in session.execute(
            select(Draw.id, Draw.created_at).where(
                Draw.status == DrawStatus.CURRENT, Draw.plan_code != plan_code
            )
        )
    }
    if not current:  # no other plan has a kept draw: nothing to join, no task query
        wanted = []
    for i in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Task.uscc, Task.id, Task.visit, Task.draw_id, Task.plan_code)
            .where(
                Task.uscc.in_(wanted[i : i + CHUNK]),
                Task.plan_code != plan_code,
                Task.status == TaskStatus.TO_INSPECT,
            )
            # FOR SHARE: a result entered meanwhile (it locks the task FOR UPDATE) waits for this
            # draw, or this draw sees the task no longer open — never a join to a closed visit.
            .with_for_update(read=True)
        )
        fetched = list(rows)
        opened = visit_reader.open_visits(session, {v or t for _u, t, v, _d, _o in fetched})
        for uscc, task_id, visit, draw_id, other in fetched:
            if (visit or task_id) not in opened:  # the visit record says it is not open
                continue
            created = current.get(draw_id) if draw_id is not None else None
            if created is None:  # a 回头看, or a task of a superseded or failed draw
                continue
            if other not in specs:
                specs[other] = session.scalars(select(Plan.spec).where(Plan.code == other)).one()
            ospec = specs[other]
            owin = (str(ospec["window"]["start"]), str(ospec["window"]["end"]))
            if not windows_overlap(window, owin) or not _lists_public_no_later(ospec, spec):
                continue
            key = (created, task_id, visit or task_id, str(draw_id), other, uscc)
            if uscc not in found or key[:2] < found[uscc][:2]:
                found[uscc] = key
    teams, plans_of = _visit_teams(session, found, current, specs, spec)
    by_badge = {i.badge: i for i in pool if i.active}
    out: dict[str, OpenVisit] = {}
    for uscc, (_created, task_id, visit, draw_id, other, _u) in found.items():
        ospec = specs[other]
        out[uscc] = OpenVisit(
            uscc=uscc,
            visit=visit,
            draw=draw_id,
            task=task_id,
            plan=other,
            window_start=str(ospec["window"]["start"]),
            window_end=str(ospec["window"]["end"]),
            team=tuple(
                _member(m["badge"], m["role"], by_badge.get(m["badge"]))
                for m in teams.get(visit, [])
            ),
            cross_region_level=_strictest(specs, plans_of.get(visit, ())) if levels else None,
        )
    return out


def _visit_teams(
    session: Session,
    found: dict[str, tuple[datetime, str, str, str, str, str]],
    current: dict[str, datetime],
    specs: dict[str, dict[str, Any]],
    spec: dict[str, Any],
) -> tuple[dict[str, list[dict[str, str]]], dict[str, set[str]]]:
    """Per visit found, its one team as this draw may see it: the members of its tasks of current
    draws whose lists are public no later than this plan's (a withheld part's members would
    reveal its selection), in task order (the earliest first), each badge once. A visit extended
    by a later plan (docs/draw-spec-teams.md §13) has more members than its first task. And per
    visit, the plans of those tasks."""
    ids = sorted({f[2] for f in found.values()})
    parts: list[tuple[datetime, str, str]] = []
    plans_of: dict[str, set[str]] = {}
    for i in range(0, len(ids), CHUNK):
        for task_id, visit, draw_id, other in session.execute(
            select(Task.id, Task.visit, Task.draw_id, Task.plan_code).where(
                Task.visit.in_(ids[i : i + CHUNK])
            )
        ):
            created = current.get(draw_id) if draw_id is not None else None
            if created is None:
                continue
            if other not in specs:
                specs[other] = session.scalars(select(Plan.spec).where(Plan.code == other)).one()
            if _lists_public_no_later(specs[other], spec):
                parts.append((created, task_id, visit or task_id))
                plans_of.setdefault(visit or task_id, set()).add(other)
    parts.sort()
    members = teams_of(session, [t for _c, t, _v in parts])
    out: dict[str, list[dict[str, str]]] = {}
    seen: dict[str, set[str]] = {}
    for _created, task_id, visit in parts:
        have = seen.setdefault(visit, set())
        for m in members.get(task_id, []):
            if m["badge"] not in have:
                have.add(m["badge"])
                out.setdefault(visit, []).append(m)
    return out, plans_of


def _strictest(specs: dict[str, dict[str, Any]], plans: Iterable[str]) -> int | None:
    """The strictest (fewest digits) 交叉互查 level of the given plans, None if none asks."""
    levels = [
        int((specs[p].get("team") or {}).get("region_level", 6))
        for p in plans
        if (specs[p].get("team") or {}).get("cross_region")
    ]
    return min(levels) if levels else None


def _member(badge: str, role: str, person: Inspector | None) -> VisitMember:
    if person is None:
        return VisitMember(badge=badge, role=role, in_pool=False)
    return VisitMember(
        badge=badge,
        role=role,
        kind=person.kind,
        department=person.department,
        region=person.region,
        expertise=person.expertise,
    )


def decide(
    found: dict[str, OpenVisit],
    needs: Iterable[Need],
    params: TeamParams,
    pool: Sequence[Inspector],
) -> Visits:
    """Per drawn target with an open visit: join it when its team satisfies the plan's team
    constraints (`join_problem`), else a note saying why not (and the recusal, if it decided)."""
    by_badge = {i.badge: i for i in pool if i.active}
    visits = Visits(open_visits=found)
    for need in needs:
        visit = found.get(need.uscc)
        if visit is None:
            continue
        recused = _recused_members(visit, need.uscc, by_badge)
        problem = join_problem(
            visit,
            target_region=need.region,
            required_expertise=need.required_expertise,
            params=params,
            recused=recused,
        )
        if problem is None:
            visits.joined[need.uscc] = visit
            continue
        visits.notes[need.uscc] = visit_note(visit, problem)
        if (
            join_problem(
                visit,
                target_region=need.region,
                required_expertise=need.required_expertise,
                params=params,
            )
            is None
        ):  # the recusal alone decided: published, as /2 publishes deciding recusals
            visits.recused[need.uscc] = sorted(recused)
    return visits


def _recused_members(visit: OpenVisit, uscc: str, by_badge: dict[str, Inspector]) -> list[str]:
    """The badges of the visit's team that are in this plan's pool and recused for `uscc`."""
    return [
        m.badge for m in visit.team if m.badge in by_badge and uscc in recusal_of(by_badge[m.badge])
    ]


def decide_extend(
    found: dict[str, OpenVisit],
    needs: Iterable[Need],
    params: TeamParams,
    pool: Sequence[Inspector],
    *,
    seed: str,
    n_tasks: int,
) -> Visits:
    """/3 (JOIN_RULE_EXTEND, docs/draw-spec-teams.md §13): per drawn target with an open visit,
    join it unless its team has what no extension mends (`join_blocker`: a member out of the
    frozen pool, of the target's area under 交叉互查, or recused); where the team lacks what this
    plan needs, this plan adds members drawn from its own pool (`extend_visits`); only when no
    valid member can be added does the target get its own visit, with a note saying why."""
    by_badge = {i.badge: i for i in pool if i.active}
    visits = Visits(open_visits=found, rule=JOIN_RULE_EXTEND)
    candidates: list[tuple[TeamTask, OpenVisit]] = []
    for need in needs:
        visit = found.get(need.uscc)
        if visit is None:
            continue
        recused = _recused_members(visit, need.uscc, by_badge)
        problem = join_blocker(visit, target_region=need.region, params=params, recused=recused)
        if problem is not None:
            visits.notes[need.uscc] = visit_note(visit, problem)
            if recused and join_blocker(visit, target_region=need.region, params=params) is None:
                visits.recused[need.uscc] = sorted(recused)  # the recusal decided: published
            continue
        candidates.append((TeamTask(need.uscc, need.region, need.required_expertise), visit))
    extensions, visits.loads = extend_visits(
        seed=seed, params=params, inspectors=pool, n_tasks=n_tasks, joins=candidates
    )
    for uscc, ext in extensions.items():
        if ext.recused:
            visits.recused[uscc] = list(ext.recused)
        if ext.problem is not None:
            visits.notes[uscc] = visit_note(found[uscc], ext.problem)
            continue
        visits.joined[uscc] = found[uscc]
        visits.added[uscc] = ext.added
    return visits
