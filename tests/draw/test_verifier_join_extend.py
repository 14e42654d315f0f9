"""/3 join with extension (docs/draw-spec-teams.md §13): the engine's extension and the stdlib
verifier's replay of it.

A plan of another department (卫健委 lead, a 市场监管局 joint member, one expert, 交叉互查) draws
targets that have open visits of a 医保局 plan: the existing teams lack its lead-department
officers, its joint department, its expert and sometimes an expertise, so it adds members from
its own pool to the visit (one visit), or — where an existing member blocks it (recused, of
the target's area) or no member can be added — makes a second visit and says why. Each forgery
of the published extension is refused by the verifier; the engine and the verifier agree on
random instances.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.draw import ALGORITHM_V3
from app.draw.teams import (
    JOIN_RULE_EXTEND,
    KIND_EXPERT,
    KIND_OFFICER,
    TEAMS_ALGORITHM_3,
    Inspector,
    OpenVisit,
    TeamParams,
    TeamTask,
    VisitMember,
    assign_teams,
    extend_visits,
    pool_dict,
    reduced_pool,
)
from app.plans.visits import Need, decide, decide_extend
from tests.draw.draw_helpers import load_verifier, uscc

verifier = load_verifier()
SEED = "cd" * 32
KEY = b"r" * 32
YB, WJW, SJ = "某市医疗保障局", "某市卫生健康委员会", "某市市场监督管理局"
REGIONS = ("370402", "370403", "370502")
PARAMS = TeamParams(
    size=2,
    lead_department=WJW,
    joint_departments=(SJ,),
    experts=1,
    cross_region=True,
    region_level=6,
    max_tasks_per_inspector=3,
    algorithm=TEAMS_ALGORITHM_3,
)


def _person(badge: str, dept: str, region: str, skills: str, **kw: Any) -> Inspector:
    return Inspector(
        badge=badge,
        name=badge,
        department=dept,
        region=region,
        expertise=frozenset(x for x in skills.split(";") if x),
        kind=kw.get("kind", KIND_OFFICER),
        employer_uscc=None,
        conflicts=frozenset(kw.get("conflicts", ())),
        max_tasks=kw.get("max_tasks"),
    )


def _pool() -> list[Inspector]:
    people = [_person(f"Y{n:02d}", YB, REGIONS[n % 3], ("财务", "医学")[n % 2]) for n in range(6)]
    people += [
        _person(f"W{n:02d}", WJW, REGIONS[n % 3], ("医学", "药学", "财务")[n % 3], max_tasks=4)
        for n in range(9)
    ]
    people += [_person(f"S{n:02d}", SJ, REGIONS[n % 3], "药学;法律") for n in range(4)]
    people += [_person(f"E{n:02d}", YB, REGIONS[n % 3], "医学", kind=KIND_EXPERT) for n in range(3)]
    # W02 declared a conflict with target 1: a walk that meets it skips it (published)
    people[8] = _person("W02", WJW, REGIONS[2], "财务", max_tasks=4, conflicts={uscc(1)})
    return people


def _member(p: Inspector, role: str) -> VisitMember:
    return VisitMember(p.badge, role, True, p.kind, p.department, p.region, p.expertise)


def _visit(k: int, members: list[tuple[Inspector, str]]) -> OpenVisit:
    return OpenVisit(
        uscc(k),
        f"YB-D1-{k:05d}",
        "YB-D1",
        f"YB-D1-{k:05d}",
        "YB",
        "2026-12-01",
        "2026-12-31",
        tuple(_member(p, r) for p, r in members),
    )


def _needs() -> list[Need]:
    return [
        Need(uscc(k), REGIONS[k % 3], frozenset(({"药学"}, {"医学", "财务"}, set())[k % 3]))
        for k in range(9)
    ]


def _found(pool: list[Inspector]) -> dict[str, OpenVisit]:
    p = {i.badge: i for i in pool}
    return {
        # 医保局 officers of other areas: W extends each with its own officers
        uscc(0): _visit(0, [(p["Y01"], "组长"), (p["Y02"], "组员")]),
        uscc(1): _visit(1, [(p["Y00"], "组长"), (p["Y02"], "组员")]),
        uscc(2): _visit(2, [(p["Y00"], "组长"), (p["Y01"], "组员")]),
        # Y03 shares target 3's area (370402): 交叉互查 blocks; a second visit
        uscc(3): _visit(3, [(p["Y03"], "组长"), (p["Y01"], "组员")]),
        uscc(5): _visit(5, [(p["Y00"], "组长"), (p["Y03"], "组员")]),
    }


def _honest() -> dict[str, Any]:
    pool = _pool()
    needs = _needs()
    visits = decide_extend(_found(pool), needs, PARAMS, pool, seed=SEED, n_tasks=len(needs))
    team_pool = reduced_pool(pool, PARAMS, visits.loads) if visits.loads else pool
    own = [
        TeamTask(n.uscc, n.region, n.required_expertise)
        for n in needs
        if n.uscc not in visits.joined
    ]
    teams = assign_teams(seed=SEED, tasks=own, inspectors=team_pool, params=PARAMS, recusal_key=KEY)
    by_badge = {i.badge: i for i in pool}
    team_of = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
    tasks = []
    for n, need in enumerate(needs, start=1):
        task_id = f"W-D1-{n:05d}"
        row: dict[str, Any] = {
            "id": task_id,
            "uscc": need.uscc,
            "region": need.region,
            "required_expertise": sorted(need.required_expertise),
        }
        if need.uscc in visits.joined:
            row["team"] = visits.team(need.uscc)
        else:
            row["team"] = team_of[need.uscc]["team"]
            row["recused"] = team_of[need.uscc]["recused"]
        tasks.append(row | visits.task_fields(task_id, need.uscc))
    return {
        "id": "W-D1",
        "plan": "W",
        "seed": SEED,
        "algorithm": ALGORITHM_V3,
        "team_params": PARAMS.to_dict(),
        "inspector_pool": pool_dict(by_badge[i.badge] for i in teams.pool),
        "exclusions": list(teams.exclusions),
        "open_visits": visits.published(),
        "visit_rule": JOIN_RULE_EXTEND,
        "tasks": tasks,
    }


def _task(d: dict[str, Any], k: int) -> dict[str, Any]:
    return next(t for t in d["tasks"] if t["uscc"] == uscc(k))


def _depts(d: dict[str, Any], t: dict[str, Any]) -> list[str]:
    pool = d["inspector_pool"]
    dept = {r[0]: pool["departments"][r[1]] for r in pool["rows"]}
    for v in d["open_visits"]:
        dept |= {m["badge"]: m["department"] for m in v["team"]}
    return [dept[m["badge"]] for m in t["team"]]


def test_the_later_plan_extends_the_visit_with_its_own_members() -> None:
    draw = _honest()
    assert verifier.verify_teams(draw) == []
    for k in (0, 1, 2):
        t = _task(draw, k)
        assert t["joins"] == {"draw": "YB-D1", "task": f"YB-D1-{k:05d}", "plan": "YB"}
        # every rule of the later plan: 2 卫健委 officers, 1 市场监管局 member, 1 expert
        depts = _depts(draw, t)
        assert depts.count(WJW) >= 2 and depts.count(SJ) >= 1, depts
        roles = [m["role"] for m in t["visit_added"]]
        assert roles == ["组员", "组员", "联合检查", "专家"], roles
        assert t["team"][2:] == t["visit_added"]
    # the test vector of docs/draw-spec-teams.md §13.6
    vector = {
        0: ["W01 组员", "W04 组员", "S02 联合检查", "E02 专家"],
        1: ["W05 组员", "W08 组员", "S03 联合检查", "E02 专家"],
        2: ["W00 组员", "W07 组员", "S00 联合检查", "E00 专家"],
        5: ["W00 组员", "W06 组员", "S01 联合检查", "E01 专家"],
    }
    for k, added in vector.items():
        assert [f"{m['badge']} {m['role']}" for m in _task(draw, k)["visit_added"]] == added
    # target 1: W02 (recused) was met by a walk and skipped; published, so the replay skips it
    assert _task(draw, 1)["visit_recused"] == ["W02"]
    assert "W02" not in {m["badge"] for m in _task(draw, 1)["team"]}
    # target 3: 交叉互查 blocks (no extension can remove a member): a second visit, and why
    t3 = _task(draw, 3)
    assert "joins" not in t3 and t3["visit"] == t3["id"]
    assert t3["visit_note"].endswith(
        "现有检查组成员 Y03 与检查对象同属县级医保区划，本计划要求交叉互查"
    )


def test_main_rule_joined_without_a_single_lead_department_officer() -> None:
    """Issue #24 attack 6 at the rule: main's rule (§11) lets a 卫健委 plan join a team of two
    医保局 officers; under §13 the same join brings two 卫健委 officers along."""
    pool = _pool()
    found = _found(pool)
    old = decide(found, _needs(), TeamParams(lead_department=WJW), pool)
    assert uscc(2) in old.joined  # two officers of any department were enough
    assert all(m.department == YB for m in old.joined[uscc(2)].team)
    new = decide_extend(
        found, _needs(), TeamParams(lead_department=WJW), pool, seed=SEED, n_tasks=9
    )
    assert [m.role for m in new.added[uscc(2)]] == ["组员", "组员"]


def test_no_member_to_add_makes_a_second_visit_and_says_why() -> None:
    pool = [i for i in _pool() if i.department != SJ]  # nobody of the joint department
    needs = _needs()
    visits = decide_extend(_found(pool), needs, PARAMS, pool, seed=SEED, n_tasks=len(needs))
    assert not visits.joined and not visits.loads
    assert visits.notes[uscc(0)] == (
        "未能与 YB 计划的检查（YB-D1-00000）合并：现有检查组须补充某市市场监督管理局执法人员，"
        "本计划名录中没有符合条件（在岗、有任务额度、交叉互查、回避）的人员可补充"
    )


def _swap_added(d: dict[str, Any]) -> None:
    t = _task(d, 0)
    on = {m["badge"] for m in t["team"]}
    other = next(f"W{n:02d}" for n in range(9) if f"W{n:02d}" not in on)
    old = t["visit_added"][0]["badge"]
    for m in (*t["visit_added"], *t["team"]):
        if m["badge"] == old:
            m["badge"] = other


def _drop_extension(d: dict[str, Any]) -> None:
    t = _task(d, 0)
    t["team"], t["visit_added"] = t["team"][:2], []


def _join_blocked(d: dict[str, Any]) -> None:
    t = _task(d, 3)
    del t["visit_note"]
    t.update(
        joins={"draw": "YB-D1", "task": "YB-D1-00003", "plan": "YB"},
        visit="YB-D1-00003",
        visit_added=[],
    )


def _member_gone(d: dict[str, Any]) -> None:
    """Target 0's listed visit has a member no longer in the pool (a badge the published pool
    does not hold): no extension can mend it, so the listed join is refused."""
    v = next(v for v in d["open_visits"] if v["uscc"] == uscc(0))
    v["team"][0] = {"badge": "Y99", "role": v["team"][0]["role"], "in_pool": False}


def _pool_member_marked_out(d: dict[str, Any]) -> None:
    """A member the published pool holds, marked out of it: it would force a second visit."""
    v = next(v for v in d["open_visits"] if v["uscc"] == uscc(0))
    badge = str(d["inspector_pool"]["rows"][0][0])
    v["team"][1] = {"badge": badge, "role": v["team"][1]["role"], "in_pool": False}


def _hide_recusal(d: dict[str, Any]) -> None:
    del _task(d, 1)["visit_recused"]


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "wrong member added": (_swap_added, "extension forged"),
    "extension dropped": (_drop_extension, "extension forged"),
    "team not the visit's plus the added": (
        lambda d: _task(d, 0)["team"].reverse(),
        "team swapped",
    ),
    "a join the rule refuses": (_join_blocked, "不得并入"),
    "a join with a member out of the pool": (_member_gone, "不得并入"),
    "a member of the pool marked out of it": (_pool_member_marked_out, "却标为不在（in_pool）"),
    "a join with a recused member": (
        lambda d: _task(d, 0).update(visit_recused=["Y01"]),
        "不得并入",
    ),
    "a joined task skipped": (
        lambda d: _task(d, 0).update(joins=None, recused=[]) or _task(d, 0).pop("joins"),
        "listed visit skipped",
    ),
    "recusal hidden": (_hide_recusal, "extension forged"),
    "recusal invented for an extension": (
        lambda d: _task(d, 0).update(visit_recused=["S03"]),
        "recusal not taken",
    ),
    "recusal that did not block": (
        lambda d: _task(d, 3).update(visit_recused=["Y01"]),
        "recusal not deciding",
    ),
    "note changed": (lambda d: _task(d, 3).update(visit_note="未能合并"), "visit_note 应为"),
    "note on a joined task": (
        lambda d: _task(d, 0).update(visit_note="未能合并"),
        "已并入的任务不应有 visit_note",
    ),
    "visit id of a joined task": (lambda d: _task(d, 0).update(visit="X"), "并入后 visit 应为"),
    "visit id of a blocked task": (
        lambda d: _task(d, 3).update(visit="YB-D1-00003"),
        "未并入的任务 visit 应为",
    ),
    "extension fields without a listed visit": (
        lambda d: _task(d, 4).update(visit_added=[]),
        "没有列出可合并的检查",
    ),
    "visit missing": (lambda d: _task(d, 4).pop("visit"), "缺少 visit"),
    "own visit id": (lambda d: _task(d, 4).update(visit="X"), "visit 应为任务本身"),
    "unknown join rule": (lambda d: d.update(visit_rule="join-anything"), "visit_rule"),
    "unsorted recusals": (
        lambda d: _task(d, 1).update(visit_recused=["W02", "S00"]),
        "visit_recused 须为排序且不重复",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_extension_check_refuses_its_forgery(case: str) -> None:
    tamper, message = CASES[case]
    draw = _honest()
    tamper(draw)
    problems = verifier.verify_teams(draw)
    assert any(message in p for p in problems), problems


def test_the_team_draw_replays_with_the_quotas_the_extensions_took() -> None:
    """The tasks that did not join are drawn with the added inspectors' quotas less the tasks
    the extensions gave them; a replay on the full quotas is refused for that draw."""
    draw = _honest()
    loads: dict[str, int] = {}
    for t in draw["tasks"]:
        for m in t.get("visit_added", []):
            loads[m["badge"]] = loads.get(m["badge"], 0) + 1
    assert max(loads.values()) >= 1
    reduced = verifier.reduced_pool(draw["inspector_pool"], draw["team_params"], loads)
    assert reduced != draw["inspector_pool"]
    assert verifier.replay_extensions(draw, [])[1] == {}


def test_engine_and_verifier_agree_on_random_extensions() -> None:
    rng = random.Random(24)
    kinds = (KIND_OFFICER, KIND_OFFICER, KIND_OFFICER, KIND_EXPERT)
    outcomes = set()
    for case in range(150):
        pool = [
            _person(
                f"P{n:03d}",
                rng.choice((YB, WJW, SJ)),
                rng.choice(REGIONS),
                ";".join(rng.sample(("医学", "药学", "财务"), rng.randint(0, 2))),
                kind=rng.choice(kinds),
                max_tasks=rng.choice((None, 1, 2)),
                conflicts={uscc(k) for k in range(6) if rng.random() < 0.1},
            )
            for n in range(rng.randint(4, 24))
        ]
        params = TeamParams(
            size=rng.choice((2, 3)),
            lead_department=rng.choice((YB, WJW)),
            joint_departments=rng.choice(((), (SJ,))),
            experts=rng.choice((0, 1)),
            cross_region=rng.random() < 0.5,
            region_level=rng.choice((4, 6)),
            max_tasks_per_inspector=rng.choice((None, 2)),
            algorithm=TEAMS_ALGORITHM_3,
        )
        joins = []
        for k in range(6):
            team = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
            visit = dataclasses.replace(
                _visit(k, [(p, "组员") for p in team]),
                cross_region_level=rng.choice((None, None, 4, 6)),
            )
            need = frozenset(rng.sample(("医学", "药学", "财务"), rng.randint(0, 2)))
            joins.append((TeamTask(uscc(k), rng.choice(REGIONS), need), visit))
        seed = f"s{case}"
        mine, loads = extend_visits(
            seed=seed, params=params, inspectors=pool, n_tasks=6, joins=joins
        )
        chosen = [i for i in pool if i.kind == KIND_EXPERT and params.experts > 0] + [
            i
            for i in pool
            if i.kind == KIND_OFFICER
            and i.department in (params.lead_department, *params.joint_departments)
        ]
        draw = {
            "seed": seed,
            "team_params": params.to_dict(),
            "inspector_pool": pool_dict(chosen),
            "tasks": [{"uscc": t.uscc} for t, _v in joins],
        }
        tasks = [
            (
                {
                    "uscc": t.uscc,
                    "region": t.region,
                    "required_expertise": sorted(t.required_expertise),
                    "visit_recused": list(mine[t.uscc].recused),
                },
                v.to_dict(),
            )
            for t, v in joins
        ]
        theirs, their_loads = verifier.replay_extensions(draw, copy.deepcopy(tasks))
        assert their_loads == loads
        for t, _v in joins:
            ext = mine[t.uscc]
            added, used, problem = theirs[t.uscc]
            assert added == [(m.badge, m.role) for m in ext.added]
            assert used == set(ext.recused) and problem == ext.problem
            outcomes.add(("added" if ext.added else "as is") if problem is None else "refused")
    assert outcomes == {"added", "as is", "refused"}


NODE_RUN = """
const fs = require("fs");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
(async () => {
  const v = window.SpotcheckVerify, out = {};
  for (const [name, d] of Object.entries(JSON.parse(fs.readFileSync(process.argv[2], "utf8")))) {
    try {
      const r = await v.verifyTeamsExtend(d);
      out[name] = [...r.visits, ...r.teams];
    } catch (e) { out[name] = ["error: " + String(e && e.message)]; }
  }
  console.log(JSON.stringify(out));
})();
"""
JS_MESSAGES = {  # verify.js words its problems without the English glosses
    "extension forged": "补充的检查组成员与重放结果不一致",
    "team swapped": "并入后的检查组应为所并入检查的检查组加补充成员",
    "listed visit skipped": "任务应并入",
    "recusal not taken": "在补充检查组时从未被跳过",
    "recusal not deciding": "并未决定能否合并",
}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_browser_verifier_replays_the_extension_and_refuses_each_forgery(
    tmp_path: Path,
) -> None:
    cases: dict[str, Any] = {"honest": _honest()}
    for name, (tamper, _message) in CASES.items():
        if name == "unknown join rule":  # verifyDraw checks the rule's name (not this entry)
            continue
        draw = _honest()
        tamper(draw)
        cases[name] = draw
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    verify_js = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "verify.js"
    run = subprocess.run(
        ["node", "-e", NODE_RUN, str(verify_js), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(run.stdout)
    assert out["honest"] == []
    for name, (_tamper, message) in CASES.items():
        if name not in out:
            continue
        want = JS_MESSAGES.get(message, message)
        assert any(want in p for p in out[name]), (name, out[name])


def test_members_added_respect_the_cross_region_rule_of_the_plans_the_visit_serves() -> None:
    """The later plan asks no 交叉互查, the visit's first plan does (county level): no member
    of the target's county is added, though the later plan alone would allow it."""
    pool = _pool()
    p = {i.badge: i for i in pool}
    params = TeamParams(size=2, lead_department=WJW, algorithm=TEAMS_ALGORITHM_3)
    for k in range(9):
        region = REGIONS[k % 3]
        visit = _visit(k, [(p["Y01"], "组长"), (p["Y02"], "组员")])
        strict = dataclasses.replace(visit, cross_region_level=6)
        task = TeamTask(uscc(k), region, frozenset())
        free, _ = extend_visits(
            seed=SEED, params=params, inspectors=pool, n_tasks=9, joins=[(task, visit)]
        )
        held, _ = extend_visits(
            seed=SEED, params=params, inspectors=pool, n_tasks=9, joins=[(task, strict)]
        )
        assert all(p[m.badge].region != region for m in held[uscc(k)].added)
        if any(p[m.badge].region == region for m in free[uscc(k)].added):
            break
    else:
        raise AssertionError("no instance where the served plan's rule changed the extension")
    assert (
        strict.to_dict()["cross_region_level"] == 6 and "cross_region_level" not in visit.to_dict()
    )


