"""Re-import by row hashes (app/registries/rowhash.py): the rows a registry holds unchanged are
skipped without validation — and only those. Whatever changed a record since (an edit, a
deactivation, a grade push) makes the file's row count as changed again; duplicates and the
importer's jurisdiction are checked on skipped rows too. Both backends, forked and not."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.jurisdiction import Jurisdiction
from app.errors import ValidationFailed
from app.models import RegistryHistory, Target
from app.registries import importer, service
from app.registries.validate import Validator
from tests.factories import TARGET_HEADER, encode, import_targets, target_row


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "CHUNK", 4)


def _import(session: Session, body: bytes, *, forked: bool, **kw: Any) -> Any:
    return import_targets(session, body, forked=forked, **kw)


def _rows(n: int = 10) -> list[list[str]]:
    return [target_row(i, region="370402" if i % 2 else "370502") for i in range(1, n + 1)]


def _validated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the rows that reach validation (column-wise or row by row), in this process."""
    seen: list[int] = []
    columns, by_row = Validator._columns, Validator._row_by_row

    def spy_columns(self, numbers, rows, hashes=None):  # type: ignore[no-untyped-def]
        seen.extend(numbers)
        return columns(self, numbers, rows, hashes)

    def spy_rows(self, numbers, rows):  # type: ignore[no-untyped-def]
        seen.extend(numbers)
        return by_row(self, numbers, rows)

    monkeypatch.setattr(Validator, "_columns", spy_columns)
    monkeypatch.setattr(Validator, "_row_by_row", spy_rows)
    return seen


def _versions(session: Session) -> dict[str, int]:
    session.expire_all()
    return {u: v for u, v in session.execute(select(Target.uscc, Target.version))}


@pytest.mark.parametrize("forked", [False, True])
def test_an_unchanged_file_is_skipped_row_by_row_hash(session, monkeypatch, forked):
    _, body = encode("utf-8", TARGET_HEADER, _rows())
    first = _import(session, body, forked=forked)
    assert first.created == 10
    stored = session.scalars(select(Target.row_hash_version)).all()
    assert stored == [1] * 10
    seen = _validated(monkeypatch)
    again = _import(session, body, forked=forked)
    assert (again.rows, again.unchanged, again.created, again.updated) == (10, 10, 0, 0)
    if not forked:
        assert seen == []  # not one row validated: every one held by its hash
    assert set(_versions(session).values()) == {1}


def test_a_record_changed_since_is_restored_by_the_same_file(session, monkeypatch):
    """An edit (and a deactivation) after the import: the file's rows of those records are
    validated and written again — the stored hash belongs to an older version."""
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=False)
    edited, closed = rows[2][0], rows[5][0]
    service.patch(session, kind="targets", key=edited, changes={"name": "改过的名称"}, actor="x")
    service.patch(session, kind="targets", key=closed, changes={"active": False}, actor="x")
    session.commit()
    seen = _validated(monkeypatch)
    again = _import(session, body, forked=False)
    assert (again.unchanged, again.updated) == (8, 2)
    assert sorted(seen) == [4, 7]  # the two rows (spreadsheet numbers) and only those
    session.expire_all()
    assert session.get(Target, edited).name == rows[2][1]
    assert session.get(Target, closed).active is True
    assert _versions(session)[edited] == 3  # import, edit, import again
    # and now the whole file is held again
    seen.clear()
    assert _import(session, body, forked=False).unchanged == 10 and seen == []


def test_a_grade_push_makes_the_row_count_as_changed(session):
    from app.credit.schemas import GradeIn
    from app.credit.service import push_grades

    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=True)
    push_grades(
        session,
        entries=[GradeIn.model_validate({"uscc": rows[0][0], "grade": "D", "as_of": "2026-01-01"})],
        token_name="credit",
        actor="credit",
    )
    session.commit()
    assert session.get(Target, rows[0][0]).credit_grade == "D"
    again = _import(session, body, forked=True)
    assert (again.unchanged, again.updated) == (9, 1)
    session.expire_all()
    assert session.get(Target, rows[0][0]).credit_grade == rows[0][9]


def test_a_changed_row_is_written_and_then_skipped(session):
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=True)
    rows[3][1] = "新名称"
    _, body = encode("utf-8", TARGET_HEADER, rows)
    result = _import(session, body, forked=True)
    assert (result.unchanged, result.updated) == (9, 1)
    assert session.scalar(select(func.count()).select_from(RegistryHistory)) == 1
    result = _import(session, body, forked=True)
    assert (result.unchanged, result.updated) == (10, 0)


def test_same_values_in_other_cells_are_compared_and_their_hash_kept(session, monkeypatch):
    """A row whose cells differ but validate to the record (spaces, lower case) is compared in
    full, stays unchanged (no new version) and keeps the new hash: next time it is skipped —
    unless its key itself is written otherwise (looked up as written: validated every time)."""
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=False)
    rows[1][1] = f"  {rows[1][1]} "
    rows[2][0] = rows[2][0].lower()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    seen = _validated(monkeypatch)
    result = _import(session, body, forked=False)
    assert (result.unchanged, result.updated) == (10, 0) and sorted(seen) == [3, 4]
    assert set(_versions(session).values()) == {1}
    seen.clear()
    assert _import(session, body, forked=False).unchanged == 10 and seen == [4]


