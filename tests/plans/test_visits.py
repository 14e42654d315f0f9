"""One visit across plans (一次检查, issue #16): concurrent plans for the same institution with
overlapping windows join the earliest open visit where its team satisfies the later plan, and
say so; one team, one notice, counted once; every draw still verifies from its published files.

On a generated city (app/demo/generate.py): three concurrent plans with different items and
overlapping windows, and a fourth whose window does not overlap (it must not merge).
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from app import cli
from app.clock import today_local
from app.demo.generate import write_registries
from app.plans import frame
from tests.draw.draw_helpers import load_verifier
from tests.entropy import dice_source, post_draw
from tests.rounds import approve

verifier = load_verifier()
LEAD = "某市医疗保障局"


def _plan(code, items, window, size, entropy_at=None):  # type: ignore[no-untyped-def]
    return {
        "code": code,
        "title": f"{code} 抽查",
        "lead_department": LEAD,
        "items": items,
        "scope": {"kinds": ["定点医疗机构"], "regions": ["3704"]},
        "strata": ["kind"],
        "ratio": 0.3,
        "min_per_stratum": 1,
        "cooldown_days": 0,
        "team": {"size": size},
        "window": {"start": window[0], "end": window[1]},
        "publish_tasks": "on_draw",
        "entropy_source": dice_source(),
    }


def _draw(client, sup, body, entropy):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/plans", headers=sup, json=body)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/plans/{body['code']}/publish", headers=sup)
    assert r.status_code == 200, r.text
    r = post_draw(
        client, f"/api/v1/plans/{body['code']}/draw", headers=sup, json={"entropy": entropy}
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def generated(client, make_token, tmp_path):  # type: ignore[no-untyped-def]
    """A generated city's registries, loaded through the API; supervisor headers."""
    sup = make_token("supervisor")
    paths = write_registries(tmp_path / "city", targets=400, inspectors=90, seed="visits")
    for kind in ("items", "targets", "inspectors"):
        r = client.post(
            f"/api/v1/registries/{kind}/import",
            headers=sup,
            files={"file": (f"{kind}.csv", paths[kind].read_bytes())},
        )
        assert r.status_code == 200, r.text
    return sup


@pytest.fixture
def four(client, generated):  # type: ignore[no-untyped-def]
    """A (医学, 3 officers), B (医学+财务), C (财务+信息) with overlapping December windows,
    drawn in that order; D (医学) in February, after them."""
    sup = generated
    a = _draw(client, sup, _plan("V-A", ["YB-02"], ("2026-12-01", "2026-12-31"), 3), "1-2-3-4-0-0")
    b = _draw(client, sup, _plan("V-B", ["YB-04"], ("2026-12-10", "2027-01-10"), 2), "2-3-4-5-0-0")
    c = _draw(client, sup, _plan("V-C", ["YB-05"], ("2026-12-31", "2027-01-31"), 2), "3-4-5-6-0-0")
    d = _draw(client, sup, _plan("V-D", ["YB-07"], ("2027-02-01", "2027-02-28"), 2), "4-5-6-1-0-0")
    return sup, a, b, c, d


def _team(task):  # type: ignore[no-untyped-def]
    return [(m["badge"], m["role"]) for m in task["team"]]


def _main_rule_joins(draw, task):  # type: ignore[no-untyped-def]
    """Whether main's join rule (docs/draw-spec-teams.md §11.2) would have joined the task."""
    from app.draw.teams import OpenVisit, TeamParams, VisitMember, join_problem

    v = next(v for v in draw["open_visits"] if v["uscc"] == task["uscc"])
    team = tuple(
        VisitMember(
            m["badge"],
            m["role"],
            m["in_pool"],
            m.get("kind", ""),
            m.get("department", ""),
            m.get("region", ""),
            frozenset(m.get("expertise", [])),
        )
        for m in v["team"]
    )
    visit = OpenVisit(v["uscc"], v["visit"], v["draw"], v["task"], v["plan"], "", "", team)
    tp = draw["team_params"]
    params = TeamParams(
        size=tp["size"],
        lead_department=tp["lead_department"],
        joint_departments=tuple(tp["joint_departments"]),
        joint_members=tp["joint_members"],
        experts=tp["experts"],
        cross_region=tp["cross_region"],
        region_level=tp["region_level"],
    )
    need = frozenset(task["required_expertise"])
    return (
        join_problem(visit, target_region=task["region"], required_expertise=need, params=params)
        is None
    )


