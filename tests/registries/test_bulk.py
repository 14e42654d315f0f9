"""bulk_insert's JSON values: a repeated tuple of strings is encoded once and exactly as a list;
other values are encoded each time, so equal keys that encode differently never mix."""

import json

from app.registries.bulk import _json, _json_cached


def test_cached_json_writes_tuples_as_the_lists_they_replace() -> None:
    encode = _json_cached()
    assert encode(("YB-01", "医保")) == _json(["YB-01", "医保"]) == '["YB-01", "医保"]'
    assert encode(("YB-01", "医保")) == '["YB-01", "医保"]'  # from the cache
    assert encode(()) == "[]" and encode(None) is None


def test_cached_json_does_not_mix_equal_values_that_encode_differently() -> None:
    encode = _json_cached()
    # (1,) == (True,) == (1.0,) as dictionary keys, but they are three JSON texts
    assert [encode((1,)), encode((True,)), encode((1.0,))] == ["[1]", "[true]", "[1.0]"]
    assert [encode(["a"]), encode({"k": ("v",)})] == ['["a"]', '{"k": ["v"]}']
    assert json.loads(encode(("a", "b")) or "") == ["a", "b"]
