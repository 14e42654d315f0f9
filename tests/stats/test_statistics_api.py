"""GET /api/v1/draws/{id}/statistics and GET /api/v1/plans/{code}/inclusion."""

import pytest

from tests.entropy import post_draw
from tests.plans.conftest import plan_body
from tests.rounds import approve, draw_plan

WEIGHTS = {"A": 1, "C": 2, "D": 4}


def test_inclusion_preview_matches_the_draw(client, city, credit):
    body = plan_body(risk_weights=WEIGHTS, grade_rates={"D": 0.5})
    assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
    r = client.get(f"/api/v1/plans/{body['code']}/inclusion", headers=city)
    assert r.status_code == 200, r.text
    preview = {s["key"]: s for s in r.json()["strata"]}
    assert sum(s["N"] for s in preview.values()) == 80
    for s in preview.values():  # Σπ = n_h, and higher risk grades get higher π
        assert s["pi_mean"] * s["N"] == pytest.approx(s["n"])
        grades = s["grades"]
        if "A" in grades and "C" in grades:
            assert grades["C"]["pi_mean"] >= grades["A"]["pi_mean"]
        if "D" in grades:
            assert grades["D"]["pi_mean"] >= 0.5
    assert client.get(f"/api/v1/plans/{body['code']}/inclusion", headers=credit).status_code == 403
    client.post(f"/api/v1/plans/{body['code']}/publish", headers=city)
    draw = post_draw(
        client, f"/api/v1/plans/{body['code']}/draw", headers=city, json={"entropy": "2-7-1-8-2-8"}
    ).json()
    for s in draw["strata"]:
        assert (preview[s["key"]]["N"], preview[s["key"]]["n"]) == (s["N"], s["n"])
    assert any(
        s["grades"]["C"]["pi_mean"] > s["grades"]["A"]["pi_mean"] > 0
        for s in preview.values()
        if "C" in s["grades"]
    )
    for t in draw["tasks"]:
        st = preview[t["stratum"]]
        assert st["pi_min"] - 1e-12 <= t["inclusion_prob"] <= st["pi_max"] + 1e-12


def test_statistics_of_a_draw_from_approved_results(client, city, credit):
    draw = draw_plan(client, city, risk_weights=WEIGHTS)
    url = f"/api/v1/draws/{draw['id']}/statistics"
    empty = client.get(url, headers=city).json()
    assert empty["results"] == 0 and empty["overall"]["observed"] == 0
    assert draw["params"]["weighted"] is True and empty["weighted"] is True
    assert [s["key"] for s in empty["strata"]] == sorted({s["key"] for s in draw["strata"]})
    assert not empty["overall"]["complete"]
    tasks = draw["tasks"]
    for i, t in enumerate(tasks):
        approve(client, city, t["id"], outcome="发现问题已责令改正" if i % 2 == 0 else "未发现问题")
    stats = client.get(url, headers=city).json()
    found = sum(1 for i in range(len(tasks)) if i % 2 == 0)
    assert stats["overall"]["found"] == found and stats["overall"]["complete"]
    assert stats["overall"]["observed"] == len(tasks) == stats["tasks"]
    expected = sum(t["N"] for t in draw["strata"])
    assert stats["overall"]["population"] == expected
    ht = sum(1 / t["inclusion_prob"] for i, t in enumerate(tasks) if i % 2 == 0) / expected
    assert stats["overall"]["rate"] == pytest.approx(ht)
    assert stats["overall"]["ci_low"] <= min(1, ht) <= stats["overall"]["ci_high"]
    assert stats["detection"]["found"] == found and stats["detection"]["expected_uniform"] > 0
    assert "Hájek" in stats["method"]
    assert client.get(url, headers=credit).status_code == 403
    assert client.get("/api/v1/draws/NOPE/statistics", headers=city).status_code == 404


def test_a_not_inspected_result_is_final_not_pending(client, city):
    draw = draw_plan(client, city)
    url = f"/api/v1/draws/{draw['id']}/statistics"
    tasks = draw["tasks"]
    closed = {"findings": "已停业", "measures": [], "recovered_amount": None}
    approve(client, city, tasks[0]["id"], outcome="未检查（停业、注销等）", **closed)
    for t in tasks[1:]:
        approve(client, city, t["id"], outcome="未发现问题")
    stats = client.get(url, headers=city).json()
    # every task has its result: the estimate is shown; the closed unit is nonresponse
    assert stats["overall"]["status"] == "ok" and stats["overall"]["missing"] == 0
    assert stats["overall"]["observed"] == len(tasks) - 1
    assert stats["overall"]["rate"] == 0.0
