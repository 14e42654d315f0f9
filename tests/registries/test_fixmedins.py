"""定点医药机构编码 (fixmedins_code) beside the USCC: H for 定点医疗机构, P for 定点零售药店, then the
institution's own 6-digit 医保区划 and 5 digits. Checked on import (row and field named, nothing
written) and on PATCH; returned by the API; exported."""

import csv
import io

import pytest

from tests.factories import TARGET_HEADER, encode, target_row

CODE = TARGET_HEADER.index("定点医药机构编码")


def _row(i, code, **kw):
    row = target_row(i, **kw)
    row[CODE] = code
    return row


def _import(client, sup, rows, fmt="utf-8"):
    name, body = encode(fmt, TARGET_HEADER, rows)
    return client.post(
        "/api/v1/registries/targets/import", headers=sup, files={"file": (name, body)}
    )


@pytest.mark.parametrize("fmt", ["utf-8", "xlsx"])
def test_codes_are_imported_returned_and_exported(client, make_token, fmt):
    sup = make_token("supervisor")
    rows = [
        _row(1, "h37040200001"),  # lower case is accepted, stored upper
        _row(2, "P37040300002", kind="定点零售药店", level="未定级", region="370403"),
        _row(3, "", kind="医保经办机构", level="未定级"),
    ]
    r = _import(client, sup, rows, fmt)
    assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/targets/{rows[0][0]}", headers=sup).json()
    assert got["fixmedins_code"] == "H37040200001"
    assert client.get(f"/api/v1/targets/{rows[2][0]}", headers=sup).json()["fixmedins_code"] is None
    export = client.get("/api/v1/registries/targets/export", headers=sup, params={"format": "csv"})
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert "定点医药机构编码" in table[0]
    col = table[0].index("定点医药机构编码")
    assert {r[col] for r in table[1:]} == {"H37040200001", "P37040300002", ""}


def test_bad_codes_are_listed_by_row_and_nothing_is_written(client, make_token):
    sup = make_token("supervisor")
    rows = [
        _row(1, "H37040200001"),
        _row(2, "H3704020001"),  # 11 characters
        _row(3, "P37040200003"),  # a pharmacy's letter on a hospital
        _row(4, "H37040300004"),  # another region's code
        _row(5, "H37040200005", kind="医保经办机构", level="未定级"),  # no code for this kind
        _row(6, "X37040200006"),
    ]
    r = _import(client, sup, rows)
    assert r.status_code == 422, r.text
    bad = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert bad == {(n, "定点医药机构编码") for n in (3, 4, 5, 6, 7)}
    assert client.get("/api/v1/targets", headers=sup).json()["items"] == []


def test_patch_keeps_the_code_consistent(client, make_token):
    sup = make_token("supervisor")
    row = _row(1, "H37040200001")
    assert _import(client, sup, [row]).status_code == 200
    url = f"/api/v1/targets/{row[0]}"
    r = client.patch(url, headers=sup, json={"region": "370403"})
    assert r.status_code == 422 and "不一致" in r.text
    r = client.patch(url, headers=sup, json={"region": "370403", "fixmedins_code": "H37040300001"})
    assert r.status_code == 200, r.text
    assert r.json()["fixmedins_code"] == "H37040300001"
