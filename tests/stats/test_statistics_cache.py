"""The statistics of a draw, estimated from the tasks kept in the process (app/stats/service.py),
equal those estimated after reading the tasks afresh — before and after approvals."""

from sqlalchemy import select, update

from app.db import make_sessionmaker
from app.models import Draw, Task
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


def test_strata_read_up_to_the_tasks_equal_the_json_paths(client, city, db):
    """On SQLite the strata are read through a blob handle up to the body's "tasks" key, not
    by json_extract over the whole body: the same strata and weighted flag either way."""
    draw = draw_plan(client, city, risk_weights={"A": 1, "C": 2, "D": 4})
    with make_sessionmaker(db)() as s:
        by_paths = s.execute(
            select(Draw.body["strata"], Draw.body["params"]["weighted"]).where(
                Draw.id == draw["id"]
            )
        ).one()
        read = service._strata_and_weighted(s, draw["id"])
        if db.dialect.name == "sqlite":
            head = service._head_from_blob(s, draw["id"])
            assert head is not None and "tasks" not in head
            assert head["strata"] == draw["strata"] and head["id"] == draw["id"]
    assert tuple(read) == tuple(by_paths)
    assert read[0] == draw["strata"] and read[1] is True


def test_results_are_found_by_task_id_when_seqs_repeat(client, city, db):
    """Results are matched to their tasks by seq; a draw whose seqs are not unique (none made
    by app/plans) falls back to task ids and gives the same statistics."""
    draw = draw_plan(client, city, code="SEQ-1")
    for i, t in enumerate(draw["tasks"][:6]):
        approve(client, city, t["id"], outcome="发现问题已责令改正" if i % 2 else "未发现问题")
    factory = make_sessionmaker(db)
    service._tasks_cache.clear()
    with factory() as s:
        by_seq = service.draw_statistics(s, draw_id=draw["id"])
    assert next(iter(service._tasks_cache.values())).seqs is not None
    with factory() as s:
        s.execute(update(Task).where(Task.draw_id == draw["id"]).values(seq=Task.seq % 2))
        s.commit()
    service._tasks_cache.clear()
    with factory() as s:
        by_id = service.draw_statistics(s, draw_id=draw["id"])
    kept = next(iter(service._tasks_cache.values()))
    assert kept.seqs is None and kept.ids is not None and len(kept.ids) == len(draw["tasks"])
    assert by_id == by_seq and by_seq["results"] > 0
