"""The verifier's replay of the join decisions (one visit across plans, draw-spec-teams §11).

An honest draw whose targets had open visits of another plan listed (`open_visits`): some join
(the visit's team satisfies the plan), one cannot (the team lacks an expertise) and gets its own
team and a note. Each forgery — a team swapped, a join to a visit not listed, a listed visit
skipped although its team satisfied the rule, a join the rule refuses, a note or visit id
changed, a member's published attributes altered — is refused by the verifier; an invented
recusal (the one reason the public cannot re-derive) is refused by the auditor's check.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.draw.teams import (
    KIND_OFFICER,
    TEAMS_ALGORITHM,
    Inspector,
    OpenVisit,
    TeamParams,
    TeamTask,
    VisitMember,
    assign_teams,
    audit_exclusions,
    declared_recusals,
    exclusion_token,
)
from app.plans.visits import Need, decide
from tests.draw.draw_helpers import load_verifier, uscc

verifier = load_verifier()
SEED = "ab" * 32
LEAD = "某市医疗保障局"
REGIONS = ("370402", "370403")
SKILLS = ("医学", "药学", "财务", "医学;药学")
PARAMS = TeamParams(size=2, lead_department=LEAD, algorithm=TEAMS_ALGORITHM)


def _pool() -> list[Inspector]:
    return [
        Inspector(
            badge=f"B{n:03d}",
            name=f"人员{n}",
            department=LEAD,
            region=REGIONS[n % 2],
            expertise=frozenset(SKILLS[n % 4].split(";")),
            kind=KIND_OFFICER,
            employer_uscc=None,
            conflicts=frozenset({uscc(5)}) if n == 3 else frozenset(),
            max_tasks=None,
        )
        for n in range(12)
    ]


def _member(person: Inspector, role: str) -> VisitMember:
    return VisitMember(
        badge=person.badge,
        role=role,
        kind=person.kind,
        department=person.department,
        region=person.region,
        expertise=person.expertise,
    )


def _visit(k: int, members: list[tuple[Inspector, str]]) -> OpenVisit:
    return OpenVisit(
        uscc=uscc(k),
        visit=f"OTHER-D1-{k:05d}",
        draw="OTHER-D1",
        task=f"OTHER-D1-{k:05d}",
        plan="OTHER",
        window_start="2026-12-01",
        window_end="2026-12-31",
        team=tuple(_member(p, r) for p, r in members),
    )


def _honest() -> dict[str, Any]:
    pool = _pool()
    p = {i.badge: i for i in pool}
    needs = [
        Need(uscc(k), REGIONS[k % 2], frozenset({"药学"} if k in (1, 2) else {"医学"}))
        for k in range(8)
    ]
    found = {
        # B001 (药学) and B002 (财务): covers 药学 → target 1 joins
        uscc(1): _visit(1, [(p["B001"], "组长"), (p["B002"], "组员")]),
        # B000 (医学) and B002 (财务): no 药学 → target 2 gets its own team and a note
        uscc(2): _visit(2, [(p["B000"], "组长"), (p["B002"], "组员")]),
        # B004 (医学) and B006 (财务): covers 医学 → target 4 joins
        uscc(4): _visit(4, [(p["B004"], "组长"), (p["B006"], "组员")]),
    }
    visits = decide(found, needs, PARAMS, pool)
    assert set(visits.joined) == {uscc(1), uscc(4)} and set(visits.notes) == {uscc(2)}
    own = [
        TeamTask(n.uscc, n.region, n.required_expertise)
        for n in needs
        if n.uscc not in visits.joined
    ]
    teams = assign_teams(seed=SEED, tasks=own, inspectors=pool, params=PARAMS)
    team_of = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
    tasks = []
    for n, need in enumerate(needs, start=1):
        task_id = f"THIS-D1-{n:05d}"
        team = visits.team(need.uscc) if need.uscc in visits.joined else team_of[need.uscc]["team"]
        tasks.append(
            {
                "id": task_id,
                "uscc": need.uscc,
                "region": need.region,
                "required_expertise": sorted(need.required_expertise),
                "team": team,
                **visits.task_fields(task_id, need.uscc),
            }
        )
    return {
        "id": "THIS-D1",
        "plan": "THIS",
        "seed": SEED,
        "team_params": teams.params.to_dict(),
        "inspector_pool": teams.inspector_pool_dict(),
        "exclusions": list(teams.exclusions),
        "open_visits": visits.published(),
        "tasks": tasks,
    }


def _task(d: dict[str, Any], k: int) -> dict[str, Any]:
    return next(t for t in d["tasks"] if t["uscc"] == uscc(k))


def _visit_of(d: dict[str, Any], k: int) -> dict[str, Any]:
    return next(v for v in d["open_visits"] if v["uscc"] == uscc(k))


def _swap_team(d: dict[str, Any]) -> None:
    _task(d, 1)["team"] = copy.deepcopy(_task(d, 0)["team"])


def _unlisted(d: dict[str, Any]) -> None:
    d["open_visits"] = [v for v in d["open_visits"] if v["uscc"] != uscc(4)]


def _join_unlisted(d: dict[str, Any]) -> None:
    t = _task(d, 0)
    t["joins"] = {"draw": "OTHER-D1", "task": "OTHER-D1-00000", "plan": "OTHER"}
    t["visit"] = "OTHER-D1-00000"


def _skip(d: dict[str, Any]) -> None:
    """A forger keeps target 4 out of the visit and gives it another (valid-looking) team."""
    t = _task(d, 4)
    del t["joins"]
    t["visit"] = t["id"]
    t["visit_note"] = "未能与 OTHER 计划的检查（OTHER-D1-00004）合并：现有检查组不具备医学专长"
    t["team"] = copy.deepcopy(_task(d, 0)["team"])


def _join_refused(d: dict[str, Any]) -> None:
    t = _task(d, 2)
    del t["visit_note"]
    t["joins"] = {"draw": "OTHER-D1", "task": "OTHER-D1-00002", "plan": "OTHER"}
    t["visit"] = "OTHER-D1-00002"
    t["team"] = [{"badge": m["badge"], "role": m["role"]} for m in _visit_of(d, 2)["team"]]


def _inflate_expertise(d: dict[str, Any]) -> None:
    """The listed team of target 2 is made to look as if it covered 药学, and target 2 joins."""
    _visit_of(d, 2)["team"][0]["expertise"] = ["医学", "药学"]
    _join_refused(d)


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "team swapped": (_swap_team, "team swapped"),
    "join to a visit not listed": (_unlisted, "join to a visit not listed"),
    "join invented": (_join_unlisted, "join to a visit not listed"),
    "listed visit skipped": (_skip, "listed visit skipped"),
    "join the rule refuses": (_join_refused, "不得并入"),
    "member attributes altered": (_inflate_expertise, "信息与本次公布的执法检查人员名录不一致"),
    "note changed": (
        lambda d: _task(d, 2).update(visit_note="未能合并：原因不详"),
        "visit_note 应为",
    ),
    "note on a joined task": (
        lambda d: _task(d, 1).update(visit_note="未能与 OTHER 计划的检查合并"),
        "已并入的任务不应有 visit_note",
    ),
    "note without a listed visit": (
        lambda d: _task(d, 0).update(visit_note="未能与 X 计划的检查合并"),
        "没有列出可合并的检查",
    ),
    "visit id of a joined task": (lambda d: _task(d, 1).update(visit="X"), "并入后 visit 应为"),
    "visit id of an own task": (lambda d: _task(d, 0).update(visit="X"), "visit 应为任务本身"),
    "visit id of a refused task": (
        lambda d: _task(d, 2).update(visit="OTHER-D1-00002"),
        "未并入的任务 visit 应为",
    ),
    "visit id missing": (lambda d: _task(d, 0).pop("visit"), "缺少 visit"),
    "open visits unsorted": (lambda d: d["open_visits"].reverse(), "open_visits 须按 uscc 排序"),
    "open visit of a target not drawn": (
        lambda d: d["open_visits"].append({**_visit_of(d, 4), "uscc": uscc(99)}),
        "不是本次抽中的对象",
    ),
    "open visit of this plan": (lambda d: _visit_of(d, 2).update(plan="THIS"), "属于本计划"),
    "open visit without a team": (lambda d: _visit_of(d, 2).update(team=[]), "没有检查组"),
    "recusal published that did not decide": (
        lambda d: _task(d, 2).update(visit_recused=["B000"]),
        "recusal not deciding",
    ),
    "recusal of somebody not on the team": (
        lambda d: _task(d, 2).update(visit_recused=["B011"]),
        "visit_recused 含不在该检查组中的人员",
    ),
    "recusal unsorted": (
        lambda d: _task(d, 2).update(visit_recused=["B002", "B000"]),
        "visit_recused 须为排序且不重复",
    ),
}


def test_the_honest_draw_with_open_visits_verifies() -> None:
    draw = _honest()
    assert verifier.replay_teams(draw) == []
    assert verifier.verify_teams(draw) == []
    joined = _task(draw, 1)
    assert joined["visit"] == "OTHER-D1-00001" and joined["joins"]["plan"] == "OTHER"
    assert _task(draw, 2)["visit_note"] == (
        "未能与 OTHER 计划的检查（OTHER-D1-00002）合并：现有检查组不具备药学专长"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_visit_check_refuses_its_forgery(case: str) -> None:
    tamper, message = CASES[case]
    draw = _honest()
    tamper(draw)
    problems = verifier.verify_teams(draw)
    assert any(message in p for p in problems), problems


def test_a_draw_without_open_visits_verifies_as_before() -> None:
    draw = _honest()
    for t in draw["tasks"]:  # as a draw made before visits: no fields, every task its own team
        for key in ("visit", "joins", "visit_note", "visit_recused"):
            t.pop(key, None)
    del draw["open_visits"]
    own = [
        TeamTask(t["uscc"], t["region"], frozenset(t["required_expertise"])) for t in draw["tasks"]
    ]
    teams = assign_teams(seed=SEED, tasks=own, inspectors=_pool(), params=PARAMS)
    by = {t["uscc"]: t["team"] for t in teams.to_dict()["tasks"]}
    for t in draw["tasks"]:
        t["team"] = by[t["uscc"]]
    draw["exclusions"] = list(teams.exclusions)
    assert verifier.verify_teams(draw) == []
    _task(draw, 1)["joins"] = {"draw": "OTHER-D1", "task": "OTHER-D1-00001", "plan": "OTHER"}
    assert any("join to a visit not listed" in p for p in verifier.verify_teams(draw))


def test_a_recusal_that_kept_a_task_from_joining_is_published_and_audited() -> None:
    pool = _pool()
    p = {i.badge: i for i in pool}
    # B003 (药学+医学) declared a conflict with target 5: the visit would satisfy the rule else
    visit = _visit(5, [(p["B003"], "组长"), (p["B004"], "组员")])
    need = Need(uscc(5), REGIONS[1], frozenset({"医学"}))
    visits = decide({uscc(5): visit}, [need], PARAMS, pool)
    assert not visits.joined and visits.recused == {uscc(5): ["B003"]}
    assert visits.notes[uscc(5)].endswith("现有检查组成员 B003 须回避该检查对象")
    fields = visits.task_fields("THIS-D1-00001", uscc(5))
    assert fields["visit"] == "THIS-D1-00001" and fields["visit_recused"] == ["B003"]
    # the verifier accepts the published recusal (it decided); the auditor checks it is declared
    draw = _honest()
    t = _task(draw, 4)  # a forger claims B004 is recused to keep target 4 out of the visit
    del t["joins"]
    t.update(
        visit=t["id"],
        visit_recused=["B004"],
        visit_note="未能与 OTHER 计划的检查（OTHER-D1-00004）合并：现有检查组成员 B004 须回避该检查对象",
        team=copy.deepcopy(_task(draw, 0)["team"]),
    )
    replay = verifier.verify_teams(draw)
    assert not any("visit_recused" in x or "visit_note" in x for x in replay)
    problems = audit_exclusions(b"k" * 16, _as_audited(draw), declared_recusals(pool))
    assert any("B004" in x and "recusal invented" in x for x in problems), problems


def _as_audited(draw: dict[str, Any]) -> dict[str, Any]:
    """audit_exclusions works on /2 keyed tokens: re-key this /1 draw's tokens for the test."""
    pool = _pool()
    pairs = declared_recusals(pool)
    tokens = {exclusion_token(SEED, b, u): (b, u) for b, u in pairs}
    from app.draw.teams import keyed_exclusion_token

    out = copy.deepcopy(draw)
    out["exclusions"] = sorted(
        keyed_exclusion_token(b"k" * 16, *tokens[x]) for x in draw["exclusions"] if x in tokens
    )
    return out