def test_a_failed_join_extend_attempt_re_derives_with_the_quotas_its_extensions_took() -> None:
    """A failed /3 attempt under join-extend carries `visit_rule` and `failed_teams.visit_added`
    (§13.3): a genuine failure still re-derives; the field missing, or naming a target that did
    not join, is refused; the failure replay lowers the quotas as the engine did."""
    from dataclasses import replace

    from tests.draw.team_frame_helpers import PARAMS as FRAME_PARAMS
    from tests.draw.test_team_frame import CITY_LEVEL, _failed

    record, plan, population, frame = _failed(replace(FRAME_PARAMS, **CITY_LEVEL))
    record["visit_rule"] = JOIN_RULE_EXTEND
    record["failed_teams"]["visit_added"] = {}

    def check(rec: dict[str, Any]) -> Any:
        return verifier.check(
            rec, verifier.parse_population(population), plan=plan, team_frame=frame
        )

    report = check(record)
    assert (report.problems, report.exit_code) == ([], 0), report.problems
    assert any("failure re-derived" in n for n in report.notes)
    missing = copy.deepcopy(record)
    del missing["failed_teams"]["visit_added"]
    assert any("failed_teams 须恰含" in p for p in check(missing).problems)
    stray = copy.deepcopy(record)
    stray["failed_teams"]["visit_added"] = {"913700000000000000": ["X"]}
    assert any("not a joined target" in p for p in check(stray).problems)
    other = copy.deepcopy(record)
    other["visit_rule"] = "spotcheck-draw/3 join-anything"
    del other["failed_teams"]["visit_added"]
    assert any("visit_rule" in p for p in check(other).problems)


