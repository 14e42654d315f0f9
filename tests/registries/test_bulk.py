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


def test_rows_are_inserted_in_parts_and_every_one_is_written(monkeypatch) -> None:
    """SQLite takes the rows in parts of `_PART` (the parameters of a million rows are not held
    at once): every row of every part is written, the last part short."""
    from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, select
    from sqlalchemy.orm import Session

    from app.registries import bulk

    monkeypatch.setattr(bulk, "_PART", 3)
    table = Table(
        "t",
        MetaData(),
        Column("k", Integer, primary_key=True),
        Column("v", String),
        Column("j", JSON),
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    rows = [{"k": k, "v": f"值{k}", "j": ("a", str(k))} for k in range(10)]
    with Session(engine) as session:
        bulk.bulk_insert(session, table, rows)
        got = session.execute(select(table.c.k, table.c.v, table.c.j).order_by(table.c.k)).all()
    assert [tuple(r) for r in got] == [(k, f"值{k}", ["a", str(k)]) for k in range(10)]


def test_value_rows_and_json_given_as_text_are_written_as_they_are() -> None:
    """`bulk_insert_rows` takes value tuples; a JSON column named in `json_text` is given as
    its text and written unchanged (not encoded again as a JSON string); `bulk_insert` of
    one-column dicts writes each value whole."""
    from sqlalchemy import JSON, Column, Integer, MetaData, Table, create_engine, select, text
    from sqlalchemy.orm import Session

    from app.registries import bulk

    meta = MetaData()
    table = Table("t", meta, Column("k", Integer, primary_key=True), Column("j", JSON))
    one = Table("one", meta, Column("v", JSON))
    engine = create_engine("sqlite://")
    meta.create_all(engine)
    with Session(engine) as session:
        bulk.bulk_insert_rows(
            session,
            table,
            ("k", "j"),
            [(1, bulk.ENCODE_JSON([{"a": "值"}])), (2, '{"b": 1}')],
            json_text=("j",),
        )
        bulk.bulk_insert(session, one, [{"v": "ab"}, {"v": ("x",)}])
        stored = session.execute(text("SELECT k, j FROM t ORDER BY k")).all()
        assert [tuple(r) for r in stored] == [(1, '[{"a": "值"}]'), (2, '{"b": 1}')]
        assert session.scalars(select(table.c.j).order_by(table.c.k)).all() == [
            [{"a": "值"}],
            {"b": 1},
        ]
        assert session.scalars(select(one.c.v)).all() == ["ab", ["x"]]
