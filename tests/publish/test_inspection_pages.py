"""机构年度检查次数 paged by year and region (issue 28): each page a unit fingerprinted by what
it shows, so a 未检查 approval rewrites its institution's page only and a new draw the pages of
its tasks; the pages hold exactly the rows of the whole table; large regions continue on
further files; the incremental site equals a full rebuild."""

import json
from datetime import timedelta

from app.db import make_sessionmaker
from app.models import Visit
from app.publish import inspections
from app.publish.collect import DrawData, SiteData
from app.publish.publisher import result_release
from app.publish.write import publish
from tests.factories import TARGET_HEADER, target_row, uscc
from tests.plans.conftest import load
from tests.publish import test_publisher
from tests.publish.conftest import create_and_publish, draw, site_files
from tests.publish.test_publisher import T0, _approve, _build, _inodes, _tree

quiet = test_publisher.quiet  # the API client whose requests only record publication due

BEIJING = "12110101"  # a second region: USCC characters 3–6 are 1101


def _with_beijing(client, sup):  # type: ignore[no-untyped-def]
    rows = []
    for i in range(300, 330):
        row = target_row(i, region="110101", name=f"北京某医院{i}")
        row[0] = uscc(i, prefix=BEIJING)
        rows.append(row)
    load(client, sup, "targets", TARGET_HEADER, rows)