def test_the_quotas_left_for_the_team_draw_agree() -> None:
    rng = random.Random(13)
    pool = [
        _person(f"P{n:02d}", WJW, REGIONS[0], "医学", max_tasks=rng.choice((None, 1, 3)))
        for n in range(30)
    ]
    for cap in (None, 2):
        params = TeamParams(lead_department=WJW, max_tasks_per_inspector=cap)
        loads = {f"P{n:02d}": rng.randint(0, 3) for n in range(0, 30, 2)}
        mine = pool_dict(reduced_pool(pool, params, loads))
        theirs = verifier.reduced_pool(pool_dict(pool), params.to_dict(), loads)
        assert mine == theirs
        assert any(
            r[5] is not None and r[5] < (p.max_tasks or 9)
            for r, p in zip(mine["rows"], pool, strict=True)
        )


# --- a failed attempt that publishes its open visits (§13.4): the extension re-derives ------


def _failed_with_joins(max_tasks: int) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """A failed-attempt record of the /3 test draw (tests/draw/team_frame_helpers.py) whose
    first five targets have open visits of another plan (one 医保局 officer of another county
    each), built as app/plans/drawing.py builds it: the joins and extensions by `decide_extend`,
    the team draw of the others on the quotas the extensions left. With `max_tasks` 2 the
    卫健委 officers cannot staff the 16 targets (a genuine failure); with 6 they can, so the
    record claims a failure that did not happen."""
    from app.draw.team_frame import frame_pool, openings, read_team_frame
    from app.draw.teams import TeamInfeasible
    from tests.draw.team_frame_helpers import (
        FRAME_KEY,
        LEAD,
        RECUSAL_KEY,
        _population_usccs,
        as_failed,
        frame_rows,
    )
    from tests.draw.team_frame_helpers import PARAMS as FRAME_PARAMS
    from tests.draw.test_team_frame import _teams3

    params = dataclasses.replace(FRAME_PARAMS, max_tasks_per_inspector=max_tasks)
    body, plan, population, frame = _teams3()
    _rows, recusals = frame_rows(_population_usccs(population))
    pool = frame_pool(read_team_frame(frame), recusals)
    record = as_failed(body, frame, population, params)
    needs = record["failed_teams"]["item_expertise"]
    window = ("2026-12-01", "2026-12-31")
    found: dict[str, OpenVisit] = {}
    for k, t in enumerate(body["tasks"][:5]):
        lead = [i for i in pool if i.department == LEAD and i.region != t["region"]][k]
        found[t["uscc"]] = OpenVisit(
            uscc=t["uscc"],
            visit=f"YB-X-0001-{k + 1:05d}",
            draw="YB-X-0001",
            task=f"YB-X-0001-{k + 1:05d}",
            plan="YB-X",
            window_start=window[0],
            window_end=window[1],
            team=(
                VisitMember(
                    badge=lead.badge,
                    role="组长",
                    kind=lead.kind,
                    department=lead.department,
                    region=lead.region,
                    expertise=lead.expertise,
                ),
            ),
        )

    def need(t: dict[str, Any]) -> frozenset[str]:
        return frozenset(e for code in t["items"] for e in needs[code])

    visit = decide_extend(
        found,
        [Need(t["uscc"], t["region"], need(t)) for t in body["tasks"] if t["uscc"] in found],
        params,
        pool,
        seed=body["seed"],
        n_tasks=len(body["tasks"]),
    )
    tasks = [
        TeamTask(t["uscc"], t["region"], need(t))
        for t in body["tasks"]
        if t["uscc"] not in visit.joined
    ]
    recused: dict[str, list[str]] = {}
    try:
        assign_teams(
            seed=body["seed"],
            tasks=tasks,
            inspectors=reduced_pool(pool, params, visit.loads),
            params=params,
            recusal_key=RECUSAL_KEY,
            exhaustive=True,
        )
    except TeamInfeasible as exc:
        recused = {u: list(b) for u, b in sorted(exc.recused.items())}
    ft = record["failed_teams"]
    ft["joined"] = sorted(visit.joined)
    ft["recused"] = recused
    ft["visit_added"] = {u: [m.badge for m in a] for u, a in sorted(visit.added.items())}
    ft["visit_recused"] = {u: list(b) for u, b in sorted(visit.recused.items())}
    pairs = {(b, u) for u, badges in recused.items() for b in badges}
    pairs |= {(b, u) for u, badges in ft["visit_recused"].items() for b in badges}
    record["recusal_openings"] = openings(FRAME_KEY, pairs)
    record["visit_rule"] = JOIN_RULE_EXTEND
    record["open_visits"] = visit.published()
    plan = {**plan, "spec": {"window": {"start": window[0], "end": window[1]}}}
    return record, plan, population, frame


