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


def test_kept_tasks_are_bounded_by_tasks_and_the_least_recently_used_goes_first(
    client, city, db, monkeypatch
):
    first = draw_plan(client, city, code="CACHE-1")
    second = draw_plan(client, city, code="CACHE-2")
    third = draw_plan(client, city, code="CACHE-3")
    sizes = [len(d["tasks"]) for d in (first, second, third)]
    # room for two of the three draws' tasks
    monkeypatch.setattr(service, "_TASKS_KEPT", sizes[0] + sizes[1])
    service._tasks_cache.clear()
    factory = make_sessionmaker(db)

    def kept() -> set[str]:
        return {key[0] for key in service._tasks_cache}

    with factory() as s:
        service.draw_statistics(s, draw_id=first["id"])
        service.draw_statistics(s, draw_id=second["id"])
        service.draw_statistics(s, draw_id=first["id"])  # used again: the second is now older
        service.draw_statistics(s, draw_id=third["id"])
    assert kept() == {first["id"], third["id"]}
    # a hit is served from the cache: the same kept tasks, not read again
    held = next(v for k, v in service._tasks_cache.items() if k[0] == first["id"])
    with factory() as s:
        again = service.draw_statistics(s, draw_id=first["id"])
    assert again["tasks"] == sizes[0]
    assert next(v for k, v in service._tasks_cache.items() if k[0] == first["id"]) is held
