"""A draw's log leaf reads `tasks_sha256` from the body's stored text without decoding the
tasks (`top_level_value`, app/publish/body.py): the same value as decoding the whole body, for
every shape of text, the tricky ones included."""

from __future__ import annotations

import json

import pytest

from app.publish.body import top_level_value

KEY = "tasks_sha256"
CASES = [
    '{"tasks": [{"a": 1}], "tasks_sha256": "ab"}',
    '{"tasks":[{"a":1}],"tasks_sha256":"ab"}',
    ' { "tasks" : [ ] ,\n "tasks_sha256" :\t"ab" , "x": {"y": [1, "}"]} }\n',
    '{"tasks_sha256": "ab", "tasks": [1, 2]}',  # before the tasks: the last occurrence
    '{"tasks_sha256": "first", "tasks": [], "tasks_sha256": "last"}',  # duplicates: the last
    '{"tasks": [{"tasks_sha256": "nested"}], "n": 1}',  # nested only: absent at the top
    '{"tasks_sha256": "top", "tasks": [{"tasks_sha256": "nested"}]}',
    '{"tasks_sha256": "top", "x": {"tasks_sha256": "nested"}}',
    '{"a": "x\\"tasks_sha256", "b": 1}',  # inside a string, escaped
    '{"a\\"tasks_sha256": "wrong", "tasks_sha256": "right"}',
    '{"x\\"tasks_sha256": "wrong key"}',  # a key ending in the needle
    '{"a": "tasks_sha256"}',  # a value, not a key
    '{"tasks_sha256": null}',
    '{"tasks_sha256": {"k": [1, 2]}, "z": "\\u0000"}',
    '{"tasks": []}',
    "{}",
    "null",
    '{"tasks_sha256": "a"}   ',
    '{"tasks_sha256": "plain", "tasks_sha\\u0032\\u0035\\u0036": "escaped, later"}',
    '{"tasks_sha256": 5, "b": [}',  # not JSON: the whole decode raises, as before
]


@pytest.mark.parametrize("text", CASES)
def test_the_value_decoding_the_whole_body_gives(text: str) -> None:
    try:
        body = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            top_level_value(text, KEY)
        return
    expected = body.get(KEY) if body else None
    assert top_level_value(text, KEY) == expected


def test_a_stored_draw_body_as_the_database_keeps_it() -> None:
    body = {"id": "D", "tasks": [{"id": f"T{i}", "n": '}"{'} for i in range(3000)]}
    body["tasks_sha256"] = "cd" * 32
    for text in (json.dumps(body), json.dumps(body, ensure_ascii=False, separators=(",", ":"))):
        assert top_level_value(text, KEY) == "cd" * 32


def test_the_tasks_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps({"tasks": [{"id": "T"}] * 10, "tasks_sha256": "ef", "count": 10})

    def whole(*_a: object, **_k: object) -> None:
        raise AssertionError("decoded whole")

    monkeypatch.setattr(json, "loads", whole)
    assert top_level_value(text, KEY) == "ef"