def _expertise(draw, members):  # type: ignore[no-untyped-def]
    """The expertise of the given members, from the draw's published pool."""
    pool = draw["inspector_pool"]
    rows = {r[0]: r for r in pool["rows"]}
    return [rows[m["badge"]][3].split(";") for m in members]


def test_concurrent_plans_merge_into_one_visit_and_say_so(client, four):  # type: ignore[no-untyped-def]
    sup, a, b, c, d = four
    a_of = {t["uscc"]: t for t in a["tasks"]}
    assert a["open_visits"] == [] and all(t["visit"] == t["id"] for t in a["tasks"])
    joined_b = [t for t in b["tasks"] if "joins" in t]
    noted_b = [t for t in b["tasks"] if "visit_note" in t]
    shared = [t for t in b["tasks"] if t["uscc"] in a_of]
    assert shared and len(joined_b) + len(noted_b) == len(shared)
    assert {v["uscc"] for v in b["open_visits"]} == {t["uscc"] for t in shared}
    assert joined_b, "some of A's teams cover 医学+财务: those tasks join"
    extended = []
    for t in joined_b:
        first = a_of[t["uscc"]]
        assert t["visit"] == first["id"] and t["joins"] == {
            "draw": a["id"],
            "task": first["id"],
            "plan": "V-A",
        }
        # one team: the visit's, then the members B added from its own pool (§13)
        k = len(first["team"])
        assert _team(t)[:k] == _team(first) and _team(t)[k:] == _team({"team": t["visit_added"]})
        if t["visit_added"]:
            extended.append(t)
            assert any("财务" in m for m in _expertise(b, t["visit_added"]))
    # the existing team lacks 财务: B adds a member who has it — one visit, not a second one
    assert extended, "some of A's teams lack 财务: B extends them"
    assert not noted_b, "nothing here blocks an extension: every overlap is one visit"
    # the measurement of issue #24: main's rule (§11, join_problem) on the same published inputs
    before = sum(1 for t in shared if _main_rule_joins(b, t))
    print(
        f"\nV-A × V-B: {len(shared)} overlaps; one visit: main {before}, join-extend {len(joined_b)}"
    )
    assert before < len(joined_b) == len(shared)
    # C joins the earliest open visit (A's where A drew the target, else B's), whose team is
    # every member of it, B's added ones too
    b_of = {t["uscc"]: t for t in b["tasks"]}
    joined_c = [t for t in c["tasks"] if "joins" in t]
    assert joined_c
    for t in joined_c:
        first = a_of.get(t["uscc"]) or b_of[t["uscc"]]
        assert t["joins"]["task"] == first["id"] and t["visit"] == first["visit"]
        seen = _team(b_of[t["uscc"]]) if t["uscc"] in b_of else _team(first)
        assert _team(t)[: len(seen)] == seen
    three = [t for t in joined_c if any(j["uscc"] == t["uscc"] for j in joined_b)]
    # the fourth plan's window overlaps none: nothing listed, nothing merged
    assert d["open_visits"] == []
    assert all(t["visit"] == t["id"] and "joins" not in t for t in d["tasks"])
    assert {t["uscc"] for t in d["tasks"]} & set(a_of), "D draws some of A's targets too"
    # API tasks carry the visit
    task = joined_b[0]
    r = client.get(f"/api/v1/tasks/{task['id']}", headers=sup)
    assert r.status_code == 200 and r.json()["visit"] == task["visit"]
    if three:  # one visit of three plans: every task has the same visit
        u = three[0]["uscc"]
        tasks = client.get("/api/v1/tasks", headers=sup, params={"limit": 500}).json()["items"]
        visits = {t["plan"]: t["visit"] for t in tasks if t["uscc"] == u}
        assert visits["V-A"] == visits["V-B"] == visits["V-C"] == a_of[u]["id"]


