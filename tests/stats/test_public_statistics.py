"""The public site's 统计分析 section: tables, SVG charts and JSON for published draws."""

import json

from app.db import make_sessionmaker
from app.publish.write import publish
from tests.rounds import approve, draw_plan


def test_public_site_shows_the_estimates(client, city, db, settings):
    draw = draw_plan(client, city, risk_weights={"A": 1, "C": 2, "D": 4})
    for i, t in enumerate(draw["tasks"]):
        approve(client, city, t["id"], outcome="发现问题已责令改正" if i % 3 == 0 else "未发现问题")
    api = client.get(f"/api/v1/draws/{draw['id']}/statistics", headers=city).json()
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
    site = settings.publish_dir
    index = (site / "statistics" / "index.html").read_text()
    assert draw["id"] in index and "统计方法" in index
    page = (site / "statistics" / f"{draw['id']}.html").read_text()
    assert page.count("<svg") == 2 and "Korn" in page
    assert f"{api['overall']['rate'] * 100:.1f}%" in page
    doc = json.loads((site / "statistics" / f"{draw['id']}.json").read_text())
    assert doc["overall"] == api["overall"] and doc["detection"] == api["detection"]
    assert "statistics/index.html" in (site / "index.html").read_text()
