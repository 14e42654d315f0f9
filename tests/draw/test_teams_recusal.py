"""spotcheck-draw/2 teams: private recusals (keyed tokens, only recusals that changed a step
are published) with an exact public replay. /1 behaviour is pinned by tests/draw/test_teams.py."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app.draw.teams as teams_mod
from app.draw.teams import (
    TEAMS_ALGORITHM_2,
    Inspector,
    TeamAssignment,
    TeamInfeasible,
    TeamParams,
    TeamTask,
    assign_teams,
    audit_exclusions,
    declared_recusals,
    keyed_exclusion_token,
    team_problems,
)
from tests.draw.test_teams import (
    EXPECTED_VECTOR,
    JOINT,
    SEEDS,
    T1,
    T2,
    TEAM_FORGERIES,
    VECTOR_SEED,
    _brute_force_feasible,
    _needs_repair_instance,
    badges,
    insp,
    params,
    published,
    task,
    vector_inputs,
    verifier,
)

KEY = bytes.fromhex("6b" * 32)  # a fixed test key; the server derives one per draw
V1 = teams_mod.TEAMS_ALGORITHM


def v2(p: TeamParams) -> TeamParams:
    return replace(p, algorithm=TEAMS_ALGORITHM_2)


def draw2(
    seed: str,
    tasks: list[TeamTask],
    pool: list[Inspector],
    p: TeamParams,
    key: bytes = KEY,
) -> TeamAssignment:
    return assign_teams(seed=seed, tasks=tasks, inspectors=pool, params=v2(p), recusal_key=key)


def _dense(n_tasks: int = 80, n_insp: int = 40) -> tuple[list[TeamTask], list[Inspector]]:
    """A small province where every inspector declares conflicts with a fifth of the targets
    and some are employed by one: many recusals change steps, many do not."""
    regions = [f"37{c:02d}{k:02d}" for c in range(1, 4) for k in range(1, 3)]
    tasks = [
        task(f"9137{k:014d}", regions[k % len(regions)], *(("医学",) if k % 3 == 0 else ()))
        for k in range(n_tasks)
    ]
    pool = [
        insp(
            f"B{k:04d}",
            regions[(k * 5) % len(regions)],
            expertise=(("医学",) if k % 2 else ("财务",)),
            conflicts=tuple(t.uscc for n, t in enumerate(tasks) if (n * 7 + k * 3) % 5 == 0),
            employer=tasks[(k * 11) % n_tasks].uscc if k % 4 == 0 else None,
        )
        for k in range(n_insp)
    ]
    pool += [
        insp(f"J{k:03d}", regions[k % len(regions)], dept=JOINT, conflicts=(tasks[k].uscc,))
        for k in range(20)
    ]
    return tasks, pool


DENSE_PARAMS = params(
    cross_region=True, max_tasks_per_inspector=6, joint_departments=(JOINT,), joint_members=1
)


def _true_pairs(pool: list[Inspector], tasks: list[TeamTask]) -> set[tuple[str, str]]:
    drawn = {t.uscc for t in tasks}
    return {(b, u) for b, u in declared_recusals(pool) if u in drawn}


def _recused_pairs(d: dict[str, Any]) -> set[tuple[str, str]]:
    return {(b, t["uscc"]) for t in d["tasks"] for b in t["recused"]}


def _without_tokens(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "exclusions"}


def _only(pool: list[Inspector], keep: set[tuple[str, str]]) -> list[Inspector]:
    """The same pool with only the recusals in `keep` (as declared conflicts)."""
    return [
        replace(
            i,
            employer_uscc=None,
            conflicts=frozenset(u for b, u in keep if b == i.badge),
        )
        for i in pool
    ]


# --- keyed tokens ------------------------------------------------------------------------------


def test_v2_token_is_the_keyed_hmac_of_the_spec() -> None:
    want = hmac.new(KEY, f"spotcheck-draw/2:exclude|37004|{T1}".encode(), hashlib.sha256)
    assert keyed_exclusion_token(KEY, "37004", T1) == want.hexdigest()[:32]
    assert keyed_exclusion_token(KEY, "37004", T1) != keyed_exclusion_token(b"x" * 16, "37004", T1)


@pytest.mark.parametrize("length", [16, 32, 63, 64, 65, 200])
def test_batched_tokens_are_the_keyed_hmac_for_every_key_length(length: int) -> None:
    key = bytes((7 * n + 1) % 256 for n in range(length))
    tokens = teams_mod._KeyedTokens(key)
    for badge, uscc in [("37004", T1), ("检查员|9", "91370000MA3C5X"), ("", "")]:
        want = hmac.new(key, f"spotcheck-draw/2:exclude|{badge}|{uscc}".encode(), hashlib.sha256)
        assert tokens(badge, uscc) == want.hexdigest()[:32]
        assert tokens(badge, uscc) == keyed_exclusion_token(key, badge, uscc)


def test_v2_publishes_a_token_for_every_excluded_pair() -> None:
    tasks, pool = _dense()
    r = draw2("s", tasks, pool, DENSE_PARAMS)
    want = sorted(keyed_exclusion_token(KEY, b, u) for b, u in _true_pairs(pool, tasks))
    assert list(r.exclusions) == want and len(want) > 100


def _attack(d: dict[str, Any]) -> set[tuple[str, str]]:
    """What anyone can recover from a published draw: try every pool badge against every drawn
    target with every token formula whose inputs are public (and some guessed keys)."""
    tokens = set(d["exclusions"])
    seed = d["seed"]
    guesses = [b"", seed.encode(), hashlib.sha256(seed.encode()).digest(), b"spotcheck-draw/2"]
    found = set()
    for row in d["inspector_pool"]["rows"]:
        b = row[0]
        for t in d["tasks"]:
            u = t["uscc"]
            candidates = [teams_mod.exclusion_token(seed, b, u)]
            candidates += [keyed_exclusion_token(k, b, u) for k in guesses]
            if tokens.intersection(candidates):
                found.add((b, u))
    return found


def test_brute_force_recovers_every_conflict_under_v1_and_nothing_under_v2() -> None:
    tasks, pool = _dense()
    truth = _true_pairs(pool, tasks)
    old = published(assign_teams(seed="s", tasks=tasks, inspectors=pool, params=DENSE_PARAMS))
    assert _attack(old) == truth  # the /1 leak this version closes
    new = published(draw2("s", tasks, pool, DENSE_PARAMS))
    assert _attack(new) == set()
    assert len(new["exclusions"]) == len(truth)


def test_key_is_required_by_v2_and_refused_by_v1() -> None:
    pool, tasks = [insp("A"), insp("B")], [task(T1)]
    with pytest.raises(ValueError, match="recusal_key required"):
        assign_teams(seed="s", tasks=tasks, inspectors=pool, params=v2(params()))
    with pytest.raises(ValueError, match="recusal_key required"):
        draw2("s", tasks, pool, params(), key=b"short")
    with pytest.raises(ValueError, match="/2 only"):
        assign_teams(seed="s", tasks=tasks, inspectors=pool, params=params(), recusal_key=KEY)
    with pytest.raises(ValueError, match="unknown team algorithm"):
        assign_teams(
            seed="s", tasks=tasks, inspectors=pool, params=replace(params(), algorithm="x")
        )


# --- minimal disclosure ----------------------------------------------------------------------


def test_conflict_of_someone_not_drawn_anyway_leaves_no_trace_but_a_token() -> None:
    pool = [insp(x) for x in "ABCDEF"]
    for s in SEEDS:
        free = published(draw2(s, [task(T1)], pool, params()))
        outsider = next(
            b for b in "ABCDEF" if b not in {m["badge"] for m in free["tasks"][0]["team"]}
        )
        marked = [i if i.badge != outsider else replace(i, conflicts=frozenset({T1})) for i in pool]
        d = published(draw2(s, [task(T1)], marked, params()))
        assert d["tasks"][0]["recused"] == []
        assert _without_tokens(d) == _without_tokens(free)  # byte for byte but the token
        assert d["exclusions"] == [keyed_exclusion_token(KEY, outsider, T1)]
        named = {m["badge"] for t in d["tasks"] for m in t["team"]} | set(d["tasks"][0]["recused"])
        assert outsider not in named and T1 not in json.dumps(d["inspector_pool"])


def test_conflict_that_would_have_been_drawn_is_named_and_replayed() -> None:
    pool = [insp(x) for x in "ABCDEF"]
    named = 0
    for s in SEEDS:
        free = draw2(s, [task(T1)], pool, params())
        drawn = sorted(badges(free, T1))[0]
        marked = [i if i.badge != drawn else replace(i, employer_uscc=T1) for i in pool]
        r = draw2(s, [task(T1)], marked, params())
        assert drawn not in badges(r, T1)
        assert r.recused == {T1: (drawn,)}
        d = published(r)
        assert d["tasks"][0]["recused"] == [drawn]
        assert verifier.replay_teams(d) == []
        named += 1
    assert named == len(SEEDS)


@pytest.mark.parametrize("seed", ["s", "t", "u"])
def test_recusals_that_changed_nothing_are_not_derivable(seed: str) -> None:
    # The published draw (all but the opaque tokens) is exactly the draw made with only the
    # published recusals: every other declared conflict and employer left no trace in it.
    tasks, pool = _dense()
    full = published(draw2(seed, tasks, pool, DENSE_PARAMS))
    shown = _recused_pairs(full)
    truth = _true_pairs(pool, tasks)
    assert shown < truth and len(truth) - len(shown) > 100  # most recusals are hidden
    assert shown  # and the instance does exercise recusals that change a step
    only = published(draw2(seed, tasks, _only(pool, shown), DENSE_PARAMS))
    assert _without_tokens(only) == _without_tokens(full)


# --- exact replay ------------------------------------------------------------------------------


def test_replay_is_exact_on_a_dense_draw_with_joint_members_and_experts() -> None:
    tasks, pool = _dense()
    pool += [
        insp(f"E{k}", f"37{k % 3 + 1:02d}02", kind="专家", conflicts=(tasks[k].uscc,))
        for k in range(16)
    ]
    for s in SEEDS[:8]:
        r = draw2(s, tasks, pool, replace(DENSE_PARAMS, experts=1))
        d = published(r)
        assert verifier.replay_teams(d) == []
        by_badge = {i.badge: i for i in pool}
        for t in tasks:  # and every team respects every recusal, published or not
            team = [(m.badge, by_badge[m.badge]) for m in r.team(t.uscc)]
            assert team_problems(t.uscc, team, target_region=t.region, cross_region_level=6) == []


def test_the_v1_spec_vector_under_v2_gives_the_same_teams() -> None:
    # 37004's conflict never decides a step there, so /2 shows it only as a token
    tasks, pool, p = vector_inputs()
    r = draw2(VECTOR_SEED, tasks, pool, p)
    d = published(r)
    assert verifier.replay_teams(d) == []
    assert d["team_params"]["algorithm"] == "spotcheck-draw/2 teams"
    assert d["exclusions"] == ["9eae20b2dfbc70980d6385971242d86b"]
    assert all(t["recused"] == [] for t in d["tasks"])
    assert {u: [(m.badge, m.role) for m in team] for u, team in r.teams.items()} == EXPECTED_VECTOR


def v2_vector_inputs() -> tuple[list[TeamTask], list[Inspector], TeamParams]:
    """docs/draw-spec-teams.md §10.6: the /1 vector, 37003 employed by 91370403MA3C4X1Q3C."""
    tasks, pool, p = vector_inputs()
    employed = [replace(i, employer_uscc=Q3C) if i.badge == "37003" else i for i in pool]
    return tasks, employed, v2(p)


Q3C = "91370403MA3C4X1Q3C"


def test_spec_vector_v2() -> None:
    tasks, pool, p = v2_vector_inputs()
    r = assign_teams(seed=VECTOR_SEED, tasks=tasks, inspectors=pool, params=p, recusal_key=KEY)
    d = published(r)
    assert {u: [(m.badge, m.role) for m in team] for u, team in r.teams.items()} == {
        "91370402MA3C4X1Q2B": [("37002", "组长"), ("37004", "组员"), ("W02", "联合检查")],
        Q3C: [("37001", "组长"), ("37005", "组员"), ("W02", "联合检查")],
        "91370502MA3C4X1Q4D": [("37001", "组长"), ("37003", "组员"), ("W01", "联合检查")],
    }
    # 37003 (employer) would have been taken for the free slot; once skipped, 37004 (conflict)
    # would have been: both are shown, nothing else is
    assert {t["uscc"]: t["recused"] for t in d["tasks"]} == {
        "91370402MA3C4X1Q2B": [],
        Q3C: ["37003", "37004"],
        "91370502MA3C4X1Q4D": [],
    }
    assert d["exclusions"] == [
        "0e42f798b73b348abdde96ee1c7d5280",
        "9eae20b2dfbc70980d6385971242d86b",
    ]
    assert verifier.replay_teams(d) == []
    assert audit_exclusions(KEY, d, declared_recusals(pool)) == []


def test_repair_seats_no_recused_member_and_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    # The repair instance with recusals on the outside members: some seeds reach a path through
    # a recused member, which /2 marks and searches again.
    tasks, pool, p = _needs_repair_instance()
    pool += [insp(f"X{k}", "370501", max_tasks=1, conflicts=(T1, T2)) for k in range(3)]
    pool += [insp("Y", "370502", max_tasks=2, conflicts=(T2,))]
    real = teams_mod._Solver.repair
    marked_in_repair: list[str] = []

    def spy(self: Any, pool_: Any, u0: int, g0: int, *, report: bool) -> bool:
        before = sum(len(v) for v in self.excluded.values())
        ok = bool(real(self, pool_, u0, g0, report=report))
        if sum(len(v) for v in self.excluded.values()) > before:
            marked_in_repair.append("x")
        return ok

    monkeypatch.setattr(teams_mod._Solver, "repair", spy)
    for s in [f"r{k}" for k in range(60)]:
        try:
            r = draw2(s, tasks, pool, p)
        except TeamInfeasible:
            pytest.fail("feasible instance reported infeasible")
        assert not badges(r, T1) & {"X0", "X1", "X2"} and not badges(r, T2) & {
            "X0",
            "X1",
            "X2",
            "Y",
        }
        assert verifier.replay_teams(published(r)) == []
    assert marked_in_repair


@pytest.mark.parametrize("seed", ["a", "d", "e", "f"])
def test_replay_is_exact_when_caps_are_tight(seed: str) -> None:
    # lead capacity equals demand (40 x 4 = 160 slots): the repair runs, through recusals too
    tasks, pool = _dense()
    r = draw2(seed, tasks, pool, replace(DENSE_PARAMS, max_tasks_per_inspector=4))
    assert max(r.loads.values()) == 4
    assert verifier.replay_teams(published(r)) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_tasks=st.integers(1, 3),
    specs=st.lists(
        st.tuples(
            st.sampled_from(["370402", "370403", "370501"]),
            st.sampled_from([("医学",), ("药学",), ("医学", "药学")]),
            st.sampled_from([None, 1, 2]),
            st.sampled_from([(), ("T0",), ("T1",), ("T0", "T2")]),
        ),
        min_size=2,
        max_size=6,
    ),
    needs=st.lists(st.sampled_from([(), ("医学",), ("药学",)]), min_size=3, max_size=3),
    cross=st.booleans(),
    seed=st.text(min_size=1, max_size=8),
)
def test_v2_found_whenever_one_exists_and_replays(
    n_tasks: int,
    specs: list[tuple[str, tuple[str, ...], int | None, tuple[str, ...]]],
    needs: list[tuple[str, ...]],
    cross: bool,
    seed: str,
) -> None:
    regions = ["370402", "370403", "370501"]
    tasks = [task(f"T{k}", regions[k], *needs[k]) for k in range(n_tasks)]
    pool = [
        insp(f"B{k}", r, expertise=e, max_tasks=cap, conflicts=c)
        for k, (r, e, cap, c) in enumerate(specs)
    ]
    p = params(cross_region=cross)
    feasible = _brute_force_feasible(tasks, pool, p)
    try:
        r = draw2(seed, tasks, pool, p)
    except TeamInfeasible:
        assert not feasible
        return
    assert feasible
    d = published(r)
    assert verifier.replay_teams(d) == []
    assert _recused_pairs(d) <= _true_pairs(pool, tasks)
    by_badge = {i.badge: i for i in pool}
    for t in tasks:
        team = [(m.badge, by_badge[m.badge]) for m in r.team(t.uscc)]
        level = 6 if cross else None
        assert team_problems(t.uscc, team, target_region=t.region, cross_region_level=level) == []


# --- forgeries -----------------------------------------------------------------------------------


def _rich_draw2() -> dict[str, Any]:
    tasks, pool = _dense()
    pool += [
        insp(f"E{k}", f"37{k % 3 + 1:02d}02", kind="专家", expertise=("信息",)) for k in range(16)
    ]
    return published(draw2("verify-me", tasks, pool, replace(DENSE_PARAMS, experts=1)))


@pytest.mark.parametrize("case", sorted(TEAM_FORGERIES))
def test_each_v1_forgery_is_refused_under_v2(case: str) -> None:
    tamper, message = TEAM_FORGERIES[case]
    d = _rich_draw2()
    assert verifier.check_constraints(d) == []
    tamper(d)
    assert any(message in p for p in verifier.check_constraints(d))
    assert verifier.replay_teams(d) != []


def _task_with_recusal(d: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in d["tasks"] if t["recused"])


def _claim_untaken_recusal(d: dict[str, Any]) -> None:
    t = d["tasks"][0]
    used = {m["badge"] for m in t["team"]} | set(t["recused"])
    t["recused"] = sorted(
        [*t["recused"], next(r[0] for r in d["inspector_pool"]["rows"] if r[0] not in used)]
    )


def _seat_recused(d: dict[str, Any]) -> None:
    t = _task_with_recusal(d)
    t["team"][1]["badge"] = t["recused"][0]


def _hide_recusal(d: dict[str, Any]) -> None:
    _task_with_recusal(d)["recused"].pop(0)


def _swap_recusal(d: dict[str, Any]) -> None:
    # a recusal the team needed, moved to a member it did not: claims a recusal where none
    # was taken and drops one that was
    t = _task_with_recusal(d)
    t["recused"] = sorted([*t["recused"][1:], _other_badge(d, t)])


def _other_badge(d: dict[str, Any], t: dict[str, Any]) -> str:
    used = {m["badge"] for m in t["team"]} | set(t["recused"])
    return next(r[0] for r in d["inspector_pool"]["rows"] if r[0] not in used)


V2_FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "recusal claimed where none was taken": (_claim_untaken_recusal, "在重放中从未被跳过"),
    "recused inspector on the team": (_seat_recused, "应回避"),
    "recusal hidden": (_hide_recusal, "检查组与重放结果不一致"),
    "recusal moved to another member": (_swap_recusal, "在重放中从未被跳过"),
    "recused badge not in the pool": (
        lambda d: d["tasks"][0].update(recused=["NOBODY"]),
        "不在公布的执法检查人员名录中",
    ),
    "recused list unsorted": (
        lambda d: _task_with_recusal(d).update(recused=["ZZZ", *_task_with_recusal(d)["recused"]]),
        "按执法证号排序",
    ),
    "token not hex": (lambda d: d.update(exclusions=[*d["exclusions"], "not a token"]), "十六进制"),
}


@pytest.mark.parametrize("case", sorted(V2_FORGERIES))
def test_each_v2_forgery_is_refused(case: str) -> None:
    tamper, message = V2_FORGERIES[case]
    d = _rich_draw2()
    assert verifier.replay_teams(d) == []
    tamper(d)
    problems = verifier.replay_teams(d)
    assert any(message in p for p in problems), problems


def test_missing_recused_field_is_malformed_not_valid() -> None:
    d = _rich_draw2()
    del d["tasks"][0]["recused"]
    assert verifier.verify_teams(d) != []


# --- the auditor's check ---------------------------------------------------------------------


def test_audit_passes_an_honest_draw_and_names_each_kind_of_lie() -> None:
    tasks, pool = _dense()
    declared = declared_recusals(pool)
    honest = published(draw2("s", tasks, pool, DENSE_PARAMS))
    assert audit_exclusions(KEY, honest, declared) == []
    # the public cannot check these; the key holder can
    assert audit_exclusions(b"w" * 32, honest, declared) != []  # a token list for another key

    d = copy.deepcopy(honest)
    d["exclusions"].pop(3)
    assert any("没有对应的排除标记" in p for p in audit_exclusions(KEY, d, declared))

    d = copy.deepcopy(honest)
    d["exclusions"] = sorted([*d["exclusions"], keyed_exclusion_token(KEY, "B0001", T2)])
    extra = audit_exclusions(KEY, d, [x for x in declared if x != ("B0001", T2)])
    assert any("不对应任何已申报的回避关系" in p for p in extra)

    d = copy.deepcopy(honest)
    t = d["tasks"][0]
    used = {m["badge"] for m in t["team"]}
    fake = next(
        r[0]
        for r in d["inspector_pool"]["rows"]
        if (r[0], t["uscc"]) not in declared and r[0] not in used
    )
    t["recused"] = sorted([*t["recused"], fake])
    assert any("recusal invented" in p for p in audit_exclusions(KEY, d, declared))

    # a team member whose conflict the server hid from both `recused` and the tokens
    d = copy.deepcopy(honest)
    t = d["tasks"][5]
    member = t["team"][0]["badge"]
    assert any(
        "应回避却在检查组中" in p
        for p in audit_exclusions(KEY, d, [*declared, (member, t["uscc"])])
    )


def test_audit_ignores_pairs_outside_the_draw() -> None:
    tasks, pool = _dense()
    honest = published(draw2("s", tasks, pool, DENSE_PARAMS))
    outside = [("B0001", "91370000NOTDRAWN00"), ("NOT-IN-POOL", tasks[0].uscc)]
    assert audit_exclusions(KEY, honest, [*declared_recusals(pool), *outside]) == []


# --- the in-browser verifier (app/publish/static/verify.js) agrees -----------------------------

VERIFY_JS = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "verify.js"
NODE_RUN = """
const fs = require("fs");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
(async () => {
  const out = [];
  for (const d of JSON.parse(fs.readFileSync(process.argv[2], "utf8"))) {
    const v = window.SpotcheckVerify;
    out.push([...(await v.replayTeams(d)), ...(await v.checkTeamConstraints(d))]);
  }
  console.log(JSON.stringify(out));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run verify.js")
def test_browser_verifier_replays_v2_and_refuses_the_same_forgeries(tmp_path: Path) -> None:
    tasks, pool, p = _needs_repair_instance()
    pool += [insp(f"X{k}", "370501", max_tasks=1, conflicts=(T1, T2)) for k in range(3)]
    good = [published(draw2(f"r{k}", tasks, pool, p)) for k in range(12)]
    t, v, vp = v2_vector_inputs()
    good.append(
        published(assign_teams(seed=VECTOR_SEED, tasks=t, inspectors=v, params=vp, recusal_key=KEY))
    )
    good.append(_rich_draw2())
    forged = []
    for tamper, _ in V2_FORGERIES.values():
        d = copy.deepcopy(good[-1])
        tamper(d)
        forged.append(d)
    path = tmp_path / "draws.json"
    path.write_text(json.dumps(good + forged, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        ["node", "-e", NODE_RUN, str(VERIFY_JS), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    js = json.loads(run.stdout)
    assert js[: len(good)] == [[] for _ in good]
    for (_, message), problems, d in zip(
        V2_FORGERIES.values(), js[len(good) :], forged, strict=True
    ):
        assert problems and len(problems) == len(verifier.replay_teams(d))
        assert any(message in x for x in problems), problems