def test_one_notice_lists_every_item_of_the_visit_with_one_team(client, four):  # type: ignore[no-untyped-def]
    sup, a, b, _c, d = four
    a_of = {t["uscc"]: t for t in a["tasks"]}
    joined = next(t for t in b["tasks"] if "joins" in t)
    first = a_of[joined["uscc"]]
    for task_id in (joined["id"], first["id"]):
        html = client.get(f"/api/v1/tasks/{task_id}/notice", headers=sup).text
        assert f"本次检查为一次检查（编号 {first['id']}）" in html
        assert first["id"] in html and joined["id"] in html
        assert "YB-02" in html and "YB-04" in html  # the items of both plans
        assert "V-A" in html and "V-B" in html
        assert html.count("<h2>一、检查人员</h2>") == 1
        for badge, _role in _team(first):
            assert badge in html
    alone = d["tasks"][0]  # a visit of one task (D merged with nothing)
    html = client.get(f"/api/v1/tasks/{alone['id']}/notice", headers=sup).text
    assert "本次检查为一次检查" not in html


def test_a_visit_is_counted_once_in_the_weekly_report_and_the_quotas(client, db, four):  # type: ignore[no-untyped-def]
    sup, a, b, c, d = four
    tasks = [t for draw in (a, b, c, d) for t in draw["tasks"]]
    # 任务上限: an inspector's open tasks of one visit count once
    from app.db import make_sessionmaker

    with make_sessionmaker(db)() as s:
        busy = frame.open_tasks(s)
    on_tasks: Counter[str] = Counter()
    on_visits: dict[str, set[str]] = {}
    for t in tasks:
        for m in t["team"]:
            on_tasks[m["badge"]] += 1
            on_visits.setdefault(m["badge"], set()).add(t["visit"])
    assert busy == {badge: len(v) for badge, v in on_visits.items()}
    assert any(on_tasks[b] > len(on_visits[b]) for b in on_tasks), "some visit has two tasks"
    # 周报表: the results of two tasks of one visit are one inspected unit
    joined = next(t for t in b["tasks"] if "joins" in t)
    first = next(t for t in a["tasks"] if t["id"] == joined["visit"])
    approve(client, sup, first["id"])
    approve(client, sup, joined["id"])
    today = today_local().isoformat()
    report = client.get(
        "/api/v1/reports/weekly", headers=sup, params={"from": today, "to": today}
    ).json()
    total = report["rows"][-1]
    assert total["region"] == "合计" and total["inspected_units"] == 1
    # one result per task, both published (results/index.json) with the visit they share
    from app.publish.results_source import page_rows, unpublished_results

    with make_sessionmaker(db)() as s:
        rows = unpublished_results(s) + page_rows(s, 1)  # not yet published, and published
        visits = {r["task_id"]: r["visit"] for r in rows}
    assert visits == {first["id"]: first["id"], joined["id"]: first["id"]}


def _write(client, sup, draw, root: Path) -> Path:  # type: ignore[no-untyped-def]
    pop = client.get(f"/api/v1/draws/{draw['id']}/population", headers=sup).content
    (root / "draws").mkdir(parents=True, exist_ok=True)
    (root / "plans").mkdir(exist_ok=True)
    path = root / "draws" / f"{draw['id']}.json"
    path.write_text(json.dumps(draw, ensure_ascii=False), encoding="utf-8")
    (root / "draws" / draw["population_file"]).write_bytes(pop)
    plan = client.get(f"/public/plans/{draw['plan']}.json")
    assert plan.status_code == 200, plan.text
    (root / "plans" / f"{draw['plan']}.json").write_bytes(plan.content)
    for kind in ("csv", "xlsx"):  # the task lists, checked cell by cell (draw-spec §11.5)
        listed = client.get(f"/public/draws/{draw['id']}.tasks.{kind}")
        (root / "draws" / f"{draw['id']}.tasks.{kind}").write_bytes(listed.content)
    frame = client.get(f"/public/draws/{draw['id']}.inspectors.csv")  # spotcheck-draw/3
    assert frame.status_code == 200, frame.text
    (root / "draws" / f"{draw['id']}.inspectors.csv").write_bytes(frame.content)
    return path


