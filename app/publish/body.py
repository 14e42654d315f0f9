"""PURE: a stored draw body read as its JSON text, its tasks decoded a chunk at a time.

A national draw's body is tens of MB of text and, decoded whole, several times that in Python
objects (54,068 task dicts at 1,000,000 targets: most of a publish's peak memory). Publishing
needs the tasks once, in order — for the draw's JSON file and its task rows — so `RawBody`
keeps the text, decodes the keys before "tasks" at once, and decodes the tasks JSON_CHUNK at a
time in one pass (`walk`) that gives the JSON file's bytes: the same bytes as
`dumps({**json.loads(text), **state})` (the same decoder, element by element; compact JSON has
no state between the items of a list or the keys of an object). `top_level_value` reads one
key written after the tasks (the public log's `tasks_sha256`) without decoding them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from app.publish.formats import JSON_CHUNK, dumps

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


class BodyFormatError(ValueError):
    """A stored body that is not a JSON object."""


class RawBody:
    """A draw body as stored (JSON text) with `state` (status, supersession) laid over its
    keys as `{**body, **state}`. `head`: the keys before "tasks", decoded; `top` and
    `task_count`: every key but "tasks" and the number of tasks, once a `walk` has ended."""

    def __init__(self, text: str, state: Mapping[str, Any]) -> None:
        self.text = text
        self.state = dict(state)
        self.head: dict[str, Any] = {}
        self.top: dict[str, Any] | None = None
        self.task_count: int | None = None
        self._tail: dict[str, Any] = {}  # the keys after "tasks", once a walk has ended
        pos = self._expect(self._space(0), "{")
        pos = self._space(pos)
        if text.startswith("}", pos):
            self._tasks_at: int | None = None
            self._finish({}, 0)
            return
        while True:
            key, pos = self._key(pos)
            if key == "tasks":
                self._tasks_at = pos
                return
            self.head[key], pos = _DECODER.raw_decode(text, pos)
            pos, more = self._next(pos)
            if not more:
                self._tasks_at = None
                self._finish({}, 0)
                return

    def get(self, key: str) -> Any:
        """One top-level key's value as stored (None if absent; without the state), decoding
        the tasks only if the key comes after them and no walk has ended yet."""
        if key in self.head:
            return self.head[key]
        if self.top is None:
            for _ in self.walk(lambda chunk: None):
                pass
        return self._tail.get(key)

    def walk(self, on_tasks: Callable[[list[dict[str, Any]]], None]) -> Iterator[bytes]:
        """The JSON file of the body with its state, in pieces; each chunk of decoded tasks is
        given to `on_tasks` (in order) before its bytes are yielded. Sets `top` and
        `task_count` when it ends."""
        state = self.state
        sep = b"{"
        for key, value in self.head.items():
            yield sep + dumps(key) + b":" + dumps(state.get(key, value))
            sep = b","
        if self._tasks_at is None:  # no tasks: the whole object is in `head`
            yield from self._rest(sep, {})
            return
        text = self.text
        yield sep + b'"tasks":['
        pos = self._expect(self._space(self._tasks_at), "[")
        pos = self._space(pos)
        count = 0
        more = not text.startswith("]", pos)
        if not more:
            pos += 1
        while more:
            chunk: list[dict[str, Any]] = []
            while more and len(chunk) < JSON_CHUNK:
                task, pos = _DECODER.raw_decode(text, pos)
                chunk.append(task)
                pos, more = self._next(pos, close="]")
            on_tasks(chunk)
            piece = dumps(chunk)[1:-1]  # without its [ ]
            yield b"," + piece if count else piece
            count += len(chunk)
        yield b"]"
        tail: dict[str, Any] = {}
        pos, more = self._next(pos)
        while more:
            key, pos = self._key(pos)
            tail[key], pos = _DECODER.raw_decode(text, pos)
            pos, more = self._next(pos)
        for key, value in tail.items():
            yield b"," + dumps(key) + b":" + dumps(state.get(key, value))
        yield from self._rest(b",", tail, count)

    def _rest(self, sep: bytes, tail: dict[str, Any], count: int = 0) -> Iterator[bytes]:
        """The state's keys the body does not have (appended, as `{**body, **state}` does)."""
        known = (
            self.head.keys() | tail.keys() | ({"tasks"} if self._tasks_at is not None else set())
        )
        for key, value in self.state.items():
            if key not in known:
                yield sep + dumps(key) + b":" + dumps(value)
                sep = b","
        yield b"{}" if sep == b"{" else b"}"
        self._finish(tail, count)

    def _finish(self, tail: dict[str, Any], count: int) -> None:
        self._tail = tail
        self.top = {**self.head, **tail, **self.state}
        self.task_count = count

    # --- the top level of the text ------------------------------------------------------

    def _space(self, pos: int) -> int:
        return _skip(self.text, pos)

    def _expect(self, pos: int, char: str) -> int:
        if not self.text.startswith(char, pos):
            raise BodyFormatError(f"抽取记录格式错误：第 {pos} 个字符处应为 {char!r}")
        return pos + 1

    def _key(self, pos: int) -> tuple[str, int]:
        """A key and the position of its value."""
        pos = self._space(pos)
        if not self.text.startswith('"', pos):
            raise BodyFormatError(f"抽取记录格式错误：第 {pos} 个字符处应为键名")
        key, pos = _DECODER.raw_decode(self.text, pos)
        return key, self._space(self._expect(self._space(pos), ":"))

    def _next(self, pos: int, close: str = "}") -> tuple[int, bool]:
        """After a value: past its "," (True: another follows) or its closing bracket."""
        pos = self._space(pos)
        if self.text.startswith(",", pos):
            return self._space(pos + 1), True
        return self._expect(pos, close), False


def top_level_value(text: str, key: str) -> Any:
    """`json.loads(text).get(key)` for the JSON object `text`, without decoding all of it
    when `key` is its last occurrence and a top-level key: the text after it is decoded (its
    value, then the keys and values that follow up to the object's closing brace, the text's
    last character but white space). Anything else — the key absent, nested, or the text not
    as expected — decodes the whole text."""
    needle = json.dumps(key)
    at = text.rfind(needle)
    before = at - 1
    while before >= 0 and text[before] in _SPACE:
        before -= 1
    if at > 0 and before >= 0 and text[before] in ",{":  # a token, not inside a string
        try:
            value, pos = _after_colon(text, at + len(needle))
            while True:
                pos = _skip(text, pos)
                if text[pos] == "}":
                    if _skip(text, pos + 1) == len(text):
                        return value
                    break
                if text[pos] != ",":
                    break
                pos = _skip(text, pos + 1)
                if text[pos] != '"':
                    break
                later, pos = _DECODER.raw_decode(text, pos)
                if later == key:  # the same key written with escapes: the later one counts
                    break
                _value, pos = _after_colon(text, pos)
        except (ValueError, IndexError):
            pass
    body = json.loads(text)
    return body.get(key) if body else None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _after_colon(text: str, pos: int) -> tuple[Any, int]:
    """The value after a key's ":" at `pos` (white space allowed), and the position after it."""
    pos = _skip(text, pos)
    if text[pos] != ":":
        raise ValueError("no colon")
    return _DECODER.raw_decode(text, _skip(text, pos + 1))
