"""The visits a new draw starts are written from value tuples (app/visits/service.py
`start_visits`): every stored column of `visits` and `visit_members` is what `derive` makes of
each task's facts, written through `_insert` (the path `refresh` takes) — byte for byte, the
`parts` JSON included, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import Draw, Visit, VisitMember
from app.visits import service
from app.visits.rule import TaskFacts, derive

NOW = datetime(2026, 12, 7, 12, 34, 56, 789012, tzinfo=UTC)
DRAWN_AT = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 12-02 北京时间


def _tasks() -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, str]]]]:
    items = [("BM-01",), ("BM-03", "BM-01", "BM-03"), ("药-02",), ()]
    statuses = ["待检查", "已办结", "检查中"]
    tasks: list[dict[str, Any]] = []
    teams: dict[str, list[tuple[str, str]]] = {}
    for k in range(40):
        task = f"Q-2026-01/1-{k:05d}" if k != 7 else 'Q-"引号"\\-07'
        tasks.append(
            {
                "id": task,
                "uscc": f"91370000MA{k:08d}",
                "status": statuses[k % 3],
                "items": items[k % 4] if k % 5 else list(items[k % 4]),
                # every sixth joins another plan's visit: not started here
                "visit": task if k % 6 else f"P-2026-09/1-{k:05d}",
            }
        )
        if k % 8 != 3:  # some tasks have no team
            team = [(f"B{k:04d}", "组长"), (f"检查员{k % 3}", "组员"), (f"B{k:04d}", "组员")]
            teams[task] = team[: 1 + k % 3]
    return tasks, teams


def _old_start_visits(
    session: Session,
    *,
    draw: Draw,
    spec: Any,
    tasks: list[dict[str, Any]],
    teams: dict[str, list[tuple[str, str]]],
) -> None:
    """The visits of a new draw as written before the value-tuple path: `derive`, `_insert`."""
    planned = service._window(spec)[0] or service.local_date(draw.created_at)
    public_at = service._public_at(spec, draw.created_at)
    records = [
        derive(
            t["id"],
            t["uscc"],
            [
                TaskFacts(
                    task=t["id"],
                    plan=draw.plan_code,
                    draw=draw.id,
                    kept=True,
                    status=t["status"],
                    items=tuple(t["items"]),
                    planned_on=planned,
                    public_at=public_at,
                    team=tuple(teams.get(t["id"], ())),
                )
            ],
        )
        for t in tasks
        if t["visit"] == t["id"]
    ]
    service._insert(session, records, {}, service.utcnow())


def _stored(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of both tables as the database holds it (as text: the JSON verbatim)."""

    def rows(table: Any, order: str) -> list[tuple[Any, ...]]:
        cols = ", ".join(f'CAST("{c.name}" AS TEXT)' for c in table.columns)
        sql = f'SELECT {cols} FROM "{table.name}" ORDER BY {order}'
        return [tuple(r) for r in session.connection().exec_driver_sql(sql).all()]

    return (
        rows(Visit.__table__, "1"),
        rows(VisitMember.__table__, "1, 2"),
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"window": {"start": "2026-12-10", "end": "2027-01-10"}, "publish_tasks": "on_draw"},
        {"window": {"start": "2026-12-10", "end": "2027-01-10"}},  # after the window
        {"publish_tasks": "after_window"},  # no window: planned from the draw's day, not public
    ],
)
def test_start_visits_writes_what_derive_makes(
    session: Session, monkeypatch: pytest.MonkeyPatch, spec: dict[str, Any]
) -> None:
    monkeypatch.setattr(service, "utcnow", lambda: NOW)
    draw = Draw(id="D-ß-1", plan_code="Q-2026-01", created_at=DRAWN_AT)
    tasks, teams = _tasks()

    _old_start_visits(session, draw=draw, spec=spec, tasks=tasks, teams=teams)
    session.flush()
    before = _stored(session)
    session.execute(delete(VisitMember))
    session.execute(delete(Visit))
    assert _stored(session) == ([], [])

    rows = [(t["id"], t["uscc"], t["status"], t["items"], t["visit"]) for t in tasks]
    service.start_visits(session, draw=draw, spec=spec, tasks=rows, teams=teams)
    session.flush()
    after = _stored(session)
    session.rollback()

    visits, members = before
    assert len(visits) == sum(1 for t in tasks if t["visit"] == t["id"]) == 33
    assert len(members) > len(visits)  # teams of one to three, a badge listed twice once
    assert any('\\"引号\\"' in r[7] for r in visits)  # escaped, non-ASCII kept as is
    assert any('["药-02"]' in r[7] for r in visits)
    assert after == before
