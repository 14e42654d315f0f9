"""Fast bulk inserts for million-row imports: COPY on PostgreSQL, executemany on SQLite.

Values go through the same column types as ORM writes (bind processors resolved once per
column), so rows written here read back exactly like rows written by the ORM.
"""

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session

# One encoder for every value: json.dumps with options builds a new encoder on each call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
ENCODE_JSON = _ENCODE  # what a JSON column's value is written as (`json_text` values are this)


def _json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


def _json_cached() -> Callable[[Any], str | None]:
    """`_json` memoised for tuples of strings (written as JSON arrays, like lists): a column
    whose values repeat (a task's item codes) is encoded once per distinct value. Other values
    are encoded each time (equal keys need not encode alike: (1,) == (True,) == (1.0,))."""
    cached = _cached(_json)

    def run(value: Any) -> str | None:
        if type(value) is not tuple or not all(type(v) is str for v in value):
            return _json(value)
        out: str | None = cached(value)
        return out

    return run


def _cached(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Memoises a bind processor for hashable values (timestamps, flags repeat on every row)."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            return out

    return run


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts `rows` (dicts with the same keys) into `table` in the session's transaction."""
    if not rows:
        return
    cols = list(rows[0])
    getter = itemgetter(*cols)
    values = (getter(r) for r in rows) if len(cols) > 1 else ((r[cols[0]],) for r in rows)
    bulk_insert_rows(session, table, cols, values)


def bulk_insert_rows(
    session: Session,
    table: Table,
    cols: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    json_text: Collection[str] = (),
) -> None:
    """Inserts `rows` (value tuples in the order of `cols`) into `table` in the session's
    transaction. The values of the JSON columns named in `json_text` are given already encoded
    (the text `_ENCODE` makes of them): written as they are."""
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name == "postgresql":
        encoders: list[Callable[[Any], Any] | None] = [
            _json_cached() if isinstance(table.c[c].type, JSON) and c not in json_text else None
            for c in cols
        ]
        driver = conn.connection.driver_connection
        assert driver is not None
        column_list = ", ".join(f'"{c}"' for c in cols)
        copy_sql = f'COPY "{table.name}" ({column_list}) FROM STDIN'
        with driver.cursor() as cur, cur.copy(copy_sql) as copy:
            if not any(encoders):
                for r in rows:
                    copy.write_row(r)
                return
            for r in rows:
                copy.write_row([e(v) if e else v for v, e in zip(r, encoders, strict=True)])
        return
    # JSON values are serialised per row; other processed values (UTC timestamps, booleans)
    # repeat, so their processor output is cached.
    fixes: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(cols):
        if isinstance(table.c[c].type, JSON):
            if c not in json_text:
                fixes.append((i, _json_cached()))
        elif (proc := table.c[c].type.bind_processor(dialect)) is not None:
            fixes.append((i, _cached(proc)))
    placeholders = ", ".join("?" for _ in cols)
    column_list = ", ".join(f'"{c}"' for c in cols)
    sql = f'INSERT INTO "{table.name}" ({column_list}) VALUES ({placeholders})'
    # in parts: the parameters of a million rows are not held beside the rows
    it = iter(rows)
    while part := list(islice(it, _PART)):
        if fixes:
            params: list[Any] = []
            for r in part:
                values = list(r)
                for i, fix in fixes:
                    values[i] = fix(values[i])
                params.append(tuple(values))
            part = params
        conn.exec_driver_sql(sql, part)


_PART = 20_000  # rows per executemany on SQLite
