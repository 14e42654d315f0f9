"""A draw's large files are made a piece at a time (issue 28: bounded memory) and stay the same
bytes: the stored body walked as text (app/publish/body.py), the JSON and CSV streamed, the
XLSX compressed a chunk of rows at a time (app/spreadsheets.py)."""

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.publish import formats
from app.publish.body import BodyFormatError, RawBody
from app.publish.collect import collect
from app.publish.draws import render_draw
from app.publish.formats import Streamed, csv_bytes, csv_streamed, dumps, dumps_streamed
from app.spreadsheets import _info, xlsx_bytes
from tests.publish.conftest import create_and_publish, draw

HEADER = ["编号", "名称", "数", "概率", "空"]
ROWS = [
    [
        f"T-{i:05d}",
        ["=1+1", "医院", "药店\x01", "a<b&c", ""][i % 5],
        i,
        i / 7,
        None if i % 3 else "说明",
    ]
    for i in range(12_001)
]


def _body(tasks: int) -> dict[str, object]:
    return {
        "schema_version": "1",
        "id": "D-1",
        "status": "current",
        "strata": [{"key": "医院|一级", "n": 1, "N": 2}],
        "tasks": [
            {"id": f"T{i}", "名称": "医院\"'\\", "p": i / 3, "team": []} for i in range(tasks)
        ],
        "visit_rule": {"join": [1, 2]},
        "tasks_sha256": "ab" * 32,
    }


@pytest.mark.parametrize("tasks", [0, 1, formats.JSON_CHUNK, formats.JSON_CHUNK + 1, 2_500])
@pytest.mark.parametrize(
    "style", [{}, {"indent": 2}, {"separators": (",", ":"), "ensure_ascii": False}]
)
def test_a_stored_body_walked_as_text_gives_the_bytes_of_the_decoded_body(tasks, style):
    body = _body(tasks)
    text = json.dumps(body, **style)
    # the state overrides a key before the tasks and adds two the body does not have
    state = {"status": "superseded", "superseded_at": "2027-01-02T03:04:05", "x": None}
    raw = RawBody(text, state)
    chunks: list[list[dict[str, object]]] = []
    walked = b"".join(raw.walk(chunks.append))
    assert walked == dumps({**json.loads(text), **state})
    assert [t for c in chunks for t in c] == body["tasks"]
    assert all(len(c) == formats.JSON_CHUNK for c in chunks[:-1])
    assert raw.task_count == tasks
    assert raw.top == {k: v for k, v in {**body, **state}.items() if k != "tasks"}
    # a key after the tasks, asked before any walk: as stored (without the state)
    assert RawBody(text, state).get("tasks_sha256") == "ab" * 32
    assert RawBody(text, state).get("status") == "current"


def test_a_body_without_tasks_and_an_empty_body_walk_as_decoded():
    for body in ({}, {"id": "D", "status": "failed", "error": "x"}):
        raw = RawBody(json.dumps(body), {"status": "failed"})
        assert b"".join(raw.walk(lambda chunk: None)) == dumps({**body, "status": "failed"})
        assert raw.task_count == 0
    with pytest.raises(BodyFormatError):
        RawBody("[1, 2]", {})


def test_streamed_json_and_csv_are_the_bytes_of_the_whole(monkeypatch):
    body = _body(2_500)
    assert bytes(dumps_streamed(body)) == dumps(body)
    assert bytes(dumps_streamed([1, 2])) == dumps([1, 2])
    whole = csv_bytes(HEADER, ROWS)
    # sha256 of csv_bytes before it was streamed (9a05455)
    assert hashlib.sha256(whole).hexdigest() == (
        "dfb253c216d0e2b728b8f23980d0e680e85b7609d3443cb46b9a2a0e6c04556f"
    )
    monkeypatch.setattr(formats, "CSV_CHUNK", 7)  # a formula cell in many chunks
    assert bytes(csv_streamed(HEADER, ROWS)) == whole
    assert bytes(csv_streamed(HEADER, [])) == csv_bytes(HEADER, [])
    ragged = [*ROWS[:20], ["=x"]]
    assert bytes(csv_streamed(HEADER, ragged)) == csv_bytes(HEADER, ragged)
    sink = io.BytesIO()
    assert Streamed(lambda: iter([b"a", b"bc"])).write_to(sink) == 3 and sink.getvalue() == b"abc"


@pytest.mark.parametrize("number_formats", [None, {2: "0.00"}])
def test_xlsx_compressed_by_chunks_is_the_workbook_written_whole(number_formats):
    made = xlsx_bytes("抽查任务", HEADER, ROWS, number_formats=number_formats)
    assert made == xlsx_bytes("抽查任务", HEADER, ROWS, number_formats=number_formats, chunk=1)
    # the parts as the writer made them before it streamed (9a05455)
    golden = {
        "xl/worksheets/sheet1.xml": "242df4fbba447d29f8ce67bbad8a741f886f0d72d43a316de799ecd82006d5f8"
        if number_formats is None
        else "bc6adbfd23c598d535aa6524d1a26c891483c8d0f796c987c6cd0f3b86f14f67",
        "xl/sharedStrings.xml": "d8add8e10add5b84ae771882177c874a622a9fc45f8e9b72b730aefcfa2156b4",
    }
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    assert {n: hashlib.sha256(parts[n]).hexdigest() for n in golden} == golden
    # the same archive as each part given whole to writestr, as before
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            zf.writestr(_info(name), data, compresslevel=1)
    assert buf.getvalue() == made


def test_a_draw_rendered_from_its_stored_text_is_the_draw_rendered_from_its_dicts(
    client, pub_city, session
):
    create_and_publish(client, pub_city)
    drawn = draw(client, pub_city, "PUB-1")
    data = collect(session, now=datetime.now(UTC))
    (d,) = [d for d in data.draws if d.id == drawn["id"]]
    loaded = d.loaded()
    raw = loaded.body
    assert isinstance(raw, RawBody)
    rest = (loaded.population_gz, loaded.out_gz, loaded.team_frame_gz)
    decoded = replace(d, loader=lambda: ({**json.loads(raw.text), **raw.state}, *rest))
    titles = {p["code"]: p["title"] for p in data.plans}

    def files(draw_data):  # type: ignore[no-untyped-def]
        out: dict[str, object] = {}
        render_draw(out, draw_data, data, titles)
        made = {}
        for k, v in out.items():
            if isinstance(v, bytes):
                made[k] = v
            else:  # a streamed file, a population decompressed as written
                v.write_to(sink := io.BytesIO())  # type: ignore[attr-defined]
                made[k] = sink.getvalue()
        return made

    from_text, from_dicts = files(d), files(decoded)
    assert from_text.keys() == from_dicts.keys()
    assert {k for k in from_text if from_text[k] != from_dicts[k]} == set()
    assert json.loads(from_text[f"draws/{d.id}.json"])["tasks"] == drawn["tasks"]
