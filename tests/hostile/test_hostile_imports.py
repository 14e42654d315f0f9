"""A corpus of hostile registry files: each gets a clear problem+json answer and nothing is
written; text that is legitimate but dangerous elsewhere (formulas, markup) is stored as text
and neutralised on every way out. Files are generated here, never committed."""

import codecs
import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.db import make_sessionmaker
from app.models import AuditEntry, Target
from tests.entropy import post_draw
from tests.factories import TARGET_HEADER, target_row, to_csv, to_xlsx, uscc

URL = "/api/v1/registries/targets/import"


def _row(**cols):
    row = target_row(1)
    for idx, value in cols.items():
        row[int(idx[1:])] = value
    return row


def _csv(*rows, encoding="utf-8"):
    return to_csv(TARGET_HEADER, list(rows) or [target_row(1)], encoding)


def _zip_without_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


U1 = uscc(1)
CORPUS = {
    # encodings
    "utf16": ("t.csv", _csv().decode().encode("utf-16"), "编码"),
    "utf32": ("t.csv", _csv().decode().encode("utf-32"), "编码"),
    "latin1_mojibake": ("t.csv", b"\xc9\xe9\xe8," * 50 + b"\n" + b"\xff" * 30, "编码"),
    "big5": ("t.csv", "統一社會信用代碼,名稱\n1,醫院\n".encode("big5"), None),
    "nul_bytes": ("t.csv", _csv().replace(b",", b"\x00,", 3), None),
    # structure
    "empty": ("t.csv", b"", "空"),
    "bom_only": ("t.csv", codecs.BOM_UTF8, None),
    "header_only": ("t.csv", _csv()[: _csv().index(b"\n") + 1], "没有数据行"),
    "unterminated_quote": ("t.csv", _csv() + b'"91370000,unterminated\n', "CSV"),
    "quote_in_field": ("t.csv", _csv() + b'9137"0000,"a"b"c\n', None),
    "unknown_header": ("t.csv", b"foo,bar\n1,2\n", None),
    "duplicate_rows": ("t.csv", _csv(target_row(1), target_row(1)), None),
    "short_rows": ("t.csv", _csv() + b"1,2\n", None),
    # fields
    "control_chars": ("t.csv", _csv(_row(c1="医院\x1b[31m")), "控制字符"),
    "rtl_override": ("t.csv", _csv(_row(c1="医院\u202egpj.exe")), "控制字符"),
    "zero_width": ("t.csv", _csv(_row(c1="医\u200b院")), None),
    "overlong_name": ("t.csv", _csv(_row(c1="医" * 5000)), "长度"),
    "overlong_address": ("t.csv", _csv(_row(c6="路" * 100_000)), None),
    "fullwidth_uscc": (
        "t.csv",
        _csv(_row(c0=U1.replace(U1[2], chr(ord(U1[2]) + 0xFEE0), 1))),
        "全角或形近",
    ),
    "cyrillic_uscc": ("t.csv", _csv(_row(c0="9" + U1[1:8] + "А" + U1[9:])), None),
    "latin_O_for_zero": ("t.csv", _csv(_row(c0=U1.replace("0", "O", 1))), None),
    "bad_checksum": ("t.csv", _csv(_row(c0=U1[:-1] + ("0" if U1[-1] != "0" else "1"))), None),
    "region_not_digits": ("t.csv", _csv(_row(c5="37O402")), None),
    "unknown_kind": ("t.csv", _csv(_row(c2="<b>医院</b>")), None),
    # xlsx
    "xlsx_garbage": ("t.xlsx", b"PK\x03\x04" + b"\x00" * 100, "XLSX"),
    "xlsx_zip_without_workbook": ("t.xlsx", _zip_without_workbook(), None),
    "xlsx_bad_row": ("t.xlsx", to_xlsx(TARGET_HEADER, [_row(c0="NOT-A-USCC")]), None),
}


