"""The demo round `make run` shows: drawn, verifiable, with approved results, published."""

from pathlib import Path

from sqlalchemy import func, select

from app.db import begin_write, make_sessionmaker
from app.demo import DEMO_PLAN, demo_round, load_registries
from app.migrate import ROOT
from app.models import Draw, Plan, PlanVersion
from app.models.results import Result


def test_demo_round_is_complete_and_idempotent(db, settings, tmp_path):
    from app.cli import _load_verifier
    from app.publish.write import publish

    factory = make_sessionmaker(db)
    with factory() as s:
        begin_write(s)
        load_registries(s, ROOT / "registries")
        draw_id = demo_round(s)
        s.commit()
    assert draw_id == f"{DEMO_PLAN}-D1"
    with factory() as s:
        begin_write(s)
        assert demo_round(s) is None  # second run: nothing new
        s.commit()
        assert s.scalar(select(func.count()).select_from(Draw)) == 1
        assert s.get(Plan, DEMO_PLAN).status == "drawn"
        assert s.scalar(select(func.count()).select_from(Result)) > 0
        # the story's dates in order: created, then published, then drawn
        versions = s.scalars(
            select(PlanVersion)
            .where(PlanVersion.plan_code == DEMO_PLAN)
            .order_by(PlanVersion.version)
        ).all()
        assert [v.kind for v in versions] == ["create", "publish"]
        times = [v.created_at for v in versions] + [s.get(Draw, draw_id).created_at]
        assert times == sorted(times), times
        publish(s, settings.publish_dir)
    site = Path(settings.publish_dir)
    draw_json = site / "draws" / f"{draw_id}.json"
    assert draw_json.exists() and (site / "results" / "index.html").exists()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "共 10 项抽查事项" in index and "built-in method" not in index
    verifier = _load_verifier()
    import json

    rows, digest = verifier.read_population(site / "draws" / f"{draw_id}.population.csv")
    draw = json.loads(draw_json.read_text(encoding="utf-8"))
    assert digest == draw["population_sha256"]
    assert verifier.verify(draw, rows) == []
