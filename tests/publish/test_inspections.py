"""检查码核验 page, the published keys, and 机构年度检查次数 (only published tasks)."""

import html
import json
from datetime import UTC, datetime

from app.db import make_sessionmaker
from app.publish.write import publish
from app.tasks import codes
from tests.publish.conftest import XSS, create_and_publish, draw, site_files


def _counts(files):  # type: ignore[no-untyped-def]
    """Every institution row of the yearly counts: the index names the pages, each page holds
    its rows (and says where it is)."""
    index = json.loads(files["inspection/index.json"])
    assert index["kind"] == "inspection_counts"
    out = {}
    for entry in index["pages"]:
        for p in entry["pages"]:
            doc = json.loads(files["inspection/" + p["json"]])
            assert doc["kind"] == "inspection_counts_page"
            assert (doc["year"], doc["region"], doc["page"]) == (
                entry["year"],
                entry["region"],
                p["page"],
            )
            for c in doc["institutions"]:
                assert c["year"] == entry["year"] and c["uscc"][2:6] == entry["region"]
                out[(c["year"], c["uscc"])] = c
    return out


def _page_html(files, year, uscc):  # type: ignore[no-untyped-def]
    """The HTML page holding an institution's row."""
    index = json.loads(files["inspection/index.json"])
    (entry,) = [e for e in index["pages"] if (e["year"], e["region"]) == (year, uscc[2:6])]
    for p in entry["pages"]:
        if p["first"] <= uscc <= p["last"]:
            return files["inspection/" + p["html"]].decode()
    raise AssertionError(uscc)


def test_keys_file_and_check_page_publish_the_current_public_key(client, pub_city, settings):
    create_and_publish(client, pub_city)
    files = site_files(settings.publish_dir)
    (current,) = codes.public_keys(settings.signing_key_file)
    keys = json.loads(files["keys/inspection-code.json"])["keys"]
    assert keys == [current.to_dict()]
    page = files["inspection/check.html"].decode()
    assert current.kid in page and current.to_dict()["public_key"] in page
    assert "static/inspection-code.js" in page and "static/inspection-code.js" in files
    # the private key is never published
    pem = settings.signing_key_file.read_bytes()
    secret_line = pem.splitlines()[1]
    assert all(secret_line not in body for body in files.values())


