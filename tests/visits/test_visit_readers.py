"""Every reader of inspections reads the visit records (app/visits): the 回头看 case and the
January-2027 case of issue 23, reader by reader. Each test fails if its reader works out its
own notion of an inspection (from plan windows, decision days, or tasks of draws only)."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update

from app.clock import today_local
from app.db import make_sessionmaker
from app.models import Result, ResultVersion, Task, Visit
from app.plans import frame
from app.plans.schemas import PlanIn
from app.publish.collect import collect
from app.publish.inspections import collect_counts
from app.states import VisitState
from app.tasks.reports import weekly_report
from app.visits import service as visit_records
from tests.plans.conftest import plan_body
from tests.rounds import approver


def _result(client, sup, task_id: str, outcome: str = "未发现问题", findings: str = "") -> None:  # type: ignore[no-untyped-def]
    body = {"outcome": outcome, "decided_on": today_local().isoformat(), "findings": findings}
    r = client.put(f"/api/v1/tasks/{task_id}/result", headers=sup, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task_id}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text


def _plan(code: str, year: int, **over: Any) -> PlanIn:
    body = plan_body(
        code=code,
        window={"start": f"{year}-03-01", "end": f"{year}-03-31"},
        yearly_caps={"A": 5, "B": 5, "C": 5, "D": 5},
        **over,
    )
    return PlanIn.model_validate(body)


def _session(client):  # type: ignore[no-untyped-def]
    return make_sessionmaker(client.app.state.engine)()


def _revisit(client, drawn):  # type: ignore[no-untyped-def]
    """A task found 未检查, then a 回头看 of it: the 回头看 is the target's only visit."""
    sup, draw = drawn
    task = draw["tasks"][0]
    _result(client, sup, task["id"], "未检查（停业、注销等）", "已停业")
    r = client.post(f"/api/v1/tasks/{task['id']}/follow-ups", headers=sup, json={"reason": "复业"})
    assert r.status_code == 201, r.text
    return task, r.json()


def test_a_revisit_is_a_visit_for_the_cooldown_and_the_yearly_count(client, drawn):
    task, follow = _revisit(client, drawn)
    sup, _draw = drawn
    other = _plan("OTHER", today_local().year, items=task["items"][:1] or ["YB-01"])
    now = datetime.now(UTC)
    with _session(client) as s:
        assert s.get(Visit, follow["id"]).state == VisitState.OPEN
        assert s.get(Visit, task["visit"]).state == VisitState.NOT_INSPECTED
        # open: it holds the target for other plans' items (the 未检查 visit does not)
        cooling, _ = frame._cooling(s, other, now)
        assert task["uscc"] in cooling
    _result(client, sup, follow["id"])
    with _session(client) as s:
        v = s.get(Visit, follow["id"])
        assert v.state == VisitState.INSPECTED and v.counted_year == today_local().year
        cooling, _ = frame._cooling(s, other, now)
        assert task["uscc"] in cooling
        checks, _ = frame._year_checks(s, other)
        assert checks.get(task["uscc"]) == 1  # the 回头看, not the 未检查 task
        # the inspector's open load: the 回头看 counted while open, not once closed
        assert all(n >= 0 for n in frame.open_tasks(s).values())
        # 周报表: the unit was inspected this week (by the 回头看)
        report = weekly_report(s, start=today_local(), end=today_local())
        total = report["rows"][-1]
        assert total["inspected_units"] == 1


def test_a_revisit_counts_in_the_inspector_load_while_open(client, drawn):
    task, follow = _revisit(client, drawn)
    _sup, draw = drawn
    badges = [m["badge"] for m in follow["team"]]
    with _session(client) as s:
        load = frame.open_tasks(s)
        # the original task is 已办结 (未检查): the open 回头看 is on its team's load, with the
        # other open tasks of the draw they are on
        for b in badges:
            others = sum(
                1
                for t in draw["tasks"]
                if t["id"] != task["id"] and b in {m["badge"] for m in t["team"]}
            )
            assert load.get(b) == 1 + others, (b, load)
        pool = {i.badge: i for i in frame.team_pool(s)}
        assert all(b in pool for b in badges)


