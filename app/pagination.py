"""Keyset pagination shared by every list endpoint: opaque cursors and the one page envelope
`{items, next_cursor}` (PageOut), and the base of every response model (StrictOut)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.errors import BadRequest

T = TypeVar("T")


def encode_cursor(key: str) -> str:
    """Opaque cursor for the record after `key`."""
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor points after; 400 on a malformed cursor."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = data["k"]
        if not isinstance(key, str):
            raise TypeError
        return key
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadRequest("分页游标无效 (invalid cursor)") from None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], str]) -> Page[T]:
    """The page from `rows` fetched with LIMIT limit + 1: the extra row only says "more"."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items, encode_cursor(key(items[-1])) if more else None)


def int_key(n: int) -> str:
    """A cursor key for an integer id: zero-padded, so that keys sort as the ids do."""
    return f"{n:012d}"


def decode_int_cursor(cursor: str) -> int:
    """The integer id a cursor made from `int_key` points after; 400 when it is not one."""
    key = decode_cursor(cursor)
    if not (key.isascii() and key.isdigit()):
        raise BadRequest("分页游标无效 (invalid cursor)")
    return int(key)


def page_after(
    rows: Sequence[T], cursor: str | None, limit: int, key: Callable[[T], str]
) -> Page[T]:
    """A page of a short list already in memory (one task's events, one plan's versions):
    the rows after the one whose key the cursor names; 400 if no row has that key."""
    start = 0
    if cursor:
        wanted = decode_cursor(cursor)
        start = next((n + 1 for n, row in enumerate(rows) if key(row) == wanted), -1)
        if start < 0:
            raise BadRequest("分页游标无效 (invalid cursor)")
    return page_of(rows[start : start + limit + 1], limit, key)


class StrictOut(BaseModel):
    """Base of response models: a key the model does not describe is an error (a 500 and a
    failing test), never a silently undocumented field."""

    model_config = ConfigDict(extra="forbid")


class PageOut(StrictOut, Generic[T]):
    """One page of a list: `items`, and `next_cursor` to pass as `cursor` for the next page
    (null on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="下一页的游标；最后一页为 null (null on the last page)"
    )
