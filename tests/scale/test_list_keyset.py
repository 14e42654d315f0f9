"""List endpoints stay keyset-paginated in SQL: filters (list fields too) run in the database,
one LIMIT-ed query per page, never OFFSET, never a Python scan of the table."""

import io

import pytest
from sqlalchemy import event

from app.db import begin_write
from app.registries import importer, service
from tests.factories import TARGET_HEADER, target_row, to_csv, uscc

pytestmark = pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def targets(session):
    """60 targets; every 7th has the tag 举报:1, every 5th 智能监控:2."""
    rows = []
    for i in range(1, 61):
        tags = ";".join(t for t, k in (("举报:1", 7), ("智能监控:2", 5)) if i % k == 0)
        rows.append(target_row(i, tags=tags))
    begin_write(session)
    importer.import_file(
        session, kind="targets", fh=io.BytesIO(to_csv(TARGET_HEADER, rows)), actor="t"
    )
    session.commit()
    return session


def _pages(session, **filters):
    keys, cursor, pages = [], None, 0
    while True:
        page = service.list_records(
            session, kind="targets", filters=filters, cursor=cursor, limit=3
        )
        keys += [r["uscc"] for r in page.items]
        pages += 1
        if page.next_cursor is None:
            return keys, pages
        cursor = page.next_cursor


def test_list_field_filter_pages_through_exact_matches(targets) -> None:
    keys, pages = _pages(targets, tags="举报:1")
    assert keys == sorted(uscc(i) for i in range(7, 61, 7))
    assert pages == 3
    both, _ = _pages(targets, tags="智能监控:2", kind="定点医疗机构")
    assert both == sorted(uscc(i) for i in range(5, 61, 5))
    assert _pages(targets, tags="举报")[0] == []  # whole elements only, not substrings


def test_each_page_is_one_limited_keyset_query(targets, engine) -> None:
    seen: list[str] = []
    offsets: list[object] = []

    def record(_conn, _cursor, statement, params, *_args) -> None:  # type: ignore[no-untyped-def]
        if "FROM targets" in statement:
            seen.append(statement.upper())
            if "OFFSET" in statement.upper():  # SQLite always writes "LIMIT ? OFFSET ?"
                offsets.append(params[-1])

    event.listen(engine, "before_cursor_execute", record)
    try:
        first = service.list_records(targets, kind="targets", filters={"tags": "举报:1"}, limit=2)
        service.list_records(
            targets,
            kind="targets",
            filters={"tags": "举报:1"},
            cursor=first.next_cursor,
            limit=2,
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 2
    for sql in seen:
        assert "LIMIT" in sql and "ORDER BY TARGETS.USCC" in sql
    assert all(o == 0 for o in offsets)  # never skips rows by OFFSET
    assert "TARGETS.USCC >" in seen[1]  # keyset: the cursor is a WHERE condition
