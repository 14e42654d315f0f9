"""PUT /api/v1/credit/grades: validation, history, scheduling, and what the draw sees."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.config import get_settings
from app.db import make_sessionmaker
from app.models import AuditEntry, CreditGrade, Item, Target
from app.models.base import utcnow
from app.plans.frame import population_units
from app.plans.schemas import PlanIn
from app.registries import grades, history
from tests.entropy import post_draw
from tests.factories import uscc
from tests.plans.conftest import plan_body

URL = "/api/v1/credit/grades"


def _grade(db, key):
    with make_sessionmaker(db)() as s:
        return s.get(Target, key).credit_grade


def test_push_applies_grades_with_history_and_audit(client, city, credit, db):
    before = datetime.now(UTC)
    entries = [
        {"uscc": uscc(1), "grade": "d", "score": 91.5, "as_of": "2026-01-01"},
        {"uscc": uscc(2), "grade": "A", "as_of": "2026-01-01T09:30:00+08:00"},  # unchanged
    ]
    r = client.put(URL, headers=credit, json=entries)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["applied"], body["unchanged"], body["scheduled"]) == (2, 1, 1, 0)
    assert _grade(db, uscc(1)) == "D" and _grade(db, uscc(2)) == "A"
    # "as of" reads of the registry see the old grade before the push, the new one after
    with make_sessionmaker(db)() as s:
        then = {r["uscc"]: r for r in history.iter_as_of(s, kind="targets", at=before)}
        now = {r["uscc"]: r for r in history.iter_as_of(s, kind="targets", at=utcnow())}
    assert then[uscc(1)]["credit_grade"] == "A" and now[uscc(1)]["credit_grade"] == "D"
    with make_sessionmaker(db)() as s:
        rows = s.scalars(select(CreditGrade).order_by(CreditGrade.id)).all()
        assert [(g.uscc, g.grade, g.score, g.token_name) for g in rows] == [
            (uscc(1), "D", 91.5, "信用平台"),
            (uscc(2), "A", None, "信用平台"),
        ]
        assert rows[0].as_of == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # Beijing midnight
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "credit.grades")).all()
        assert len(audit) == 1 and audit[0].data["applied"] == 1


def test_history_of_the_registry_keeps_the_old_grade(client, city, credit, db):
    client.put(URL, headers=credit, json=[{"uscc": uscc(3), "grade": "C", "as_of": "2026-01-01"}])
    with make_sessionmaker(db)() as s:
        versions = history.history(s, kind="targets", key=uscc(3))
    assert [v["data"]["credit_grade"] for v in versions] == ["A", "C"]
    assert versions[-1]["actor"] == "credit:信用平台"


BAD = [
    ({"uscc": uscc(999), "grade": "A", "as_of": "2026-01-01"}, "uscc"),
    ({"uscc": uscc(1), "grade": "E", "as_of": "2026-01-01"}, "grade"),
    ({"uscc": uscc(1), "grade": "A", "score": 100.5, "as_of": "2026-01-01"}, "score"),
    ({"uscc": uscc(1), "grade": "A", "score": -1, "as_of": "2026-01-01"}, "score"),
    ({"uscc": uscc(1), "grade": "A", "as_of": "2026-13-01"}, "as_of"),
    ({"uscc": uscc(1), "grade": "A", "as_of": "yesterday"}, "as_of"),
]


@pytest.mark.parametrize(("entry", "field"), BAD)
def test_any_bad_entry_rejects_the_whole_push(client, city, credit, db, entry, field):
    good = {"uscc": uscc(5), "grade": "D", "as_of": "2026-01-01"}
    r = client.put(URL, headers=credit, json=[good, entry])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, field)]
    assert _grade(db, uscc(5)) == "A"
    with make_sessionmaker(db)() as s:
        assert s.scalars(select(CreditGrade)).all() == []


def test_non_finite_score_and_duplicates_are_refused(client, city, credit):
    a, b = uscc(1), uscc(2)
    body = (
        f'[{{"uscc": "{a}", "grade": "A", "score": NaN, "as_of": "2026-01-01"}},'
        f' {{"uscc": "{b}", "grade": "B", "as_of": "2026-01-01"}},'
        f' {{"uscc": "{b}", "grade": "C", "as_of": "2026-01-01T00:00:00+08:00"}}]'
    )
    r = client.put(URL, headers={**credit, "content-type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {(0, "score"), (2, "as_of")}


def test_only_the_credit_role_may_push(client, city, credit, make_token):
    entry = [{"uscc": uscc(1), "grade": "B", "as_of": "2026-01-01"}]
    assert client.put(URL, headers=city, json=entry).status_code == 403
    assert (
        client.put(
            URL, headers=make_token("inspector", badge="37040000000000"), json=entry
        ).status_code
        == 403
    )
    assert client.put(URL, json=entry).status_code == 401


def test_grade_scale_is_configuration(client, city, credit, monkeypatch):
    entry = [{"uscc": uscc(1), "grade": "E", "as_of": "2026-01-01"}]
    assert client.put(URL, headers=credit, json=entry).status_code == 422
    monkeypatch.setenv("SPOTCHECK_CREDIT_GRADES", "A,B,C,D,E")
    get_settings.cache_clear()
    try:
        r = client.put(URL, headers=credit, json=entry)
        assert r.status_code == 200 and r.json()["applied"] == 1
    finally:
        monkeypatch.delenv("SPOTCHECK_CREDIT_GRADES")
        get_settings.cache_clear()


def test_future_grades_are_scheduled_and_older_ones_superseded(client, city, credit, db):
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = client.put(
        URL,
        headers=credit,
        json=[
            {"uscc": uscc(1), "grade": "C", "as_of": "2026-03-01"},
            {"uscc": uscc(1), "grade": "B", "as_of": "2026-02-01"},
            {"uscc": uscc(1), "grade": "D", "as_of": future},
        ],
    )
    body = r.json()
    assert (body["applied"], body["superseded"], body["scheduled"]) == (1, 1, 1)
    assert _grade(db, uscc(1)) == "C"
    # a late push of an even older grade changes nothing
    r = client.put(
        URL, headers=credit, json=[{"uscc": uscc(1), "grade": "A", "as_of": "2025-01-01"}]
    )
    assert r.json()["superseded"] == 1 and _grade(db, uscc(1)) == "C"
    with make_sessionmaker(db)() as s:
        later = datetime.now(UTC) + timedelta(days=31)
        assert grades.grades_at(s, later)[uscc(1)] == "D"
        assert grades.grades_at(s, datetime.now(UTC))[uscc(1)] == "C"


def test_a_due_scheduled_grade_is_applied_at_the_next_push(client, city, credit, db):
    with make_sessionmaker(db)() as s:
        past = datetime.now(UTC) - timedelta(hours=1)
        s.add(
            CreditGrade(
                push_id="x",
                uscc=uscc(4),
                grade="D",
                score=None,
                as_of=past,
                received_at=past - timedelta(days=1),
                token_name="信用平台",
            )
        )
        s.commit()
    client.put(URL, headers=credit, json=[{"uscc": uscc(9), "grade": "B", "as_of": "2026-01-01"}])
    assert _grade(db, uscc(4)) == "D"


def test_the_draw_snapshot_uses_the_grade_valid_at_the_draw_time(client, city, credit, db):
    future = datetime.now(UTC) + timedelta(days=10)
    client.put(
        URL,
        headers=credit,
        json=[
            {"uscc": uscc(1), "grade": "D", "as_of": "2026-01-01"},
            {"uscc": uscc(2), "grade": "D", "as_of": future.isoformat()},
        ],
    )
    spec = PlanIn.model_validate(plan_body(risk_weights={"A": 1, "D": 4}))
    with make_sessionmaker(db)() as s:
        items = list(s.scalars(select(Item).where(Item.code.in_(spec.items))))
        now_units = population_units(s, spec, items, datetime.now(UTC))
        later_units = population_units(s, spec, items, future + timedelta(seconds=1))
    now = {u.uscc: u for u in now_units.units()}
    later = {u.uscc: u for u in later_units.units()}
    assert (now[uscc(1)].grade, now[uscc(1)].weight) == ("D", 4.0)
    assert (now[uscc(2)].grade, now[uscc(2)].weight) == ("A", 1.0)
    assert (later[uscc(2)].grade, later[uscc(2)].weight) == ("D", 4.0)


def test_a_pushed_grade_drives_the_draw(client, city, credit):
    # uscc(1) is grade A in the registry; pushed D with a 100% rate it must be drawn.
    client.put(URL, headers=credit, json=[{"uscc": uscc(1), "grade": "D", "as_of": "2026-01-01"}])
    from tests.plans.conftest import published

    code = published(client, city, grade_rates={"D": 1.0})
    r = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "1-2-3-4-5-6"}
    )
    assert r.status_code == 201, r.text
    drawn = {t["uscc"]: t for t in r.json()["tasks"]}
    assert drawn[uscc(1)]["inclusion_prob"] == 1.0