def _check_failed(record: dict[str, Any], plan: Any, population: bytes, frame: bytes) -> Any:
    return verifier.check(
        record, verifier.parse_population(population), plan=plan, team_frame=frame
    )


def test_a_genuine_failed_attempt_with_joins_re_derives_its_joins_and_extensions() -> None:
    record, plan, population, frame = _failed_with_joins(max_tasks=2)
    ft = record["failed_teams"]
    assert len(ft["joined"]) == 5 and all(len(b) == 2 for b in ft["visit_added"].values())
    assert ft["visit_recused"]  # a recusal the extension walks skipped, opened
    report = _check_failed(record, plan, population, frame)
    assert (report.problems, report.not_checked, report.exit_code) == ([], [], 0)
    assert any("failure re-derived" in n for n in report.notes)


def _claim_more_extension(record: dict[str, Any]) -> None:
    """The attack of §13.4: every 卫健委 officer claimed added to every joined visit, so that
    the quotas left for the team draw cannot staff the other targets."""
    joint = [str(r[0]) for r in record["inspector_pool"]["rows"] if r[1] == 1]
    for badges in record["failed_teams"]["visit_added"].values():
        badges += [b for b in joint if b not in badges]


def test_a_failure_forged_by_claiming_more_extension_is_refused() -> None:
    """A feasible team draw made to fail by hand: more members claimed added than the rule
    adds. Before §13.4 the claim was taken as published (the failure "re-derived"); now the
    extension is replayed from the published open visits and the claim refused."""
    record, plan, population, frame = _failed_with_joins(max_tasks=6)
    assert any(
        "failure does not re-derive" in p
        for p in _check_failed(record, plan, population, frame).problems
    )
    _claim_more_extension(record)
    old = copy.deepcopy(record)  # the same claim in a record without its open visits
    del old["open_visits"], old["failed_teams"]["visit_recused"]
    old["recusal_openings"] = []
    report = _check_failed(old, plan, population, frame)
    assert report.problems == [] and report.exit_code == 3, report.problems
    assert any("failure re-derived" in n for n in report.notes)
    assert any("extension taken as published" in n for n in report.not_checked)
    report = _check_failed(record, plan, population, frame)
    assert report.exit_code == 1
    assert any("extension forged" in p for p in report.problems), report.problems