def test_legacy_records_without_hash_are_compared_then_hashed(session, monkeypatch):
    _, body = encode("utf-8", TARGET_HEADER, _rows())
    _import(session, body, forked=True)
    session.execute(Target.__table__.update().values(row_hash=None, row_hash_version=None))
    session.commit()
    seen = _validated(monkeypatch)
    assert _import(session, body, forked=False).unchanged == 10 and len(seen) == 10
    seen.clear()
    assert _import(session, body, forked=False).unchanged == 10 and seen == []


@pytest.mark.parametrize("forked", [False, True])
def test_a_duplicate_of_a_skipped_row_is_named(session, forked):
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=forked)
    _, body = encode("utf-8", TARGET_HEADER, [*rows, rows[0]])
    with pytest.raises(ValidationFailed) as caught:
        _import(session, body, forked=forked)
    assert [e["row"] for e in caught.value.errors] == [12]
    assert "与第 2 行重复" in caught.value.errors[0]["message"]


@pytest.mark.parametrize("forked", [False, True])
def test_skipped_rows_outside_the_jurisdiction_are_refused(session, forked):
    """A city account re-importing the province's unchanged file: the rows of other cities are
    named, skipped or not."""
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=forked)
    with pytest.raises(ValidationFailed) as caught:
        _import(session, body, forked=forked, jurisdiction=Jurisdiction(prefix="3704"))
    outside = {k + 2 for k, r in enumerate(rows) if not r[5].startswith("3704")}
    assert {e["row"] for e in caught.value.errors} == outside
    assert all("辖区" in e["message"] for e in caught.value.errors)


# The file of the last import, again (importer.held_file) ---------------------------------------


def _not_read_row_by_row(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the loads of the registry's keys and hashes (the start of a row-by-row pass)."""
    loads: list[int] = []
    load = importer.KnownRows.load

    def spy(*args):  # type: ignore[no-untyped-def]
        loads.append(1)
        return load(*args)

    monkeypatch.setattr(importer.KnownRows, "load", spy)
    return loads


def _last_audit(session: Session) -> dict[str, Any]:
    from app.models import AuditEntry

    data = session.scalars(select(AuditEntry.data).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("forked", [False, True])
def test_the_file_of_the_last_import_is_recognised_whole(session, monkeypatch, forked):
    """Byte for byte the last import's file, nothing changed since: answered from that import
    without reading its rows — the same counts and audit entry a row-by-row pass gives."""
    _, body = encode("utf-8", TARGET_HEADER, _rows(10))
    _import(session, body, forked=forked)
    loads, seen = _not_read_row_by_row(monkeypatch), _validated(monkeypatch)
    again = _import(session, body, forked=forked)
    assert (again.rows, again.unchanged, again.created, again.updated) == (10, 10, 0, 0)
    assert loads == [] and seen == []
    assert _last_audit(session) == {
        "file_sha256": again.file_sha256,
        "rows": 10,
        "created": 0,
        "updated": 0,
        "unchanged": 10,
    }
    # once more: the last import is now that one, the same file
    assert _import(session, body, forked=forked).unchanged == 10 and loads == []


def test_a_file_other_than_the_last_one_is_read_row_by_row(session, monkeypatch):
    rows = _rows()
    _, first = encode("utf-8", TARGET_HEADER, rows)
    _import(session, first, forked=False)
    rows[3][1] = "新名称"
    _, second = encode("utf-8", TARGET_HEADER, rows)
    _import(session, second, forked=False)
    loads = _not_read_row_by_row(monkeypatch)
    result = _import(session, first, forked=False)  # the first file again: not the last one
    assert (result.unchanged, result.updated) == (9, 1) and loads == [1]
    session.expire_all()
    assert session.get(Target, rows[3][0]).name != "新名称"


def test_a_record_changed_since_the_last_import_reads_the_file(session, monkeypatch):
    """One record deactivated (a new version) since the same file was imported: the file is
    read row by row and that record restored (the other records' rows skipped by hash)."""
    rows = _rows()
    _, body = encode("utf-8", TARGET_HEADER, rows)
    _import(session, body, forked=True)
    service.deactivate(session, kind="targets", key=rows[7][0], actor="x")
    session.commit()
    loads = _not_read_row_by_row(monkeypatch)
    result = _import(session, body, forked=True)
    assert (result.unchanged, result.updated) == (9, 1) and loads == [1]
    session.expire_all()
    assert session.get(Target, rows[7][0]).active is True


def test_rows_hashed_otherwise_now_read_the_file(session, monkeypatch):
    """Stored hashes that no longer match what this code makes of the file's rows (a new
    HASH_VERSION): every row is validated again, though the file is the last one."""
    from app.registries import rowhash

    _, body = encode("utf-8", TARGET_HEADER, _rows())
    _import(session, body, forked=False)
    monkeypatch.setattr(rowhash, "HASH_VERSION", "test-other")
    seen = _validated(monkeypatch)
    result = _import(session, body, forked=False)
    assert (result.unchanged, result.updated) == (10, 0) and sorted(seen) == list(range(2, 12))


def test_the_row_limit_still_applies_to_the_last_file(session, monkeypatch):
    from app.config import get_settings

    _, body = encode("utf-8", TARGET_HEADER, _rows())
    _import(session, body, forked=False)
    monkeypatch.setattr(get_settings(), "max_import_rows", 9)
    with pytest.raises(ValidationFailed) as caught:
        _import(session, body, forked=False)
    assert any("超过最大行数 9" in e["message"] for e in caught.value.errors)
