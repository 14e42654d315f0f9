"""Reads registry files: CSV (UTF-8, UTF-8 with BOM, GB18030 — detected) or XLSX, streaming."""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from itertools import islice
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


def _header(fh: IO[bytes]) -> tuple[list[str], int, Iterator[list[str]]]:
    fh.seek(0)
    magic = fh.read(4)
    fh.seek(0)
    if not magic:
        raise _file_error("文件为空 (empty file)")
    rows = _xlsx_rows(fh) if magic == XLSX_MAGIC else _csv_rows(fh)
    header: list[str] | None = None
    number = 0
    for cells in rows:
        number += 1
        if "".join(cells).strip():
            header = [c.strip() for c in cells]
            break
    if header is None:
        raise _file_error("文件没有表头行 (no header row)")
    while header and not header[-1]:
        header.pop()
    return header, number, rows


Chunk = tuple[Sequence[int], list[list[str]]]


def read_chunks(fh: IO[bytes], size: int) -> tuple[list[str], Iterator[Chunk]]:
    """The header and the non-empty data rows in chunks of at most `size`, each with the
    rows' spreadsheet numbers (the header's row counts, blank rows count but are skipped)."""
    header, header_row, rows = _header(fh)

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
