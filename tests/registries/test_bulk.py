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


def test_several_rows_a_statement_store_what_one_row_a_statement_stores(monkeypatch) -> None:
    """SQLite takes `_VARIABLES // columns` rows a statement (here 2, in parts of 5: whole
    statements and a short rest); the rows keep their order and every value — timestamps and
    dates adapted once per distinct value, booleans, JSON, NULL — is stored as one row a
    statement with the driver adapting each value itself (bulk_insert before) stores it."""
    from datetime import UTC, date, datetime

    from sqlalchemy import (
        JSON,
        Boolean,
        Column,
        Date,
        Integer,
        MetaData,
        String,
        Table,
        event,
        text,
    )
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models.base import UTCDateTime
    from app.registries import bulk

    meta = MetaData()
    cols = (
        Column("k", Integer),
        Column("v", String),
        Column("on", Date),
        Column("at", UTCDateTime()),
        Column("flag", Boolean),
        Column("j", JSON),
    )
    table = Table("t", meta, *cols)
    Table("r", meta, *(c._copy() for c in cols))  # the reference, written as before
    at = [datetime(2026, 12, 7, 23, 5, 1, 250, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]
    rows = [
        {
            "k": 100 - k,  # not in key order: the insertion order is kept (rowids)
            "v": None if k == 3 else f"值{k}",
            "on": date(2026, 12, 1 + k % 3),
            "at": at[k % 2],
            "flag": k % 2 == 0,
            "j": ("a", str(k)) if k % 4 else [],
        }
        for k in range(13)
    ]
    monkeypatch.setattr(bulk, "_PART", 5)
    monkeypatch.setattr(bulk, "_VARIABLES", 12)  # 6 columns: 2 rows a statement
    statements: list[str] = []
    engine = make_engine("sqlite://")
    meta.create_all(engine)
    with Session(engine) as session:
        event.listen(
            session.connection(),
            "before_cursor_execute",
            lambda conn, cursor, sql, *args: statements.append(sql),
        )
        bulk.bulk_insert(session, table, rows)
        # before: one row a statement, the column types' processors, the driver adapting
        dialect = session.get_bind().dialect
        procs = [
            bulk._json if isinstance(c.type, JSON) else c.type.bind_processor(dialect) for c in cols
        ]
        names = [c.name for c in cols]
        session.connection().exec_driver_sql(
            'INSERT INTO "r" ("k", "v", "on", "at", "flag", "j") VALUES (?, ?, ?, ?, ?, ?)',
            [
                tuple(p(r[n]) if p else r[n] for n, p in zip(names, procs, strict=True))
                for r in rows
            ],
        )

        def stored(name: str) -> list[tuple[object, ...]]:
            sql = f'SELECT rowid, k, v, "on", at, flag, j FROM "{name}" ORDER BY rowid'
            return [tuple(r) for r in session.execute(text(sql)).all()]

        got = stored("t")
        assert got == stored("r")
    assert [r[1] for r in got] == [100 - k for k in range(13)]
    assert got[0][4] == "2026-12-07 23:05:01.000250" and got[0][3] == "2026-12-01"
    assert got[1][4] == "2027-01-01 00:00:00"  # sqlite3's adapter: isoformat(" ")
    many = [s for s in statements if s.startswith('INSERT INTO "t"') and s.count("(?") == 2]
    one = [s for s in statements if s.startswith('INSERT INTO "t"') and s.count("(?") == 1]
    assert many and one  # parts of 5: two statements of 2 rows, the fifth row alone
