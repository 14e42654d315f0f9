"""The site and reports read well: region names, labelled 北京时间, percentages, readable risk
weights, a chart that fits its labels, an Atom feed that declares and is served as UTF-8."""

import csv
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from app.clock import local_day, local_time
from app.config import Settings
from app.publish.charts import coverage_svg, text_width
from app.publish.tables import RESULT_HEADER, TASK_HEADER, percent, result_rows
from app.regions import region_label, region_name, stratum_label
from tests.browser import BROWSER, chromium
from tests.publish.conftest import create_and_publish, draw


def test_region_names_from_gb2260_prefixes_and_unknown_codes():
    assert region_name("370402") == "枣庄市市中区"  # a county is named with its city
    assert region_name("3704") == "枣庄市" and region_name("370400") == "枣庄市"
    assert region_name("37") == "山东省" and region_name("370000") == "山东省"
    assert region_name("110101") == "北京市东城区"
    assert region_name("999999") == "999999" and region_label("999999") == "999999"
    assert region_label("370402") == "枣庄市市中区（370402）"
    assert stratum_label("定点医疗机构|一级|370402") == "定点医疗机构|一级|枣庄市市中区（370402）"


def test_regions_file_names_local_codes_and_wins(tmp_path, monkeypatch):
    path = tmp_path / "regions.csv"
    path.write_text("code,name\n379901,枣庄市高新区医保分局\n370402,市中区医保局\n", "utf-8")
    monkeypatch.setattr("app.regions.get_settings", lambda: Settings(regions_file=path))
    assert region_name("379901") == "枣庄市高新区医保分局"
    assert region_name("370402") == "市中区医保局"
    assert region_name("370403") == "枣庄市薛城区"  # the rest still from GB/T 2260


def test_times_are_beijing_and_labelled():
    assert local_time("2026-12-01T18:05:00+00:00") == "2026-12-02 02:05（北京时间）"
    assert local_time("2026-12-01T18:05:00") == "2026-12-02 02:05（北京时间）"  # naive = UTC
    assert local_day("2026-12-01T16:30:00+00:00") == "2026-12-02"


def test_percentages():
    assert percent(0.05) == "5%" and percent(1) == "100%" and percent("0.0523456") == "5.235%"


def test_coverage_chart_is_as_wide_as_its_labels():
    key = "定点医疗机构|三级甲等|370402|某某很长的分层名称"
    svg = str(coverage_svg([{"key": key, "N": 12345, "n": 1234}], 0.1))
    width = int(re.search(r'width="(\d+)"', svg).group(1))
    label = stratum_label(key)
    assert width >= text_width(label) + 360 + text_width("1234/12345（10.0%）")
    assert text_width("中文") == 24 and text_width("ab") == 15  # CJK counts double
    # the bars start after the longest label
    assert f'x="{text_width(label) + 8}"' in svg


def test_result_rows_add_region_name_columns():
    row = result_rows(
        [
            {
                "task_id": "T1",
                "name": "医院",
                "uscc": "X",
                "plan": "P",
                "outcome": "未发现问题",
                "measures": [],
                "region": "370403",
            }
        ]
    )[0]
    assert RESULT_HEADER[-2:] == ("医保区划", "医保区划名称")
    assert row[-2:] == ["370403", "枣庄市薛城区"]


@pytest.fixture
def site(client, pub_city, settings):  # type: ignore[no-untyped-def]
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    return settings.publish_dir.resolve(), d


def test_published_pages_show_names_beijing_times_and_percentages(site):
    root, d = site
    page = (root / "draws" / f"{d['id']}.html").read_text()
    assert "枣庄市市中区（370402）" in page and "（北京时间）" in page and "（UTC）" not in page
    assert "<option>定点零售药店|枣庄市市中区（370402）</option>" in page  # filters match cells
    assert "<option>枣庄市台儿庄区（370405）</option>" in page
    assert re.search(r'<td class="num">\d+(\.\d+)?%</td><td>', page)  # π as a percentage
    plan = (root / "plans" / "PUB-1.html").read_text()
    assert "医保区划 枣庄市（3704）" in plan
    assert "信用等级 C 级</td><td>权重 × 2" in plan and '{"A"' not in plan  # not raw JSON
    assert 'D 级</td><td class="num">100%' in plan
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）</time></td>", plan)
    for rel in ("index.html", "tasks/index.html", "plans/index.html"):
        assert "（北京时间）" in (root / rel).read_text(), rel
    rows = list(
        csv.reader(io.StringIO((root / "draws" / f"{d['id']}.tasks.csv").read_text("utf-8-sig")))
    )
    assert rows[0] == list(TASK_HEADER)
    i = TASK_HEADER.index("医保区划")
    assert {r[i] for r in rows[1:]} <= {"370402", "370403", "370405"}  # the codes stay codes
    assert {r[i + 1] for r in rows[1:]} <= {"枣庄市市中区", "枣庄市薛城区", "枣庄市台儿庄区"}
    # the machine-readable draw keeps codes and ISO 8601 UTC
    body = json.loads((root / "draws" / f"{d['id']}.json").read_text())
    assert body["tasks"][0]["region"] in ("370402", "370403", "370405")
    assert body["drawn_at"].endswith("+00:00")


def test_feed_declares_utf8_and_is_served_as_utf8_atom(site, client):
    root, _ = site
    assert (root / "feed.atom").read_bytes().startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    r = client.get("/public/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert "抽查任务" in r.content.decode("utf-8")


MEASURE_JS = """
document.addEventListener("DOMContentLoaded", () => {
  const widths = [];
  for (const t of document.querySelectorAll(".table-wrap table")) {
    if (!t.tBodies[0] || !t.tBodies[0].rows.length) continue;
    for (const c of t.tBodies[0].rows[0].cells) widths.push(c.getBoundingClientRect().width);
  }
  const px = parseFloat(getComputedStyle(document.body).fontSize);
  document.body.dataset.narrowest = String(Math.min(...widths) / px);
  document.body.dataset.cells = String(widths.length);
});
"""


@pytest.mark.parametrize("page", ["draw", "tasks", "results"])
@pytest.mark.browser
def test_phone_width_cells_keep_a_few_characters(site, serve, page):
    if BROWSER[1].args[0]:
        pytest.skip("Debian chromium not installed")
    root, d = site
    copy = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(root, copy)
    (copy / "static" / "measure.js").write_text(MEASURE_JS)
    rel = {
        "draw": f"draws/{d['id']}.html",
        "tasks": "tasks/index.html",
        "results": "results/index.html",
    }[page]
    html = (copy / rel).read_text()
    (copy / rel).write_text(
        html.replace("</body>", '<script src="../static/measure.js"></script></body>')
    )
    dom = chromium(serve(copy) + "/" + rel, window="390,1600", budget_ms=20000)
    m = re.search(r'data-narrowest="([\d.]+)" data-cells="(\d+)"', dom)
    if page == "results" and m is None:  # no published result yet: an empty table
        return
    assert m, dom[-2000:]
    assert int(m.group(2)) > 0 and float(m.group(1)) >= 4  # at least 4 characters (1 em each) wide
