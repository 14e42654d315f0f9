"""The schema comes only from migrations, and the models agree with it."""

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.migrate import DowngradeRefused, alembic_config, upgrade
from app.models import Base
from tests.plans.conftest import city  # noqa: F401  (fixture)
from tests.tasks.conftest import drawn  # noqa: F401  (fixture)


def test_models_match_migrations(db):
    with db.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_every_model_table_exists_after_upgrade(db):
    tables = set(inspect(db).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def _downgrade(engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


BEFORE_STATES = "6443c0e836e0"  # the revision before task states went English


def test_task_states_and_teams_carried_over(blank_engine):
    upgrade(blank_engine, BEFORE_STATES)
    team = [{"badge": "B2", "role": "组长"}, {"badge": "A1", "role": "组员"}]
    with blank_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plans (code, title, status, version, spec, draw_count, created_at, created_by,"
                " updated_at) VALUES ('P', 't', 'drawn', 1, '{}', 1, :now, 'x', :now)"
            ),
            {"now": "2026-12-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO tasks (id, draw_id, seq, plan_code, uscc, name, region, stratum,"
                " ticket, inclusion_prob, items, despite_cooldown, team, status, updated_at)"
                " VALUES ('T1', NULL, 1, 'P', 'U', 'n', '370402', 's', '0.1', 0.5, '[]', false,"
                " :team, '待后续处理', :now)"
            ),
            {"team": json.dumps(team), "now": "2026-12-01 00:00:00"},
        )
        for badge, role in (("A1", "组员"), ("B2", "组长")):
            conn.execute(
                text("INSERT INTO task_members (task_id, badge, role) VALUES ('T1', :b, :r)"),
                {"b": badge, "r": role},
            )
        conn.execute(
            text(
                "INSERT INTO task_events (task_id, action, from_status, to_status, actor, at,"
                " data) VALUES ('T1', 'result.approve', '已检查', '待后续处理', 'x', :now, '{}')"
            ),
            {"now": "2026-12-01 00:00:00"},
        )
    upgrade(blank_engine)
    with blank_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM tasks")).scalar() == "pending_measures"
        assert conn.execute(text("SELECT from_status, to_status FROM task_events")).one() == (
            "inspected",
            "pending_measures",
        )
        members = conn.execute(text("SELECT badge, role FROM task_members ORDER BY position")).all()
        assert [tuple(m) for m in members] == [("B2", "组长"), ("A1", "组员")]
    assert "team" not in {c["name"] for c in inspect(blank_engine).get_columns("tasks")}
    _downgrade(blank_engine, BEFORE_STATES)
    with blank_engine.connect() as conn:
        status, stored = conn.execute(text("SELECT status, team FROM tasks")).one()
        assert status == "待后续处理"
        assert (json.loads(stored) if isinstance(stored, str) else stored) == team


# --- downgrades never drop committed data ----------------------------------------------------

BEFORE_PROTOCOL_V2 = "c0n5013a0001"  # before frozen frames and the plans' committed values
BEFORE_TEAM_FRAMES = "7c4e2a9b1f63"  # before the frozen inspector frames (spotcheck-draw/3)


class TestDowngradeKeepsCommittedData:
    """A downgrade that would drop frozen frames, committed values, draws or results refuses
    (and changes nothing); it used to empty them silently while `audit verify` still passed."""

    @pytest.fixture
    def db(self, blank_engine):
        upgrade(blank_engine)
        return blank_engine

    def _counts(self, engine):
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("plan_frames", "plans", "draws", "tasks")
            } | {
                "nonces": conn.execute(
                    text("SELECT count(*) FROM plans WHERE secret_nonce IS NOT NULL")
                ).scalar(),
                "heads": tuple(MigrationContext.configure(conn).get_current_heads()),
            }

    @pytest.mark.parametrize("to", [BEFORE_TEAM_FRAMES, BEFORE_PROTOCOL_V2, "ae0d5b839dbb", "base"])
    def test_a_downgrade_past_a_draw_is_refused_and_changes_nothing(self, db, drawn, to):  # noqa: F811
        before = self._counts(db)
        assert before["plan_frames"] >= 1 and before["nonces"] == 1 and before["tasks"] > 0
        with pytest.raises(DowngradeRefused) as refused:
            _downgrade(db, to)
        assert "拒绝降级" in str(refused.value)
        assert self._counts(db) == before

    def test_an_empty_database_still_goes_down_and_up(self, db):
        _downgrade(db, "base")
        upgrade(db)
