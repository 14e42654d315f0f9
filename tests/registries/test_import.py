"""Registry import: formats, validation, all-or-nothing, idempotence, history."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Inspector, RegistryHistory, Target
from tests.factories import (
    FORMATS,
    INSPECTOR_HEADER,
    ITEM_HEADER,
    TARGET_HEADER,
    encode,
    inspector_row,
    item_row,
    target_row,
    uscc,
)


def _upload(client: TestClient, headers: dict[str, str], kind: str, name: str, body: bytes) -> Any:
    return client.post(
        f"/api/v1/registries/{kind}/import", headers=headers, files={"file": (name, body)}
    )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_every_format_then_reimport_is_unchanged(client, make_token, session, fmt):
    sup = make_token("supervisor")
    rows = [target_row(i, name=f"第{i}人民医院") for i in range(1, 6)]
    name, body = encode(fmt, TARGET_HEADER, rows)
    r = _upload(client, sup, "targets", name, body)
    assert r.status_code == 200, r.text
    assert r.json() | {"file_sha256": None} == {
        "rows": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "file_sha256": None,
    }
    got = client.get(f"/api/v1/targets/{uscc(3)}", headers=sup).json()
    assert got["name"] == "第3人民医院" and got["region"] == "370402" and got["tags"] == []
    r2 = _upload(client, sup, "targets", name, body)
    assert r2.json()["unchanged"] == 5 and r2.json()["created"] == 0
    # Nothing was replaced, so no version was archived; each row's history is its creation.
    assert _count(session, RegistryHistory) == 0
    hist = client.get(f"/api/v1/targets/{uscc(3)}/history", headers=sup).json()["items"]
    assert [(h["version"], h["op"], h["valid_to"]) for h in hist] == [(1, "create", None)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_are_all_listed_and_nothing_is_written(client, make_token, session, fmt):
    sup = make_token("supervisor")
    good = target_row(1)
    bad_checksum = target_row(2)
    bad_checksum[0] = bad_checksum[0][:-1] + ("0" if bad_checksum[0][-1] != "0" else "1")
    bad_region = target_row(3, region="37040")
    bad_kind = target_row(4, kind="医院")
    missing_name = target_row(5, name="")
    missing_name[1] = ""
    duplicate = target_row(1)
    rows = [good, bad_checksum, bad_region, bad_kind, missing_name, duplicate]
    name, body = encode(fmt, TARGET_HEADER, rows)
    r = _upload(client, sup, "targets", name, body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and problem["error_count"] == 5
    by_row = {(e["row"], e["field"]) for e in problem["errors"]}
    assert by_row == {
        (3, "统一社会信用代码"),
        (4, "医保区划"),
        (5, "类型"),
        (6, "名称"),
        (7, "统一社会信用代码"),
    }
    assert any("第 2 行重复" in e["message"] for e in problem["errors"])
    assert _count(session, Target) == 0
    assert _count(session, RegistryHistory) == 0
    assert _count(session, AuditEntry) == 1  # only the token's creation


def test_bad_row_after_a_full_chunk_rolls_back_the_written_chunk(client, make_token, session):
    from app.registries.importer import CHUNK

    sup = make_token("supervisor")
    rows = [target_row(i) for i in range(1, CHUNK + 10)]
    rows.append(target_row(CHUNK + 20, region="x"))
    name, body = encode("utf-8", TARGET_HEADER, rows)
    r = _upload(client, sup, "targets", name, body)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"row": CHUNK + 10 + 1, "field": "医保区划", "message": "医保区划应为 6 位数字"}
    ]
    assert _count(session, Target) == 0


def test_header_problems_unknown_and_missing_columns(client, make_token):
    sup = make_token("supervisor")
    header = [h for h in TARGET_HEADER if h != "类型"] + ["备注"]
    rows = [[c for j, c in enumerate(target_row(1)) if j != 2] + ["x"]]
    name, body = encode("utf-8", header, rows)
    problem = _upload(client, sup, "targets", name, body).json()
    messages = {(e["field"], e["message"]) for e in problem["errors"]}
    (unknown,) = [m for f, m in messages if f == "备注"]
    assert unknown.startswith("未知列“备注”：本名录的列名为 统一社会信用代码、名称、类型")
    assert ("类型", "缺少必填列“类型”（kind）") in messages


def test_english_aliases_are_accepted(client, make_token):
    sup = make_token("supervisor")
    header = ["uscc", "name", "kind", "region"]
    name, body = encode("utf-8", header, [[uscc(9), "某诊所", "定点医疗机构", "370403"]])
    r = _upload(client, sup, "targets", name, body)
    assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/targets/{uscc(9)}", headers=sup).json()
    assert got["level"] == "未定级" and got["status"] == "正常"


def test_lookalike_and_control_characters_are_rejected(client, make_token, session):
    sup = make_token("supervisor")
    fullwidth = target_row(1)
    fullwidth[0] = fullwidth[0].replace("1", "１", 1)
    control = target_row(2, name="医院\x07")
    name, body = encode("utf-8", TARGET_HEADER, [fullwidth, control])
    problem = _upload(client, sup, "targets", name, body).json()
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (2, "统一社会信用代码"),
        (3, "名称"),
    ]
    assert "全角" in problem["errors"][0]["message"]
    assert _count(session, Target) == 0


def test_undecodable_and_empty_files(client, make_token):
    sup = make_token("supervisor")
    assert _upload(client, sup, "targets", "f.csv", b"").status_code == 422
    garbage = b"\xff\xfe\xfd\x80\x81" * 10
    r = _upload(client, sup, "targets", "f.csv", garbage)
    assert r.status_code == 422 and "编码" in r.json()["detail"]
    r = _upload(client, sup, "targets", "f.xlsx", b"PK\x03\x04broken")
    assert r.status_code == 422 and "XLSX" in r.json()["detail"]


def test_changed_row_is_updated_and_history_kept(client, make_token, session):
    sup = make_token("supervisor")
    name, body = encode("utf-8", TARGET_HEADER, [target_row(1, grade="A"), target_row(2)])
    _upload(client, sup, "targets", name, body)
    name, body = encode("utf-8", TARGET_HEADER, [target_row(1, grade="C"), target_row(2)])
    r = _upload(client, sup, "targets", name, body).json()
    assert (r["created"], r["updated"], r["unchanged"]) == (0, 1, 1)
    hist = client.get(f"/api/v1/targets/{uscc(1)}/history", headers=sup).json()["items"]
    assert [h["data"]["credit_grade"] for h in hist] == ["A", "C"]
    assert hist[0]["valid_to"] == hist[1]["valid_from"]
    assert hist[1]["valid_to"] is None


def test_inspector_conflicts_must_name_known_targets(client, make_token, session):
    sup = make_token("supervisor")
    name, body = encode("utf-8", TARGET_HEADER, [target_row(1)])
    _upload(client, sup, "targets", name, body)
    rows = [
        inspector_row("37040220230001", conflicts=uscc(1)),
        inspector_row("37040220230002", conflicts=f"{uscc(1)};{uscc(77)}"),
    ]
    name, body = encode("utf-8", INSPECTOR_HEADER, rows)
    r = _upload(client, sup, "inspectors", name, body)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"row": 3, "field": "回避对象", "message": f"回避对象 {uscc(77)} 不在检查对象名录库中"}
    ]
    assert _count(session, Inspector) == 0
    name, body = encode("utf-8", INSPECTOR_HEADER, rows[:1])
    assert _upload(client, sup, "inspectors", name, body).status_code == 200
    got = client.get("/api/v1/inspectors/37040220230001", headers=sup).json()
    assert got["conflicts"] == [uscc(1)] and got["kind"] == "执法人员"


def test_items_ratio_and_kinds_are_normalised(client, make_token):
    sup = make_token("supervisor")
    name, body = encode("utf-8", ITEM_HEADER, [item_row("YB-01"), item_row("YB-02", kinds="医院")])
    problem = _upload(client, sup, "items", name, body).json()
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(3, "适用对象")]
    name, body = encode("utf-8", ITEM_HEADER, [item_row("YB-01")])
    assert _upload(client, sup, "items", name, body).status_code == 200
    got = client.get("/api/v1/items/YB-01", headers=sup).json()
    assert got["ratio"] == "0.05" and got["target_kinds"] == ["定点医疗机构", "定点零售药店"]


def test_xlsx_numeric_cells_are_read_as_text(client, make_token):
    from tests.factories import to_xlsx

    sup = make_token("supervisor")
    row: list[object] = list(target_row(1))
    row[5] = 370402  # Excel stores the region as a number
    r = _upload(client, sup, "targets", "f.xlsx", to_xlsx(TARGET_HEADER, [row]))
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/targets/{uscc(1)}", headers=sup).json()["region"] == "370402"
