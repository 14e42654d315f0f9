"""The one input rule: what no request may carry, checked before any expensive work.

- JSON nested deeper than `MAX_JSON_DEPTH` (arrays and objects): counted on the raw bytes,
  before any parser sees them (a deep enough array overflows the C parser's stack);
- a NUL character (U+0000), anywhere: in a JSON string or key (the escape `\\u0000`), a query
  parameter, the path, a form field (PostgreSQL text cannot hold one: a single stored NUL made
  every later site build fail); uploaded cells go through the registries' stricter text rule
  (`app/registries/fields.py`, control characters), which refuses it too;
- a numeral of more than `MAX_DIGITS` digits (Python refuses to convert an integer of more than
  4,300 digits, and nothing the service stores is that long).

A number that is not finite (`NaN`, `Infinity`, `1e999`) is left to the schemas, which refuse it
naming its row and field (`allow_inf_nan=False`, `finite_number`).

Each refusal is a 422 problem+json naming the field ("body" for a JSON body, the parameter or
form field otherwise). `app/limits.py` applies the rule to every request's path, query and
buffered body (JSON, urlencoded forms); multipart forms' text fields are checked where they
are parsed (`app/api.py`, `app/console/web.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

import numpy as np

from app.errors import ValidationFailed

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a JSON body may have (plans need 4)."""
MAX_DIGITS = 1000
"""Longest run of digits in any input (a number literal, a string, a parameter)."""

# A JSON string, quotes included (possessive: linear even on an unterminated string).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
# The escape \u0000 preceded by an even number of backslashes (an odd one escapes the first).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*+\\u0000")
_DIGITS = re.compile(rb"(?<![0-9])[0-9]{%d}" % (MAX_DIGITS + 1))
_DIGITS_TEXT = re.compile(_DIGITS.pattern.decode())
_BRACKETS = re.compile(rb"[^\[\]{}]+")
_OPENERS = np.frombuffer(b"[{", dtype=np.uint8)

NUL_MESSAGE = "不得包含 NUL 字符 (U+0000) (NUL character not allowed)"
DIGITS_MESSAGE = f"数字超过 {MAX_DIGITS} 位 (number longer than {MAX_DIGITS} digits)"
DEPTH_MESSAGE = f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层 (JSON nested deeper than {MAX_JSON_DEPTH})"


class InputRefused(ValidationFailed):
    """A request that breaks the input rule (422)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("请求含有不允许的内容 (input refused by the input rule)", errors=errors)


def text_problem(value: str) -> str | None:
    """Why `value` may not be accepted as text, or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    if _DIGITS_TEXT.search(value):
        return DIGITS_MESSAGE
    return None


def check_texts(pairs: Iterable[tuple[str, str]]) -> None:
    """InputRefused naming every (field, value) pair whose field name or value breaks the rule."""
    errors = []
    for field, value in pairs:
        if (message := text_problem(field)) is not None:
            errors.append({"field": "query", "message": message})
        elif (message := text_problem(value)) is not None:
            errors.append({"field": field, "message": message})
    if errors:
        raise InputRefused(errors)


def check_url(path: str, query: bytes) -> None:
    """The path (decoded) and every query parameter."""
    pairs = [("path", path)]
    if query:
        pairs += parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    check_texts(pairs)


def check_urlencoded(body: bytes) -> None:
    """Every field of an application/x-www-form-urlencoded body."""
    check_texts(parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8"))


def too_deep(raw: bytes) -> bool:
    """Whether JSON text nests arrays and objects deeper than `MAX_JSON_DEPTH` (brackets
    inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _BRACKETS.sub(b"", _STRING.sub(b'""', raw))
    if len(brackets) <= MAX_JSON_DEPTH:
        return False
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where(np.isin(codes, _OPENERS), 1, -1)
    return bool(np.cumsum(steps).max() > MAX_JSON_DEPTH)


def check_json(raw: bytes) -> None:
    """The raw bytes of a JSON body, before anything parses them."""
    message = None
    if too_deep(raw):
        message = DEPTH_MESSAGE
    elif b"\x00" in raw or _NUL_ESCAPE.search(raw):
        message = NUL_MESSAGE
    elif _DIGITS.search(raw):
        message = DIGITS_MESSAGE
    if message is not None:
        raise InputRefused([{"field": "body", "message": message}])
