"""Keyset pagination shared by every list endpoint: opaque cursors and the one page envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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
