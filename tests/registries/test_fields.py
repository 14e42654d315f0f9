"""Field rules: the inlined USCC check agrees with python-stdnum; fast and slow paths agree."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from app.registries.fields import (
    FIXMEDINS_LETTERS,
    TARGETS,
    USCC_ALPHABET,
    FieldError,
    _uscc_fast_ok,
    fixmedins_problem,
    row_is_clean,
)
from app.registries.validate import Validator, to_wire


def test_inlined_uscc_checksum_agrees_with_stdnum():
    rng = random.Random(20261124)
    for _ in range(20000):
        body = "".join(rng.choice("0123456789") for _ in range(8))
        body += "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        last = (
            stdnum_uscc.calc_check_digit(body) if rng.random() < 0.5 else rng.choice(USCC_ALPHABET)
        )
        value = body + last
        assert _uscc_fast_ok(value) == stdnum_uscc.is_valid(value), value


def _outcome(fn, value):
    try:
        return fn(value)
    except FieldError:
        return FieldError


@given(st.text(max_size=30) | st.sampled_from(["定点医疗机构", "'=1", " 370402 ", "医院\x07"]))
def test_fast_path_equals_full_check_on_clean_cells(text):
    # The importer takes the fast path only for rows that are NFC and control-free.
    if not row_is_clean([text]):
        return
    for f in TARGETS.fields:
        assert _outcome(f.fast, text.strip()) == _outcome(f.normalize, text), (f.name, text)


_KINDS = ["定点医疗机构", "定点零售药店", "医保经办机构", ""]
_REGIONS = ["370402", "370403", "\x02"]
_CODES = ["H37040200001", "P37040300002", "H37040300009", "P37040200001", "\x02", "", "H3704"]


@given(
    st.lists(
        st.tuples(st.sampled_from(_CODES), st.sampled_from(_KINDS), st.sampled_from(_REGIONS)),
        max_size=8,
    )
)
def test_code_columns_fit_only_when_no_row_has_a_problem(rows):
    # The importer skips the row-by-row 定点医药机构编码 check when the columns fit: that must
    # never hide a row the rule refuses ("\x02" is the wire form of an empty value).
    columns = {
        "fixmedins_code": [c for c, _, _ in rows],
        "kind": [k for _, k, _ in rows],
        "region": [r for _, _, r in rows],
    }
    problems = [
        fixmedins_problem(None if c == "\x02" else c, k, None if r == "\x02" else r)
        for c, k, r in rows
    ]
    assert TARGETS.columns_fit is not None
    if TARGETS.columns_fit(columns, "\x02"):
        assert not any(problems), rows
    if all(c == "\x02" or (c and k in FIXMEDINS_LETTERS and r != "\x02") for c, k, r in rows):
        # the usual file: every code filled or absent ("" is never a wire value), beside a
        # kind that has a letter and a region
        assert TARGETS.columns_fit(columns, "\x02") == (not any(problems)), rows


@pytest.mark.parametrize(
    "codes",
    [
        ["H37040200001", "", "P37040300002"],
        ["H37040200001", "h37040200002"],  # lower case: the cell check upper-cases it
        ["H3704020000", "H37040200001"],  # one too short: the cell check names it
        ["", ""],
    ],
)
def test_code_column_path_equals_the_cell_check(codes):
    f = TARGETS.field("fixmedins_code")
    validator = Validator(TARGETS, list(TARGETS.field_names), max_rows=10, max_listed=10)
    expected = [_outcome(f.fast, c) for c in codes]
    got = validator._column(f, tuple(codes))
    if FieldError in expected:
        assert got is None
    else:
        assert got == [to_wire(v, False) for v in expected]