def test_every_draw_verifies_from_its_published_files(client, four, tmp_path, capsys):  # type: ignore[no-untyped-def]
    sup, *draws = four
    for draw in draws:
        pop = client.get(f"/api/v1/draws/{draw['id']}/population", headers=sup).content
        plan = client.get(f"/public/plans/{draw['plan']}.json").json()
        lists = {
            kind: client.get(f"/public/draws/{draw['id']}.tasks.{kind}").content
            for kind in ("csv", "xlsx")
        }
        frame = client.get(f"/public/draws/{draw['id']}.inspectors.csv").content
        report = verifier.check(
            draw, verifier.parse_population(pop), plan=plan, task_lists=lists, team_frame=frame
        )
        assert report.problems == [] and report.not_checked == [], draw["id"]
        assert cli.main(["verify", str(_write(client, sup, draw, tmp_path))]) == 0
        assert "验证通过" in capsys.readouterr().out


def test_a_visit_is_one_inspection_for_the_yearly_cap(db, four):  # type: ignore[no-untyped-def]
    """The frame's inspections this year (yearly cap, docs/rules.md#r4-5) count a visit once."""
    from app.db import make_sessionmaker
    from app.plans.schemas import PlanIn

    _sup, a, b, c, _d = four  # A, B and C start in 2026; D in 2027
    later = PlanIn.model_validate(
        _plan("V-Y", ["YB-01"], ("2026-12-15", "2026-12-31"), 2) | {"yearly_caps": {"A": 1}}
    )
    with make_sessionmaker(db)() as s:
        checks, _draws = frame._year_checks(s, later)
    tasks: dict[str, list[str]] = {}
    visits: dict[str, set[str]] = {}
    for t in a["tasks"] + b["tasks"] + c["tasks"]:
        tasks.setdefault(t["uscc"], []).append(t["id"])
        visits.setdefault(t["uscc"], set()).add(t["visit"])
    assert checks == {u: len(v) for u, v in visits.items()}
    assert any(len(tasks[u]) > checks[u] for u in tasks), "some visit has two tasks"