def test_counts_each_institution_across_plans_in_the_year(client, pub_city, settings):
    create_and_publish(client, pub_city, code="PUB-1")
    d1 = draw(client, pub_city, "PUB-1")
    create_and_publish(
        client, pub_city, code="PUB-2", joint_departments=[], ratio=0.2, cooldown_days=0
    )
    d2 = draw(client, pub_city, "PUB-2", entropy="1-1-2-3-5-8")
    files = site_files(settings.publish_dir)
    counts = _counts(files)
    expected: dict[str, list[str]] = {}
    visits: dict[str, set[str]] = {}
    for t in d1["tasks"] + d2["tasks"]:
        expected.setdefault(t["uscc"], []).append(t["id"])
        visits.setdefault(t["uscc"], set()).add(t["visit"])
    assert {u for (_y, u) in counts} == set(expected)
    for uscc, task_ids in expected.items():
        c = counts[("2026", uscc)]
        # listed, not counted: no visit has been carried out yet (docs/rules.md#r4-5)
        assert c["count"] == 0 and sorted(t["task"] for t in c["tasks"]) == sorted(task_ids)
        assert {t["visit_state"] for t in c["tasks"]} == {"open"}
    both = [u for u, ids in expected.items() if len(ids) == 2]
    assert both, "the two draws share no institution: pick other entropy"
    merged = [u for u in both if len(visits[u]) == 1]
    apart = [u for u in both if len(visits[u]) == 2]
    assert merged, "the windows overlap: some shared institution gets one visit"
    for uscc, n in [(merged[0], 1), *((u, 2) for u in apart[:1])]:
        page = _page_html(files, "2026", uscc)
        c = counts[("2026", uscc)]
        assert c["departments"] == ["某市医疗保障局", "某市卫生健康委员会"]
        assert f'id="u-{uscc}-2026"' in page
        row = page.split(f'id="u-{uscc}-2026"', 1)[1].split("</tr>", 1)[0]
        assert '<td class="num" data-count>0</td>' in row  # none carried out yet
        assert row.count("<li>") == 2 and row.count("为同一次检查") == (1 if n == 1 else 0)
    # hostile names stay text
    pages = b"".join(
        b for rel, b in files.items() if rel.startswith("inspection/") and rel.endswith(".html")
    ).decode()
    assert "<script>alert(1)</script>" not in pages and "&lt;script&gt;" in pages
    assert XSS not in pages

    # carried out: the tasks of the two plans merged into one visit count once
    from app.clock import today_local
    from tests.rounds import approver

    uscc = merged[0]
    first = expected[uscc][0]
    body = {"outcome": "未发现问题", "decided_on": today_local().isoformat(), "findings": ""}
    r = client.put(f"/api/v1/tasks/{first}/result", headers=pub_city, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{first}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text
    with make_sessionmaker(client.app.state.engine)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    year = str(today_local().year)
    c = _counts(site_files(settings.publish_dir))[(year, uscc)]
    assert c["count"] == 1 and len(c["tasks"]) == 2
    assert all(t["inspected"] for t in c["tasks"])


def test_withheld_tasks_are_neither_counted_nor_shown_until_the_window_closes(
    client, pub_city, settings, session
):
    create_and_publish(client, pub_city, code="PUB-1")
    shown = draw(client, pub_city, "PUB-1")
    create_and_publish(
        client, pub_city, code="HIDDEN-1", publish_tasks="after_window", cooldown_days=0
    )
    hidden = draw(client, pub_city, "HIDDEN-1", entropy="2-7-1-8-2-8")
    files = site_files(settings.publish_dir)
    section = b"".join(body for rel, body in files.items() if rel.startswith("inspection/"))
    text = section.decode()
    for t in hidden["tasks"]:
        assert t["id"] not in text
    assert "HIDDEN-1" not in text
    counts = _counts(files)
    public_only = {t["uscc"] for t in shown["tasks"]}
    assert {u for (_y, u) in counts} == public_only
    only_hidden = {t["uscc"] for t in hidden["tasks"]} - public_only
    assert only_hidden and not any(u in text for u in only_hidden)
    assert all(c["count"] == 0 for c in counts.values())  # listed, none carried out yet
    # once the window has closed (北京时间), the withheld tasks count
    with make_sessionmaker(session.get_bind())() as s:
        publish(s, settings.publish_dir, now=datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    counts = _counts(site_files(settings.publish_dir))
    assert {u for (_y, u) in counts} == public_only | {t["uscc"] for t in hidden["tasks"]}


def test_a_superseded_draw_is_not_counted(client, pub_city, settings):
    create_and_publish(client, pub_city)
    old = draw(client, pub_city, "PUB-1")
    r = client.post(
        "/api/v1/plans/PUB-1/adjustments",
        headers=pub_city,
        json={"reason": "名录更正后重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    files = site_files(settings.publish_dir)
    text = b"".join(
        b
        for rel, b in files.items()
        if rel.startswith("inspection/") and rel != "inspection/check.html"
    ).decode()
    assert not any(t["id"] in text for t in old["tasks"])
    # their visits are void: the 检查码 page lists their notices as void (not 真实有效)
    page = files["inspection/check.html"].decode()
    voided = json.loads(html.unescape(page.split('data-void="', 1)[1].split('"', 1)[0]))
    assert voided == sorted(t["id"] for t in old["tasks"])


def test_a_published_not_inspected_result_is_listed_but_not_counted(client, pub_city, settings):
    """未检查（停业、注销等） was no inspection (as for the cooldown and the yearly cap): the
    institution's row lists the task and says so, and its count leaves it out."""
    from app.clock import today_local
    from tests.rounds import approver

    create_and_publish(client, pub_city)
    drawn = draw(client, pub_city, "PUB-1")
    closed, visited = drawn["tasks"][0], drawn["tasks"][1]
    before = _counts(site_files(settings.publish_dir))
    year = next(iter(before))[0]
    assert before[(year, closed["uscc"])]["count"] == 0  # not carried out yet
    assert "尚未实施" in _page_html(site_files(settings.publish_dir), year, closed["uscc"])
    for task, outcome, findings in (
        (closed, "未检查（停业、注销等）", "已停业"),
        (visited, "未发现问题", ""),
    ):
        body = {"outcome": outcome, "decided_on": today_local().isoformat(), "findings": findings}
        r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=pub_city, json=body)
        assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
        assert r.status_code == 200, r.text
    with make_sessionmaker(client.app.state.engine)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    files = site_files(settings.publish_dir)
    results = files["results/index.json"].decode()
    assert closed["id"] in results or any(
        closed["id"] in b.decode() for rel, b in files.items() if rel.startswith("results/page")
    ), "the 未检查 result is published"
    after = _counts(files)
    row = after[(year, closed["uscc"])]
    assert row["count"] == 0 and [t["inspected"] for t in row["tasks"]] == [False]
    assert after[(year, visited["uscc"])]["count"] == 1  # an inspection carried out counts
    html = _page_html(files, year, closed["uscc"])
    row = html.split(f'id="u-{closed["uscc"]}-{year}"', 1)[1].split("</tr>", 1)[0]
    assert "未检查（停业、注销等），不计入检查次数" in row


def test_the_draw_publishes_why_each_unit_of_its_frame_had_pi_zero(client, pub_city, settings):
    """docs/rules.md#r4-6: beside the population file, `{draw}.out.csv` gives each unit with
    π = 0 and the visit that put it out, frozen with the frame at the plan's publication."""
    import csv
    import io

    from app.clock import today_local
    from tests.rounds import approver

    create_and_publish(client, pub_city, code="PUB-1")
    first = draw(client, pub_city, "PUB-1")
    done = first["tasks"][0]
    body = {"outcome": "未发现问题", "decided_on": today_local().isoformat(), "findings": ""}
    r = client.put(f"/api/v1/tasks/{done['id']}/result", headers=pub_city, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{done['id']}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text
    create_and_publish(client, pub_city, code="PUB-2", title="第二个计划")
    second = draw(client, pub_city, "PUB-2", entropy="1-1-2-3-5-8")
    files = site_files(settings.publish_dir)
    text = files[f"draws/{second['id']}.out.csv"].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["统一社会信用代码", "入样概率为0的原因"]
    reasons = dict(rows[1:])
    assert reasons, "the first draw's visits keep its units out of the second plan"
    assert done["uscc"] in reasons and done["visit"] in reasons[done["uscc"]]
    assert reasons[done["uscc"]].startswith("冷却至 ")
    page = files[f"draws/{second['id']}.html"].decode()
    assert f'href="{second["id"]}.out.csv">入样概率为0的机构及原因' in page
    for t in first["tasks"][1:]:
        if t["uscc"] in reasons:
            assert "尚未完成" in reasons[t["uscc"]]
    # the first plan's frame had nobody out: its file has the header only
    first_rows = files[f"draws/{first['id']}.out.csv"].decode("utf-8-sig").splitlines()
    assert first_rows == ["统一社会信用代码,入样概率为0的原因"]
    # a re-draw keeps the original frame, so the same units are out for the same reasons
    from tests.entropy import dice_source

    r = client.post(
        "/api/v1/plans/PUB-2/adjustments",
        headers=pub_city,
        json={"reason": "重新抽取", "changes": {"entropy_source": dice_source()}, "redraw": True},
    )
    assert r.status_code == 201, r.text
    again = draw(client, pub_city, "PUB-2", entropy="3-1-4-1-5-9")
    assert again["id"] != second["id"]
    files = site_files(settings.publish_dir)
    assert files[f"draws/{again['id']}.out.csv"] == files[f"draws/{second['id']}.out.csv"]