def _drop_a_join(d: dict[str, Any]) -> None:
    u = d["failed_teams"]["joined"].pop(0)
    del d["failed_teams"]["visit_added"][u]
    d["failed_teams"]["visit_recused"].pop(u, None)
    d["recusal_openings"] = [o for o in d["recusal_openings"] if o["uscc"] != u]


def _recusal_for_a_target_without_visit(d: dict[str, Any]) -> None:
    """A true, committed recusal listed (and opened) for a drawn target with no open visit."""
    listed = {v["uscc"] for v in d["open_visits"]}
    _add_visit_recusal(d, lambda u: u not in listed, "37000")


def _add_visit_recusal(
    d: dict[str, Any], target: Callable[[str], bool], badge: str | None = None
) -> None:
    from app.draw.team_frame import openings
    from tests.draw.team_frame_helpers import FRAME_KEY, _population_usccs, frame_rows

    _rows, recusals = frame_rows(_population_usccs(d["_population"]))
    badge, u = next((b, u) for b, u in sorted(recusals) if badge in (None, b) and target(u))
    listed = d["failed_teams"]["visit_recused"]
    listed[u] = sorted({*listed.get(u, []), badge})
    d["failed_teams"]["visit_recused"] = dict(sorted(listed.items()))
    d["recusal_openings"] = sorted(
        d["recusal_openings"] + openings(FRAME_KEY, [(badge, u)]),
        key=lambda o: (o["uscc"], o["badge"]),
    )


