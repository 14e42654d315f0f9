"""The migration that introduced visits (8a4c1e7f2b39): down and up again on SQLite and
PostgreSQL, the records of every existing draw and 回头看 rebuilt as the writers stored them;
a downgrade that would lose a result's day carried out is refused."""

import pytest
from alembic import command
from sqlalchemy import inspect, select, text, update

from app.db import make_sessionmaker
from app.migrate import DowngradeRefused, alembic_config, upgrade
from app.models import Result, Visit, VisitMember
from tests.visits.test_visit_readers import _result, _revisit

BEFORE_VISITS = "8b4e2f6a1c93"


def _downgrade(engine, revision: str) -> None:  # type: ignore[no-untyped-def]
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _records(db):  # type: ignore[no-untyped-def]
    with make_sessionmaker(db)() as s:
        visits = {
            v.id: (
                v.uscc,
                v.state,
                v.inspected_on,
                v.counted_year,
                v.planned_on,
                v.busy,
                v.parts,
                v.public_at,
            )
            for v in s.scalars(select(Visit))
        }
        members = sorted(
            (m.visit_id, m.badge, m.role, m.position) for m in s.scalars(select(VisitMember))
        )
    return visits, members


def test_down_and_up_rebuilds_every_visit(client, drawn, db):
    sup, draw = drawn
    _result(client, sup, draw["tasks"][1]["id"])
    _revisit(client, drawn)
    before = _records(db)
    assert len(before[0]) == len(draw["tasks"]) + 1 and before[1]
    # the reasons of π = 0 frozen with a frame are committed data: a downgrade refuses to drop
    # them (next test); a frame captured before the upgrade has none
    with db.begin() as conn:
        assert conn.execute(
            text("SELECT count(*) FROM plan_frames WHERE out_gz IS NOT NULL")
        ).scalar()
        with pytest.raises(DowngradeRefused):
            _downgrade(db, BEFORE_VISITS)
        conn.execute(text("UPDATE plan_frames SET out_gz = NULL"))
        # the later migrations' public log (7c4e2a9b1f63) and frozen inspector frames
        # (3d9f5b2e7a41) are committed data too
        for table in ("log_cosignatures", "log_checkpoints", "log_leaves"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM plan_team_frames"))
        conn.execute(
            text("UPDATE plan_versions SET team_frame_sha256 = NULL, frame_changes = NULL")
        )
        conn.execute(text("UPDATE draw_populations SET team_frame_gz = NULL"))
        # … and the frozen items and sealed frames (5e8a1c3f9b27)
        conn.execute(text("UPDATE plan_versions SET frozen_items = NULL"))
        conn.execute(text("DELETE FROM draw_replacements"))
        conn.execute(text("UPDATE draw_seals SET team_frame_file = NULL"))
    try:
        _downgrade(db, BEFORE_VISITS)
        tables = set(inspect(db).get_table_names())
        assert "visits" not in tables and "visit_members" not in tables
        cols = {c["name"] for c in inspect(db).get_columns("results")}
        assert "inspected_on" not in cols
    finally:
        upgrade(db)
    after = _records(db)
    # the day carried out of existing results: their decision day
    assert after[1] == before[1]
    for k in before[0]:
        assert after[0][k] == before[0][k], k


def test_a_downgrade_that_would_lose_the_day_carried_out_is_refused(client, drawn, db):
    sup, draw = drawn
    task = draw["tasks"][0]["id"]
    _result(client, sup, task)
    with db.begin() as conn:
        day = conn.execute(select(Result.decided_on).where(Result.task_id == task)).scalar_one()
        conn.execute(
            text("UPDATE result_versions SET inspected_on = :d WHERE task_id = :t"),
            {"d": day.replace(day=max(1, day.day - 1)) if day.day > 1 else day, "t": task},
        )
        conn.execute(
            text("UPDATE result_versions SET decided_on = :d WHERE task_id = :t"),
            {"d": day.replace(year=day.year + 1), "t": task},
        )
        # not refused for the later migrations' public log or inspector frames
        for table in ("log_cosignatures", "log_checkpoints", "log_leaves"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM plan_team_frames"))
        conn.execute(
            text("UPDATE plan_versions SET team_frame_sha256 = NULL, frame_changes = NULL")
        )
        conn.execute(text("UPDATE draw_populations SET team_frame_gz = NULL"))
        conn.execute(text("UPDATE plan_versions SET frozen_items = NULL"))
    with pytest.raises(DowngradeRefused, match="检查实施日期"):
        _downgrade(db, BEFORE_VISITS)
    assert "visits" in set(inspect(db).get_table_names())
    with db.begin() as conn:
        conn.execute(update(Result).where(Result.task_id == task).values(inspected_on=None))
