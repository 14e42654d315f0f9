"""Hostile XLSX files (small on disk, built here): each is refused with a 422 naming the limit,
after bounded work (bytes inflated and rows counted through app.spreadsheets.probe), before the
registry's write lock, and nothing is written."""

import io
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from app import spreadsheets
from app.config import get_settings
from app.db import make_sessionmaker
from app.models import AuditEntry, Target
from app.registries import importer, repository
from tests.factories import TARGET_HEADER, target_row, to_xlsx

URL = "/api/v1/registries/targets/import"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _xlsx_with(sheet_xml: bytes | None = None, **extra: bytes) -> bytes:
    """A valid workbook (openpyxl) with its sheet replaced and extra entries added."""
    good = to_xlsx(TARGET_HEADER, [target_row(1)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if sheet_xml is not None and info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED, 9)
        for name, data in extra.items():
            dst.writestr(name.replace("__", "/"), data, zipfile.ZIP_DEFLATED, 9)
    return out.getvalue()


def _bomb_rows(rows: int) -> bytes:
    """Millions of empty rows: ~30 MB of XML that deflates to a few dozen KB."""
    body = b"<row/>" * rows
    return (
        f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode()
        + body
        + (b"</sheetData></worksheet>")
    )


def _huge_cell(size: int) -> bytes:
    cell = b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + b"x" * size + b"</t></is></c></row>"
    return (
        f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode()
        + cell
        + (b"</sheetData></worksheet>")
    )


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + f']><worksheet {NS}><sheetData><row><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'.encode()
    + b"</sheetData></worksheet>"
)


def _wide_rows(rows: int) -> bytes:
    """A far cell (column XFD) in each of many rows: openpyxl would fill 16,384 cells a row."""
    body = b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(1, rows))
    return (
        f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode()
        + body
        + (b"</sheetData></worksheet>")
    )


def _wide_dimension() -> bytes:
    return (
        f'<?xml version="1.0"?><worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()


def _many_entries(n: int) -> bytes:
    return _xlsx_with(**{f"xl__media__e{i}.xml": b"<a/>" for i in range(n)})


CASES = {
    # name: (body, limit named in the answer, most bytes inflated, most rows counted)
    "zip-bomb-rows": (_bomb_rows(2_100_000), "max_xlsx_ratio", 0, 0),
    "many-rows-under-ratio": (_bomb_rows(3000), "max_import_rows", 1 << 20, 3000),
    "huge-cell": (_huge_cell(3 << 20), "max_xlsx_cell_bytes", 2 << 20, 10),
    "billion-laughs": (LAUGHS, "xml_declarations", 1 << 20, 0),
    "many-entries": (None, "max_xlsx_entries", 0, 0),
    "wide-rows": (_wide_rows(200_000), "max_xlsx_columns", 2 << 20, 0),
    "wide-dimension": (_wide_dimension(), "max_xlsx_columns", 1 << 20, 0),
}


def _body(case: str) -> bytes:
    body = CASES[case][0]
    if case == "many-entries":
        return _many_entries(300)
    if case in ("zip-bomb-rows", "many-rows-under-ratio", "wide-rows", "wide-dimension"):
        return _xlsx_with(body)
    assert body is not None
    return _xlsx_with(body)


@pytest.fixture
def probe(monkeypatch):
    seen = {"inflated": 0, "rows": 0}

    def count(kind: str, n: int) -> None:
        seen[kind] += n

    monkeypatch.setattr(spreadsheets, "probe", count)
    return seen


@pytest.fixture
def low_rows(monkeypatch):
    monkeypatch.setenv("SPOTCHECK_MAX_IMPORT_ROWS", "1000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _nothing_written(db):
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 0
        assert "targets.import" not in set(s.scalars(select(AuditEntry.action)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_xlsx_is_refused_cheaply_naming_the_limit(
    client, make_token, db, probe, low_rows, monkeypatch, case
):
    body = _body(case)
    assert len(body) < 1 << 20, len(body)  # small on disk
    locked: list[str] = []
    monkeypatch.setattr(repository, "lock_registry", lambda s, spec: locked.append(spec.kind))
    monkeypatch.setattr(importer, "lock_registry", lambda s, spec: locked.append(spec.kind))
    r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.xlsx", body)})
    _, limit, max_inflated, max_rows = CASES[case]
    assert r.status_code == 422, (case, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["limit"] == limit, problem
    assert problem["errors"][0]["field"] == "file"
    assert "未写入" in problem["detail"]
    assert probe["inflated"] <= max_inflated, probe  # bounded work, not a timing
    assert probe["rows"] <= max_rows + 1, probe
    assert locked == []  # refused before the registry's lock
    _nothing_written(db)


def test_a_hostile_upload_holds_up_no_other_writer(client, make_token, db, monkeypatch):
    """The check runs before the request's transaction begins (SQLite BEGIN IMMEDIATE): while
    it runs, another writer commits."""
    body = _body("huge-cell")
    sup = make_token("supervisor")
    wrote: list[int] = []
    real = spreadsheets.inspect_xlsx

    def slow_inspect(fh, limits=None):
        def other_writer():
            from app.auth.service import create_token

            with make_sessionmaker(db)() as s:
                create_token(s, role="supervisor", name="other", badge=None, actor="t")
                s.commit()
                wrote.append(1)

        t = threading.Thread(target=other_writer)
        t.start()
        t.join(timeout=20)
        real(fh, limits)

    monkeypatch.setattr(importer, "inspect_xlsx", slow_inspect)
    r = client.post(URL, headers=sup, files={"file": ("t.xlsx", body)})
    assert r.status_code == 422
    assert wrote == [1]
    _nothing_written(db)


def test_unauthenticated_upload_is_401_before_inspection(client, db, probe):
    r = client.post(URL, files={"file": ("t.xlsx", _body("billion-laughs"))})
    assert r.status_code == 401
    assert probe["inflated"] == 0


def test_a_good_xlsx_passes_the_checks_and_imports(client, make_token, db):
    body = to_xlsx(TARGET_HEADER, [target_row(i) for i in range(1, 30)])
    r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.xlsx", body)})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 29


def test_openpyxl_parses_with_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_direct_import_also_checks_before_the_lock(db, monkeypatch):
    locked: list[str] = []
    monkeypatch.setattr(importer, "lock_registry", lambda s, spec: locked.append(spec.kind))
    with make_sessionmaker(db)() as s, pytest.raises(Exception) as exc:
        importer.import_file(s, kind="targets", fh=io.BytesIO(_body("billion-laughs")), actor="t")
    assert getattr(exc.value, "extra", {}).get("limit") == "xml_declarations"
    assert locked == []