def _member_marked_out_of_pool(d: dict[str, Any]) -> None:
    d["open_visits"][0]["team"][0] = {
        "badge": d["open_visits"][0]["team"][0]["badge"],
        "role": "组长",
        "in_pool": False,
    }


def _recusal_never_met(d: dict[str, Any]) -> None:
    """A true, committed recusal listed (and opened) for a joined target although no walk met
    that inspector (37023 has no quota left: in no rotation)."""
    _add_visit_recusal(d, lambda u: u in d["failed_teams"]["joined"], "37023")


def _recusal_not_deciding(d: dict[str, Any]) -> None:
    """A join blocked by a member out of the pool, and a true recusal (of somebody not on the
    team) listed as if it had decided."""
    v = d["open_visits"][0]
    v["team"][0] = {"badge": "X0000", "role": "组长", "in_pool": False}
    _add_visit_recusal(d, lambda u: u == v["uscc"])


def _repeated_visit_recusal(d: dict[str, Any]) -> None:
    listed = d["failed_teams"]["visit_recused"]
    u = next(iter(listed))
    listed[u] = listed[u] * 2


def _recusal_not_opened(d: dict[str, Any]) -> None:
    d["recusal_openings"] = [
        o for o in d["recusal_openings"] if o["uscc"] not in d["failed_teams"]["visit_recused"]
    ]


