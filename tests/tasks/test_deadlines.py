"""Publication deadlines: 20 working days across 国庆 and 春节 make-up days, and a year
without calendar data said out loud (never silently counted as weekends only).

Expected dates are counted by hand from the 国务院办公厅 notices:
- 2025 国庆/中秋: 10/1–10/8 off; Sun 9/28 and Sat 10/11 are working days.
- 2026 春节: 2/15–2/23 off; Sat 2/14 and Sat 2/28 are working days.
"""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from app.config import Settings
from app.db import make_sessionmaker
from app.main import create_app
from app.models import Result
from app.tasks.deadlines import calendar_warnings, deadlines, publication_due
from app.tasks.results import mark_published
from app.tasks.workdays import load_calendar

CAL = load_calendar(None)


def test_due_date_across_national_day_counts_make_up_days():
    # Fri 9/26 is day 0. 1: Sun 9/28 (make-up), 2–3: 9/29–9/30, 10/1–10/8 off,
    # 4–6: 10/9, 10/10, Sat 10/11 (make-up), 7–11: 10/13–17, 12–16: 10/20–24, 17–20: 10/27–30.
    assert publication_due(CAL, date(2025, 9, 26), 20) == date(2025, 10, 30)
    # counting weekdays only would have said 10/24
    assert publication_due(CAL, date(2025, 9, 26), 20) != date(2025, 10, 24)


def test_due_date_across_spring_festival():
    # Tue 2/10 is day 0. 1–3: 2/11–13, 4: Sat 2/14 (make-up), 2/15–23 off, 5–8: 2/24–27,
    # 9: Sat 2/28 (make-up), 10–14: 3/2–6, 15–19: 3/9–13, 20: Mon 3/16.
    assert publication_due(CAL, date(2026, 2, 10), 20) == date(2026, 3, 16)
    # a decision on a holiday: day 0 is the holiday itself; Tue 2/24 is the first working day
    assert publication_due(CAL, date(2026, 2, 17), 1) == date(2026, 2, 24)


