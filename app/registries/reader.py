"""Reads registry files: CSV (UTF-8, UTF-8 with BOM, GB18030 — detected) or XLSX, streaming."""

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from typing import IO, Any

from app.errors import ValidationFailed

XLSX_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"row": None, "field": "file", "message": message}])


def detect_encoding(fh: IO[bytes]) -> str:
    """utf-8-sig if it decodes as UTF-8 (with or without BOM), else gb18030, else error."""
    for encoding in ("utf-8-sig", "gb18030"):
        fh.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        fh.seek(0)
        return encoding
    raise _file_error("无法识别文件编码：请使用 UTF-8 或 GB18030 编码的 CSV，或 XLSX 文件")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and abs(value) >= 1e15:
        # a number Excel keeps to 15 significant digits (a long code typed into a number cell):
        # its digits as Excel shows them, so that the code's check says what happened
        return str(int(Decimal(f"{value:.15g}")))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_rows(fh: IO[bytes]) -> Iterator[list[str]]:
    encoding = detect_encoding(fh)
    text = io.TextIOWrapper(fh, encoding=encoding, newline="")
    try:
        reader = csv.reader(text, strict=True)
        try:
            yield from reader
        except csv.Error as exc:
            raise _file_error(f"CSV 格式错误（第 {reader.line_num} 行）：{exc}") from exc
    finally:
        if not fh.closed:
            text.detach()  # leave the caller's file open


def _xlsx_rows(fh: IO[bytes]) -> Iterator[list[str]]:
    import openpyxl  # heavy import, only when needed

    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _file_error(f"XLSX 文件损坏或无法读取：{exc.__class__.__name__}") from exc
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        wb.close()


# How far down a header row is looked for: title rows and a group-header row above it.
HEADER_SEARCH_ROWS = 10


def looks_like_header(cells: list[str], known: Callable[[str], bool]) -> bool:
    """A row most of whose cells (at least two) are column names."""
    filled = [c for c in cells if c]
    names = sum(1 for c in filled if known(c))
    return names >= 2 and names * 2 >= len(filled)


def _header(
    fh: IO[bytes], known: Callable[[str], bool] | None = None
) -> tuple[list[str], int, Iterator[list[str]]]:
    """The header row, its spreadsheet row number and the rows after it. The header is the
    first row made mostly of `known` column names among the first HEADER_SEARCH_ROWS non-empty
    ones (the title rows and merged group headers officials put above it are skipped; a cell a
    heading merged over two rows left empty takes the name above it), else the first
    non-empty row."""
    fh.seek(0)
    magic = fh.read(4)
    fh.seek(0)
    if not magic:
        raise _file_error("文件为空 (empty file)")
    rows = _xlsx_rows(fh) if magic == XLSX_MAGIC else _csv_rows(fh)
    seen: list[tuple[int, list[str]]] = []  # the non-empty rows looked at, with their numbers
    read: list[list[str]] = []  # every row read, blank ones too (their numbers count)
    number = 0
    chosen: int | None = None
    for cells in rows:
        number += 1
        read.append(cells)
        if not "".join(cells).strip():
            continue
        seen.append((number, [c.strip() for c in cells]))
        if known is None or looks_like_header(seen[-1][1], known):
            chosen = len(seen) - 1
            break
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise _file_error("文件没有表头行 (no header row)")
    if chosen is None:  # nothing looks like a header: the first row, as it always was
        chosen = 0
    header_row, header = seen[chosen]
    if known is not None and chosen > 0:
        # a name merged over two rows stands in the row above, its lower cell left empty
        header = _merged(header, seen[chosen - 1][1], known)
    if known is not None and looks_like_header(header, known):
        # a group heading over sub-headers (联系方式 over 地址/联系电话): the names below it
        for cells in rows:
            number += 1
            read.append(cells)
            if "".join(cells).strip():
                below = [c.strip() for c in cells]
                if _sub_header(below, header, known):
                    header, header_row = _merged(below, header, known), number
                break
    while header and not header[-1]:
        header.pop()
    after = read[header_row:]  # rows read past the header go back in front
    return header, header_row, chain(after, rows) if after else rows


def _merged(lower: list[str], upper: list[str], known: Callable[[str], bool]) -> list[str]:
    """Two header rows as one: per column the column name of either (the lower first)."""
    width = max(len(lower), len(upper))
    out = []
    for i in range(width):
        a = lower[i] if i < len(lower) else ""
        b = upper[i] if i < len(upper) else ""
        out.append(a if a and known(a) else b if b and known(b) else a or b)
    return out


def _sub_header(below: list[str], header: list[str], known: Callable[[str], bool]) -> bool:
    """Whether `below` names columns the header row left to a group heading or empty."""
    filled = [(i, c) for i, c in enumerate(below) if c]
    return bool(filled) and all(
        known(c) and (i >= len(header) or not known(header[i])) for i, c in filled
    )


Chunk = tuple[Sequence[int], list[list[str]]]


class Header(list[str]):
    """The header's cells, and the spreadsheet row it was found on (`row`)."""

    row: int = 1


def read_chunks(
    fh: IO[bytes], size: int, known: Callable[[str], bool] | None = None
) -> tuple[Header, Iterator[Chunk]]:
    """The header and the non-empty data rows in chunks of at most `size`, each with the
    rows' spreadsheet numbers (rows above the header count, blank rows count but are
    skipped); `known` tells a column name, to find the header below title rows (`_header`)."""
    cells, header_row, rows = _header(fh, known)
    header = Header(cells)
    header.row = header_row

    def data() -> Iterator[Chunk]:
        n = header_row
        while batch := list(islice(rows, size)):
            first = n + 1
            n += len(batch)
            try:  # a non-blank first cell is a non-blank row; else look at the whole row
                plain = all(map(str.strip, map(itemgetter(0), batch)))
            except IndexError:  # an empty line
                plain = False
            if plain or all(map(str.strip, map("".join, batch))):
                yield range(first, n + 1), batch
                continue
            kept = [(first + i, c) for i, c in enumerate(batch) if "".join(c).strip()]
            if kept:
                yield [k for k, _ in kept], [c for _, c in kept]

    return header, data()
