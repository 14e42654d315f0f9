"""A frozen frame's binary columns (app/draw/columns.py): the very Population the file reads as."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.draw import (
    ALGORITHM_V2,
    ALGORITHM_V3,
    DrawInputError,
    PlanItem,
    Population,
    PopulationBuilder,
    SamplingParams,
    Unit,
    columns,
    draw_targets,
    read_population_file,
)
from app.draw.engine import PopulationFile
from app.draw.population import PackedStrings, in_uscc_order
from app.plans.frame import read_frame
from tests.draw.draw_helpers import ITEMS, SEED, units, units_v2

WIDE = [PlanItem("YB-01", frozenset()), PlanItem("YB-02", frozenset({"定点零售药店"}))]


def _stored(population: list[Unit] | Population, items: list[PlanItem], algorithm: str):
    """(file bytes, gzip, columns as a capture stores them)."""
    written = PopulationFile(population, items, algorithm)
    data = b"".join(written.chunks())
    lines_gz = gzip.compress(data, mtime=0)
    stored = columns.of_written(written.columns(), hashlib.sha256(data).hexdigest(), lines_gz)
    return data, lines_gz, stored


def _same(a: Population, b: Population) -> None:
    assert a.data == b.data
    assert a.pid.tolist() == b.pid.tolist()
    assert a.profiles == b.profiles
    assert a.names is not None and b.names is not None
    assert list(a.names) == list(b.names) and list(a.regions or ()) == list(b.regions or ())
    assert a.source == b.source


_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
_unit = st.builds(
    lambda k, grade, weight, cooling, region, name, year: Unit(
        units(1, start=k)[0].uscc,
        f"S{k % 3}",
        ("定点医疗机构", "定点零售药店")[k % 2],
        grade,
        weight,
        cooling,
        region,
        name,
        year,
    ),
    st.integers(0, 5000),
    st.sampled_from([None, "A", "B"]),
    st.sampled_from([1.0, 0.5, 2.5, 1e-3]),
    # YB-02 does not apply to a 定点医疗机构: the file leaves it out (two profiles, one text)
    st.sampled_from([frozenset(), frozenset({"YB-01"}), frozenset({"YB-02"})]),
    st.sampled_from(["370102", "370203", ""]),
    _name | st.sampled_from(["=1+1", "'quoted", "-5", 'a,"b"\nc']),
    st.sampled_from([(0, False), (2, True)]),
)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(_unit, min_size=1, max_size=25, unique_by=lambda u: u.uscc),
    st.sampled_from([ALGORITHM_V2, ALGORITHM_V3]),
    st.booleans(),
)
def test_columns_read_back_as_the_file_does(
    population: list[Unit], algorithm: str, caps: bool
) -> None:
    """Whatever the units (quoted and formula-guarded names, a cooling item the file leaves
    out, yearly caps, any input order), the columns decode to what parsing the file gives."""
    if not caps:
        population = [dataclasses.replace(u, year_checks=None) for u in population]
    data, lines_gz, stored = _stored(population, WIDE, algorithm)
    assert stored is not None
    parsed = read_population_file(data, guarded=algorithm == ALGORITHM_V3)
    decoded = columns.decode(stored, lines_gz)
    assert decoded is not None
    _same(decoded, parsed)
    # and the engine writes the same file of it
    assert b"".join(PopulationFile(decoded, WIDE, algorithm).chunks()) == data
    # the parsed population gives the same columns again (app/draw/columns.py `of_file`)
    again = columns.of_file(parsed, lines_gz)
    assert again is not None
    decoded_again = columns.decode(again, lines_gz)
    assert decoded_again is not None
    _same(decoded_again, parsed)


def test_a_draw_on_the_columns_is_the_draw_on_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    population = units_v2(300, strata=4, grades="ABCD", weights=(0.5, 2.0))
    data, lines_gz, stored = _stored(population, ITEMS, ALGORITHM_V3)
    assert stored is not None
    params = SamplingParams(ratio=0.1, weighted=True, algorithm=ALGORITHM_V3)
    from_file = draw_targets(
        seed=SEED, population=read_frame(lines_gz, ALGORITHM_V3), items=ITEMS, params=params
    )
    read = read_frame(lines_gz, ALGORITHM_V3, stored)
    assert isinstance(read.names, PackedStrings)  # not parsed: the columns

    from app.draw import engine

    def no_rewrite(self: object, size: int = 0) -> object:
        raise AssertionError("the frame was written again to be hashed")

    monkeypatch.setattr(engine._Snapshot, "chunks", no_rewrite)
    from_columns = draw_targets(seed=SEED, population=read, items=ITEMS, params=params)
    assert from_columns.to_dict() == from_file.to_dict()
    assert from_columns.population_sha256 == hashlib.sha256(data).hexdigest()


def test_columns_of_another_gzip_are_not_used() -> None:
    """Columns name the gzip they were made with: beside any other file (a frame rewritten,
    columns left over) the draw parses the file it has."""
    population = units_v2(20, strata=2)
    _data, lines_gz, stored = _stored(population, ITEMS, ALGORITHM_V3)
    other = units_v2(21, strata=2)
    other_data, other_gz, _ = _stored(other, ITEMS, ALGORITHM_V3)
    assert stored is not None
    assert columns.decode(stored, other_gz) is None
    read = read_frame(other_gz, ALGORITHM_V3, stored)
    assert len(read) == 21 and read.source is not None
    assert read.source.sha256 == hashlib.sha256(other_data).hexdigest()
    assert columns.decode(b"not columns", lines_gz) is None
    assert columns.decode(columns.MAGIC + b"garbage", lines_gz) is None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: {**c, "usccs": c["usccs"][18:36] + c["usccs"][:18] + c["usccs"][36:]},  # order
        lambda c: {**c, "profile_texts": ("S0,定点医疗机构,,1.00,", *c["profile_texts"][1:])},
        lambda c: {**c, "regions": ["37,01", *c["regions"][1:]]},
        lambda c: {**c, "pid": c["pid"] + 10_000},
        lambda c: {**c, "names": c["names"][1:]},
    ],
)
def test_columns_that_do_not_hold_together_are_not_used(spoil) -> None:
    """The columns are a cache of the file: any that would not read as a file does (unsorted,
    a profile text the reader refuses, a region with a comma, a profile number out of range,
    a name missing) are left aside and the file is parsed."""
    population = units_v2(20, strata=2)
    data, lines_gz, _ = _stored(population, ITEMS, ALGORITHM_V3)
    cols = PopulationFile(population, ITEMS, ALGORITHM_V3).columns()
    fields = {
        "usccs": cols.usccs,
        "pid": cols.pid,
        "profile_texts": cols.profile_texts,
        "regions": list(cols.regions),
        "names": list(cols.names),
    }
    spoilt = columns.encode(
        header=cols.header,
        file_sha256=hashlib.sha256(data).hexdigest(),
        gz_sha256=hashlib.sha256(lines_gz).hexdigest(),
        **spoil(fields),
    )
    assert spoilt is not None and columns.decode(spoilt, lines_gz) is None
    read = read_frame(lines_gz, ALGORITHM_V3, spoilt)
    assert isinstance(read.names, list) and len(read) == 20  # parsed from the file


def test_a_name_holding_nul_is_not_packed() -> None:
    population = units_v2(3, strata=1)
    population[1] = dataclasses.replace(population[1], name="甲\x00乙")
    assert _stored(population, ITEMS, ALGORITHM_V3)[2] is None


def test_packed_strings_index_slice_and_iterate() -> None:
    texts = ["", "a", "第一人民医院", "", 'x,"y"\nz']
    packed = PackedStrings(columns.pack(texts) or b"", len(texts))
    assert len(packed) == 5 and list(packed) == texts
    assert [packed[k] for k in range(5)] == texts and packed[-1] == texts[-1]
    assert packed[1:4] == texts[1:4] and packed[3:3] == [] and packed[::2] == texts[::2]
    assert list(PackedStrings(b"", 0)) == [] and list(PackedStrings(b"", 1)) == [""]
    with pytest.raises(ValueError, match="损坏"):
        PackedStrings(b"a\x00b", 3)


class _SmallBatches(PopulationBuilder):
    _BATCH = 4  # several batches joined in a small population


def _built(population: list[Unit], *, packed: bool) -> Population:
    builder = _SmallBatches(packed=packed)
    builder.add_units(population)
    return builder.build()


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        _unit.map(lambda u: dataclasses.replace(u, year_checks=None)),
        max_size=25,
        unique_by=lambda u: u.uscc,
    ),
    st.sampled_from([ALGORITHM_V2, ALGORITHM_V3]),
    st.one_of(st.none(), st.sampled_from(["甲\x00乙", "\x00"])),
)
def test_a_capture_with_packed_names_writes_what_lists_write(
    population: list[Unit], algorithm: str, nul_name: str | None
) -> None:
    """A frame capture's builder joins names and regions as they come (`packed`): for any
    units in any order (a name holding a NUL: kept as lists) the population is the one the
    list builder makes, and writes the same file and the same columns."""
    if nul_name is not None and population:
        population[len(population) // 2] = dataclasses.replace(population[0], name=nul_name)
        population = list({u.uscc: u for u in population}.values())
    packed, lists = _built(population, packed=True), _built(population, packed=False)
    assert isinstance(packed.names, PackedStrings) == (nul_name is None or not population)
    assert packed.data == lists.data and packed.pid.tolist() == lists.pid.tolist()
    assert list(packed.names or ()) == [u.name or "" for u in population]
    assert list(packed.regions or ()) == [u.region or "" for u in population]
    if not population:
        return
    assert _stored(packed, WIDE, algorithm) == _stored(lists, WIDE, algorithm)


def test_a_packed_capture_refuses_a_region_as_the_list_one_does() -> None:
    population = units_v2(6, strata=1)
    population[4] = dataclasses.replace(population[4], region="37,01")
    for packed in (True, False):
        with pytest.raises(DrawInputError, match="区划代码"):
            _built(population, packed=packed)


def test_packed_strings_take_reorders_without_decoding() -> None:
    texts = ["", "a", "第一人民医院", "", 'x,"y"\nz']
    packed = PackedStrings(columns.pack(texts) or b"", len(texts))
    order = np.array([4, 0, 2, 1, 3], dtype=np.int64)
    taken = packed.take(order, batch=2)
    assert isinstance(taken, PackedStrings) and list(taken) == [texts[i] for i in order]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_unit, min_size=0, max_size=25, unique_by=lambda u: u.uscc),
    st.sampled_from([ALGORITHM_V2, ALGORITHM_V3]),
    st.booleans(),
)
def test_a_population_in_uscc_order_writes_the_same_file_and_columns(
    population: list[Unit], algorithm: str, packed: bool
) -> None:
    """`in_uscc_order` (what a frame capture keeps): the same units sorted by USCC, packed
    texts still packed, and the same file and columns written of them."""
    given_ = _built(population, packed=packed)
    ordered = in_uscc_order(given_)
    assert sorted(ordered.units(), key=lambda u: u.uscc) == list(ordered.units())
    assert sorted(given_.units(), key=lambda u: u.uscc) == list(ordered.units())
    assert isinstance(ordered.names, PackedStrings) == isinstance(given_.names, PackedStrings)
    assert in_uscc_order(ordered) is ordered
    if population:
        assert _stored(ordered, WIDE, algorithm) == _stored(given_, WIDE, algorithm)


def test_a_population_in_uscc_order_keeps_a_duplicate_for_the_draw_to_refuse() -> None:
    population = units_v2(5, strata=1)
    population.append(dataclasses.replace(population[1], name="again"))
    ordered = in_uscc_order(_built(population[::-1], packed=True))
    assert len(ordered) == 6
    with pytest.raises(DrawInputError, match="重复"):
        PopulationFile(ordered, WIDE, ALGORITHM_V2)
