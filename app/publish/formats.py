"""PURE byte formats of the public site: file bodies, compact JSON, formula-safe CSV, XLSX.

CSV cells are formula-neutralised; XLSX comes from app/spreadsheets.py (strings or numbers,
never formulas).
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
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


class Streamed:
    """A site file made a piece at a time as it is written (`pieces` gives the bytes in order;
    it may be called again, e.g. by `bytes()`): a large file is never held whole."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: Callable[[], Iterable[bytes]]) -> None:
        self.pieces = pieces

    def write_to(self, fh: BinaryIO) -> int:
        """Writes the file to `fh` piece by piece; returns how many bytes."""
        total = 0
        for piece in self.pieces():
            fh.write(piece)
            total += len(piece)
        return total

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces())


FileBody = bytes | GunzipFile | Streamed


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


# Items of a list encoded per call by `dumps_streamed` (a draw's tasks: 1,000 at a time).
JSON_CHUNK = 1000


def dumps_streamed(data: Any) -> Streamed:
    """The bytes of `dumps(data)`, made as they are written: a dict's long lists (a draw's
    tasks) are encoded JSON_CHUNK items at a time (the same bytes: compact JSON has no state
    between the items of a list), so the whole text is never held."""
    return Streamed(lambda: _json_pieces(data))


def _json_pieces(data: Any) -> Iterator[bytes]:
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        yield dumps(data)
        return
    sep = b"{"
    for key, value in data.items():
        if isinstance(value, list) and len(value) > JSON_CHUNK:
            yield sep + dumps(key) + b":["
            for start in range(0, len(value), JSON_CHUNK):
                part = dumps(value[start : start + JSON_CHUNK])[1:-1]  # without its [ ]
                yield b"," + part if start else part
            yield b"]"
        else:
            yield sep + dumps(key) + b":" + dumps(value)
        sep = b","
    yield b"{}" if sep == b"{" else b"}"


def neutralise(value: object) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    return guard("" if value is None else str(value))


def _text_column(column: Sequence[object]) -> list[str]:
    types = set(map(type, column))
    if types == {str}:
        return list(column)  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in column]


# Rows of a CSV made per call by `csv_streamed`.
CSV_CHUNK = 1000


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with a UTF-8 BOM (Excel opens Chinese correctly), formula-safe cells."""
    return b"".join(_csv_pieces(header, rows if isinstance(rows, list) else list(rows)))


def csv_streamed(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Streamed:
    """The bytes of `csv_bytes(header, rows)`, made CSV_CHUNK rows at a time as written."""
    return Streamed(lambda: _csv_pieces(header, rows))


def _csv_pieces(header: Sequence[str], data: Sequence[Sequence[object]]) -> Iterator[bytes]:
    # Every cell becomes guard(str(cell)) (None: ""), whether a column or a row at a time, so
    # cutting the rows into chunks changes nothing.
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow([neutralise(h) for h in header])
    uniform = bool(data) and all(len(r) == len(data[0]) for r in data)
    for start in range(0, len(data), CSV_CHUNK):
        part = data[start : start + CSV_CHUNK]
        if uniform:  # column by column
            columns = [guard_column(_text_column(c)) for c in zip(*part, strict=True)]
            writer.writerows(zip(*columns, strict=True))
        else:
            writer.writerows([neutralise(v) for v in row] for row in part)
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():  # the header of a list without rows
        yield buf.getvalue().encode("utf-8")


def escape_text(value: str) -> str:
    """HTML-escaped text (exposed for tests and callers building fragments)."""
    return str(escape(value))
