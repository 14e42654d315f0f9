"""app.gcpause: the cyclic GC is off inside the block and back to what it was after."""

import gc

import pytest

from app.gcpause import gc_paused


def test_paused_inside_restored_after_even_on_error_and_when_nested() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block must not switch it back on
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
