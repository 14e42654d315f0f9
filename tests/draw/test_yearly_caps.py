"""The yearly cap per institution, tiered by credit grade (docs/rules.md#r4-5), the pure side.

A unit at its grade's cap (inspections this year, frozen in the frame) is out of the eligible
set like a cooling unit, unless exempt (a complaint); when the floor n_h cannot be met without
it, the floor wins and the task says so (`despite_cap`, a reason). The frame carries the counts
(covered by frame_sha256), and docs/verify_draw.py replays and refuses forgeries.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.draw import (
    ALGORITHM,
    ALGORITHM_V2,
    POPULATION_HEADER_V2,
    POPULATION_HEADER_V2_CAPS,
    DrawInputError,
    SamplingParams,
    Unit,
    cap_reason,
    cooling_reason,
    draw_targets,
    population_file_chunks,
    read_population_file,
    ticket_of,
)
from app.stats.estimators import COOLING_SUFFIX, frames_from_draw, observation_of
from tests.draw.draw_helpers import DICE, ITEMS, SEED, as_json, load_verifier, uscc, v2_body

verifier = load_verifier()
CAPS = {"A": 1, "B": 2}
HOSPITAL = "定点医疗机构"


def unit(k: int, stratum: str, grade: str, checks: int, exempt: bool = False, **kw: Any) -> Unit:
    return Unit(
        uscc=uscc(k),
        stratum=stratum,
        kind=HOSPITAL,
        grade=grade,
        weight=1.0,
        cooling_items=kw.get("cooling", frozenset()),
        region="370102",
        name=f"医院{k}",
        year_checks=(checks, exempt),
    )


# "大": 20 units, ratio 0.2 → n_h = 4, equal π (so ticket order decides). The five units with
# the smallest tickets: grade A inspected once this year (A cap 1: at the cap) — a draw without
# caps takes four of them; the sixth: grade A inspected once but with a complaint (exempt);
# the rest B/C, B inspected once (under the B cap 2).
_ORDER = sorted(range(20), key=lambda k: ticket_of(SEED, uscc(k)))
BIG = [unit(k, "大", "A", 1) for k in _ORDER[:5]] + [unit(_ORDER[5], "大", "A", 1, exempt=True)]
BIG += [unit(k, "大", "BC"[k % 2], 1) for k in _ORDER[6:]]
CAPPED = {u.uscc for u in BIG[:5]}
# "小": 3 units all at their cap (A once, A twice, B twice): the floor (min 2) needs two of them.
SMALL = [unit(20, "小", "A", 1), unit(21, "小", "A", 2), unit(22, "小", "B", 2)]
# "冷": one unit that is both cooling for every item and at its cap, one eligible, floor 2.
COLD = [
    unit(30, "冷", "A", 3, cooling=frozenset({"YB-01"})),
    unit(31, "冷", "C", 5),
]
POPULATION = BIG + SMALL + COLD


def params(caps: dict[str, int] | None = None, **kw: Any) -> SamplingParams:
    return SamplingParams(
        ratio=0.2,
        min_per_stratum=2,
        algorithm=ALGORITHM_V2,
        yearly_caps=CAPS if caps is None else caps,
        **kw,
    )


def uncapped(population: list[Unit]) -> list[Unit]:
    """The same units in a frame without year checks (a plan without caps)."""
    return [
        Unit(u.uscc, u.stratum, u.kind, u.grade, u.weight, u.cooling_items, u.region, u.name)
        for u in population
    ]


def by_stratum(draw: Any, key: str) -> list[Any]:
    return [t for t in draw.tasks if t.stratum == key]


def test_a_unit_at_its_cap_is_not_drawn_while_the_floor_can_be_met_without_it() -> None:
    draw = draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params())
    big = next(s for s in draw.strata if s.key == "大")
    assert (big.N, big.eligible, big.n, big.despite_cap) == (20, 15, 4, 0)
    tasks = by_stratum(draw, "大")
    assert len(tasks) == 4 and not CAPPED & {t.uscc for t in tasks}
    # every eligible unit keeps π ≥ ratio; nothing here was drawn despite the cap
    assert all(t.inclusion_prob >= 0.2 and t.despite_cap is False for t in tasks)
    assert all(t.reason is None for t in tasks)
    # the same seed without caps draws one of the capped units: the cap changed the draw
    plain = draw_targets(
        seed=SEED, population=uncapped(POPULATION), items=ITEMS, params=params(caps={})
    )
    assert CAPPED & {t.uscc for t in by_stratum(plain, "大")}
    assert all(t.despite_cap is None for t in plain.tasks)  # not published without caps
    assert "despite_cap" not in as_json(plain)["strata"][0]
    assert "yearly_caps" not in as_json(plain)["params"]


def test_a_complaint_keeps_a_unit_at_its_cap_eligible() -> None:
    draw = draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params())
    # the exempt unit 5 counts among the eligible (15 = 20 − the five capped)
    assert next(s for s in draw.strata if s.key == "大").eligible == 15
    # alone with capped units it is drawn as an eligible unit, not as a floor fill
    lone = [BIG[5], *SMALL]
    only = draw_targets(seed=SEED, population=lone, items=ITEMS, params=params())
    exempt = next(t for t in only.tasks if t.uscc == BIG[5].uscc)
    assert exempt.despite_cap is False and exempt.inclusion_prob == 1.0
    # without the complaint it would be capped like the others
    plain = [unit(5, "大", "A", 1), *SMALL]
    stratum = draw_targets(seed=SEED, population=plain, items=ITEMS, params=params()).strata
    assert [(s.key, s.eligible) for s in stratum] == [("大", 0), ("小", 0)]


def test_grades_without_a_cap_and_units_below_it_stay_eligible() -> None:
    draw = draw_targets(seed=SEED, population=SMALL, items=ITEMS, params=params({"A": 3}))
    # A cap 3: once and twice are below it; B has no cap at all
    assert [(s.eligible, s.despite_cap) for s in draw.strata] == [(3, 0)]


def test_the_floor_wins_over_the_cap_and_says_which_and_why() -> None:
    draw = draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params())
    small = next(s for s in draw.strata if s.key == "小")
    assert (small.N, small.eligible, small.n, small.n_floor, small.despite_cap) == (3, 0, 2, 2, 2)
    assert small.despite_cooldown == 0
    tasks = by_stratum(draw, "小")
    # taken from the capped units in ticket order (the two smallest), each with π = 2/3
    ranked = sorted(SMALL, key=lambda u: (ticket_of(SEED, u.uscc), u.uscc))
    assert [t.uscc for t in tasks] == [u.uscc for u in ranked[:2]]
    assert all(t.despite_cap is True and not t.despite_cooldown for t in tasks)
    assert all(t.inclusion_prob == 2 / 3 for t in tasks)
    grade_of = {u.uscc: (u.grade, u.year_checks) for u in SMALL}
    for t in tasks:
        grade, (checks, _) = grade_of[t.uscc]
        assert t.reason == cap_reason(checks, grade, CAPS[grade])
        assert t.reason == (
            f"本年度已检查 {checks} 次（{grade}级上限 {CAPS[grade]} 次），但为满足本层最低抽查数而抽取"
        )


def test_a_fill_both_cooling_and_capped_says_both() -> None:
    draw = draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params())
    cold = next(s for s in draw.strata if s.key == "冷")
    assert (cold.eligible, cold.n, cold.despite_cooldown, cold.despite_cap) == (1, 2, 1, 1)
    fill = next(t for t in draw.tasks if t.uscc == COLD[0].uscc)
    assert fill.despite_cooldown and fill.despite_cap
    assert fill.reason == f"{cooling_reason(365)}；{cap_reason(3, 'A', 1)}"
    assert fill.items == ("YB-01",)


def test_the_frame_records_the_year_checks_and_reads_back() -> None:
    frame = b"".join(population_file_chunks(POPULATION, ITEMS, algorithm=ALGORITHM_V2))
    lines = frame.decode().splitlines()
    assert lines[0] == POPULATION_HEADER_V2_CAPS
    line = next(x for x in lines if x.startswith(BIG[5].uscc))
    assert line == f"{BIG[5].uscc},大,{HOSPITAL},A,1.0,,1,1,370102,{BIG[5].name}"
    assert f"{BIG[0].uscc},大,{HOSPITAL},A,1.0,,1,,370102,{BIG[0].name}" in lines
    back = read_population_file(frame)
    assert sorted(back.units(), key=lambda u: u.uscc) == sorted(POPULATION, key=lambda u: u.uscc)
    again = b"".join(population_file_chunks(back, ITEMS, algorithm=ALGORITHM_V2))
    assert again == frame
    # a plan without caps keeps the /2 frame it always had
    plain = b"".join(population_file_chunks(uncapped(POPULATION), ITEMS, algorithm=ALGORITHM_V2))
    assert plain.decode().splitlines()[0] == POPULATION_HEADER_V2


_capped_unit = st.builds(
    lambda k, grade, checks, exempt, cooling, name: Unit(
        uscc(k), f"S{k % 3}", HOSPITAL, grade, 1.0, cooling, "370102", name, (checks, exempt)
    ),
    st.integers(0, 5000),
    st.sampled_from([None, "A", "B", "C"]),
    st.integers(0, 12),
    st.booleans(),
    st.sampled_from([frozenset(), frozenset({"YB-01"})]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=8,
    ),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_capped_unit, min_size=1, max_size=25, unique_by=lambda u: u.uscc))
def test_a_capped_frame_round_trips_and_the_verifier_replays_any_draw_of_it(
    population: list[Unit],
) -> None:
    data = b"".join(population_file_chunks(population, ITEMS, algorithm=ALGORITHM_V2))
    again = b"".join(
        population_file_chunks(read_population_file(data), ITEMS, algorithm=ALGORITHM_V2)
    )
    assert again == data
    rows = verifier.parse_population(data)
    assert verifier.population_text(rows, ALGORITHM_V2, caps=True).encode("utf-8") == data
    draw = as_json(draw_targets(seed=SEED, population=population, items=ITEMS, params=params()))
    assert verifier.replay({**draw, "algorithm": ALGORITHM_V2}, rows) == {
        "strata": draw["strata"],
        "tasks": draw["tasks"],
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",1,,370102", ",01,,370102", "year_checks"),
        (",1,,370102", ",-1,,370102", "year_checks"),
        (",1,,370102", ",x,,370102", "year_checks"),
        (",1,,370102", ",1,yes,370102", "cap_exempt"),
    ],
)
def test_the_frame_reader_refuses_year_checks_it_would_not_write(
    old: str, new: str, message: str
) -> None:
    frame = b"".join(population_file_chunks(POPULATION, ITEMS, algorithm=ALGORITHM_V2)).decode()
    bad = frame.replace(old, new, 1)
    assert bad != frame
    with pytest.raises(DrawInputError, match=message):
        read_population_file(bad.encode())


def test_caps_and_the_frame_year_checks_go_together() -> None:
    with pytest.raises(DrawInputError, match="年度检查上限与抽样框不符"):
        draw_targets(seed=SEED, population=uncapped(POPULATION), items=ITEMS, params=params())
    with pytest.raises(DrawInputError, match="年度检查上限与抽样框不符"):
        draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params(caps={}))
    with pytest.raises(ValueError, match="spotcheck-draw/2"):
        SamplingParams(ratio=0.2, algorithm=ALGORITHM, yearly_caps=CAPS)
    with pytest.raises(ValueError, match="正整数"):
        SamplingParams(ratio=0.2, algorithm=ALGORITHM_V2, yearly_caps={"A": 0})
    with pytest.raises(DrawInputError, match="全部对象给出或全部不给"):
        draw_targets(
            seed=SEED,
            population=[*uncapped(BIG[:1]), *SMALL],
            items=ITEMS,
            params=params(),
        )


def test_statistics_put_a_capped_fill_in_the_resting_frame() -> None:
    draw = as_json(draw_targets(seed=SEED, population=POPULATION, items=ITEMS, params=params()))
    frames = {f.key: f for f in frames_from_draw(draw["strata"])}
    # "冷": one fill both cooling and capped counts once in the resting frame
    assert (frames["冷"].size, frames["冷"].drawn) == (1, 1)
    assert (frames["冷" + COOLING_SUFFIX].size, frames["冷" + COOLING_SUFFIX].drawn) == (1, 1)
    assert (frames["小" + COOLING_SUFFIX].size, frames["小" + COOLING_SUFFIX].drawn) == (3, 2)
    capped_fill = next(t for t in draw["tasks"] if t["stratum"] == "小")
    assert observation_of(capped_fill, None).frame == "小" + COOLING_SUFFIX


# --- the verifier ---------------------------------------------------------------------------


def honest() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, str]]]:
    body, plan, frame = v2_body(
        POPULATION, params(), source=DICE, entropy="骰子 3-1-4-1-5-9", draw_id="CAP-D1"
    )
    plan["versions"][0]["spec"] = {"yearly_caps": dict(CAPS)}
    return body, plan, verifier.parse_population(frame)


def _check(body: dict[str, Any], plan: dict[str, Any], rows: Any) -> list[str]:
    return list(verifier.check(body, rows, plan=plan).problems)


def test_the_honest_capped_draw_verifies_completely() -> None:
    body, plan, rows = honest()
    report = verifier.check(body, rows, plan=plan)
    assert (report.problems, report.not_checked) == ([], [])
    assert body["params"]["yearly_caps"] == CAPS
    assert any(t["despite_cap"] for t in body["tasks"])


def _unneeded_capped_unit(d: dict[str, Any]) -> None:
    """The forger ignores the caps (the uncapped draw of the same seed) but publishes them."""
    plain = as_json(
        draw_targets(
            seed=d["seed"], population=uncapped(POPULATION), items=ITEMS, params=params(caps={})
        )
    )
    assert CAPPED & {t["uscc"] for t in plain["tasks"]}
    tasks = [t | {"despite_cap": False} for t in plain["tasks"]]
    d["tasks"] = [
        {"id": f"{d['id']}-{n:05d}", **t, "required_expertise": [], "team": []}
        for n, t in enumerate(tasks, start=1)
    ]
    for s, p in zip(d["strata"], plain["strata"], strict=True):
        s.update(n=p["n"])


def _fill_without_flag(d: dict[str, Any]) -> None:
    t = next(t for t in d["tasks"] if t["despite_cap"] and not t["despite_cooldown"])
    t.update(despite_cap=False, reason=None)


def _fill_without_reason(d: dict[str, Any]) -> None:
    next(t for t in d["tasks"] if t["despite_cap"]).update(reason=None)


def _caps_changed(d: dict[str, Any]) -> None:
    d["params"]["yearly_caps"] = {"A": 2, "B": 2}


def _caps_dropped(d: dict[str, Any]) -> None:
    del d["params"]["yearly_caps"]


def _count_changed(d: dict[str, Any]) -> None:
    next(s for s in d["strata"] if s["key"] == "小").update(despite_cap=1)


# forgery → (problem without the frame or None if only the replay shows it, problem with it)
CASES: dict[str, tuple[Any, str | None, str]] = {
    "capped unit drawn without need": (_unneeded_capped_unit, None, "tasks differ from replay"),
    "fill missing its flag": (_fill_without_flag, None, "的 despite_cap"),
    "fill missing its reason": (
        _fill_without_reason,
        "已达年度检查上限仍抽取但未说明原因",
        "的 reason",
    ),
    "caps changed in the published plan": (
        _caps_changed,
        "yearly caps differ",
        "yearly caps differ",
    ),
    "caps dropped from the params": (_caps_dropped, "yearly caps differ", "yearly caps differ"),
    "stratum count changed": (_count_changed, None, "strata differ from replay"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_cap_forgery_is_refused(case: str) -> None:
    tamper, without_frame, with_frame = CASES[case]
    body, plan, rows = honest()
    tamper(body)
    problems = _check(body, plan, None)
    if without_frame is None:
        assert problems == [], problems
    else:
        assert any(without_frame in p for p in problems), problems
    problems = _check(body, plan, rows)
    assert any(with_frame in p for p in problems), problems


def test_caps_dropped_from_the_params_do_not_replay_without_the_plan_either() -> None:
    body, _plan, rows = honest()
    _caps_dropped(body)
    problems = verifier.check(body, rows).problems
    assert any("population hash mismatch" in p for p in problems), problems


def test_despite_cap_on_a_plan_without_caps_is_refused() -> None:
    body, plan, _frame = v2_body(
        uncapped(POPULATION), params(caps={}), source=DICE, entropy="骰子 2-7-1-8"
    )
    body["tasks"][0]["despite_cap"] = False
    problems = _check(body, plan, None)
    assert any("计划未设年度检查上限，却标注 despite_cap" in p for p in problems), problems


def test_a_frame_without_year_checks_under_capped_params_is_refused() -> None:
    body, plan, rows = honest()
    bare = [{k: v for k, v in r.items() if k not in ("year_checks", "cap_exempt")} for r in rows]
    problems = _check(copy.deepcopy(body), plan, bare)
    assert any("population hash mismatch" in p for p in problems), problems
    assert any("无法重算" in p for p in problems), problems


def test_frame_rows_with_malformed_year_checks_are_named() -> None:
    body, plan, rows = honest()
    rows = copy.deepcopy(rows)
    next(r for r in rows if r["uscc"] == BIG[0].uscc)["cap_exempt"] = "yes"
    problems = _check(body, plan, rows)
    assert any("year_checks / cap_exempt 不合法" in p for p in problems), problems