def _no_visit_recused(d: dict[str, Any]) -> None:
    _recusal_not_opened(d)
    del d["failed_teams"]["visit_recused"]


FAILED_FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "more extension": (_claim_more_extension, "extension forged"),
    "a join dropped": (_drop_a_join, "joins forged"),
    "stray visit_recused": (_recusal_for_a_target_without_visit, "却有 visit_recused"),
    "member out of pool": (_member_marked_out_of_pool, "in_pool"),
    "recusal never met": (_recusal_never_met, "recusal not taken"),
    "recusal not deciding": (_recusal_not_deciding, "recusal not deciding"),
    "visit_recused repeated": (_repeated_visit_recusal, "排序且不重复"),
    "visit recusal not opened": (_recusal_not_opened, "recusal not opened"),
    "visit_recused missing": (_no_visit_recused, "malformed"),
}


@pytest.mark.parametrize("case", sorted(FAILED_FORGERIES))
def test_each_failed_join_check_refuses_its_forgery(case: str) -> None:
    record, plan, population, frame = _failed_with_joins(max_tasks=2)
    tamper, needle = FAILED_FORGERIES[case]
    record["_population"] = population
    tamper(record)
    del record["_population"]
    report = _check_failed(record, plan, population, frame)
    assert report.exit_code == 1
    assert any(needle in p for p in report.problems), report.problems