def test_two_plans_drawn_at_the_same_moment_still_share_visits(client, db, generated, monkeypatch):  # type: ignore[no-untyped-def]
    """Two workers draw two plans at once: the second waits until the first has committed
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: the draw lock), then sees its tasks and joins their
    visits — not a second visit of the same institutions in the same weeks."""
    import threading

    from app.db import begin_write, make_sessionmaker
    from app.plans import drawing
    from app.plans.schemas import DrawIn
    from tests.entropy import at_entropy

    sup = generated
    specs = [
        _plan("W-A", ["YB-02"], ("2026-12-01", "2026-12-31"), 2),
        _plan("W-B", ["YB-07"], ("2026-12-05", "2026-12-31"), 2),
    ]
    for spec in specs:
        assert client.post("/api/v1/plans", headers=sup, json=spec).status_code == 201
        r = client.post(f"/api/v1/plans/{spec['code']}/publish", headers=sup)
        assert r.status_code == 200, r.text
    factory = make_sessionmaker(db)
    first_paused, second_reading = threading.Event(), threading.Event()
    real_open_visits = drawing.visits.open_visits

    def open_visits(session, **kw):  # type: ignore[no-untyped-def]
        if kw["plan_code"] == "W-B":
            second_reading.set()
        return real_open_visits(session, **kw)

    def pause_at(point: str) -> None:  # the first draw, flushed, holds its commit back
        if point == "draw.before_commit" and threading.current_thread().name == "W-A":
            first_paused.set()
            # Bounded: with the draws serialised the second cannot read before this commits.
            second_reading.wait(timeout=3)

    monkeypatch.setattr(drawing.visits, "open_visits", open_visits)
    monkeypatch.setattr(drawing, "pause_at", pause_at)
    bodies: dict[str, dict] = {}
    failures: list[BaseException] = []

    def draw(code: str) -> None:
        try:
            with factory() as s:
                begin_write(s)
                outcome = drawing.perform_draw(
                    s, code=code, body=DrawIn(entropy="1-2-3-4-0-0"), actor="supervisor:t"
                )
                s.commit()
                bodies[code] = outcome.draw.body
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    with at_entropy(specs[1]):
        first = threading.Thread(target=draw, args=("W-A",), name="W-A")
        first.start()
        assert first_paused.wait(timeout=60)
        second = threading.Thread(target=draw, args=("W-B",), name="W-B")
        second.start()
        first.join(timeout=120)
        second.join(timeout=120)
    assert not failures, failures
    a, b = bodies["W-A"], bodies["W-B"]
    a_ids = {t["uscc"]: t["id"] for t in a["tasks"]}
    shared = [t for t in b["tasks"] if t["uscc"] in a_ids]
    assert shared, "both plans draw some of the same institutions"
    # every shared institution was listed as an open visit of W-A, and joined where it could
    assert {v["uscc"] for v in b["open_visits"]} == {t["uscc"] for t in shared}
    assert any(t.get("joins", {}).get("task") == a_ids[t["uscc"]] for t in shared)


WJW = "某市卫生健康委员会"


def _dept(draw, member):  # type: ignore[no-untyped-def]
    """A listed visit member's department (as `open_visits` shows it)."""
    for v in draw["open_visits"]:
        for m in v["team"]:
            if m["badge"] == member["badge"]:
                return m.get("department")
    return None


def _departments(draw, task):  # type: ignore[no-untyped-def]
    """Per member of a task's team, the department (from the draw's pool or its open visit)."""
    pool = draw["inspector_pool"]
    dept = {r[0]: pool["departments"][r[1]] for r in pool["rows"]}
    for v in draw["open_visits"]:
        dept |= {m["badge"]: m["department"] for m in v["team"] if m["in_pool"]}
    return [dept[m["badge"]] for m in task["team"]]


def test_a_plan_of_another_department_extends_the_visit_with_its_own_officers(client, generated):  # type: ignore[no-untyped-def]
    """Issue #24 attack 6: a 卫健委 plan joined 医保局 visits whose teams had no 卫健委 officer
    (R5.1 broken, the notice listing only 医保局 officers for 卫健委 items). Now it adds its own
    officers, drawn from its own pool, to the one visit and its one notice."""
    sup = generated
    a = _draw(client, sup, _plan("V-A", ["YB-02"], ("2026-12-01", "2026-12-31"), 2), "1-2-3-4-0-0")
    body = _plan("V-W", ["YB-02"], ("2026-12-10", "2027-01-10"), 2)
    body["lead_department"] = WJW
    w = _draw(client, sup, body, "2-3-4-5-0-0")
    a_of = {t["uscc"]: t for t in a["tasks"]}
    shared = [t for t in w["tasks"] if t["uscc"] in a_of]
    joined = [t for t in shared if "joins" in t]
    assert shared and joined == shared, "every overlap is one visit"
    # main's rule joined these too — every one without a 卫健委 officer (attack 6)
    before = [t for t in shared if _main_rule_joins(w, t)]
    broken = [t for t in before if WJW not in {_dept(w, m) for m in a_of[t["uscc"]]["team"]}]
    print(
        f"\nV-A × V-W (卫健委): {len(shared)} overlaps; main joined {len(before)}, "
        f"{len(broken)} of them without a 卫健委 officer; join-extend {len(joined)}, none"
    )
    for t in joined:
        assert _departments(w, t).count(WJW) >= 2, t["uscc"]  # R5.1 for the 卫健委 plan
        assert [m["badge"] for m in t["visit_added"]] == [m["badge"] for m in t["team"][2:]]
    # one notice: A's task's notice lists the members W added
    t = joined[0]
    html = client.get(f"/api/v1/tasks/{a_of[t['uscc']]['id']}/notice", headers=sup).text
    assert all(m["badge"] in html for m in t["visit_added"])
    assert verifier.replay_teams(w) == []


