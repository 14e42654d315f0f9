"""The columnar Population the draw runs on: same draw as Units, strict about its columns."""

from __future__ import annotations

import random

import numpy as np
import pytest

from app.draw import (
    DrawInputError,
    Population,
    PopulationBuilder,
    SamplingParams,
    Unit,
    draw_targets,
    population_lines,
)
from tests.draw.draw_helpers import ITEMS, SEED, as_json, units

P05 = SamplingParams(ratio=0.05)


def test_builder_stores_each_profile_once_and_round_trips_units() -> None:
    population = units(600, strata=3, grades="AB", weights=(1.0, 2.0))
    built = Population.from_units(population)
    assert len(built) == 600
    # 2 kinds x 3 strata (kind follows k % 2) x 2 grades x 2 weights, of which 12 combinations occur
    assert len(built.profiles) == len(
        {(u.stratum, u.kind, u.grade, u.weight, u.cooling_items) for u in population}
    )
    assert list(built.units()) == population


def test_draw_on_columns_equals_draw_on_units_in_any_order() -> None:
    population = units(2000, strata=4, grades="ABCD", weights=(0.5, 1.0, 3.0))
    params = SamplingParams(ratio=0.05, weighted=True, grade_rates={"D": 0.3})
    shuffled = population[:]
    random.Random(7).shuffle(shuffled)
    builder = PopulationBuilder()
    for u in shuffled:
        builder.add(u.uscc, u.stratum, u.kind, u.grade, u.weight, u.cooling_items)
    on_units = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    on_columns = draw_targets(seed=SEED, population=builder.build(), items=ITEMS, params=params)
    assert as_json(on_units) == as_json(on_columns)
    assert list(population_lines(population, ITEMS)) == list(
        population_lines(builder.build(), ITEMS)
    )


@pytest.mark.parametrize("bad", ["91370100MA3C8Y6X2", "91370100MA3C8Y6X2XX", "91370100ma3c8y6x2x"])
def test_a_uscc_of_the_wrong_form_is_refused_even_if_lengths_add_up(bad: str) -> None:
    good = units(2)
    # 17 + 19 characters add up to 2 x 18: the columns must still be refused, not misaligned.
    pair = [bad, good[0].uscc[:-1] + "0" + "Z"] if len(bad) == 17 else [bad, good[0].uscc]
    population = [Unit(u, "S", "定点医疗机构", None, 1.0, frozenset()) for u in pair]
    with pytest.raises(DrawInputError, match="18位"):
        draw_targets(seed=SEED, population=population, items=ITEMS, params=P05)


def test_population_columns_must_agree() -> None:
    data = "".join(u.uscc for u in units(3)).encode()
    profile = ("S", "定点医疗机构", None, 1.0, frozenset[str]())
    with pytest.raises(DrawInputError, match="数目不一致"):
        Population(data, [0, 0], [profile])
    with pytest.raises(DrawInputError, match="数目不一致"):
        Population(data[:-1], [0, 0, 0], [profile])
    with pytest.raises(DrawInputError, match="越界"):
        Population(data, [0, 1, 0], [profile])


def test_a_profile_no_unit_has_adds_no_stratum() -> None:
    population = Population.from_units(units(200, strata=2))
    unused = ("定点医疗机构|无人", "定点医疗机构", None, 1.0, frozenset[str]())
    padded = Population(population.data, population.pid, [*population.profiles, unused])
    plain = draw_targets(seed=SEED, population=population, items=ITEMS, params=P05)
    with_unused = draw_targets(seed=SEED, population=padded, items=ITEMS, params=P05)
    assert as_json(plain) == as_json(with_unused)
    assert "定点医疗机构|无人" not in {s.key for s in with_unused.strata}
    assert np.array_equal(padded.pid, population.pid)


def test_population_file_chunks_are_the_published_file_and_hash_to_its_sha256() -> None:
    import hashlib

    from app.draw import population_file_chunks
    from app.draw.engine import _Snapshot

    population = units(500, strata=5, grades="ABC")
    text = ("\n".join(population_lines(population, ITEMS)) + "\n").encode("utf-8")
    assert b"".join(population_file_chunks(population, ITEMS)) == text
    snap = _Snapshot(Population.from_units(population), ITEMS, P05)
    small = list(snap.chunks(size=7))  # many chunks, the last one short
    assert len(small) == 1 + -(-500 // 7) and b"".join(small) == text
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=P05)
    assert draw.population_sha256 == hashlib.sha256(text).hexdigest()
