"""Issue 3's promise: a published equal-weight draw re-checks with consistent_sampler."""

import csv
import importlib.util
import io
import json

from app.migrate import ROOT
from tests.entropy import post_draw
from tests.plans.conftest import published


def _crosscheck():
    spec = importlib.util.spec_from_file_location(
        "cross_check_cs", ROOT / "docs" / "cross_check_consistent_sampler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_published_uniform_draw_equals_consistent_sampler(client, city):
    code = published(client, city, ratio=0.2, cooldown_days=0)
    draw = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "2-7-1-8-2-8"}
    ).json()
    pop = client.get(f"/api/v1/draws/{draw['id']}/population", headers=city).text
    rows = list(csv.DictReader(io.StringIO(pop)))
    check = _crosscheck()
    problems, checked, skipped = check.cross_check(draw, rows)
    assert problems == [] and checked == len(draw["strata"]) and skipped == 0
    # moving one drawn target to a not-drawn one of its stratum is caught
    t = draw["tasks"][0]
    other = next(
        r["uscc"]
        for r in rows
        if r["stratum"] == t["stratum"] and r["uscc"] not in {x["uscc"] for x in draw["tasks"]}
    )
    tampered = json.loads(json.dumps(draw))
    tampered["tasks"][0]["uscc"] = other
    assert check.cross_check(tampered, rows)[0]
