"""PURE byte formats of the public site: file bodies, compact JSON, formula-safe CSV, XLSX.

CSV cells are formula-neutralised; XLSX comes from app/spreadsheets.py (strings or numbers,
never formulas).
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, BinaryIO, Protocol

from markupsafe import escape

from app.spreadsheets import guard, guard_column


class GunzipFile:
    """A site file given as gzip bytes and written decompressed, a piece at a time."""

    __slots__ = ("gz",)
    PIECE = 1 << 18

    def __init__(self, gz: bytes) -> None:
        self.gz = gz

    def write_to(self, fh: BinaryIO) -> int:
        """Writes the decompressed bytes to `fh`; returns how many."""
        inflate = zlib.decompressobj(31)
        view, total = memoryview(self.gz), 0
        for start in range(0, len(view), self.PIECE):
            piece = inflate.decompress(view[start : start + self.PIECE])
            fh.write(piece)
            total += len(piece)
        rest = inflate.flush()
        fh.write(rest)
        if not inflate.eof:
            raise ValueError("抽样总体压缩文件不完整（truncated gzip）")
        return total + len(rest)


FileBody = bytes | GunzipFile


class FileSink(Protocol):
    """Where rendered files go: a dict, or the generation directory being built."""

    def __setitem__(self, path: str, body: FileBody, /) -> None: ...


Meta = dict[str, Any]


def render_unit(
    out: FileSink, key: str, fingerprint: str, render: Callable[[], Meta | None]
) -> Meta | None:
    """Renders one unit of the site (e.g. every file of one draw) with `render`, which gives its
    files to `out` and may return a small JSON-able summary. `fingerprint` names everything
    the files depend on: when the site being replaced holds unit `key` with the same
    fingerprint, a generation writer (app/publish/write.py) carries its files over unchanged
    and returns the stored summary instead of rendering. A plain dict always renders."""
    units = getattr(out, "render_unit", None)
    if units is None:
        return render()
    meta: Meta | None = units(key, fingerprint, render)
    return meta


def dumps(data: Any) -> bytes:
    """Compact JSON bytes (UTF-8, non-ASCII kept readable). Compact because only then does
    `json` use its C encoder: indented output is written in Python, ten times slower on the
    lists that grow with the data (results, strata)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def neutralise(value: object) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    return guard("" if value is None else str(value))


def _text_column(column: Sequence[object]) -> list[str]:
    types = set(map(type, column))
    if types == {str}:
        return list(column)  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in column]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with a UTF-8 BOM (Excel opens Chinese correctly), formula-safe cells."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    data = list(rows)
    if data and all(len(r) == len(data[0]) for r in data):  # column by column
        columns = [guard_column(_text_column(c)) for c in zip(*data, strict=True)]
        writer.writerows(zip(*columns, strict=True))
    else:
        writer.writerows([neutralise(v) for v in row] for row in data)
    return buf.getvalue().encode("utf-8")


def escape_text(value: str) -> str:
    """HTML-escaped text (exposed for tests and callers building fragments)."""
    return str(escape(value))
