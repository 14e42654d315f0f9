"""A draw due at its announced drand round is made once however many workers tick at that
moment (each with its own engine, as several `spotcheck worker` processes)."""

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from app import jobs
from app.config import get_settings
from app.db import make_sessionmaker
from app.draw.beacon import parse_beacon
from app.models import Draw, PublishBuild, PublishRequest
from app.plans import entropy
from app.scheduler import DRAW_DUE, register_jobs
from tests.plans.test_insider import QUICKNET, _drand_round_plan
from tests.publish.conftest import own_engine, tick_together


def test_several_workers_at_the_drand_round_make_exactly_one_draw(client, city, db, monkeypatch):
    code, at = _drand_round_plan(client, city, QUICKNET, "quicknet")
    record = {k: v for k, v in QUICKNET.items() if k != "chain"}
    monkeypatch.setattr(entropy, "fetch_beacon", lambda source: parse_beacon(record))
    register_jobs(get_settings())
    builds = _builds(db)
    engines = [own_engine(db) for _ in range(3)]
    factories = [make_sessionmaker(e) for e in engines]
    try:
        for k in range(3):  # the round has come; later ticks find the plan drawn
            now = at + timedelta(minutes=1 + k)
            with time_machine.travel(now, tick=False):
                ran = tick_together(factories, now)
            assert sum(r.count(DRAW_DUE) for r in ran) == 1, ran
    finally:
        for name in [j.name for j in jobs.registered()]:
            jobs.unregister(name)
        for e in engines:
            e.dispose()
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).where(Draw.plan_code == code)) == 1
        assert s.scalar(select(func.count()).select_from(PublishRequest)) == 0
    assert _builds(db) == builds + 1  # and the site built once for it, in those ticks


def _builds(db) -> int:  # type: ignore[no-untyped-def]
    with make_sessionmaker(db)() as s:
        return int(s.scalar(select(func.count()).select_from(PublishBuild)) or 0)
