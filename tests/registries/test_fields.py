"""Field rules: the inlined USCC check agrees with python-stdnum; fast and slow paths agree."""

import random

from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from app.registries.fields import (
    TARGETS,
    USCC_ALPHABET,
    FieldError,
    _uscc_fast_ok,
    row_is_clean,
)


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
