"""What every registry module reads and writes through: the spec of a kind, its table, a row as
a record, one row by key, and the lock writers of one registry take turns on."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.registries.fields import REGISTRIES, RegistrySpec


def spec_for(kind: str) -> RegistrySpec:
    """The registry called `kind` (items, targets, inspectors)."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise NotFound(f"未知名录库 {kind}（可选：items/targets/inspectors）") from None


def table_of(spec: RegistrySpec) -> Table:
    """The table holding the current records of `spec`."""
    table = spec.model.__table__
    assert isinstance(table, Table)
    return table


def record_of(spec: RegistrySpec, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The registry fields of a row, plus `active` and `version` when present."""
    out = {name: row[name] for name in spec.field_names}
    for extra in ("active", "version"):
        if extra in row:
            out[extra] = row[extra]
    return out


def load_row(session: Session, spec: RegistrySpec, key: str) -> dict[str, Any]:
    """The whole current row `key` of `spec` (404 when there is none)."""
    table = table_of(spec)
    row = session.execute(select(table).where(table.c[spec.key] == key)).mappings().first()
    if row is None:
        raise NotFound(f"{spec.title}中没有 {key}")
    return dict(row)


def lock_registry(session: Session, spec: RegistrySpec) -> None:
    """Makes writers of one registry take turns until commit (imports, edits, deactivations)."""
    # PostgreSQL: two concurrent changes of a record then can't both build on the same old
    # version (a lost update). SQLite's BEGIN IMMEDIATE already serialises writers.
    if session.get_bind().dialect.name == "postgresql":
        # Keyed by schema too: several databases may share one PostgreSQL database.
        lock_id = 727100 + sorted(("inspectors", "items", "targets")).index(spec.kind)
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :id)"), {"id": lock_id}
        )
