"""The published site in a real headless Debian chromium: verifier ✓/✗, check page, escaping."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.browser import BROWSER, chromium, chromium_settled
from tests.publish.conftest import XSS, create_and_publish, draw

pytestmark = BROWSER


def answered(dom: str) -> bool:
    """The institution check page has given its answer."""
    return "data-answer=" in dom


def verdict_settled(dom: str) -> bool:
    """The verify page has shown its final verdict (✓, ✗ or – incomplete), not progress."""
    return 'data-role="status">' in dom and _checks(dom)[0][:1] in ("✓", "✗", "–")


@pytest.fixture
def site(client, pub_city, settings) -> tuple[Path, dict]:
    """A published site with one real weighted draw (copied: tests may tamper with it)."""
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    copy = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(settings.publish_dir.resolve(), copy)
    return copy, d


def _checks(dom: str) -> tuple[str, int, int]:
    verdict = dom.split('data-role="status">', 1)[1].split("<", 1)[0]
    return verdict, dom.count('data-ok="1"'), dom.count('data-ok="0"')


def test_verifier_shows_ticks_for_a_real_draw(site, serve):
    root, d = site
    dom = chromium_settled(serve(root) + f"/draws/{d['id']}/verify.html", verdict_settled)
    verdict, ok, bad = _checks(dom)
    assert verdict.startswith("✓"), dom[-3000:]
    # spotcheck-draw/3: algorithm, plan version (commitment, frame hash, entropy source), entropy
    # in its announced form, entropy time, secret opens the commitment, the seed inputs' keys,
    # seed, population = frame, population hash, population size, task ids; each stratum; the
    # task list CSV and XLSX (fetched from the site); 3 team checks (the join rule
    # join-extend, the joins, the teams: draw-spec-teams §13); the plan version in the
    # public log, and the log as remembered from the last visit (docs/transparency-log.md); the
    # frozen inspector frame (file = team_frame_sha256, pool derived from it, recusals opened
    # against it) and the /3 team algorithm
    assert bad == 0 and ok == 11 + len(d["strata"]) + 2 + 3 + 2 + 4


def test_verifier_shows_a_cross_for_a_tampered_draw(site, serve):
    root, d = site
    path = root / "draws" / f"{d['id']}.json"
    body = json.loads(path.read_text())
    body["tasks"][0]["uscc"], body["tasks"][0]["name"] = "12370402000000999X", "替换的医院"
    path.write_text(json.dumps(body, ensure_ascii=False))
    url = serve(root) + f"/draws/{d['id']}/verify.html"
    verdict, _ok, bad = _checks(chromium_settled(url, verdict_settled))
    assert verdict.startswith("✗") and bad >= 1


def test_verifier_catches_a_tampered_population_file(site, serve):
    root, d = site
    path = root / "draws" / f"{d['id']}.population.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1] + lines[2:]))  # one institution quietly removed
    dom = chromium_settled(serve(root) + f"/draws/{d['id']}/verify.html", verdict_settled)
    verdict, _ok, bad = _checks(dom)
    assert verdict.startswith("✗") and bad >= 2  # hash and at least one stratum


def test_institution_check_page_explains_drawn_and_not_drawn(site, serve):
    root, d = site
    base = serve(root)
    drawn = d["tasks"][0]["uscc"]
    dom = chromium_settled(base + f"/draws/{d['id']}/check.html?uscc={drawn}", answered)
    assert 'data-answer="drawn"' in dom and drawn in dom
    population = (root / "draws" / f"{d['id']}.population.csv").read_text().splitlines()[1:]
    chosen = {t["uscc"] for t in d["tasks"]}
    other = next(line.split(",")[0] for line in population if line.split(",")[0] not in chosen)
    dom = chromium_settled(base + f"/draws/{d['id']}/check.html?uscc={other}", answered)
    assert 'data-answer="not-drawn"' in dom
    dom = chromium_settled(base + f"/draws/{d['id']}/check.html?uscc=000000000000000000", answered)
    assert 'data-answer="absent"' in dom


def test_hostile_institution_name_stays_text_in_the_browser(site, serve):
    root, d = site
    dom = chromium(serve(root) + f"/draws/{d['id']}.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;医院" in dom
    assert XSS not in dom  # never parsed into a <script> element
    assert "显示 " in dom  # the filter script ran (row counter filled in)


SCREENS = {
    "index.png": "/index.html",
    "plans.png": "/plans/PUB-1.html",
    "tasks.png": "/draws/{id}.html",
    "verify.png": "/draws/{id}/verify.html",
    "items.png": "/items/index.html",
}


@pytest.mark.skipif(
    not os.environ.get("SPOTCHECK_SCREENSHOTS"), reason="set SPOTCHECK_SCREENSHOTS=dir"
)
def test_screenshots(site, serve):
    root, d = site
    out = Path(os.environ["SPOTCHECK_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    base = serve(root)
    for name, path in SCREENS.items():
        chromium(base + path.format(id=d["id"]), screenshot=out / name)
        assert (out / name).stat().st_size > 1000


def _v2_site(body: dict, plan: dict, frame: bytes) -> Path:
    """A site folder with one spotcheck-draw/2 draw laid out as app/publish lays it out."""
    root = Path(tempfile.mkdtemp()) / "site"
    (root / "draws" / body["id"]).mkdir(parents=True)
    (root / "plans").mkdir()
    (root / "static").mkdir()
    static = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "verify.js"
    shutil.copy(static, root / "static" / "verify.js")
    (root / "draws" / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False))
    (root / "draws" / f"{body['id']}.population.csv").write_bytes(frame)
    (root / "plans" / f"{plan['code']}.json").write_text(json.dumps(plan, ensure_ascii=False))
    (root / "draws" / body["id"] / "verify.html").write_text(
        '<!doctype html><meta charset="utf-8"><section data-verify '
        f'data-draw="../{body["id"]}.json" data-population="../{body["id"]}.population.csv" '
        f'data-plan="../../plans/{plan["code"]}.json"><p class="verdict" data-role="status">正在验证……</p>'
        '<progress data-role="progress" hidden></progress><ul data-role="checks"></ul></section>'
        '<script src="../../static/verify.js"></script>',
        encoding="utf-8",
    )
    return root


def test_verifier_replays_a_v2_dice_draw_and_refuses_a_changed_name(serve):
    from app.draw import ALGORITHM_V2, SamplingParams
    from tests.draw.draw_helpers import DICE, units_v2, v2_body

    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    params = SamplingParams(ratio=0.2, grade_rates={"B": 0.05}, algorithm=ALGORITHM_V2)
    body, plan, frame = v2_body(population, params, source=DICE, entropy="6-6-1-2-0-0")
    root = _v2_site(body, plan, frame)
    url = serve(root) + f"/draws/{body['id']}/verify.html"
    dom = chromium_settled(url, verdict_settled)
    verdict, ok, bad = _checks(dom)
    assert verdict.startswith("✓"), dom[-3000:]
    assert bad == 0 and ok >= 8 and 'data-ok="-"' not in dom
    assert "计划第 1 版所公布" in dom and "population_size" in dom
    # a quoted name with a comma, a doubled quote and a newline, changed in the draw JSON
    body["tasks"][0]["name"] = "另一家医院"
    (root / "draws" / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False))
    verdict, _ok, bad = _checks(chromium_settled(url, verdict_settled))
    assert verdict.startswith("✗") and bad == 1


def test_verifier_says_incomplete_for_a_drand_draw(serve):
    from tests.draw.draw_helpers import golden_v2

    body, plan, frame = golden_v2()
    root = _v2_site(body, plan, frame)
    dom = chromium_settled(serve(root) + f"/draws/{body['id']}/verify.html", verdict_settled)
    verdict, ok, bad = _checks(dom)
    assert ok >= 8
    # everything replays, but the browser does not check the BLS signature: never 验证通过
    assert verdict.startswith("– 验证未完成（incomplete）"), dom[-3000:]
    assert bad == 0 and dom.count('data-ok="-"') == 1 and "drand BLS 签名" in dom
    assert "quicknet 第 657413 轮" in dom


def test_verifier_replays_merged_visits_and_refuses_a_swapped_team(
    client, pub_city, settings, serve
):
    """Two plans with overlapping windows: the later one's tasks join the earlier one's visits
    extending the team where it lacks what the later plan needs (draw-spec-teams §13); the
    browser replays the joins and extensions, and a
    joined task whose team was swapped is refused."""
    create_and_publish(client, pub_city, code="PUB-1")
    draw(client, pub_city, "PUB-1")
    create_and_publish(
        client, pub_city, code="PUB-2", joint_departments=[], ratio=0.2, cooldown_days=0
    )
    d = draw(client, pub_city, "PUB-2", entropy="1-1-2-3-5-8")
    joined = [t for t in d["tasks"] if "joins" in t]
    assert joined and d["open_visits"]
    root = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(settings.publish_dir.resolve(), root)
    url = serve(root) + f"/draws/{d['id']}/verify.html"
    dom = chromium_settled(url, verdict_settled)
    verdict, _ok, bad = _checks(dom)
    assert verdict.startswith("✓") and bad == 0, dom[-3000:]
    assert "一次检查（跨计划合并" in dom
    assert "通过：所列可合并的检查与本计划检查时间窗口重叠" in dom  # the plan file's window
    path = root / "draws" / f"{d['id']}.json"
    body = json.loads(path.read_text())
    task = next(t for t in body["tasks"] if "joins" in t)
    other = next(t for t in body["tasks"] if "joins" not in t)
    task["team"] = other["team"]
    path.write_text(json.dumps(body, ensure_ascii=False))
    dom = chromium_settled(url, verdict_settled)
    verdict, _ok, bad = _checks(dom)
    assert verdict.startswith("✗") and bad >= 1
    # a /3 draw joins by the join-extend rule (draw-spec-teams §13): the visit's team plus the
    # members this plan added
    assert body["visit_rule"] == "spotcheck-draw/3 join-extend"
    assert "并入后的检查组应为所并入检查的检查组加补充成员" in dom


def test_verifier_replays_a_draw_with_yearly_caps_and_refuses_a_dropped_flag(serve):
    from tests.draw.draw_helpers import DICE, v2_body
    from tests.draw.test_yearly_caps import CAPS, POPULATION, params

    body, plan, frame = v2_body(POPULATION, params(), source=DICE, entropy="3-1-4-1-5-9")
    plan["versions"][0]["spec"] = {"yearly_caps": dict(CAPS)}
    assert any(t["despite_cap"] for t in body["tasks"])
    root = _v2_site(body, plan, frame)
    url = serve(root) + f"/draws/{body['id']}/verify.html"
    verdict, ok, bad = _checks(chromium_settled(url, verdict_settled))
    assert verdict.startswith("✓") and bad == 0 and ok >= 8
    # a floor fill published without its flag and reason: that stratum is refused
    fill = next(t for t in body["tasks"] if t["despite_cap"] and not t["despite_cooldown"])
    fill.update(despite_cap=False, reason=None)
    (root / "draws" / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False))
    dom = chromium_settled(url, verdict_settled)
    verdict, _ok, bad = _checks(dom)
    assert verdict.startswith("✗") and bad == 1 and "年度上限标记不符" in dom
    # caps other than the plan version's: the plan check is refused
    body["params"]["yearly_caps"] = {"A": 2, "B": 2}
    (root / "draws" / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False))
    dom = chromium_settled(url, verdict_settled)
    assert _checks(dom)[0].startswith("✗") and "年度检查上限不同" in dom


def test_verifier_replays_replacements_and_refuses_a_hand_picked_one(
    client, pub_city, settings, serve
):
    """A draw with a replacement step (docs/draw-spec-teams.md §14): the verify page fetches
    draws/{id}.replacements.json and replays it; a member picked by hand in the file is ✗."""
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    task = d["tasks"][0]
    r = client.post(
        f"/api/v1/draws/{d['id']}/replacements",
        headers=pub_city,
        json={"badge": task["team"][0]["badge"], "reason": "病假", "task": task["id"]},
    )
    assert r.status_code == 201, r.text
    root = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(settings.publish_dir.resolve(), root)
    path = root / "draws" / f"{d['id']}.replacements.json"
    doc = json.loads(path.read_text())
    assert doc["steps"][0]["replacement"] == r.json()["steps"][0]["replacement"]
    url = serve(root) + f"/draws/{d['id']}/verify.html"
    dom = chromium_settled(url, verdict_settled)
    verdict, _ok, bad = _checks(dom)
    assert verdict.startswith("✓") and bad == 0, dom[-3000:]
    assert "每一步均为替换规则给出的人员" in dom
    pool = [row[0] for row in d["inspector_pool"]["rows"]]
    members = {m["badge"] for m in task["team"]} | {doc["steps"][0]["replacement"]}
    doc["steps"][0]["replacement"] = next(b for b in pool if b not in members)
    path.write_text(json.dumps(doc, ensure_ascii=False))
    verdict, _ok, bad = _checks(chromium_settled(url, verdict_settled))
    assert verdict.startswith("✗") and bad == 1
