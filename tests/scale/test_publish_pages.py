"""A large draw's task list is split into HTML pages that together hold every task once."""

import re
from datetime import UTC, datetime

from app.publish import draws
from app.publish.collect import DrawData, SiteData
from app.publish.render import Assets, render_site

SPEC = {
    "lead_department": "某市医疗保障局",
    "joint_departments": [],
    "items": ["YB-01"],
    "scope": {"kinds": ["定点医疗机构"], "regions": []},
    "strata": ["kind", "region"],
    "ratio": 0.05,
    "min_per_stratum": 1,
    "grade_rates": {},
    "risk_weights": {},
    "cooldown_days": 365,
    "team": {"size": 2, "cross_region": True, "joint_members": 1, "experts": 0},
    "window": {"start": "2026-12-01", "end": "2026-12-31"},
    "publish_tasks": "on_draw",
}
ROW = re.compile(r"<tr><td>(SC-D1-\d{5})</td>")


def _site(tasks: int) -> SiteData:
    body = {
        "schema_version": "1",
        "id": "SC-D1",
        "plan": "SC",
        "plan_version": 2,
        "seq": 1,
        "status": "current",
        "drawn_at": "2026-12-01T02:00:00+00:00",
        "algorithm": "spotcheck-draw/1",
        "seed": "ab" * 32,
        "seed_inputs": {"commitment": "cd" * 32, "secret": "ef" * 32, "entropy": "1-2-3-0-0-0"},
        "population_sha256": "00" * 32,
        "population_file": "SC-D1.population.csv",
        "population_size": tasks * 20,
        "params": {"ratio": 0.05, "min_per_stratum": 1, "grade_rates": {}, "weighted": False},
        "strata": [
            {
                "key": "定点医疗机构|370402",
                "N": tasks * 20,
                "n": tasks,
                "n_floor": tasks,
                "eligible": tasks * 20,
                "despite_cooldown": 0,
            }
        ],
        "tasks": [
            {
                "id": f"SC-D1-{n:05d}",
                "uscc": f"91370402{n:010d}",
                "stratum": "定点医疗机构|370402",
                "ticket": "0.5",
                "inclusion_prob": 0.05,
                "items": ["YB-01"],
                "name": f"<b>第{n}医院</b>",
                "region": "370402",
                "team": [{"badge": "B1", "role": "组长"}, {"badge": "B2", "role": "组员"}],
            }
            for n in range(1, tasks + 1)
        ],
    }
    plan = {
        "code": "SC",
        "title": "分页测试计划",
        "status": "drawn",
        "version": 2,
        "published_at": "2026-11-30T02:00:00+00:00",
        "updated_at": "2026-12-01T02:00:00+00:00",
        "commitment": "cd" * 32,
        "spec": SPEC,
        "versions": [],
        "draws": ["SC-D1"],
    }
    draw = DrawData(
        id="SC-D1",
        plan="SC",
        seq=1,
        status="current",
        drawn_at=body["drawn_at"],
        task_count=tasks,
        superseded_at=None,
        superseded_reason=None,
        body=body,
        population=None,
        population_gz=None,
        tasks_public_from=None,
    )
    return SiteData(
        generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        items=[],
        plans=[plan],
        draws=[draw],
        results=[],
        inspector_names={"B1": "张三", "B2": "李四"},
    )


def _ids(page: bytes) -> list[str]:
    return ROW.findall(page.decode())


def test_task_list_is_paginated_and_pages_cover_every_task_once(monkeypatch) -> None:
    monkeypatch.setattr(draws, "TASKS_PER_PAGE", 40)
    files = render_site(_site(100), Assets())
    first = files["draws/SC-D1.html"]
    pages = [first, files["draws/SC-D1/tasks-2.html"], files["draws/SC-D1/tasks-3.html"]]
    assert "draws/SC-D1/tasks-4.html" not in files
    assert [len(_ids(p)) for p in pages] == [40, 40, 20]
    assert [i for p in pages for i in _ids(p)] == [f"SC-D1-{n:05d}" for n in range(1, 101)]
    # Page 1 keeps the draw details; later pages link back, to each other and to downloads.
    assert "种子" in first.decode() and 'href="SC-D1/tasks-3.html"' in first.decode()
    third = pages[2].decode()
    assert 'href="../SC-D1.html"' in third and 'href="tasks-2.html"' in third
    assert 'href="../SC-D1.tasks.csv"' in third and "共 100 个" in third
    assert "<b>第" not in third and "&lt;b&gt;第" in third  # names stay escaped
    assert "第 3 / 3 页" in third


def test_small_task_list_stays_one_page() -> None:
    files = render_site(_site(30), Assets())
    assert len(_ids(files["draws/SC-D1.html"])) == 30
    assert not any(name.startswith("draws/SC-D1/tasks-") for name in files)
    assert "任务清单分页" not in files["draws/SC-D1.html"].decode()
