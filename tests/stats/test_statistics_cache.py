"""The statistics of a draw, estimated from the tasks kept in the process (app/stats/service.py),
equal those estimated after reading the tasks afresh — before and after approvals."""

from app.db import make_sessionmaker
from app.stats import service
from tests.rounds import approve, draw_plan


def test_statistics_from_the_kept_tasks_equal_a_fresh_read(client, city, db):
    draw = draw_plan(client, city, risk_weights={"A": 1, "C": 2, "D": 4})
    factory = make_sessionmaker(db)
    with factory() as s:
        before = service.draw_statistics(s, draw_id=draw["id"])  # reads and keeps the tasks
    for i, t in enumerate(draw["tasks"][:5]):
        approve(client, city, t["id"], outcome="发现问题已责令改正" if i % 2 else "未发现问题")
    with factory() as s:
        kept = service.draw_statistics(s, draw_id=draw["id"])
    service._tasks_cache.clear()
    with factory() as s:
        fresh = service.draw_statistics(s, draw_id=draw["id"])
    assert kept == fresh
    assert kept["results"] > 0 and before["results"] == 0
    assert kept["strata"] != before["strata"]
