"""The plan page's 统计分析 card shows what GET /api/v1/draws/{id}/statistics computes:
数据不足 with the missing count until enough results are in, then the estimate."""

import re

from app.regions import stratum_name
from tests.console.conftest import sign_in
from tests.rounds import approve


def _card(html: str) -> str:
    m = re.search(r'<section class="card" data-role="statistics">(.*?)</section>', html, re.S)
    assert m, "no statistics card"
    return m.group(1)


def test_statistics_card_says_insufficient_then_shows_the_estimate(client, drawn, make_user):
    sup, draw = drawn
    make_user("tongji")
    sign_in(client, "tongji")
    api = f"/api/v1/draws/{draw['id']}/statistics"

    card = _card(client.get(f"/console/plans/{draw['plan']}").text)
    overall = client.get(api, headers=sup).json()["overall"]
    assert overall["status"] == "insufficient"
    assert f"尚缺 {overall['missing']} 个结果" in card and 'data-role="estimate"' not in card
    assert f"已有结果 0 / {len(draw['tasks'])}" in card
    # each stratum's N is the draw's, before any result (not the 0 it read until one came in)
    sizes = {s["key"]: s["N"] for s in draw["strata"] if s["n"]}
    for key, size in sizes.items():
        assert f'<tr><td>{stratum_name(key)}</td><td class="num">{size}</td>' in card

    # every task gets a result: half found a problem
    for k, t in enumerate(draw["tasks"]):
        approve(client, sup, t["id"], **({"outcome": "未发现问题"} if k % 2 else {}))
    stats = client.get(api, headers=sup).json()
    assert stats["overall"]["status"] == "ok"
    card = _card(client.get(f"/console/plans/{draw['plan']}").text)
    rate = f"{stats['overall']['rate'] * 100:.1f}%"
    low = f"{stats['overall']['ci_low'] * 100:.1f}%"
    assert f"发现问题率估计 <b>{rate}</b>" in card and low in card
    assert 'data-role="insufficient"' not in card
    assert card.count("<tr>") == len(stats["strata"]) + 1  # header + one row per stratum


def test_no_statistics_card_before_the_draw(client, city, make_user):
    from tests.plans.conftest import published

    code = published(client, city)
    make_user("tongji")
    sign_in(client, "tongji")
    assert 'data-role="statistics"' not in client.get(f"/console/plans/{code}").text