def _nothing_written(db):
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 0
        actions = set(s.scalars(select(AuditEntry.action)))
    assert "targets.import" not in actions


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_file_is_refused_clearly_and_nothing_is_written(client, make_token, db, case):
    name, body, phrase = CORPUS[case]
    r = client.post(URL, headers=make_token("supervisor"), files={"file": (name, body)})
    assert r.status_code == 422, (case, r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["detail"] and problem["status"] == r.status_code
    assert problem["errors"], problem
    if phrase:
        assert phrase in r.text, r.text[:400]
    _nothing_written(db)


def test_one_bad_row_among_many_rejects_the_whole_file(client, make_token, db):
    rows = [target_row(i) for i in range(1, 500)] + [_row(c1="医院\x07")]
    r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.csv", _csv(*rows))})
    assert r.status_code == 422
    assert r.json()["errors"][0]["row"] == 501
    _nothing_written(db)


def test_file_over_the_upload_limit_is_413(client, make_token, db, monkeypatch):
    monkeypatch.setenv("SPOTCHECK_MAX_UPLOAD_BYTES", "10000")
    get_settings.cache_clear()
    try:
        body = _csv(*[target_row(i) for i in range(1, 400)])
        assert len(body) > 10_000
        r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.csv", body)})
    finally:
        get_settings.cache_clear()
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    _nothing_written(db)


def test_file_over_the_row_limit_is_refused(client, make_token, db, monkeypatch):
    monkeypatch.setenv("SPOTCHECK_MAX_IMPORT_ROWS", "50")
    get_settings.cache_clear()
    try:
        body = _csv(*[target_row(i) for i in range(1, 200)])
        r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.csv", body)})
    finally:
        get_settings.cache_clear()
    assert r.status_code == 422
    assert "最大行数" in r.text
    _nothing_written(db)


def test_many_bad_rows_are_listed_up_to_the_cap_with_the_total(client, make_token, db):
    rows = [_row(c0=f"BAD{i}") for i in range(3000)]
    r = client.post(URL, headers=make_token("supervisor"), files={"file": ("t.csv", _csv(*rows))})
    assert r.status_code == 422
    body = r.json()
    assert len(body["errors"]) == get_settings().max_listed_errors
    assert body["error_count"] >= 3000
    _nothing_written(db)


FORMULAS = [
    '=HYPERLINK("http://evil.example","点击")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
]


def test_formula_text_is_kept_as_text_and_neutralised_on_export(client, make_token):
    sup = make_token("supervisor")
    rows = [target_row(i, name=f) for i, f in enumerate(FORMULAS, start=1)]
    r = client.post(URL, headers=sup, files={"file": ("t.csv", _csv(*rows))})
    assert r.status_code == 200, r.text
    names = {
        client.get(f"/api/v1/targets/{uscc(i)}", headers=sup).json()["name"]
        for i in range(1, len(FORMULAS) + 1)
    }
    assert names == set(FORMULAS)
    export = client.get("/api/v1/registries/targets/export", headers=sup, params={"format": "csv"})
    text = export.content.decode("utf-8-sig")
    for f in FORMULAS:
        assert f"'{f}" in text or f"\"'{f}" in text.replace('""', '"'), f
        assert f",{f}," not in text
    # The neutralised export imports back to the same names (round trip).
    r = client.post(URL, headers=sup, files={"file": ("t.csv", export.content)})
    assert r.status_code == 200 and r.json()["unchanged"] == len(FORMULAS), r.text


def test_xlsx_formula_cells_are_refused_not_evaluated(client, make_token, db):
    # openpyxl stores "=..." as a real formula (no cached value): the importer never
    # evaluates it and refuses the cell as empty.
    rows = [target_row(i, name=f) for i, f in enumerate(FORMULAS, start=1)]
    r = client.post(
        URL,
        headers=make_token("supervisor"),
        files={"file": ("t.xlsx", to_xlsx(TARGET_HEADER, rows))},
    )
    assert r.status_code == 422
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {(2, "名称"), (6, "名称")}
    _nothing_written(db)


def test_markup_in_names_stays_text_on_the_public_site(client, make_token, settings):
    from tests.plans.conftest import published
    from tests.tasks.conftest import city  # noqa: F401

    sup = make_token("supervisor")
    from tests.factories import INSPECTOR_HEADER, ITEM_HEADER, inspector_row, item_row
    from tests.plans.conftest import load

    xss = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    load(client, sup, "items", ITEM_HEADER, [item_row("YB-01"), item_row("YB-02")])
    load(
        client,
        sup,
        "targets",
        TARGET_HEADER,
        [target_row(i, name=f"{xss}医院{i}") for i in range(1, 21)],
    )
    load(
        client,
        sup,
        "inspectors",
        INSPECTOR_HEADER,
        [inspector_row(f"3704{n:010d}", region=("370402", "370403")[n % 2]) for n in range(8)],
    )
    code = published(client, sup)
    r = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": "1-0-0-0-0-0"}
    )
    assert r.status_code == 201, r.text
    from app.publish.write import publish

    with make_sessionmaker(client.app.state.engine)() as s:
        publish(s, settings.publish_dir)
    pages = list(settings.publish_dir.resolve().rglob("*.html"))
    shown = 0
    for page in pages:
        html = page.read_text()
        assert "<script>alert" not in html, page
        assert "<img src=x" not in html, page
        shown += html.count("&lt;script&gt;alert")
    assert shown > 0, "the hostile names must appear, escaped"
