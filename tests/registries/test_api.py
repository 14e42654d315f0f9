"""Registry reads, edits, history, export and access control."""

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from tests.factories import TARGET_HEADER, encode, target_row, uscc


def _load(client, headers, rows):
    name, body = encode("utf-8", TARGET_HEADER, rows)
    r = client.post(
        "/api/v1/registries/targets/import", headers=headers, files={"file": (name, body)}
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_list_filters_and_cursor_pagination(client, make_token):
    sup = make_token("supervisor")
    rows = [
        target_row(
            i,
            region="370402" if i % 2 else "370481",
            kind="定点零售药店" if i % 3 == 0 else "定点医疗机构",
        )
        for i in range(1, 31)
    ]
    _load(client, sup, rows)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, "region": "3704"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/targets", headers=sup, params=params).json()
        seen += [t["uscc"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(uscc(i) for i in range(1, 31))
    odd = client.get(
        "/api/v1/targets",
        headers=sup,
        params={"region": "370402", "kind": "定点零售药店", "limit": 100},
    ).json()
    assert {t["uscc"] for t in odd["items"]} == {uscc(i) for i in (3, 9, 15, 21, 27)}
    assert client.get("/api/v1/targets", headers=sup, params={"cursor": "!!"}).status_code == 400


def test_patch_validates_and_delete_deactivates_keeping_history(client, make_token):
    sup = make_token("supervisor")
    _load(client, sup, [target_row(1), target_row(2)])
    bad = client.patch(
        f"/api/v1/targets/{uscc(1)}",
        headers=sup,
        json={"region": "12", "credit_grade": "Z", "uscc": "x"},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"region", "credit_grade", "uscc"}
    assert client.get(f"/api/v1/targets/{uscc(1)}", headers=sup).json()["region"] == "370402"
    ok = client.patch(
        f"/api/v1/targets/{uscc(1)}",
        headers=sup,
        json={"credit_grade": "c", "tags": ["举报:2", "智能监控:1"]},
    )
    assert ok.status_code == 200
    assert ok.json()["credit_grade"] == "C" and ok.json()["tags"] == ["举报:2", "智能监控:1"]
    gone = client.delete(f"/api/v1/targets/{uscc(2)}", headers=sup)
    assert gone.status_code == 200 and gone.json()["active"] is False
    listed = client.get("/api/v1/targets", headers=sup).json()["items"]
    assert [t["uscc"] for t in listed] == [uscc(1)]
    hist = client.get(f"/api/v1/targets/{uscc(2)}/history", headers=sup).json()["items"]
    assert [h["op"] for h in hist] == ["create", "deactivate"]
    assert client.get("/api/v1/targets/NOPE", headers=sup).status_code == 404


def test_as_of_reads_the_registry_as_it_stood(client, make_token):
    sup = make_token("supervisor")
    _load(client, sup, [target_row(1, grade="A")])
    between = datetime.now(UTC)
    client.patch(f"/api/v1/targets/{uscc(1)}", headers=sup, json={"credit_grade": "D"})
    client.delete(f"/api/v1/targets/{uscc(1)}", headers=sup)
    past = client.get("/api/v1/targets", headers=sup, params={"as_of": between.isoformat()}).json()[
        "items"
    ]
    assert [(t["uscc"], t["credit_grade"]) for t in past] == [(uscc(1), "A")]
    assert client.get("/api/v1/targets", headers=sup).json()["items"] == []
    before = client.get(
        "/api/v1/targets", headers=sup, params={"as_of": "2000-01-01T00:00:00Z"}
    ).json()["items"]
    assert before == []


def test_export_round_trips_and_guards_formulas(client, make_token):
    sup = make_token("supervisor")
    _load(client, sup, [target_row(1, name='=HYPERLINK("http://x")医院'), target_row(2)])
    csv_body = client.get(
        "/api/v1/registries/targets/export", headers=sup, params={"format": "csv"}
    ).content
    assert csv_body.startswith("\ufeff".encode())
    assert "'=HYPERLINK" in csv_body.decode("utf-8-sig")
    again = client.post(
        "/api/v1/registries/targets/import", headers=sup, files={"file": ("t.csv", csv_body)}
    ).json()
    assert again["unchanged"] == 2 and again["updated"] == 0
    xlsx = client.get(
        "/api/v1/registries/targets/export", headers=sup, params={"format": "xlsx"}
    ).content
    ws = load_workbook(io.BytesIO(xlsx)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == TARGET_HEADER
    assert values[1][1].startswith("'=")
    again = client.post(
        "/api/v1/registries/targets/import", headers=sup, files={"file": ("t.xlsx", xlsx)}
    ).json()
    assert again["unchanged"] == 2


def test_csv_export_is_streamed_in_chunks_from_its_own_session(client, make_token, db):
    from app.db import make_sessionmaker
    from app.registries import export

    sup = make_token("supervisor")
    _load(client, sup, [target_row(k) for k in range(1, 8)])
    chunks = list(export.export_csv_chunks(make_sessionmaker(db), kind="targets", rows_per_chunk=3))
    # header + 7 rows in pieces of 3 rows: 3 chunks, the BOM only in the first
    assert len(chunks) == 3 and chunks[0].startswith("\ufeff".encode())
    assert not any(c.startswith("\ufeff".encode()) for c in chunks[1:])
    with make_sessionmaker(db)() as s:
        assert b"".join(chunks) == export.export(s, kind="targets", fmt="csv")
    streamed = client.get("/api/v1/registries/targets/export", headers=sup)
    assert streamed.status_code == 200 and streamed.content == b"".join(chunks)
    assert streamed.headers["content-type"].startswith("text/csv")
    assert client.get("/api/v1/registries/nope/export", headers=sup).status_code == 404


def test_roles_and_tokens(client, make_token):
    assert client.get("/api/v1/targets").status_code == 401
    bad = client.get("/api/v1/targets", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    credit = make_token("credit")
    r = client.get("/api/v1/targets", headers=credit)
    assert r.status_code == 403 and r.json()["title"].startswith("无权限")
    assert client.get("/api/v1/targets", headers=make_token("admin")).status_code == 200
