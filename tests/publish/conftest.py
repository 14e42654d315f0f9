"""A small city with a weighted, joint-department draw, for the public site tests."""

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from app import jobs
from app.db import make_engine
from tests.entropy import dice_source, post_draw
from tests.factories import (
    INSPECTOR_HEADER,
    ITEM_HEADER,
    TARGET_HEADER,
    inspector_row,
    item_row,
    target_row,
)
from tests.plans.conftest import load

XSS = "<script>alert(1)</script>医院"
FORMULA = '=HYPERLINK("http://evil.example","点击")'
REGIONS = ("370402", "370403", "370405")


def site_plan(code: str = "PUB-1", **over: object) -> dict[str, object]:
    """A weighted plan with a joint department, published tasks on draw."""
    body: dict[str, object] = {
        "code": code,
        "title": "2026年定点医药机构“双随机、一公开”抽查",
        "lead_department": "某市医疗保障局",
        "joint_departments": ["某市卫生健康委员会"],
        "items": ["YB-01", "YB-02"],
        "scope": {"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["3704"]},
        "strata": ["kind", "region"],
        "ratio": 0.1,
        "min_per_stratum": 2,
        "grade_rates": {"D": 1.0},
        "risk_weights": {"A": 0.5, "B": 1, "C": 2, "D": 4},
        "cooldown_days": 365,
        "team": {"size": 2, "cross_region": True, "joint_members": 1},
        "window": {"start": "2026-12-01", "end": "2026-12-31"},
        "publish_tasks": "on_draw",
        "entropy_source": dice_source(),
    }
    body.update(over)
    return body


@pytest.fixture
def pub_city(client, make_token):  # type: ignore[no-untyped-def]
    """Registries with hostile names; returns supervisor headers."""
    sup = make_token("supervisor")
    formula_item = item_row("YB-02", kinds="定点医疗机构;定点零售药店", expertise="药学")
    formula_item[1] = FORMULA
    load(client, sup, "items", ITEM_HEADER, [item_row("YB-01", kinds="定点医疗机构"), formula_item])
    targets = []
    for i in range(1, 91):
        kind = "定点零售药店" if i % 3 == 0 else "定点医疗机构"
        grade = "D" if i % 15 == 0 else ("C" if i % 7 == 0 else ("B" if i % 2 else "A"))
        targets.append(
            target_row(i, region=REGIONS[i % 3], kind=kind, grade=grade, name=f"{XSS}{i}")
        )
    load(client, sup, "targets", TARGET_HEADER, targets)
    inspectors = []
    for n in range(30):
        dept = "某市卫生健康委员会" if n >= 24 else "某市医疗保障局"
        expertise = ("医学", "药学", "医学;药学")[n % 3]
        inspectors.append(
            inspector_row(
                f"3704{n:010d}", region=REGIONS[n % 3], department=dept, expertise=expertise
            )
        )
    load(client, sup, "inspectors", INSPECTOR_HEADER, inspectors)
    return sup


def create_and_publish(client, sup, **over):  # type: ignore[no-untyped-def]
    body = site_plan(**over)
    assert client.post("/api/v1/plans", headers=sup, json=body).status_code == 201
    r = client.post(f"/api/v1/plans/{body['code']}/publish", headers=sup)
    assert r.status_code == 200, r.text
    return r.json()


def draw(client, sup, code, entropy="6-3-1-5-2-4"):  # type: ignore[no-untyped-def]
    r = post_draw(client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": entropy})
    assert r.status_code == 201, r.text
    return r.json()


def site_files(publish_dir: Path) -> dict[str, bytes]:
    """Every file of the currently published site."""
    root = publish_dir.resolve()
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def published_results(files: dict[str, bytes]) -> list[dict[str, object]]:
    """Every published result of a site, read page by page as a reader would (the section
    index lists the pages; app/publish/render.py)."""
    index = json.loads(files["results/index.json"])
    out: list[dict[str, object]] = []
    for page in index["pages"]:
        doc = json.loads(files[f"results/{page['href']}"])
        assert doc["kind"] == "results_page" and len(doc["results"]) == page["count"]
        out += doc["results"]
    assert len(out) == index["total"]
    return out


def own_engine(db):  # type: ignore[no-untyped-def]
    """Another engine on the test database, as another worker process would open it."""
    url = db.url.render_as_string(hide_password=False)
    if db.dialect.name == "sqlite":
        return make_engine(url)
    with db.connect() as conn:
        path = conn.execute(text("SHOW search_path")).scalar_one()
    return make_engine(url, connect_args={"options": f"-csearch_path={path}"})


def tick_together(factories, at):  # type: ignore[no-untyped-def]
    """Every worker runs one scheduler tick at `at`, all at once; the jobs each one ran."""
    barrier = threading.Barrier(len(factories))
    ran: list[list[str]] = [[] for _ in factories]

    def worker(i: int) -> None:
        barrier.wait()
        ran[i] = jobs.run_due(factories[i], at)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(factories))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ran
