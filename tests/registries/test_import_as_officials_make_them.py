"""Registry spreadsheets the way officials make them: a title row and a merged group header
above the header row, codes Excel turned into numbers (said, with the fix), dates typed."""

import io

from openpyxl import Workbook

from tests.factories import TARGET_HEADER, target_row, to_csv, uscc


def _upload(client, headers, name, body, kind="targets"):
    return client.post(
        f"/api/v1/registries/{kind}/import", headers=headers, files={"file": (name, body)}
    )


def _xlsx(rows, merges=()):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_title_row_and_a_merged_group_header_are_skipped(client, make_token):
    sup = make_token("supervisor")
    n = len(TARGET_HEADER)
    groups = (
        ["基本信息"] + [None] * 6 + ["联系信息"] + [None] * 2 + ["监管信息"] + [None] * (n - 11)
    )
    rows = [
        ["某市定点医药机构名录（2026年12月）"] + [None] * (n - 1),
        [None] * n,
        groups,
        TARGET_HEADER,
        target_row(1),
        target_row(2),
    ]
    body = _xlsx(rows, merges=[f"A1:{chr(64 + n)}1", "A3:G3", "H3:J3", f"K3:{chr(64 + n)}3"])
    r = _upload(client, sup, "targets.xlsx", body)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    # a bad row is named by its row in the spreadsheet (below the title rows)
    rows[5] = target_row(2, region="99")
    r = _upload(client, sup, "targets.xlsx", _xlsx(rows))
    assert r.status_code == 422
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {(6, "医保区划")}


def test_a_heading_merged_over_two_rows_names_its_column(client, make_token):
    sup = make_token("supervisor")
    top = list(TARGET_HEADER)
    top[6:9] = ["联系方式", None, None]  # 地址、法定代表人、联系电话 under one group heading
    lower = [None] * 6 + TARGET_HEADER[6:9] + [None] * (len(TARGET_HEADER) - 9)
    body = _xlsx([top, lower, target_row(3)])
    r = _upload(client, sup, "targets.xlsx", body)
    assert r.status_code == 200, r.text


def test_no_header_anywhere_says_what_a_header_is(client, make_token):
    sup = make_token("supervisor")
    body = to_csv(["单位", "地点"], [["甲", "乙"]])
    r = _upload(client, sup, "targets.csv", body)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert "没有找到表头行" in error["message"] and "统一社会信用代码" in error["message"]


def test_codes_excel_made_numbers_are_named_with_the_fix(client, make_token):
    sup = make_token("supervisor")
    digits = next(u for u in (uscc(i) for i in range(1, 500)) if u.isdigit())
    scientific = f"{digits[0]}.{digits[1:6]}E+17"
    rounded = digits[:15] + "000"
    rows = [target_row(1), target_row(2), target_row(3)]
    rows[0][0], rows[1][0] = scientific, rounded
    r = _upload(client, sup, "targets.csv", to_csv(TARGET_HEADER, rows))
    assert r.status_code == 422
    messages = {e["row"]: e["message"] for e in r.json()["errors"]}
    assert "科学计数法" in messages[2] and "文本" in messages[2]
    assert "Excel" in messages[3] and "15 位有效数字" in messages[3]
    # the same code as a number cell of an XLSX (a double: 15 significant digits kept)
    rows = [target_row(1)]
    rows[0][0] = float(digits)
    body = _xlsx([TARGET_HEADER, rows[0]])
    r = _upload(client, sup, "targets.xlsx", body)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert "Excel" in error["message"] and "文本" in error["message"]
