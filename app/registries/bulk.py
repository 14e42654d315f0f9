"""Fast bulk inserts for million-row imports: COPY on PostgreSQL, executemany on SQLite.

Values go through the same column types as ORM writes (bind processors resolved once per
column), so rows written here read back exactly like rows written by the ORM.
"""

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Table
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
    # repeat, so their processor output is cached — adapted as the driver would adapt it.
    fixes: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(cols):
        if isinstance(table.c[c].type, JSON):
            if c not in json_text:
                fixes.append((i, _json_cached()))
        elif (proc := table.c[c].type.bind_processor(dialect)) is not None:
            fixes.append((i, _cached(_sqlite_adapted(proc))))
        elif isinstance(table.c[c].type, Date | DateTime):
            fixes.append((i, _cached(_sqlite_adapted(_same))))
    column_list = ", ".join(f'"{c}"' for c in cols)
    row = "(" + ", ".join("?" for _ in cols) + ")"
    sql = f'INSERT INTO "{table.name}" ({column_list}) VALUES {row}'
    # `per` rows a statement (one VALUES list each: a statement's per-row cost is paid once),
    # within SQLite's oldest limit of 999 parameters; the rows keep their order
    per = max(1, _VARIABLES // len(cols))
    width = per * len(cols)
    many = f'INSERT INTO "{table.name}" ({column_list}) VALUES {", ".join([row] * per)}'
    # in parts: the parameters of a million rows are not held beside the rows
    it = iter(rows)
    while part := list(islice(it, _PART)):
        if fixes:  # column by column: the values of a column fixed in one map
            columns = list(zip(*part, strict=True))
            for i, fix in fixes:
                columns[i] = tuple(map(fix, columns[i]))
            part = list(zip(*columns, strict=True))
        whole = len(part) // per * per
        if per > 1 and whole:
            flat = list(chain.from_iterable(part[:whole]))
            conn.exec_driver_sql(
                many, [tuple(flat[i : i + width]) for i in range(0, len(flat), width)]
            )
            part = part[whole:]
        if part:
            conn.exec_driver_sql(sql, part)


def _same(value: Any) -> Any:
    return value


def _sqlite_adapted(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`proc`, then what `sqlite3` would make of its value when binding it (its registered
    adapter: a `datetime` or `date` becomes its ISO text), so that a cached value is bound as
    it is instead of being adapted again on every row. The same text is stored."""

    def run(value: Any) -> Any:
        out = proc(value)
        if isinstance(out, date):  # datetime too; other types are bound as they are
            return sqlite3.adapt(out, sqlite3.PrepareProtocol, out)
        return out

    return run


_PART = 20_000  # rows per executemany on SQLite
_VARIABLES = 999  # parameters of one SQLite statement (SQLITE_MAX_VARIABLE_NUMBER before 3.32)
