"""PURE byte formats of the public site: file bodies, compact JSON, formula-safe CSV, XLSX.

CSV cells are formula-neutralised; XLSX cells are strings or numbers, never formulas.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, Protocol
from xml.sax.saxutils import escape as xml_escape

from markupsafe import escape

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")
# A cell starting with one of FORMULA_START, in a column joined with NUL and led by one.
_FORMULA_CELL = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")


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


def dumps(data: Any) -> bytes:
    """Compact JSON bytes (UTF-8, non-ASCII kept readable). Compact because only then does
    `json` use its C encoder: indented output is written in Python, ten times slower on the
    lists that grow with the data (results, strata)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def neutralise(value: object) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _text_column(column: Sequence[object]) -> list[str]:
    types = set(map(type, column))
    if types == {str}:
        return list(column)  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in column]


def _neutralised_column(texts: list[str]) -> list[str]:
    """The column with formula-looking cells prefixed by "'" (one scan of the column)."""
    if not _FORMULA_CELL.search("\x00" + "\x00".join(texts)):
        return texts
    return [neutralise(v) for v in texts]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with a UTF-8 BOM (Excel opens Chinese correctly), formula-safe cells."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    data = list(rows)
    if data and all(len(r) == len(data[0]) for r in data):  # column by column
        columns = [_neutralised_column(_text_column(c)) for c in zip(*data, strict=True)]
        writer.writerows(zip(*columns, strict=True))
    else:
        writer.writerows([neutralise(v) for v in row] for row in data)
    return buf.getvalue().encode("utf-8")


_XML_BAD = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_OPEN_CELL = '<c t="inlineStr"><is><t xml:space="preserve">'
_CLOSE_CELL = "</t></is></c>"
_NUMBER = frozenset({int, float})  # exact types: a bool is not a number cell


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sheet_row(row: Sequence[object]) -> str:
    """One <row>, cell by cell: numbers as values, other texts inline, empty texts empty."""
    numbers: dict[int, str] = {}
    texts = []
    for c, value in enumerate(row):
        if _is_number(value):
            numbers[c] = repr(value)
            texts.append("")
        else:
            texts.append("" if value is None else str(value).replace("\x00", ""))
    cells = xml_escape(_XML_BAD.sub("", "\x00".join(texts))).split("\x00")
    return (
        "<row>"
        + "".join(
            f"<c><v>{numbers[c]}</v></c>"
            if c in numbers
            else f"{_OPEN_CELL}{text}{_CLOSE_CELL}"
            if text
            else "<c/>"
            for c, text in enumerate(cells)
        )
        + "</row>"
    )


def _sheet_columns(rows: list[Sequence[object]], strings: dict[str, int]) -> str | None:
    """All rows at once, column by column, when every column is all numbers or all non-numbers
    and every row has the same width (the published lists); None otherwise. Texts go to the
    shared-strings table `strings` (text -> index), so a cell is a short `<v>` reference."""
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        return None
    columns: list[list[Any]] = []
    template = ["<row>"]
    for column in zip(*rows, strict=True):
        types = set(map(type, column))
        if types <= _NUMBER:
            columns.append(list(map(repr, column)))
            template.append("<c><v>{}</v></c>")
            continue
        if types & _NUMBER:
            return None  # numbers mixed with text in one column: cell by cell
        texts = _text_column(column)
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:  # a NUL inside some text: drop it first
            joined = "\x00".join(t.replace("\x00", "") for t in texts)
        cleaned = _XML_BAD.sub("", joined).split("\x00")
        fresh = dict.fromkeys(cleaned)  # first-seen order: the same file for the same data
        for known in strings.keys() & fresh.keys():
            del fresh[known]
        strings.update(zip(fresh, itertools.count(len(strings))))
        columns.append(list(map(strings.__getitem__, cleaned)))
        template.append('<c t="s"><v>{}</v></c>')
    template.append("</row>")
    body = "".join(map("".join(template).format, *columns))
    empty = strings.get("")
    # An empty text is an empty cell, as on the cell-by-cell path (not a shared "").
    return body if empty is None else body.replace(f'<c t="s"><v>{empty}</v></c>', "<c/>")


def _shared_strings(strings: dict[str, int]) -> str:
    """xl/sharedStrings.xml of `strings` (in index order; they hold no NUL)."""
    escaped = xml_escape("\x00".join(strings)).split("\x00") if strings else []
    si = '<si><t xml:space="preserve">'
    items = si + f"</t></si>{si}".join(escaped) + "</t></si>" if escaped else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'uniqueCount="{len(escaped)}">{items}</sst>'
    )


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A one-sheet XLSX; every cell a string or a number, never a formula."""
    # Cells carry no "r" reference (optional in SpreadsheetML). The data rows are cleaned a
    # column at a time (NUL as the separator, stripped from the text beforehand) and their
    # texts stored once each in the shared-strings table; odd-shaped rows use inline strings.
    data = list(rows)
    strings: dict[str, int] = {}
    body = _sheet_columns(data, strings) if data else ""
    if body is None:
        body = "".join(map(_sheet_row, data))
    body = _sheet_row(list(header)) + body
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel_ns}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel_ns}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel_ns}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {ns} '
            f'xmlns:r="{rel_ns}"><sheets><sheet name="{xml_escape(sheet)}" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {ns}>'
            f"<sheetData>{body}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": _shared_strings(strings),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            # compresslevel here: a ZipInfo does not take the archive's default level.
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)
    return buf.getvalue()


def escape_text(value: str) -> str:
    """HTML-escaped text (exposed for tests and callers building fragments)."""
    return str(escape(value))
