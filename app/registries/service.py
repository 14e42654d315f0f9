"""Registry records: read one, edit, deactivate, list (current or as of a past moment)."""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, cast, exists, func, insert, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.errors import BadRequest, NotFound, ValidationFailed
from app.models import RegistryHistory, Target
from app.models.base import utcnow
from app.pagination import Page, decode_cursor, page_of
from app.regions import region_label
from app.registries.fields import FieldError, RegistrySpec
from app.registries.history import archived_row, as_of_rows
from app.registries.repository import load_row, lock_registry, record_of, spec_for, table_of
from app.spreadsheets import guard_value


def _inside(
    spec: RegistrySpec, row: Mapping[Any, Any], key: str, jurisdiction: Jurisdiction
) -> Mapping[Any, Any]:
    """`row` if inside the jurisdiction (registries with a region); 404 otherwise."""
    if "region" in spec.names and not jurisdiction.covers(row.get("region")):
        raise NotFound(f"没有记录 {key}")
    return row


def get(
    session: Session, *, kind: str, key: str, jurisdiction: Jurisdiction = EVERYWHERE
) -> dict[str, Any]:
    """The current record `key` of registry `kind` (404 outside the jurisdiction)."""
    spec = spec_for(kind)
    return record_of(spec, _inside(spec, load_row(session, spec, key), key, jurisdiction))


def check_visible(session: Session, *, kind: str, key: str, jurisdiction: Jurisdiction) -> None:
    """404 unless the record `key` exists inside the jurisdiction."""
    get(session, kind=kind, key=key, jurisdiction=jurisdiction)