def test_a_joined_team_holding_a_recused_member_is_found_by_the_auditor() -> None:
    draw = _honest()
    pool = _pool()
    joined = _task(draw, 1)
    declared = [*declared_recusals(pool), (joined["team"][0]["badge"], joined["uscc"])]
    problems = audit_exclusions(b"k" * 16, _as_audited(draw), declared)
    assert any("所并入的检查组" in x for x in problems), problems
    assert audit_exclusions(b"k" * 16, _as_audited(draw), declared_recusals(pool)) == []


def test_the_verifier_states_the_join_rule_as_the_service_does() -> None:
    """The stdlib mirror of `join_problem` gives the same answer, rule by rule."""
    import random

    from app.draw.teams import KIND_EXPERT, join_problem

    rng = random.Random(16)
    kinds = (KIND_OFFICER, KIND_OFFICER, KIND_EXPERT)
    depts = (LEAD, "某市卫生健康委员会")
    seen: set[str | None] = set()
    for k in range(600):
        team = tuple(
            VisitMember(
                badge=f"M{j}",
                role="组员",
                in_pool=rng.random() > 0.05,
                kind=rng.choice(kinds),
                department=rng.choice(depts),
                region=rng.choice(("370402", "370403", "370502")),
                expertise=frozenset(rng.sample(("医学", "药学", "财务"), rng.randint(0, 2))),
            )
            for j in range(rng.randint(1, 4))
        )
        team = tuple(m if m.in_pool else VisitMember(m.badge, m.role, in_pool=False) for m in team)
        visit = OpenVisit(uscc(k), "V", "D", "T", "P", "2026-12-01", "2026-12-31", team)
        params = TeamParams(
            size=rng.choice((2, 3)),
            lead_department=LEAD,
            joint_departments=rng.choice(((), ("某市卫生健康委员会",))),
            experts=rng.choice((0, 0, 1)),
            cross_region=rng.random() < 0.5,
            region_level=rng.choice((4, 6)),
        )
        need = frozenset(rng.sample(("医学", "药学", "财务"), rng.randint(0, 2)))
        recused = [m.badge for m in team if rng.random() < 0.1]
        region = rng.choice(("370402", "370403"))
        mine = join_problem(
            visit, target_region=region, required_expertise=need, params=params, recused=recused
        )
        theirs = verifier.join_problem(
            visit.to_dict(), region, set(need), params.to_dict(), recused
        )
        assert mine == theirs
        seen.add(None if mine is None else next((r for r in RULES if r in mine), mine))
    assert seen == {None, *RULES}, seen  # every rule came up, and joins


RULES = (
    "不在执法检查人员名录库",
    "现有检查组执法人员",
    "现有检查组专家",
    "交叉互查",
    "专长",
    "某市卫生健康委员会执法人员",
    "须回避",
)


def test_a_listed_visit_whose_window_does_not_overlap_is_refused_with_the_plan_file() -> None:
    draw = _honest()
    plan = {"code": "THIS", "spec": {"window": {"start": "2026-12-20", "end": "2027-01-20"}}}
    assert verifier.verify_visit_windows(draw, plan) == []
    _visit_of(draw, 4)["window"] = {"start": "2026-11-01", "end": "2026-12-19"}
    problems = verifier.verify_visit_windows(draw, plan)
    assert len(problems) == 1 and "windows do not overlap" in problems[0]
    assert "plan window missing" in verifier.verify_visit_windows(draw, {"spec": {}})[0]
