"""The large-file import path on small files: chunks validated column by column in a forked
process (`parallel_min_bytes=0`, tiny chunks), on both backends."""

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import AuditEntry, RegistryHistory, Target
from app.registries import importer
from app.registries.fields import TARGETS
from app.registries.validate import Validator
from tests.factories import TARGET_HEADER, encode, import_targets, target_row, uscc


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "CHUNK", 4)


def _import(session: Session, body: bytes, *, forked: bool = True) -> Any:
    return import_targets(session, body, forked=forked)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _quirky_rows() -> list[list[str]]:
    rows = [target_row(i, tags="举报:1;双随机；举报:1" if i % 3 else "") for i in range(1, 16)]
    rows[0][0] = rows[0][0].lower()  # upper-cased
    rows[1][1] = "  第二医院 "  # trimmed
    rows[2][4] = ""  # optional → NULL
    rows[3][6] = "'=SUM(A1)"  # our own formula guard is undone
    rows[4][7] = "名\t字\\x"  # tab and backslash (COPY text escaping)
    rows[5][9] = "c"  # grade upper-cased
    rows[6][3] = ""  # level default
    rows[7][1] = "Cafe\u0301"  # NFC
    return rows


def _stored(session: Session) -> list[tuple[Any, ...]]:
    names = [*TARGETS.field_names, "active", "version", "updated_by"]
    session.expire_all()
    return [
        tuple(getattr(t, n) for n in names)
        for t in session.scalars(select(Target).order_by(Target.uscc))
    ]


def test_forked_import_stores_what_the_in_process_import_stores(session):
    _, body = encode("utf-8", TARGET_HEADER, _quirky_rows())
    first = _import(session, body, forked=False)
    in_process = _stored(session)
    session.execute(Target.__table__.delete())
    session.commit()
    before = datetime.now(UTC)
    forked = _import(session, body)
    after = datetime.now(UTC)
    assert (first.rows, first.created) == (forked.rows, forked.created) == (15, 15)
    assert _stored(session) == in_process
    got = {t.uscc: t for t in session.scalars(select(Target))}
    assert uscc(1) in got and got[uscc(2)].name == "第二医院"  # upper-cased, trimmed
    assert got[uscc(3)].ownership is None and got[uscc(4)].address == "=SUM(A1)"
    assert got[uscc(5)].legal_rep == "名\t字\\x" and got[uscc(6)].credit_grade == "C"
    assert got[uscc(7)].level == "未定级" and got[uscc(8)].name == "Café"
    assert got[uscc(2)].tags == ["举报:1", "双随机"] and got[uscc(3)].tags == []
    stamp = got[uscc(9)].updated_at
    assert stamp.tzinfo is not None and before <= stamp <= after


def test_forked_reimport_keeps_unchanged_rows_and_archives_changed_ones(session):
    rows = [target_row(i) for i in range(1, 11)]
    _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    again = _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert _count(session, RegistryHistory) == 0
    rows[8] = target_row(9, grade="C")
    rows.append(target_row(11))
    third = _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    assert (third.created, third.updated, third.unchanged) == (1, 1, 9)
    history = session.scalars(select(RegistryHistory)).all()
    assert [(h.key, h.version, h.data["credit_grade"]) for h in history] == [(uscc(9), 1, "A")]
    assert session.get(Target, uscc(9)).version == 2  # type: ignore[union-attr]


def test_error_in_a_late_chunk_leaves_nothing_written(session):
    audit_before = _count(session, AuditEntry)
    rows = [target_row(i) for i in range(1, 30)]
    rows.append(target_row(40, region="x"))
    with pytest.raises(ValidationFailed) as caught:
        _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    assert caught.value.errors == [
        {"row": 31, "field": "医保区划", "message": "医保区划应为 6 位数字"}
    ]
    assert _count(session, Target) == 0
    assert _count(session, RegistryHistory) == 0
    assert _count(session, AuditEntry) == audit_before