def _january(client, drawn) -> tuple[dict[str, Any], date]:  # type: ignore[no-untyped-def]
    """A task of a 2026 plan carried out on 10 January 2027 and decided on the 20th (written to
    the result as a later day would, then the visit refreshed as the approval refreshes it)."""
    sup, draw = drawn
    task = draw["tasks"][0]
    _result(client, sup, task["id"])
    day, decided = date(2027, 1, 10), date(2027, 1, 20)
    with _session(client) as s:
        s.execute(
            update(Result)
            .where(Result.task_id == task["id"])
            .values(decided_on=decided, inspected_on=day, feed_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        s.execute(
            update(ResultVersion)
            .where(ResultVersion.task_id == task["id"])
            .values(decided_on=decided, inspected_on=day)
        )
        visit_records.refresh_tasks(s, [task["id"]])
        s.commit()
    return task, day


def test_an_inspection_carried_out_in_january_2027_counts_in_2027_for_the_frame(client, drawn):
    task, _day = _january(client, drawn)
    with _session(client) as s:
        v = s.get(Visit, task["visit"])
        assert v.state == VisitState.INSPECTED and v.counted_year == 2027
        assert frame._year_checks(s, _plan("Y2027", 2027))[0].get(task["uscc"]) == 1
        assert task["uscc"] not in frame._year_checks(s, _plan("Y2026", 2026))[0]
        # cooling from the day it was carried out: still cooling on 2027-12-01, not on 2028-01-10
        at = datetime(2027, 12, 1, 4, tzinfo=UTC)
        assert task["uscc"] in frame._cooling(s, _plan("C", 2027), at)[0]
        at = datetime(2028, 1, 10, 4, tzinfo=UTC)
        assert task["uscc"] not in frame._cooling(s, _plan("C", 2028), at)[0]


def test_an_inspection_carried_out_in_january_2027_counts_in_2027_on_the_public_page(client, drawn):
    task, _day = _january(client, drawn)
    with _session(client) as s:
        rows = collect_counts(s, collect(s, now=datetime.now(UTC)))
    mine = [r for r in rows if r["uscc"] == task["uscc"]]
    assert [(r["year"], r["count"]) for r in mine] == [("2027", 1)]


def test_an_inspection_carried_out_in_january_2027_is_in_that_week_s_report(client, drawn):
    _task, _day = _january(client, drawn)
    with _session(client) as s:
        jan = weekly_report(s, start=date(2027, 1, 4), end=date(2027, 1, 10))
        dec = weekly_report(s, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert jan["rows"][-1]["inspected_units"] == 1
    assert dec["rows"][-1]["inspected_units"] == 0


def test_the_credit_feed_gives_the_visit_and_the_year_it_counts_in(client, drawn, make_token):
    task, _day = _january(client, drawn)
    feed = client.get("/api/v1/credit/results", headers=make_token("credit"))
    assert feed.status_code == 200, feed.text
    (item,) = [i for i in feed.json()["items"] if i["task_id"] == task["id"]]
    assert (item["visit"], item["visit_state"]) == (task["visit"], "inspected")
    assert (item["inspected_on"], item["counted_year"]) == ("2027-01-10", 2027)


def test_the_visit_records_are_rebuilt_the_same_by_the_migration_rule(client, drawn):
    """build_all (what the migration runs) derives the same records the writers stored."""
    _revisit(client, drawn)
    with _session(client) as s:
        stored = {
            v.id: (v.state, v.inspected_on, v.counted_year, v.busy, v.parts)
            for v in s.scalars(select(Visit))
        }
        visit_records.build_all(s)
        rebuilt = {
            v.id: (v.state, v.inspected_on, v.counted_year, v.busy, v.parts)
            for v in s.scalars(select(Visit).execution_options(populate_existing=True))
        }
        tasks = s.scalars(select(Task.visit)).all()
    assert stored == rebuilt and set(tasks) == set(stored)


def test_the_preview_says_how_many_units_are_out_and_why(client, drawn):
    """Before publication, the π preview lists the units with π = 0 and the visit that keeps
    each out: an inspection carried out today cools until a year on; an open visit until done."""
    from tests.plans.conftest import plan_body

    sup, draw = drawn
    done, still_open = draw["tasks"][0], draw["tasks"][1]
    _result(client, sup, done["id"])
    r = client.post("/api/v1/plans", headers=sup, json=plan_body(code="NEXT"))
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/plans/NEXT/inclusion", headers=sup)
    assert r.status_code == 200, r.text
    out = r.json()["out"]
    reasons = {row["uscc"]: row["reason"] for row in out["rows"]}
    assert out["units"] == len(draw["tasks"]) == out["cooling"] and out["capped"] == 0
    today = today_local()
    until = date(today.year + 1, today.month, today.day).toordinal() - 1
    assert reasons[done["uscc"]].startswith(f"冷却至 {date.fromordinal(until).isoformat()}")
    assert done["visit"] in reasons[done["uscc"]]
    assert (
        "尚未完成" in reasons[still_open["uscc"]]
        and still_open["visit"] in reasons[still_open["uscc"]]
    )