def raw_value(value: Any) -> str:
    """A stored field value as the text a registry file (or a form) carries."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        raise FieldError("不接受布尔值")
    return str(value)


def _save_change(
    session: Session,
    spec: RegistrySpec,
    old: dict[str, Any],
    new: dict[str, Any],
    op: str,
    actor: str,
    reason: str = "",
) -> dict[str, Any]:
    now = utcnow()
    key = old[spec.key]
    values = {**new, "version": old["version"] + 1, "updated_at": now, "updated_by": actor}
    table = table_of(spec)
    session.execute(insert(RegistryHistory), [archived_row(spec, old, now)])
    session.execute(update(table).where(table.c[spec.key] == key).values(**values))
    audit.append(
        session,
        actor=actor,
        action=f"{spec.kind}.{op}",
        entity=f"{spec.kind}:{key}",
        data={
            "changes": {k: v for k, v in new.items() if old.get(k) != v},
            "version": values["version"],
            **({"reason": reason} if reason else {}),
        },
    )
    return record_of(spec, {**old, **values})


def patch(
    session: Session,
    *,
    kind: str,
    key: str,
    changes: Mapping[str, Any],
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> dict[str, Any]:
    """Changes some fields of a record, validated exactly as an import row is; a record stays
    inside the jurisdiction of whoever changes it."""
    spec = spec_for(kind)
    lock_registry(session, spec)
    old = load_row(session, spec, key)
    _inside(spec, old, key, jurisdiction)
    errors: list[dict[str, Any]] = []
    new: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "active":
            if not isinstance(value, bool):
                errors.append({"field": name, "message": "应为 true/false"})
            else:
                new[name] = value
            continue
        if name not in spec.names or name == spec.key:
            errors.append({"field": name, "message": "未知字段或不可修改的字段"})
            continue
        try:
            new[name] = spec.field(name).normalize(raw_value(value))
        except FieldError as exc:
            errors.append({"field": name, "message": str(exc)})
    if spec.row_check is not None and not errors:
        merged = {**old, **new}
        errors += [{"field": f, "message": m} for f, m in spec.row_check(merged)]
    if "region" in new and not jurisdiction.covers(new["region"]):
        errors.append(
            {"field": "region", "message": f"须在本账号辖区{region_label(jurisdiction.prefix)}内"}
        )
    if new.get("conflicts"):
        known = set(session.scalars(select(Target.uscc).where(Target.uscc.in_(new["conflicts"]))))
        errors += [
            {"field": "conflicts", "message": f"回避对象 {u} 不在检查对象名录库中"}
            for u in new["conflicts"]
            if u not in known
        ]
    if errors:
        raise ValidationFailed("修改未通过校验，未保存 (nothing saved)", errors=errors)
    if all(old.get(k) == v for k, v in new.items()):
        return record_of(spec, old)
    return _save_change(session, spec, old, new, "update", actor)


def deactivate(
    session: Session,
    *,
    kind: str,
    key: str,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
    reason: str = "",
) -> dict[str, Any]:
    """Marks a record inactive, with the reason given (kept in the audit log, shown in the
    record's history); its history stays."""
    spec = spec_for(kind)
    lock_registry(session, spec)
    old = load_row(session, spec, key)
    _inside(spec, old, key, jurisdiction)
    if not old["active"]:
        return record_of(spec, old)
    return _save_change(
        session, spec, old, {"active": False}, "deactivate", actor, reason=reason.strip()
    )


def _matches(rec: Mapping[Any, Any], filters: Mapping[str, str]) -> bool:
    """Python twin of list_records' SQL filters, for records read "as of" a moment."""
    for name, want in filters.items():
        have = rec.get(name)
        if name == "region":
            if not str(have or "").startswith(want):
                return False
        elif name == "q":
            if want not in str(rec.get("name") or ""):
                return False
        elif isinstance(have, list):
            if want not in have:
                return False
        elif str(have) != want:
            return False
    return True


def _list_contains(session: Session, column: Any, want: str) -> ColumnElement[bool]:
    """SQL for "the JSON list in `column` has the element `want`" (no Python-side filter, so a
    rare value does not mean reading the whole table)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return cast(column, JSONB).contains([want])
    element = func.json_each(column).table_valued("value")
    return exists().select_from(element).where(element.c.value == want)


def list_records(
    session: Session,
    *,
    kind: str,
    filters: Mapping[str, str],
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    as_of: datetime | None = None,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> Page[dict[str, Any]]:
    """A page of records ordered by key, current or as of a past moment, inside the
    jurisdiction (registries with a region; the 抽查事项清单 is everyone's)."""
    spec = spec_for(kind)
    unknown = [n for n in filters if n not in spec.names and n != "q"]
    if unknown:
        raise BadRequest(f"未知筛选条件：{', '.join(unknown)}")
    after = decode_cursor(cursor) if cursor else None
    regional = "region" in spec.names
    if as_of is not None:
        items: list[dict[str, Any]] = []
        for rec in _list_as_of(session, spec, filters, include_inactive, after, as_of):
            if not regional or jurisdiction.covers(rec.get("region")):
                items.append(rec)
                if len(items) > limit:
                    break
        return page_of(items, limit, key=lambda rec: rec[spec.key])
    table = table_of(spec)
    key_col = table.c[spec.key]
    conds = _conditions(session, spec, filters, include_inactive, jurisdiction)
    if after is not None:
        conds.append(key_col > after)
    stmt = select(table).where(*conds).order_by(key_col).limit(limit + 1)
    rows = [record_of(spec, row) for row in session.execute(stmt).mappings()]
    return page_of(rows, limit, key=lambda rec: rec[spec.key])


def _conditions(
    session: Session,
    spec: RegistrySpec,
    filters: Mapping[str, str],
    include_inactive: bool,
    jurisdiction: Jurisdiction,
) -> list[ColumnElement[bool]]:
    """The SQL of a registry list's filters (current records)."""
    table = table_of(spec)
    conds: list[ColumnElement[bool]] = []
    if "region" in spec.names:
        conds.append(jurisdiction.clause(table.c.region))
    for name, want in filters.items():
        if name == "region":
            conds.append(table.c.region.startswith(want, autoescape=True))
        elif name == "q":
            conds.append(table.c.name.contains(want, autoescape=True))
        elif spec.field(name).is_list:
            conds.append(_list_contains(session, table.c[name], want))
        else:
            conds.append(table.c[name] == want)
    if not include_inactive:
        conds.append(table.c.active.is_(True))
    return conds


def count_records(
    session: Session,
    *,
    kind: str,
    filters: Mapping[str, str],
    include_inactive: bool = False,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> int:
    """How many current records `list_records` lists with the same filters (all pages)."""
    spec = spec_for(kind)
    conds = _conditions(session, spec, filters, include_inactive, jurisdiction)
    table = table_of(spec)
    return session.scalar(select(func.count()).select_from(table).where(*conds)) or 0


def _list_as_of(
    session: Session,
    spec: RegistrySpec,
    filters: Mapping[str, str],
    include_inactive: bool,
    after: str | None,
    at: datetime,
) -> Iterator[dict[str, Any]]:
    for rec in as_of_rows(session, spec, at, after):
        if not include_inactive and not rec.get("active", True):
            continue
        if _matches(rec, filters):
            yield rec


def safe_cell(value: Any) -> str:
    """A cell value that spreadsheets will not run as a formula (exports, task reports)."""
    return guard_value(value)