BOTH = {"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["3704", "1101"]}


def _index(files):  # type: ignore[no-untyped-def]
    return json.loads(files["inspection/index.json"])


def _page_paths(files, region):  # type: ignore[no-untyped-def]
    (entry,) = [e for e in _index(files)["pages"] if e["region"] == region]
    return {f"inspection/{p[k]}" for p in entry["pages"] for k in ("html", "json")}


def test_a_not_inspected_approval_rewrites_the_page_of_its_region_only(
    quiet, pub_city, db, settings, tmp_path
):
    _with_beijing(quiet, pub_city)
    create_and_publish(quiet, pub_city, code="PUB-1", ratio=0.5, scope=BOTH)
    d = draw(quiet, pub_city, "PUB-1")
    regions = {t["uscc"][2:6] for t in d["tasks"]}
    assert regions == {"3704", "1101"}, regions
    _build(db, settings, T0)
    files = site_files(settings.publish_dir)
    assert [(e["year"], e["region"]) for e in _index(files)["pages"]] == [
        ("2026", "1101"),
        ("2026", "3704"),
    ]
    # the rows of the pages are the rows of the whole table
    paged = []
    for entry in _index(files)["pages"]:
        for p in entry["pages"]:
            paged += json.loads(files["inspection/" + p["json"]])["institutions"]
    with make_sessionmaker(db)() as s:
        from app.publish.collect import collect

        whole = inspections.collect_counts(s, collect(s, now=T0))
    assert sorted(paged, key=lambda c: c["uscc"]) == sorted(whole, key=lambda c: c["uscc"])

    before = _inodes(settings.publish_dir.resolve())
    closed = next(t for t in d["tasks"] if t["uscc"].startswith("1237"))
    _approve(quiet, pub_city, closed["id"], outcome="未检查（停业、注销等）")
    at = T0 + timedelta(minutes=5)
    _build(db, settings, at)
    root = settings.publish_dir.resolve()
    after = _inodes(root)
    rewritten = {rel for rel, ino in after.items() if ino != before.get(rel)}
    files = site_files(settings.publish_dir)
    inspection = {rel for rel in rewritten if rel.startswith("inspection/")}
    # its page only (the region's count of inspections stays 0: 未检查 was none)
    assert inspection == _page_paths(files, "3704")
    assert _page_paths(files, "1101").isdisjoint(rewritten)
    (row,) = [
        c
        for c in json.loads(files["inspection/2026/3704.json"])["institutions"]
        if c["uscc"] == closed["uscc"]
    ]
    assert row["count"] == 0 and not row["tasks"][0]["inspected"]

    # the incremental site is byte for byte a full rebuild's
    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    assert _tree(root) == _tree(full_dir.resolve())
    # the visits summarised all at once (a full build) are what each prefix's range reads
    with make_sessionmaker(db)() as s:
        rows = s.connection().execute(inspections._PREFIX_VISITS.order_by(Visit.id))
        bulk = inspections._summarise(rows)
        assert set(bulk) == set(inspections._prefix_texts(s)) and len(bulk) > 1
        for prefix, summary in bulk.items():
            assert inspections.prefix_visits(s, prefix) == summary
            assert summary["digests"]


def test_a_new_draw_renders_the_pages_of_its_tasks_only(quiet, pub_city, db, settings):
    _with_beijing(quiet, pub_city)
    create_and_publish(quiet, pub_city, code="PUB-1", ratio=0.5, scope=BOTH)
    draw(quiet, pub_city, "PUB-1")
    _build(db, settings, T0)
    before = _inodes(settings.publish_dir.resolve())
    # a plan of the Beijing targets only: the 3704 page stays as it was
    create_and_publish(
        quiet,
        pub_city,
        code="PUB-2",
        cooldown_days=0,
        scope={"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["1101"]},
        ratio=0.5,
    )
    d2 = draw(quiet, pub_city, "PUB-2", entropy="1-2-3-4-5-6")
    touched = {t["uscc"][2:6] for t in d2["tasks"]}
    assert touched == {"1101"}
    _build(db, settings, T0 + timedelta(minutes=5))
    after = _inodes(settings.publish_dir.resolve())
    rewritten = {rel for rel, ino in after.items() if ino != before.get(rel)}
    files = site_files(settings.publish_dir)
    for region in ("3704", "1101"):
        if region in touched:
            assert _page_paths(files, region) <= rewritten
        else:
            assert _page_paths(files, region).isdisjoint(rewritten)


def test_a_draw_of_a_later_year_leaves_the_earlier_years_pages_of_its_regions(
    quiet, pub_city, db, settings, tmp_path
):
    """A new draw's visits are in the regions of the earlier draws too: the pages of the
    earlier year are no less carried over (their inputs are the visits of their own draws)."""
    _with_beijing(quiet, pub_city)
    create_and_publish(quiet, pub_city, code="PUB-1", ratio=0.5, scope=BOTH)
    draw(quiet, pub_city, "PUB-1")
    _build(db, settings, T0)
    before = _inodes(settings.publish_dir.resolve())
    create_and_publish(
        quiet,
        pub_city,
        code="PUB-2",
        cooldown_days=0,
        scope=BOTH,
        ratio=0.5,
        window={"start": "2027-02-01", "end": "2027-02-28"},
    )
    d2 = draw(quiet, pub_city, "PUB-2", entropy="1-2-3-4-5-6")
    assert {t["uscc"][2:6] for t in d2["tasks"]} == {"3704", "1101"}
    at = T0 + timedelta(minutes=5)
    _build(db, settings, at)
    root = settings.publish_dir.resolve()
    rewritten = {rel for rel, ino in _inodes(root).items() if ino != before.get(rel)}
    files = site_files(settings.publish_dir)
    pages = {(e["year"], e["region"]) for e in _index(files)["pages"]}
    assert pages == {(y, r) for y in ("2026", "2027") for r in ("3704", "1101")}
    counts = {rel for rel in rewritten if rel.startswith("inspection/2")}
    assert counts == {rel for rel in files if rel.startswith("inspection/2027/")}
    # carried pages are what a full rebuild renders
    full_dir = tmp_path / "full" / "publish"
    with make_sessionmaker(db)() as s:
        publish(s, full_dir, now=at, full=True, result_release=result_release(settings))
        s.rollback()
    assert _tree(root) == _tree(full_dir.resolve())


def _site(plans, draws):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return SiteData(
        generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        items=[],
        plans=plans,
        draws=draws,
        results=[],
    )


def _plan(code, start):  # type: ignore[no-untyped-def]
    return {
        "code": code,
        "title": f"计划{code}",
        "spec": {
            "window": {"start": start, "end": start},
            "lead_department": "某市医疗保障局",
            "joint_departments": ["某市卫生健康委员会"],
        },
    }


def _draw(draw_id, plan):  # type: ignore[no-untyped-def]
    return DrawData(
        id=draw_id,
        plan=plan,
        seq=1,
        status="current",
        drawn_at="2026-12-01T00:00:00+00:00",
        task_count=0,
        superseded_at=None,
        superseded_reason=None,
        body={},
        population=None,
        population_gz=None,
        tasks_public_from=None,
    )


def test_layout_pages_by_year_and_region_and_by_the_year_a_visit_was_carried_out():
    data = _site(
        [_plan("A", "2026-03-01"), _plan("B", "2027-01-05")],
        [_draw("A-D1", "A"), _draw("B-D1", "B")],
    )
    layout = inspections.counts_layout(
        data,
        {"A-D1": ["123704", "913704", "121101"], "B-D1": ["913704"]},
        {("A-D1", "913704"): "d1", ("A-D1", "121101"): "d2", ("B-D1", "913704"): "d3"},
        # a visit of plan A's tasks in 121101 carried out in January 2027
        {("A-D1", "121101"): {"2027"}},
    )
    assert list(layout) == [
        ("2026", "1101"),
        ("2026", "3704"),
        ("2027", "1101"),
        ("2027", "3704"),
    ]
    page = layout[("2026", "3704")]
    assert page["draws"] == ["A-D1"] and page["prefixes"] == ["123704", "913704"]
    assert page["visits"] == {"A-D1 123704": "", "A-D1 913704": "d1"}
    assert page["region_name"] == "枣庄市"
    # a later draw's visits in the same region are no input of an earlier year's page
    assert layout[("2027", "3704")]["visits"] == {"B-D1 913704": "d3"}
    assert layout[("2027", "1101")]["draws"] == ["A-D1"]  # counted in the year carried out
    assert list(layout[("2027", "1101")]["plans"]) == ["A"]
    assert list(layout[("2027", "3704")]["plans"]) == ["B"]


def test_a_large_region_continues_on_further_files(monkeypatch):
    monkeypatch.setattr(inspections, "PAGE_ROWS", 2)
    data = _site([_plan("A", "2026-03-01")], [_draw("A-D1", "A")])
    plans = {"A": inspections._plan_infos(data)["A"]}
    tasks = [
        (f"A-D1-{k:04d}", "A", f"91370400000000{k:04d}", f"<b>机构{k}</b>", ["YB-01"], None)
        for k in range(5)
    ]
    states = {t[0]: ("inspected", 2026) for t in tasks} | {"A-D1-0003": ("not_inspected", None)}
    counts = inspections.institution_rows(tasks, plans, states)
    inputs = {"year": "2026", "region": "3704", "region_name": "枣庄市"}
    files, meta = inspections.render_counts_page(data, inputs, counts)
    assert sorted(files) == [
        "inspection/2026/3704-2.html",
        "inspection/2026/3704-2.json",
        "inspection/2026/3704-3.html",
        "inspection/2026/3704-3.json",
        "inspection/2026/3704.html",
        "inspection/2026/3704.json",
    ]
    assert [(p["page"], p["first"], p["last"]) for p in meta["pages"]] == [
        (1, "913704000000000000", "913704000000000001"),
        (2, "913704000000000002", "913704000000000003"),
        (3, "913704000000000004", "913704000000000004"),
    ]
    assert meta["institutions"] == 5 and meta["inspections"] == 4
    second = json.loads(files["inspection/2026/3704-2.json"])
    assert (second["page"], second["pages"]) == (2, 3)
    assert [c["uscc"][-1] for c in second["institutions"]] == ["2", "3"]
    html = files["inspection/2026/3704-2.html"].decode()
    assert '<a href="3704.html">1</a>' in html and '<a href="3704-3.html">3</a>' in html
    assert "&lt;b&gt;机构3&lt;/b&gt;" in html and "<b>" not in html
    row = html.split('id="u-913704000000000003-2026"', 1)[1].split("</tr>", 1)[0]
    assert "不计入检查次数" in row and '<td class="num" data-count>0</td>' in row
    assert 'href="../../plans/A.html"' in row
    index = inspections.render_counts_index(data, [meta])
    doc = json.loads(index["inspection/index.json"])
    assert doc["years"] == [{"year": "2026", "institutions": 5, "inspections": 4, "regions": 1}]
    assert [p["html"] for p in doc["pages"][0]["pages"]] == [
        "2026/3704.html",
        "2026/3704-2.html",
        "2026/3704-3.html",
    ]


def test_the_draws_of_a_visit_are_read_from_its_parts_text_or_parsed_when_unusual():
    text = json.dumps(
        [
            {"task": "A-D1-0001", "plan": "A", "draw": "A-D1", "items": [], "counts": True},
            {"task": "B-D1-0002", "plan": "B", "draw": "B-D1", "items": [], "counts": False},
        ]
    )
    assert inspections._part_draws(text) == {"A-D1", "B-D1"}
    # a part of no draw (回头看) and a compact encoding: parsed
    odd = json.dumps([{"task": "R-1", "plan": "R", "draw": None}, {"task": "t", "draw": "C-D1"}])
    assert inspections._part_draws(odd) == {"", "C-D1"}
    compact = json.dumps([{"task": "t", "draw": "A-Dé1"}], separators=(",", ":"))  # \\u00e9
    assert inspections._part_draws(compact) == {"A-Dé1"}