def test_late_error_in_a_reimport_archives_nothing(session):
    rows = [target_row(i) for i in range(1, 21)]
    _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    changed = [target_row(i, grade="B") for i in range(1, 21)]
    changed.append(target_row(1))  # duplicate key in the last chunk
    with pytest.raises(ValidationFailed) as caught:
        _import(session, encode("utf-8", TARGET_HEADER, changed)[1])
    assert [e["row"] for e in caught.value.errors] == [22]
    assert "与第 2 行重复" in caught.value.errors[0]["message"]
    assert {t.credit_grade for t in session.scalars(select(Target))} == {"A"}
    assert _count(session, RegistryHistory) == 0


def test_file_errors_found_by_the_forked_validator_are_reported(session):
    _, body = encode("utf-8", TARGET_HEADER, [target_row(i) for i in range(1, 12)])
    body += b'1237040200000001XX,a"b"c,x\r\n"unclosed\r\n'
    with pytest.raises(ValidationFailed) as caught:
        _import(session, body)
    assert "CSV" in caught.value.detail
    assert _count(session, Target) == 0


def test_column_check_and_cell_check_agree_on_every_chunk():
    """Each chunk validated column-wise equals the row-by-row result, and a chunk the column
    check cannot take (errors, odd widths) falls back to the row-by-row errors."""
    mapping: list[str | None] = [TARGETS.header_index[h.lower()] for h in TARGET_HEADER]
    rows = _quirky_rows()
    rows[9] = [*rows[9], "", " "]  # blank extra cells are fine
    for start in range(0, len(rows), 4):
        part = [list(r) for r in rows[start : start + 4]]
        numbers = range(start + 2, start + 2 + len(part))
        by_columns = Validator(TARGETS, mapping, max_rows=100, max_listed=10)
        by_rows = Validator(TARGETS, mapping, max_rows=100, max_listed=10)
        columns = by_columns._columns(numbers, part)
        if columns is None:
            assert start in (4, 8)  # "Cafe\u0301" (not NFC), the odd-width row: row by row
        else:
            assert columns == by_rows._row_by_row(numbers, part)
    bad = [target_row(1), target_row(2, kind="医院")]
    v = Validator(TARGETS, mapping, max_rows=100, max_listed=10)
    assert v._columns(range(2, 4), bad) is None
    assert v.chunk(range(2, 4), bad) == [] and v.errors[0]["row"] == 3


def _indexes(session: Session) -> set[str]:
    if session.get_bind().dialect.name != "sqlite":
        return set(
            session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'targets'"))
        )
    return set(
        session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'targets'")
        )
    )


def test_a_large_first_import_keeps_the_indexes(session):
    """SQLite drops the secondary indexes for a large first import and builds them at the
    end; a rejected import gets them back with the rollback."""
    before = _indexes(session)
    assert {"ix_targets_kind", "ix_targets_region"} <= before
    rows = [target_row(i) for i in range(1, 10)]
    with pytest.raises(ValidationFailed):
        _import(session, encode("utf-8", TARGET_HEADER, [*rows, target_row(20, kind="x")])[1])
    assert _indexes(session) == before
    _import(session, encode("utf-8", TARGET_HEADER, rows)[1])
    assert _indexes(session) == before
    hit = select(Target.uscc).where(Target.kind == "定点医疗机构", Target.region == "370402")
    assert len(session.scalars(hit).all()) == 9


@pytest.mark.parametrize("forked", [True, False])
def test_rows_outside_the_jurisdiction_are_named_on_both_paths(session, forked):
    from app.auth.jurisdiction import Jurisdiction

    _import(session, encode("utf-8", TARGET_HEADER, [target_row(90, region="370403")])[1])
    rows = [target_row(i) for i in range(1, 12)]  # 370402, in chunks of 4
    rows[6] = target_row(7, region="370481")  # row 8: another district
    rows[9] = target_row(90)  # row 11: a record registered in 370403, taken over
    body = encode("utf-8", TARGET_HEADER, rows)[1]
    with pytest.raises(ValidationFailed) as failed:
        importer.import_file(
            session,
            kind="targets",
            fh=io.BytesIO(body),
            actor="district",
            parallel_min_bytes=0 if forked else 1 << 40,
            jurisdiction=Jurisdiction(prefix="370402"),
        )
    session.rollback()
    assert [(e["row"], e["field"]) for e in failed.value.errors] == [
        (8, "医保区划"),
        (11, "统一社会信用代码"),
    ]
    assert _count(session, Target) == 1  # nothing written
