"""Target draw spotcheck-draw/1: consistency with consistent_sampler, invariants, verifier."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import pytest
from consistent_sampler import sampler
from consistent_sampler.consistent_sampler import first_fraction
from hypothesis import given, settings
from hypothesis import strategies as st

from app.draw import (
    DrawInputError,
    PlanItem,
    SamplingParams,
    Unit,
    cooling_reason,
    draw_targets,
    stratum_key,
    ticket_of,
)
from app.draw.sampling import solve_inclusion
from app.draw.tickets import prefix_of_ticket, ticket_digests, ticket_prefixes
from tests.draw.draw_helpers import ITEMS, SEED, as_json, file_text, load_verifier, rows_of, units

verifier = load_verifier()
P05 = SamplingParams(ratio=0.05)


def by_stratum(draw, key):  # type: ignore[no-untyped-def]
    return [t.uscc for t in draw.tasks if t.stratum == key]


def test_tickets_equal_consistent_sampler_and_prefix_key() -> None:
    ids = [u.uscc for u in units(300)]
    digests = ticket_digests(SEED, [i.encode() for i in ids])
    prefixes = ticket_prefixes(digests).tolist()
    for k, i in enumerate(ids):
        ticket = ticket_of(SEED, i)
        assert ticket == first_fraction(i, SEED)
        assert prefixes[k] == prefix_of_ticket(ticket) == int(ticket[2:14])


def test_equal_weights_equal_consistent_sampler_per_stratum() -> None:
    population = units(900, strata=3)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=P05)
    assert len(draw.strata) == 6
    for s in draw.strata:
        ids = [u.uscc for u in population if u.stratum == s.key]
        assert by_stratum(draw, s.key) == list(sampler(ids, seed=SEED, take=s.n, output="id"))
        assert s.n == max(1, math.ceil(0.05 * s.N))


def test_stratum_size_is_exact_decimal_not_float() -> None:
    # 0.07 * 100 == 7.000000000000001 in floats; the floor must be 7, not 8.
    population = [Unit(u.uscc, "S", "定点医疗机构", None, 1.0, frozenset()) for u in units(100)]
    draw = draw_targets(
        seed=SEED, population=population, items=ITEMS, params=SamplingParams(ratio=0.07)
    )
    assert draw.strata[0].n == 7


def test_min_per_stratum_and_cap() -> None:
    population = units(6, strata=3)  # 6 strata of 1 unit each
    draw = draw_targets(
        seed=SEED,
        population=population,
        items=ITEMS,
        params=SamplingParams(ratio=0.05, min_per_stratum=2),
    )
    assert all(s.n == s.N == 1 for s in draw.strata)
    assert len(draw.tasks) == 6


def test_cooldown_fill_marks_targets_and_reason() -> None:
    items = [PlanItem("YB-01", frozenset())]
    population = [
        Unit(u.uscc, "S", "定点医疗机构", None, 1.0, frozenset({"YB-01"})) for u in units(10)
    ]
    population[3] = Unit(population[3].uscc, "S", "定点医疗机构", None, 1.0, frozenset())
    params = SamplingParams(ratio=0.3, cooldown_days=365)  # n = 3, only 1 eligible
    draw = draw_targets(seed=SEED, population=population, items=items, params=params)
    assert draw.strata[0].n == 3 and draw.strata[0].despite_cooldown == 2
    fresh = [t for t in draw.tasks if not t.despite_cooldown]
    assert [t.uscc for t in fresh] == [population[3].uscc]
    assert fresh[0].inclusion_prob == 1.0
    cooled = [t for t in draw.tasks if t.despite_cooldown]
    expected = list(
        sampler([u.uscc for u in population if u.cooling_items], seed=SEED, take=2, output="id")
    )
    assert sorted(t.uscc for t in cooled) == sorted(expected)
    assert all(t.reason == cooling_reason(365) and "365天" in t.reason for t in cooled)
    assert all(t.items == ("YB-01",) and t.inclusion_prob == 2 / 9 for t in cooled)


def test_partly_cooling_target_keeps_open_items_only() -> None:
    population = [
        Unit(u.uscc, "S", "定点零售药店", None, 1.0, frozenset({"YB-02"})) for u in units(4)
    ]
    draw = draw_targets(
        seed=SEED, population=population, items=ITEMS, params=SamplingParams(ratio=1.0)
    )
    assert len(draw.tasks) == 4
    assert all(t.items == ("YB-01",) and not t.despite_cooldown for t in draw.tasks)


def test_grade_rates_come_on_top_of_the_ratio_share_of_the_others() -> None:
    population = units(40, strata=1, grades="ABCD")  # 2 strata (kinds), 20 each, 5 grade D
    params = SamplingParams(ratio=0.05, grade_rates={"D": 1.0})
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    for s in draw.strata:
        members = [u for u in population if u.stratum == s.key]
        d_units = {u.uscc for u in members if u.grade == "D"}
        # every D unit, plus 5% of the rest (ceil(5 + 0.05 * 15) = 6), never just the D units
        assert s.n == math.ceil(len(d_units) + 0.05 * (len(members) - len(d_units)))
        assert d_units <= set(by_stratum(draw, s.key))


def test_no_unit_is_left_with_zero_probability_when_rates_fill_the_floor() -> None:
    # 4 grade-D units at rate 0.5 would exactly fill n_h = 2 and leave everybody else at pi = 0
    population = units(30, strata=1, grades="AAAAAAD")
    params = SamplingParams(ratio=0.05, grade_rates={"D": 0.5})
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    data = as_json(draw)
    replay = verifier.replay(data, rows_of(population))
    assert replay["tasks"] == data["tasks"]
    for s in draw.strata:
        members = [u for u in population if u.stratum == s.key]
        rated = sum(u.grade == "D" for u in members)
        assert s.n == math.ceil(Fraction(rated, 2) + Fraction(5, 100) * (len(members) - rated))
        # pi of the unrated A units: what is left after the D minimums — strictly positive
        pi_d, pi_a = solve_inclusion([(0.0, 1.0, len(members) - rated), (0.5, 1.0, rated)], s.n)[
            ::-1
        ]
        assert pi_a > 0 and pi_d >= 0.5


def test_weighted_pi_sums_to_n_and_verifier_replays() -> None:
    population = units(500, strata=2, weights=(0.5, 1.0, 2.0, 4.0, 9.0))
    params = SamplingParams(ratio=0.1, grade_rates={"C": 0.2}, weighted=True)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    data = as_json(draw)
    assert verifier.verify(data, rows_of(population)) == []
    replay = verifier.replay(data, rows_of(population))
    assert replay["tasks"] == data["tasks"]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 120),
    strata=st.integers(1, 5),
    ratio=st.sampled_from([0.05, 0.1, 0.07, 0.3, 1.0]),
    weighted=st.booleans(),
    rate=st.sampled_from([0.0, 0.2, 1.0]),
    permutation_seed=st.randoms(use_true_random=False),
)
def test_properties(n, strata, ratio, weighted, rate, permutation_seed) -> None:  # type: ignore[no-untyped-def]
    population = units(n, strata=strata, weights=(0.3, 1.0, 3.0))
    params = SamplingParams(ratio=ratio, grade_rates={"B": rate}, weighted=weighted)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    shuffled = list(population)
    permutation_seed.shuffle(shuffled)
    again = draw_targets(seed=SEED, population=shuffled, items=ITEMS, params=params)
    assert again == draw  # independent of registry order
    for s in draw.strata:
        assert s.n >= min(s.N, max(1, math.ceil(ratio * s.N - 1e-9)))  # floor always met
        picked = [t for t in draw.tasks if t.stratum == s.key]
        assert len(picked) == s.n
    assert all(0 < t.inclusion_prob <= 1 for t in draw.tasks)
    assert verifier.verify(as_json(draw), rows_of(population)) == []


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 80), extra=st.integers(1000, 2000), weighted=st.booleans())
def test_adding_a_target_leaves_other_strata_unchanged(n, extra, weighted) -> None:  # type: ignore[no-untyped-def]
    population = units(n, strata=3, weights=(0.5, 2.0))
    params = SamplingParams(ratio=0.2, weighted=weighted)
    before = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    newcomer = units(1, strata=3, start=extra, weights=(0.5, 2.0))[0]
    after = draw_targets(seed=SEED, population=[*population, newcomer], items=ITEMS, params=params)
    for s in before.strata:
        if s.key != newcomer.stratum:
            assert [t for t in after.tasks if t.stratum == s.key] == [
                t for t in before.tasks if t.stratum == s.key
            ]


def test_population_hash_is_hash_of_population_file() -> None:
    population = units(50)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=P05)
    text = file_text(population)
    assert draw.population_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert text.splitlines()[0] == "uscc,stratum,kind,grade,weight,cooling_items"
    assert text.splitlines()[1:] == sorted(text.splitlines()[1:])


def test_verifier_detects_tampering() -> None:
    population = units(200)
    data = as_json(draw_targets(seed=SEED, population=population, items=ITEMS, params=P05))
    rows = rows_of(population)
    assert verifier.verify(data, rows) == []
    swapped = dict(
        data, tasks=[dict(data["tasks"][0], uscc=population[0].uscc), *data["tasks"][1:]]
    )
    assert verifier.verify(swapped, rows)
    fewer = dict(data, tasks=data["tasks"][1:])
    assert any("任务数" in p for p in verifier.verify(fewer, None))
    rows[0] = dict(rows[0], weight="2.0")
    assert any("population_sha256" in p for p in verifier.verify(data, rows))


def test_verify_teams_requires_team_params_when_teams_are_published() -> None:
    assert verifier.verify_teams({}) == []
    assert verifier.verify_teams({"tasks": [{"team": [{"badge": "X", "role": "组长"}]}]})


@pytest.mark.parametrize(
    ("population", "message"),
    [
        ([Unit("91370100abcdefghij", "S", "定点医疗机构", None, 1.0, frozenset())], "18位"),
        ([units(1)[0], units(1)[0]], "重复"),
        ([Unit(units(1)[0].uscc, "S", "医保经办机构", None, 1.0, frozenset())], "不适用"),
        ([Unit(units(1)[0].uscc, "S", "定点医疗机构", None, 0.0, frozenset())], "正数"),
    ],
)
def test_bad_population_rejected(population: list[Unit], message: str) -> None:
    items = [PlanItem("YB-01", frozenset({"定点医疗机构"}))]
    with pytest.raises(DrawInputError, match=message):
        draw_targets(seed=SEED, population=population, items=items, params=P05)


def test_stratum_key() -> None:
    assert stratum_key(["定点医疗机构", "一级", "370402"]) == "定点医疗机构|一级|370402"
    with pytest.raises(DrawInputError):
        stratum_key(["a|b"])


@pytest.mark.parametrize("algorithm", ["spotcheck-draw/1", "spotcheck-draw/3"])
def test_equal_ticket_prefixes_leave_the_draw_unchanged(monkeypatch, algorithm) -> None:  # type: ignore[no-untyped-def]
    # With the 12-digit prefixes cut to 2 digits nearly every unit ties with others: the
    # candidates kept per segment, the cut of each segment and the order of the tasks must then
    # be decided by the full ticket and the USCC, giving the same draw as distinct prefixes.
    from app.draw import engine
    from tests.draw.draw_helpers import units_v2

    population = units_v2(3000, strata=7) if algorithm.endswith("/3") else units(3000, strata=7)
    params = SamplingParams(ratio=0.1, min_per_stratum=2, algorithm=algorithm)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    exact = engine.ticket_prefixes

    def coarse(digests: bytes):  # type: ignore[no-untyped-def]
        return exact(digests) // 10**10 * 10**10

    monkeypatch.setattr(engine, "ticket_prefixes", coarse)
    tied = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    assert tied.to_dict() == draw.to_dict()
    assert [t.uscc for t in draw.tasks] != sorted(t.uscc for t in draw.tasks)  # not trivially


def test_ticket_prefixes_at_the_edges_of_the_range() -> None:
    values = [0, 1, 10**12 - 1, 10**12, 10**12 + 7, 2**256 - 1, 2**256 - 10**12, 123456789012]
    digests = b"".join(v.to_bytes(32, "big") for v in values)
    expected = [int(f"{v % 10**12:012d}"[::-1]) for v in values]
    assert ticket_prefixes(digests).tolist() == expected
