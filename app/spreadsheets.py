"""Spreadsheet safety, in one place: the formula guard, the one XLSX writer, and the checks an
uploaded XLSX passes before anything parses it.

Formula guard. A text cell starting with one of FORMULA_START gets a leading "'" in every file
a spreadsheet program may open as text (CSV, openpyxl-written XLSX) — the union of the prefixes
the three former lists had: = + - @ (formulas, OWASP), tab and CR (Excel drops them and then
reads the rest as a formula), | and % (DDE and LibreOffice/WPS macro forms). The full-width
＝＋－＠ are added as well: Excel and WPS in Chinese input mode turn them into their ASCII forms
when a cell is entered, so re-editing such a cell (F2, Enter) would start a formula. An import
removes the "'" again before exactly these prefixes, so exports round-trip.

XLSX writer. The site's hand-written writer (cells are numbers or strings, never formulas; texts
stored once in the shared-strings table): `xlsx_bytes` for lists held in memory, `write_xlsx`
streaming a chunk at a time for exports of any length. Columns given a number format hold
numbers (Decimal or decimal text written exactly, e.g. amounts in 元 as "0.00").

Upload checks. `inspect_xlsx` reads the ZIP directory and inflates every XML part once, in
bounded pieces, refusing at the first limit passed: entries, uncompressed bytes, compression
ratio, DOCTYPE/ENTITY declarations, worksheet rows, bytes of one text run (a cell). It keeps
no more than one piece in memory and costs seconds at most; callers run it before taking any
lock. openpyxl itself parses with defusedxml (pinned), so entities are refused twice.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, BinaryIO
from xml.sax.saxutils import escape as xml_escape

from app.config import get_settings
from app.errors import ValidationFailed

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠")
# A cell starting with one of FORMULA_START, in a column joined with NUL and led by one.
_FORMULA_CELL = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")


def guard(text: str) -> str:
    """`text` with a leading "'" when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def guard_value(value: object) -> str:
    """A cell of any value as guarded text (None → "", bool → 是/否, list → a;b)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return guard(";".join(str(v) for v in value))
    return guard(str(value))


def guard_column(texts: list[str]) -> list[str]:
    """The column with formula-looking cells guarded (one scan of the whole column)."""
    if not _FORMULA_CELL.search("\x00" + "\x00".join(texts)):
        return texts
    return [guard(v) for v in texts]


def unguard(text: str) -> str:
    """An imported cell without the "'" our own guard added (only before FORMULA_START)."""
    if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_START:
        return text[1:]
    return text


# --- the XLSX writer ----------------------------------------------------------------------

_XML_BAD = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OPEN_CELL = '<c t="inlineStr"><is><t xml:space="preserve">'
_CLOSE_CELL = "</t></is></c>"
_NUMBER = frozenset({int, float})  # exact types: a bool is not a number cell
_DECIMAL_TEXT = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_text(value: object) -> str | None:
    """The exact `<v>` of a number cell in a number-formatted column, None if it is no number."""
    if isinstance(value, Decimal):
        if value.is_finite() and -300 < value.adjusted() < 300:
            return format(value, "f")
        return None
    if _is_number(value):
        return repr(value)
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return value
    return None


def _formatted_cell(value: object, style: int) -> str:
    if value is None or value == "":
        return "<c/>"
    number = _number_text(value)
    if number is not None:
        return f'<c s="{style}"><v>{number}</v></c>'
    text = xml_escape(_XML_BAD.sub("", str(value).replace("\x00", "")))
    return f"{_OPEN_CELL}{text}{_CLOSE_CELL}"


def _sheet_row(row: Sequence[object], styles: Mapping[int, int] | None = None) -> str:
    """One <row>, cell by cell: numbers as values, other texts inline, empty texts empty."""
    numbers: dict[int, str] = {}
    texts = []
    for c, value in enumerate(row):
        if styles and c in styles:
            numbers[c] = _formatted_cell(value, styles[c])
            texts.append("")
        elif _is_number(value) or isinstance(value, Decimal):
            number = _number_text(value)
            numbers[c] = f"<c><v>{number}</v></c>" if number else "<c/>"
            texts.append("")
        else:
            texts.append("" if value is None else str(value).replace("\x00", ""))
    cells = xml_escape(_XML_BAD.sub("", "\x00".join(texts))).split("\x00")
    return (
        "<row>"
        + "".join(
            numbers.get(c, f"{_OPEN_CELL}{text}{_CLOSE_CELL}" if text else "<c/>")
            for c, text in enumerate(cells)
        )
        + "</row>"
    )


def _text_column(column: Sequence[object]) -> list[str]:
    types = set(map(type, column))
    if types == {str}:
        return list(column)  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in column]


# A column of the column-by-column path: ("styled", style) / ("number",) / ("text", indices
# into the shared strings, one per row).
_Column = tuple[str, Any]


def _column_plan(
    rows: Sequence[Sequence[object]], strings: dict[str, int], styles: Mapping[int, int]
) -> list[_Column] | None:
    """How each column is written when every column is all numbers or all non-numbers and every
    row has the same width (the published lists); None otherwise. Texts go to the
    shared-strings table `strings` (text -> index; column after column, each in first-seen
    order: the same file for the same data), so a text cell is a short `<v>` reference."""
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        return None
    plan: list[_Column] = []
    for c, column in enumerate(zip(*rows, strict=True)):
        if c in styles:
            plan.append(("styled", styles[c]))
            continue
        types = set(map(type, column))
        if types <= _NUMBER:
            plan.append(("number", None))
            continue
        if types & _NUMBER or Decimal in types:
            return None  # numbers mixed with text in one column: cell by cell
        texts = _text_column(column)
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:  # a NUL inside some text: drop it first
            texts = [t.replace("\x00", "") for t in texts]
            joined = "\x00".join(texts)
        # The texts themselves when nothing is removed: the table then refers to the rows'
        # strings instead of holding a copy of each.
        cleaned = _XML_BAD.sub("", joined).split("\x00") if _XML_BAD.search(joined) else texts
        del joined, texts
        fresh = dict.fromkeys(cleaned)
        for known in strings.keys() & fresh.keys():
            del fresh[known]
        strings.update(zip(fresh, itertools.count(len(strings))))
        del fresh
        plan.append(("text", array("q", map(strings.__getitem__, cleaned))))
    return plan


def _sheet_chunks(
    rows: Sequence[Sequence[object]], plan: list[_Column], empty: int | None, chunk: int
) -> Iterator[str]:
    """The rows of `_column_plan`, `chunk` rows at a time (the sheet is never held whole)."""
    cell = {"styled": "{}", "number": "<c><v>{}</v></c>", "text": '<c t="s"><v>{}</v></c>'}
    row = "".join(["<row>", *(cell[kind] for kind, _ in plan), "</row>"]).format
    # An empty text is an empty cell, as on the cell-by-cell path (not a shared "").
    blank = None if empty is None else f'<c t="s"><v>{empty}</v></c>'
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        columns: list[Any] = []
        for (kind, arg), column in zip(plan, zip(*part, strict=True), strict=True):
            if kind == "styled":
                columns.append([_formatted_cell(v, arg) for v in column])
            elif kind == "number":
                columns.append(list(map(repr, column)))
            else:
                columns.append(arg[start : start + chunk])
        body = "".join(map(row, *columns))
        yield body if blank is None else body.replace(blank, "<c/>")


def _shared_strings(strings: Iterable[str], count: int, chunk: int = 10_000) -> Iterator[str]:
    """xl/sharedStrings.xml of `strings` (in index order; they hold no NUL), in pieces."""
    si, end = '<si><t xml:space="preserve">', "</t></si>"
    yield (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'uniqueCount="{count}">'
    )
    it = iter(strings)
    while part := list(itertools.islice(it, chunk)):
        escaped = xml_escape("\x00".join(part)).split("\x00")
        yield si + f"{end}{si}".join(escaped) + end
    yield "</sst>"


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET = "xl/worksheets/sheet1.xml"
_SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {_NS}><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"


def _styles(formats: Sequence[str]) -> tuple[str, dict[str, int]]:
    """xl/styles.xml with one cell style per number format; format -> style index."""
    fmts = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="{xml_escape(f, {chr(34): "&quot;"})}"/>'
        for i, f in enumerate(formats)
    )
    xfs = "".join(
        f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for i in range(len(formats))
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet {_NS}>'
        f'<numFmts count="{len(formats)}">{fmts}</numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{len(formats) + 1}">'
        f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
    return xml, {f: i + 1 for i, f in enumerate(formats)}


def _package(sheet: str, *, styled: bool) -> dict[str, str]:
    """Every part of a one-sheet workbook but the sheet, shared strings and styles."""
    styles_type = (
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        if styled
        else ""
    )
    styles_rel = (
        f'<Relationship Id="rId3" Type="{_REL_NS}/styles" Target="styles.xml"/>' if styled else ""
    )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            f"{styles_type}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            f"{styles_rel}</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {_NS} '
            f'xmlns:r="{_REL_NS}"><sheets><sheet name="{xml_escape(sheet[:31])}" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
    }


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _style_map(
    header: Sequence[str], number_formats: Mapping[int, str] | None
) -> tuple[dict[int, int], str | None]:
    if not number_formats:
        return {}, None
    formats = list(dict.fromkeys(number_formats.values()))
    xml, index = _styles(formats)
    return {c: index[f] for c, f in number_formats.items() if c < len(header)}, xml


def xlsx_bytes(
    sheet: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    number_formats: Mapping[int, str] | None = None,
    chunk: int = 5000,
) -> bytes:
    """A one-sheet XLSX; every cell a string or a number, never a formula. `number_formats`
    (column index → Excel number format such as "0.00") makes those columns numbers."""
    # Cells carry no "r" reference (optional in SpreadsheetML). The data rows are cleaned a
    # column at a time (NUL as the separator, stripped from the text beforehand) and their
    # texts stored once each in the shared-strings table; odd-shaped rows use inline strings.
    # The sheet and the table are compressed `chunk` rows at a time as they are made: only
    # the compressed workbook, the table and one index per text cell are held whole.
    styles, styles_xml = _style_map(header, number_formats)
    data = rows if isinstance(rows, list) else list(rows)
    strings: dict[str, int] = {}
    plan = _column_plan(data, strings, styles) if data else []
    files = _package(sheet, styled=styles_xml is not None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in files.items():
            # compresslevel here: a ZipInfo does not take the archive's default level.
            zf.writestr(_info(name), text.encode("utf-8"), compresslevel=1)
        if plan is None:
            pieces: Iterator[str] = (
                "".join(_sheet_row(r, styles) for r in data[i : i + chunk])
                for i in range(0, len(data), chunk)
            )
        else:
            pieces = _sheet_chunks(data, plan, strings.get(""), chunk)
        head = _SHEET_HEAD + _sheet_row(list(header))
        _write_part(zf, _SHEET, itertools.chain([head], pieces, [_SHEET_TAIL]))
        del plan
        _write_part(zf, "xl/sharedStrings.xml", _shared_strings(strings, len(strings)))
        if styles_xml is not None:
            zf.writestr(_info("xl/styles.xml"), styles_xml.encode("utf-8"), compresslevel=1)
    return buf.getvalue()


def _write_part(zf: zipfile.ZipFile, name: str, pieces: Iterable[str]) -> None:
    """One part of the workbook, compressed piece by piece into the (seekable) archive: the
    same bytes as `writestr` of the whole text (deflate output does not depend on how its
    input is cut; the local header is rewritten with the sizes when the part is closed)."""
    info = _info(name)
    info._compresslevel = 1  # type: ignore[attr-defined]  # as writestr(..., compresslevel=1)
    with zf.open(info, "w") as out:
        for piece in pieces:
            out.write(piece.encode("utf-8"))


def write_xlsx(
    fh: BinaryIO,
    sheet: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    number_formats: Mapping[int, str] | None = None,
    chunk: int = 5000,
) -> None:
    """The workbook of `xlsx_bytes` written to `fh` a chunk of rows at a time (inline strings),
    so an export of a million records never holds them all."""
    styles, styles_xml = _style_map(header, number_formats)
    files = _package(sheet, styled=styles_xml is not None)
    files["xl/sharedStrings.xml"] = "".join(_shared_strings((), 0))
    if styles_xml is not None:
        files["xl/styles.xml"] = styles_xml
    it = iter(rows)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in files.items():
            zf.writestr(_info(name), text.encode("utf-8"), compresslevel=1)
        # By name: the entry then takes the archive's compresslevel (an export, dated now).
        with zf.open(_SHEET, "w", force_zip64=True) as out:
            out.write((_SHEET_HEAD + _sheet_row(list(header))).encode())
            while part := list(itertools.islice(it, chunk)):
                out.write("".join(_sheet_row(r, styles) for r in part).encode())
            out.write(_SHEET_TAIL.encode())


# --- checks of an uploaded XLSX -----------------------------------------------------------


@dataclass(frozen=True)
class XlsxLimits:
    """What an uploaded XLSX may be (settings `max_xlsx_*`, `max_import_rows`)."""

    entries: int
    uncompressed_bytes: int
    ratio: float
    rows: int
    cell_bytes: int

    @classmethod
    def from_settings(cls) -> XlsxLimits:
        s = get_settings()
        return cls(
            entries=s.max_xlsx_entries,
            uncompressed_bytes=s.max_xlsx_uncompressed_bytes,
            ratio=s.max_xlsx_ratio,
            rows=s.max_import_rows,
            cell_bytes=s.max_xlsx_cell_bytes,
        )


ZIP_MAGIC = b"PK\x03\x04"
_PIECE = 1 << 20
# Below this many uncompressed bytes a high ratio costs nothing worth refusing.
_RATIO_FLOOR = 8 << 20
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# A cell reference or a sheet dimension reaching column AAA (703) or beyond: openpyxl fills
# every row up to the widest column, so one far cell per row costs thousands of cells a row (a
# 1 MB file of 200,000 such rows took minutes). Registry files have a dozen columns.
MAX_COLUMNS = 702  # A … ZZ
_WIDE = re.compile(rb'\br(?:ef)?="(?:[A-Za-z]{1,3}[0-9]+:)?[A-Za-z]{3}')

probe: Callable[[str, int], None] | None = None
"""Test hook: called with ("inflated", bytes) per piece and ("rows", n) per piece of a sheet."""


def refused(limit: str, message: str, value: int | float) -> ValidationFailed:
    """The 422 of a file over one of the limits, naming the limit and its value."""
    detail = f"{message}，文件未导入、未写入任何数据 (file refused: {limit} = {value})"
    return ValidationFailed(
        detail,
        errors=[{"row": None, "field": "file", "message": message}],
        extra={"limit": limit, "limit_value": value},
    )


def inspect_xlsx(fh: IO[bytes], limits: XlsxLimits | None = None) -> None:
    """Refuses (422, naming the limit) an XLSX a parser should not be given; reads it once."""
    lim = limits or XlsxLimits.from_settings()
    fh.seek(0, io.SEEK_END)
    compressed = max(fh.tell(), 1)
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refused("xlsx", "XLSX 文件损坏或无法读取（不是有效的 ZIP）", 0) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > lim.entries:
            raise refused("max_xlsx_entries", f"XLSX 内含文件超过 {lim.entries} 个", lim.entries)
        # The declared sizes bound what inflating may yield: zipfile stops at file_size.
        declared = sum(i.file_size for i in infos)
        if declared > lim.uncompressed_bytes:
            raise refused(
                "max_xlsx_uncompressed_bytes",
                f"XLSX 解压后超过 {lim.uncompressed_bytes} 字节",
                lim.uncompressed_bytes,
            )
        if declared > _RATIO_FLOOR and declared / compressed > lim.ratio:
            raise refused(
                "max_xlsx_ratio", f"XLSX 压缩比超过 {lim.ratio:g} 倍（疑似压缩炸弹）", lim.ratio
            )
        rows = 0
        for info in infos:
            if info.is_dir() or not info.filename.endswith((".xml", ".rels", ".vml")):
                continue  # images and other binaries: never parsed as XML
            sheet = info.filename.startswith("xl/worksheets/")
            rows = _scan_part(zf, info, lim, sheet, rows)
    fh.seek(0)


def _scan_part(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, lim: XlsxLimits, sheet: bool, rows: int
) -> int:
    """Scans one XML part a piece at a time; returns the rows counted so far."""
    # Matches only from the start of a text run (after "<"), so each run is read once.
    too_long = re.compile(rb"(?<![^<])[^<]{%d}" % (lim.cell_bytes + 1))
    carry = b""
    try:
        with zf.open(info) as part:
            while True:
                piece = part.read(_PIECE)
                if probe is not None:
                    probe("inflated", len(piece))
                buf = carry + piece
                # Up to the last "<" every tag, declaration and text run is whole.
                cut = buf.rfind(b"<") if piece else len(buf)
                scan, carry = (buf[:cut], buf[cut:]) if cut > 0 else (b"", buf)
                if _DECLARATION.search(scan):
                    raise refused(
                        "xml_declarations", "XLSX 含有 DOCTYPE/ENTITY 声明（不予解析）", 0
                    )
                if too_long.search(scan) or len(carry) > lim.cell_bytes + 4096:
                    raise refused(
                        "max_xlsx_cell_bytes",
                        f"XLSX 单元格内容超过 {lim.cell_bytes} 字节",
                        lim.cell_bytes,
                    )
                if sheet and _WIDE.search(scan):
                    raise refused(
                        "max_xlsx_columns",
                        f"XLSX 含有超出第 {MAX_COLUMNS} 列（ZZ）的单元格或表格范围（疑似炸弹）",
                        MAX_COLUMNS,
                    )
                if sheet:
                    found = len(_ROW_TAG.findall(scan))
                    rows += found
                    if probe is not None:
                        probe("rows", found)
                    if rows > lim.rows:
                        raise refused("max_import_rows", f"XLSX 超过最大行数 {lim.rows}", lim.rows)
                if not piece:
                    return rows
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise refused("xlsx", "XLSX 文件损坏或无法读取", 0) from exc
    except NotImplementedError as exc:  # an unsupported compression method
        raise refused("xlsx", "XLSX 使用了不支持的压缩方式", 0) from exc
