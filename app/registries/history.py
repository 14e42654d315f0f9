"""Registry versions: the registry_history row that keeps a replaced version, every version of a
record, and records as they stood at a past moment ("as of")."""

import heapq
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, RegistryHistory
from app.registries.fields import RegistrySpec
from app.registries.repository import load_row, record_of, spec_for, table_of


def _op_of(version: int, active: bool) -> str:
    return "create" if version == 1 else ("update" if active else "deactivate")


def archived_row(spec: RegistrySpec, old_row: Mapping[Any, Any], now: datetime) -> dict[str, Any]:
    """The registry_history row keeping `old_row`, a current row about to be replaced at `now`
    (its version, valid from its last change until `now`), for every writer of a new version."""
    data = record_of(spec, old_row)
    data.pop("version", None)
    return {
        "kind": spec.kind,
        "key": old_row[spec.key],
        "version": old_row["version"],
        "op": _op_of(old_row["version"], old_row["active"]),
        "data": data,
        "valid_from": old_row["updated_at"],
        "valid_to": now,
        "actor": old_row["updated_by"],
    }


def reasons(session: Session, *, kind: str, key: str) -> dict[int, str]:
    """The reasons given for versions of a record (a deactivation's), by version, from the
    audit log where they are kept."""
    spec = spec_for(kind)
    stmt = select(AuditEntry.data).where(
        AuditEntry.entity == f"{spec.kind}:{key}", AuditEntry.action == f"{spec.kind}.deactivate"
    )
    out: dict[int, str] = {}
    for data in session.scalars(stmt):
        if data.get("reason") and isinstance(data.get("version"), int):
            out[data["version"]] = str(data["reason"])
    return out


def history(session: Session, *, kind: str, key: str) -> list[dict[str, Any]]:
    """Every version of a record, oldest first (archived versions, then the current one)."""
    spec = spec_for(kind)
    current = load_row(session, spec, key)
    rows = session.scalars(
        select(RegistryHistory)
        .where(RegistryHistory.kind == spec.kind, RegistryHistory.key == key)
        .order_by(RegistryHistory.version)
    ).all()
    versions = [
        {
            "version": h.version,
            "op": h.op,
            "valid_from": h.valid_from,
            "valid_to": h.valid_to,
            "actor": h.actor,
            "data": h.data,
        }
        for h in rows
    ]
    data = record_of(spec, current)
    data.pop("version", None)
    versions.append(
        {
            "version": current["version"],
            "op": _op_of(current["version"], current["active"]),
            "valid_from": current["updated_at"],
            "valid_to": None,
            "actor": current["updated_by"],
            "data": data,
        }
    )
    return versions


def as_of_rows(
    session: Session, spec: RegistrySpec, at: datetime, after: str | None
) -> Iterator[dict[str, Any]]:
    """Records as they stood at `at`, in key order from after `after`: current rows already
    valid then, merged with archived versions valid then (a key is in at most one of the two)."""
    table = table_of(spec)
    key_col = table.c[spec.key]
    cur = select(table).where(table.c.updated_at <= at)
    h = RegistryHistory
    old = select(h.key, h.data, h.version).where(
        h.kind == spec.kind, h.valid_from <= at, h.valid_to > at
    )
    if after is not None:
        cur, old = cur.where(key_col > after), old.where(h.key > after)
    current = (
        record_of(spec, r)
        for r in session.execute(cur.order_by(key_col).execution_options(yield_per=2000)).mappings()
    )
    # A second connection-level cursor: the history stream runs beside the current one.
    archived_rows = session.execute(old.order_by(h.key)).all()
    archived = ({**data, "version": version} for _key, data, version in archived_rows)
    yield from heapq.merge(current, archived, key=lambda r: r[spec.key])


def iter_as_of(session: Session, *, kind: str, at: datetime) -> Iterator[dict[str, Any]]:
    """Every active record of `kind` as it stood at `at`, in key order (draw snapshots)."""
    for rec in as_of_rows(session, spec_for(kind), at, None):
        if rec.get("active", True):
            yield rec
