"""The public 统计分析 pages render 数据不足 instead of a number when an estimate has too little data."""

import json
from datetime import UTC, datetime

from app.stats import Frame, Observation, estimate
from app.stats.render import statistics_pages

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _doc(observations: list[Observation]) -> dict:
    frames = [Frame("定点医疗机构|370402", "定点医疗机构|370402", 300, 30)]
    frames.append(Frame("定点零售药店|370402", "定点零售药店|370402", 280, 28))
    stats = estimate(frames, observations)
    return {
        "draw": "D-2026-0001",
        "plan": "P-1",
        "results": sum(o.found is not None for o in observations),
        "tasks": len(observations),
        **stats.to_dict(),
    }


def _pages(doc: dict) -> dict[str, bytes]:
    return statistics_pages([doc], NOW, "index.html#method")


def test_one_result_of_58_tasks_shows_no_number():
    obs = [Observation("定点医疗机构|370402", 0.1, True)]
    obs += [Observation("定点医疗机构|370402", 0.1, None)] * 29
    obs += [Observation("定点零售药店|370402", 0.1, None)] * 28
    pages = _pages(_doc(obs))
    index = pages["statistics/index.html"].decode()
    page = pages["statistics/D-2026-0001.html"].decode()
    body = index.split("<tbody>")[1].split("</tbody>")[0]
    assert "数据不足（尚缺 57 个结果）" in body and "%" not in body
    assert "数据不足（尚缺 29 个结果）" in page and "数据不足（尚缺 28 个结果）" in page
    assert "数据不足（尚缺 57 个结果）" in page
    assert "<svg" not in page  # neither the rate chart nor the detection chart
    doc = json.loads(pages["statistics/D-2026-0001.json"])
    assert doc["overall"]["status"] == "insufficient" and doc["overall"]["rate"] is None
    assert json.loads(pages["statistics/index.json"])["draws"][0]["overall"]["missing"] == 57


def test_a_complete_stratum_is_shown_beside_a_pending_one():
    obs = [Observation("定点医疗机构|370402", 0.1, i < 3) for i in range(30)]
    obs += [Observation("定点零售药店|370402", 0.1, False)] * 27
    obs += [Observation("定点零售药店|370402", 0.1, None)]
    page = _pages(_doc(obs))["statistics/D-2026-0001.html"].decode()
    assert "10.0%" in page and page.count("<svg") == 1  # the rates chart, one row
    assert "数据不足（尚缺 1 个结果）" in page
    assert page.count('class="insufficient"') >= 3  # stratum, overall, detection


def test_complete_results_show_the_estimates_and_both_charts():
    obs = [Observation("定点医疗机构|370402", 0.1, i < 3) for i in range(30)]
    obs += [Observation("定点零售药店|370402", 0.1, i < 7) for i in range(28)]
    doc = _doc(obs)
    page = _pages(doc)["statistics/D-2026-0001.html"].decode()
    assert "数据不足" not in page.split("<h2>")[1] and page.count("<svg") == 2
    assert f"{doc['overall']['ci_low'] * 100:.1f}%–{doc['overall']['ci_high'] * 100:.1f}%" in page


def test_a_large_draw_pages_its_strata_and_the_json_keeps_them_all(monkeypatch):
    from app.stats import render

    monkeypatch.setattr(render, "STRATA_PER_PAGE", 1)
    obs = [Observation("定点医疗机构|370402", 0.1, i < 3) for i in range(30)]
    obs += [Observation("定点零售药店|370402", 0.1, i < 7) for i in range(28)]
    pages = _pages(_doc(obs))
    first = pages["statistics/D-2026-0001.html"].decode()
    second = pages["statistics/D-2026-0001/strata-2.html"].decode()
    assert "statistics/D-2026-0001/strata-3.html" not in pages
    assert "10.0%" in first and "25.0%" not in first  # 3/30 here, 7/28 on page 2
    assert "25.0%" in second and "10.0%" not in second
    assert 'href="D-2026-0001/strata-2.html"' in first and 'href="../D-2026-0001.html"' in second
    assert "第 2 / 2 页" in second
    assert len(json.loads(pages["statistics/D-2026-0001.json"])["strata"]) == 2


def test_the_method_is_said_in_chinese_and_the_charts_fit_a_phone():
    obs = [Observation("定点医疗机构|370402", 0.1, i < 3) for i in range(30)]
    obs += [Observation("定点零售药店|370402", 0.1, i < 7) for i in range(28)]
    page = _pages(_doc(obs))["statistics/D-2026-0001.html"].decode()
    method = page.split("方法：")[1].split("</p>")[0]
    assert "Hájek" in method and "Korn" in method  # names of methods, the sentence in Chinese
    assert "certainty" not in method and "variance" not in method
    for before, svg in zip(page.split("<svg")[:-1], page.split("<svg")[1:], strict=True):
        head = svg.split(">")[0]
        # its own text size (the label column is measured for 12 px), in a box that scrolls on
        # a phone so the page keeps the screen's width (the site's CSP allows no inline style)
        assert 'font-size="12"' in head and "style=" not in head
        assert before.endswith('<div class="chart-wrap">')
    chart = page.split('class="stats-rates"')[1].split("</svg>")[0]
    assert "定点医疗机构 · 枣庄市市中区" in chart and "|" not in chart