def _results(session, task_ids, decided):
    rows = []
    for tid, d in zip(task_ids, decided, strict=True):
        row = Result(
            task_id=tid,
            version=1,
            outcome="未发现问题",
            decided_on=d,
            findings="",
            measures=[],
            recovered_amount=Decimal("0.00"),
            fine_amount=Decimal("0.00"),
            entered_by="t",
            entered_at=datetime(2026, 1, 1, tzinfo=UTC),
            approved_by="t",
            approved_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def test_overdue_soon_due_and_missing_calendar(drawn, db):
    _sup, draw = drawn
    ids = [t["id"] for t in draw["tasks"][:4]]
    with make_sessionmaker(db)() as s:
        national, spring, late_2026, published = _results(
            s, ids, [date(2025, 9, 26), date(2026, 2, 10), date(2026, 12, 20), date(2025, 9, 26)]
        )
        mark_published(s, [published.id], datetime(2025, 10, 1, tzinfo=UTC))

        # 2025-10-27: the 国庆 result has 3 working days left (10/28, 10/29, 10/30)
        items = {
            d.task_id: d
            for d in deadlines(s, today=date(2025, 10, 27), within=5, calendar=CAL, workdays=20)
        }
        assert items[national.task_id].state == "due_soon"
        assert items[national.task_id].workdays_left == 3
        assert items[national.task_id].due_on == date(2025, 10, 30)
        assert spring.task_id not in items  # far away
        assert published.task_id not in items  # already public
        # 2026-12-20 + 20 working days runs into 2027, which has no data: said explicitly
        missing = items[late_2026.task_id]
        assert missing.state == "calendar_missing" and missing.missing_year == 2027
        assert missing.due_on is None and "2027" in missing.message

        # within=2 → 3 working days left is not "soon"
        soon = deadlines(s, today=date(2025, 10, 27), within=2, calendar=CAL, workdays=20)
        assert national.task_id not in {d.task_id for d in soon}

        # on the due day itself: 0 left, not overdue
        due_day = {
            d.task_id: d
            for d in deadlines(s, today=date(2025, 10, 30), within=0, calendar=CAL, workdays=20)
        }
        assert due_day[national.task_id].state == "due_soon"
        assert due_day[national.task_id].workdays_left == 0

        # Mon 11/3: overdue by 2 working days (Fri 10/31, Mon 11/3)
        late = {
            d.task_id: d
            for d in deadlines(s, today=date(2025, 11, 3), within=5, calendar=CAL, workdays=20)
        }
        assert late[national.task_id].state == "overdue"
        assert late[national.task_id].workdays_left == -2

        # 2026-03-12: the 春节 result is due 3/16 → 2 working days left (3/13, 3/16)
        spr = {
            d.task_id: d
            for d in deadlines(s, today=date(2026, 3, 12), within=5, calendar=CAL, workdays=20)
        }
        assert spr[spring.task_id].workdays_left == 2

        # the configured limit is honoured: 10 working days after 2/10 is 3/2
        ten = {
            d.task_id: d
            for d in deadlines(s, today=date(2026, 3, 2), within=0, calendar=CAL, workdays=10)
        }
        assert ten[spring.task_id].due_on == date(2026, 3, 2)
        s.rollback()


def test_a_new_year_without_data_keeps_deadlines_fixed_by_known_data(drawn, db):
    _sup, draw = drawn
    known = max(CAL.years)
    unknown = known + 1
    ids = [t["id"] for t in draw["tasks"][:2]]
    with make_sessionmaker(db)() as s:
        early, late = _results(s, ids, [date(known, 11, 2), date(known, 12, 20)])
        # 5 January of the year without data: the November result's deadline lay wholly in the
        # known year, so it stays overdue with its date; only its count of late days is unknown
        items = {
            d.task_id: d
            for d in deadlines(s, today=date(unknown, 1, 5), within=5, calendar=CAL, workdays=20)
        }
        overdue = items[early.task_id]
        assert overdue.state == "overdue"
        assert overdue.due_on == publication_due(CAL, date(known, 11, 2), 20)
        assert overdue.workdays_left is None and str(unknown) in overdue.message
        # the December result's deadline itself reaches into the unknown year
        missing = items[late.task_id]
        assert missing.state == "calendar_missing" and missing.missing_year == unknown
        s.rollback()


def test_missing_calendar_warned_from_the_first_of_december():
    known = max(CAL.years)
    assert calendar_warnings(CAL, date(known, 11, 30)) == []
    (warning,) = calendar_warnings(CAL, date(known, 12, 1))
    assert str(known + 1) in warning and "SPOTCHECK_CALENDAR_OVERRIDE_FILE" in warning
    (this_year,) = calendar_warnings(CAL, date(known + 1, 1, 5))  # the year we are in
    assert str(known + 1) in this_year


def test_endpoint_uses_override_file_for_missing_years(drawn, db, tmp_path, make_token):
    from fastapi.testclient import TestClient

    sup, draw = drawn
    with make_sessionmaker(db)() as s:
        _results(s, [draw["tasks"][0]["id"]], [date(2026, 12, 20)])
        s.commit()
    plain = TestClient(create_app(Settings(publish_dir=tmp_path / "p"), engine=db))
    r = plain.get("/api/v1/results/deadlines", headers=sup, params={"within": 400})
    assert r.status_code == 422  # within is bounded
    r = plain.get("/api/v1/results/deadlines", headers=sup, params={"within": 250})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["state"] == "calendar_missing" and item["missing_year"] == 2027
    assert item["due_on"] is None
    # the same result with a 2027 override file gets a real date
    override = tmp_path / "cal.json"
    override.write_text(
        json.dumps(
            {"2027": {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "workdays": []}}
        )
    )
    settings = Settings(publish_dir=tmp_path / "p", calendar_override_file=override)
    with TestClient(create_app(settings, engine=db)) as c:
        r = c.get("/api/v1/results/deadlines", headers=sup, params={"within": 250})
    (item,) = r.json()["items"]
    # 12/20 (Sun) day 0: 12/21–25 (5), 12/28–31 (9), 1/1–3 off, 1/4–8 (14), 1/11–15 (19), 1/18
    assert item["due_on"] == "2027-01-18"
    insp = make_token("inspector", badge="37040000000001")
    assert plain.get("/api/v1/results/deadlines", headers=insp).status_code == 403


def test_a_result_awaiting_approval_is_listed_with_its_deadline(client, drawn, db, make_token):
    """A result decided and left in the approval queue shows before its deadline (due soon), on
    the day, and after it (overdue): the clock runs from the decision, approved or not."""
    from datetime import timedelta

    from app.clock import today_local

    sup, draw = drawn
    task = draw["tasks"][0]
    leader = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    inspector = make_token("inspector", badge=leader)
    decided = today_local()
    body = {
        "outcome": "未发现问题",
        "decided_on": decided.isoformat(),
        "findings": "",
        "measures": [],
    }
    r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=inspector, json=body)
    assert r.status_code in (200, 201), r.text
    due = publication_due(CAL, decided, 5)
    with make_sessionmaker(db)() as s:
        for today, state in (
            (due - timedelta(days=2), "due_soon"),
            (due, "due_soon"),
            (due + timedelta(days=6), "overdue"),
        ):
            (item,) = deadlines(s, today=today, within=5, calendar=CAL, workdays=5)
            assert (item.task_id, item.state, item.stage) == (
                task["id"],
                state,
                "awaiting_approval",
            )
            assert item.due_on == due and item.result_id is None and "待审核" in item.message
    # the API lists it as well
    r = client.get("/api/v1/results/deadlines", headers=sup, params={"within": 250})
    assert r.status_code == 200, r.text
    assert [(i["task_id"], i["stage"]) for i in r.json()["items"]] == [
        (task["id"], "awaiting_approval")
    ]