def test_the_verifier_refuses_a_forged_extension(client, four):  # type: ignore[no-untyped-def]
    """A joined task whose added member was swapped, or whose extension was dropped (a join with
    a team that does not satisfy the plan), is refused."""
    _sup, _a, b, _c, _d = four
    assert verifier.replay_teams(b) == []
    joined = [n for n, t in enumerate(b["tasks"]) if t.get("visit_added")]
    assert joined
    n = joined[0]
    task = b["tasks"][n]
    pool_badges = [r[0] for r in b["inspector_pool"]["rows"]]
    on_team = {m["badge"] for m in task["team"]}
    other = next(x for x in pool_badges if x not in on_team)
    # 1. the wrong member added
    forged = json.loads(json.dumps(b))
    ft = forged["tasks"][n]
    old = ft["visit_added"][0]["badge"]
    ft["visit_added"][0]["badge"] = other
    for m in ft["team"]:
        if m["badge"] == old:
            m["badge"] = other
    problems = verifier.replay_teams(forged)
    assert any("extension forged" in p for p in problems), problems
    # 2. the extension dropped: a join whose team lacks what the plan needs
    forged = json.loads(json.dumps(b))
    ft = forged["tasks"][n]
    k = len(ft["team"]) - len(ft["visit_added"])
    ft["team"], ft["visit_added"] = ft["team"][:k], []
    problems = verifier.replay_teams(forged)
    assert any("extension forged" in p for p in problems), problems
    # 3. a join the rule refuses: an existing member declared recused (opened) must block it
    forged = json.loads(json.dumps(b))
    ft = forged["tasks"][n]
    ft["visit_recused"] = [ft["team"][0]["badge"]]
    problems = verifier.replay_teams(forged)
    assert any("不得并入" in p for p in problems), problems
    # 4. an unknown join rule is refused, not replayed by the old rule
    forged = json.loads(json.dumps(b))
    forged["visit_rule"] = "spotcheck-draw/3 join-anything"
    assert any("visit_rule" in p for p in verifier.replay_teams(forged))


def test_a_later_draw_does_not_show_the_members_a_withheld_plan_added(client, generated):  # type: ignore[no-untyped-def]
    """B (after_window, its list withheld past C's) extended A's visits; C (on_draw) joins the
    same visits, but its published `open_visits` must not show B's members: they would reveal
    B's withheld selection (app/plans/disclosure.py, `_lists_public_no_later`)."""
    sup = generated
    a = _draw(client, sup, _plan("V-A", ["YB-02"], ("2026-12-01", "2026-12-31"), 2), "1-2-3-4-0-0")
    body = _plan("V-B", ["YB-04"], ("2026-12-10", "2027-01-31"), 2)
    body["publish_tasks"] = "after_window"
    b = _draw(client, sup, body, "2-3-4-5-0-0")
    c = _draw(client, sup, _plan("V-C", ["YB-05"], ("2026-12-15", "2027-01-10"), 2), "3-4-5-6-0-0")
    a_of = {t["uscc"]: t for t in a["tasks"]}
    added_by_b = {
        t["uscc"]: {m["badge"] for m in t["visit_added"]}
        for t in b["tasks"]
        if t.get("visit_added")
    }
    assert added_by_b, "B extended some of A's visits"
    shared = [v for v in c["open_visits"] if v["uscc"] in added_by_b]
    assert shared, "C lists some of the visits B extended"
    for v in shared:
        assert [m["badge"] for m in v["team"]] == [m["badge"] for m in a_of[v["uscc"]]["team"]]
    assert not any(v["plan"] == "V-B" for v in c["open_visits"])
