"""Validation of registry files, chunk by chunk, without a database.

Every row is checked by the rules of app/registries/fields.py. A chunk whose cells are all
ordinary (clean text, every value accepted) is checked column by column with a few C-level
operations per column; any other chunk is checked row by row, cell by cell, which words every
error. Both give the same values: a column check only accepts what the per-cell check accepts
unchanged, and falls back to it otherwise.

Output rows are "wire rows": tuples of strings in field order, lists as JSON, None as NULL, so
they can be written, or sent to another process, without touching each value again; each ends
with the row hash of the cells it came from (app/registries/rowhash.py). Given the rows an
existing registry holds (`known`), a row whose key and hash it holds is not validated at all:
it is counted as unchanged (and still checked for duplicates and the jurisdiction).
"""

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from app.registries.fields import (
    CONTROL,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    FieldError,
    FieldSpec,
    RegistrySpec,
    check_fixmedins,
    check_grade,
    check_region,
    normalize_uscc,
    row_is_clean,
)
from app.registries.rowhash import KnownRows, hasher

NULL = "\x02"  # None in a wire row; validated text never holds control characters
SEP = "\x00"  # between cells of a wire block; absent for the same reason

WireRow = tuple[str, ...]

_USCC_ONE = r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}"
_USCC_COLUMN = re.compile(rf"{_USCC_ONE}(?:\x00{_USCC_ONE})*")
_REGION_COLUMN = re.compile(r"[0-9]{6}(?:\x00[0-9]{6})*")
# 定点医药机构编码 as check_fixmedins keeps them (upper case), or empty
_FIXMEDINS_COLUMN = re.compile(r"(?:[HP][0-9]{11})?(?:\x00(?:[HP][0-9]{11})?)*")
_MEMO_LIMIT = 20_000  # distinct values remembered per column (choices, grades, tags)

_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i
_USCC_W = np.array(USCC_WEIGHTS, dtype=np.int64)


def _uscc_column_ok(joined: str, n: int) -> bool:
    """True when every id of a SEP-joined column of n well-formed USCCs has a valid check digit
    (the same GB 32100-2015 sum as fields.uscc_check_char, for the whole column at once)."""
    codes = np.frombuffer((joined + SEP).encode("ascii"), dtype=np.uint8).reshape(n, 19)
    values = _USCC_VALUE[codes[:, :18]]
    total = values[:, :17] @ _USCC_W
    return bool(np.all((31 - total % 31) % 31 == values[:, 17]))


def to_wire(value: Any, is_list: bool) -> str:
    """The wire form of a field value."""
    if value is None:
        return NULL
    if is_list:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass
class Validator:
    """Validates the rows of one file; collects errors as the import reports them."""

    spec: RegistrySpec
    mapping: list[str | None]
    max_rows: int
    max_listed: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0
    conflict_refs: list[tuple[int, str]] = field(default_factory=list)
    stopped: bool = False
    # The importing account's jurisdiction (app/auth/jurisdiction.py): every row's 医保区划
    # must start with `prefix`, and no row may replace a record of a key in `foreign` (those
    # registered outside it). "" and empty: no limit (the province, the CLI).
    prefix: str = ""
    foreign: frozenset[str] = frozenset()
    # The registry's current keys and row hashes (a re-import): rows it holds unchanged are
    # skipped, and counted here.
    known: KnownRows | None = None
    unchanged: int = 0

    def __post_init__(self) -> None:
        spec = self.spec
        self.width = len(self.mapping)
        self.fields = [(i, spec.field(n)) for i, n in enumerate(self.mapping) if n is not None]
        present = {f.name for _, f in self.fields}
        self.missing = [f for f in spec.fields if f.name not in present]
        self.first_row: dict[Any, int] = {}
        self.memo: dict[str, dict[str, str]] = {f.name: {} for f in spec.fields}
        # Inspectors name targets to avoid: those references are collected row by row.
        self.columnar = "conflicts" not in spec.field_names
        self.source = {f.name: i for i, f in self.fields}
        self.regional = "region" in spec.field_names
        self.hashes = hasher(spec.kind, [(i, f.name) for i, f in self.fields])
        self.key_source = self.source.get(spec.key)
        self.region_source = self.source.get("region")

    def error(self, row: int | None, field_name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_listed:
            self.errors.append({"row": row, "field": field_name, "message": message})

    def chunk(self, numbers: Sequence[int], rows: list[list[str]]) -> list[WireRow]:
        """Validates one chunk; its wire rows (the row hash last) while no error has been found
        so far — without the rows `known` holds unchanged."""
        hashes = self.hashes(rows)
        if self.known is not None and len(self.known) and self.rows + len(rows) <= self.max_rows:
            numbers, rows, hashes = self._skip_unchanged(numbers, rows, hashes)
            if not rows:
                return []
        out = None
        if self.columnar and self.rows + len(rows) <= self.max_rows:
            out = self._columns(numbers, rows, hashes)
        if out is None:
            wire = self._row_by_row(numbers, rows)
            return [(*w, h) for w, h in zip(wire, hashes, strict=True)] if wire else []
        self.rows += len(rows)
        return out if not self.error_count else []

    def _skip_unchanged(
        self, numbers: Sequence[int], rows: list[list[str]], hashes: list[str]
    ) -> tuple[Sequence[int], list[list[str]], list[str]]:
        """Counts the rows `known` holds as they are (key and row hash) and leaves them out; a
        duplicate or a row outside the jurisdiction stays, for the checks to name it."""
        assert self.known is not None
        k, r = self.key_source, self.region_source
        if k is None or CONTROL.search("\n".join(map("\n".join, rows))):
            return numbers, rows, hashes  # (a control character: row by row names it)
        keys = [cells[k].strip() if len(cells) > k else "" for cells in rows]
        same = self.known.unchanged(keys, hashes)
        if not same.any():
            return numbers, rows, hashes
        first, prefix = self.first_row, self.prefix if self.regional else ""
        flags = same.tolist()
        if not prefix and not self.foreign:  # the common case, in bulk
            skipped = [key for key, skip in zip(keys, flags, strict=True) if skip]
            if len(set(skipped)) == len(skipped) and first.keys().isdisjoint(skipped):
                first.update(
                    (k, n) for k, n, skip in zip(keys, numbers, flags, strict=True) if skip
                )
                self.rows += len(skipped)
                self.unchanged += len(skipped)
                kept = [j for j, skip in enumerate(flags) if not skip]
                return (
                    [numbers[j] for j in kept],
                    [rows[j] for j in kept],
                    [hashes[j] for j in kept],
                )
        kept_numbers: list[int] = []
        kept_rows: list[list[str]] = []
        kept_hashes: list[str] = []
        for number, cells, key, digest, skip in zip(
            numbers, rows, keys, hashes, flags, strict=True
        ):
            if (
                skip
                and key not in first
                and key not in self.foreign
                and (
                    not prefix
                    or r is None
                    or (len(cells) > r and cells[r].strip().startswith(prefix))
                )
            ):
                first[key] = number
                self.rows += 1
                self.unchanged += 1
                continue
            kept_numbers.append(number)
            kept_rows.append(cells)
            kept_hashes.append(digest)
        return kept_numbers, kept_rows, kept_hashes

    # Column by column ----------------------------------------------------------------------

    def _columns(
        self, numbers: Sequence[int], rows: list[list[str]], hashes: list[str] | None = None
    ) -> list[WireRow] | None:
        lengths = set(map(len, rows))
        if len(lengths) != 1:
            return None
        (length,) = lengths
        width = self.width
        if length < width:
            return None
        text = "\n".join(map("\n".join, rows))
        if CONTROL.search(text) or not (text.isascii() or unicodedata.is_normalized("NFC", text)):
            return None
        cols = list(zip(*rows, strict=True))
        if length > width and "".join("".join(c) for c in cols[width:]).strip():
            return None
        out: list[Iterable[str]] = []
        n = len(rows)
        for f in self.spec.fields:
            i = self.source.get(f.name)
            if i is None:
                out.append(repeat(to_wire(f.default if not f.is_list else [], f.is_list), n))
                continue
            values = self._column(f, cols[i])
            if values is None:
                return None
            out.append(values)
        keys = out[self.spec.field_names.index(self.spec.key)]
        if not isinstance(keys, list):
            return None
        if len(set(keys)) != n or not self.first_row.keys().isdisjoint(keys):
            return None  # a duplicate: the row-by-row pass names it
        if self.prefix and self.regional:
            regions = out[self.spec.field_names.index("region")]
            if not isinstance(regions, list) or not all(r.startswith(self.prefix) for r in regions):
                return None  # outside the jurisdiction: the row-by-row pass names it
        if self.foreign and not self.foreign.isdisjoint(keys):
            return None
        if self.spec.row_check is not None and not self._rows_ok(out):
            return None  # a rule across columns broken: the row-by-row pass names it
        self.first_row.update(zip(keys, numbers, strict=True))
        if hashes is not None:
            out.append(hashes)
        return list(zip(*out, strict=False))

    def _rows_ok(self, columns: list[Iterable[str]]) -> bool:
        """The spec's rules across columns, on the wire values of a chunk (only rows whose
        checked columns are filled are looked at, and only those become records)."""
        check = self.spec.row_check
        assert check is not None
        names = self.spec.field_names
        code = columns[names.index("fixmedins_code")]
        if not isinstance(code, list):
            return True  # a column the file does not carry: its default everywhere
        fit = self.spec.columns_fit
        if fit is not None:
            given = {n: c for n, c in zip(names, columns, strict=True) if isinstance(c, list)}
            if fit(given, NULL):
                return True
        for j in [j for j, v in enumerate(code) if v and v != NULL]:
            rec: dict[str, Any] = {}
            for f, column in zip(self.spec.fields, columns, strict=True):
                value = (
                    column[j]
                    if isinstance(column, list)
                    else to_wire(f.default if not f.is_list else [], f.is_list)  # not in the file
                )
                rec[f.name] = None if value == NULL else value
            if check(rec):
                return False
        return True

    def _column(self, f: FieldSpec, cells: tuple[str, ...]) -> list[str] | None:
        """The wire values of one column, or None when a cell needs the per-cell check."""
        col = list(map(str.strip, cells))  # cheaper than finding the cells that need it
        joined = SEP.join(col)
        if f.check is normalize_uscc and _USCC_COLUMN.fullmatch(joined):
            if _uscc_column_ok(joined, len(col)):
                return col
        elif f.check is check_region and _REGION_COLUMN.fullmatch(joined):
            return col
        elif f.check is check_fixmedins and not f.required and _FIXMEDINS_COLUMN.fullmatch(joined):
            if "" not in col:
                return col
            empty = to_wire(f.default, False)
            return [v or empty for v in col]
        elif f.check is None and not f.is_list and f.choices is None:
            if (
                "" not in col
                and max(map(len, col)) <= f.max_len
                and not joined.startswith("'")
                and "\x00'" not in joined
            ):
                return col
        elif f.choices is not None or f.is_list or f.check is check_grade:
            return self._memoised(f, col)
        try:
            return [to_wire(v, f.is_list) for v in map(f.fast, col)]
        except FieldError:
            return None

    def _memoised(self, f: FieldSpec, col: Sequence[str]) -> list[str] | None:
        memo = self.memo[f.name]
        try:
            return list(map(memo.__getitem__, col))
        except KeyError:
            pass
        try:
            if len(memo) < _MEMO_LIMIT:
                for v in set(col).difference(memo):
                    memo[v] = to_wire(f.fast(v), f.is_list)
                return list(map(memo.__getitem__, col))
            return [to_wire(v, f.is_list) for v in map(f.fast, col)]
        except FieldError:
            return None

    # Row by row ----------------------------------------------------------------------------

    def _row_by_row(self, numbers: Sequence[int], rows: list[list[str]]) -> list[WireRow]:
        out: list[WireRow] = []
        width, key, spec = self.width, self.spec.key, self.spec
        names = [f.name for _, f in self.fields]
        for number, row in zip(numbers, rows, strict=True):
            self.rows += 1
            if self.rows > self.max_rows:
                self.error(number, "file", f"超过最大行数 {self.max_rows}")
                self.stopped = True
                break
            cells = row
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            rec: dict[str, Any] | None = None
            ok = True
            # Fast path: one control/NFC check per row, specialised per-field checks; on
            # any problem the slow path below re-checks cell by cell to name every error.
            if row_is_clean(cells):
                try:
                    rec = dict(
                        zip(names, [f.fast(cells[i].strip()) for i, f in self.fields], strict=True)
                    )
                except FieldError:
                    rec = None
            if rec is None:
                rec = {}
                for i, f in self.fields:
                    try:
                        rec[f.name] = f.normalize(cells[i])
                    except FieldError as exc:
                        ok = False
                        self.error(number, f.header, str(exc))
            if len(cells) > width and "".join(cells[width:]).strip():
                ok = False
                self.error(number, "file", "该行的单元格多于表头列数 (more cells than headers)")
            for f in self.missing:
                rec[f.name] = f.default if not f.is_list else []
            k = rec.get(key)
            if k is not None:
                if k in self.first_row:
                    ok = False
                    self.error(
                        number, spec.field(key).header, f"与第 {self.first_row[k]} 行重复 ({k})"
                    )
                else:
                    self.first_row[k] = number
            if (self.prefix or self.foreign) and not self._inside(number, rec, k):
                ok = False
            if ok and spec.row_check is not None:
                for name, message in spec.row_check(rec):
                    ok = False
                    self.error(number, spec.field(name).header, message)
            if not ok:
                continue
            for uscc in rec.get("conflicts", []) if spec.kind == "inspectors" else []:
                self.conflict_refs.append((number, uscc))
            if not self.error_count:
                out.append(tuple(to_wire(rec[f.name], f.is_list) for f in spec.fields))
        return out if not self.error_count else []

    def _inside(self, number: int, rec: dict[str, Any], key: Any) -> bool:
        """Whether the row lies inside the importing account's jurisdiction (errors named)."""
        ok = True
        region = rec.get("region") if self.regional else None
        if self.prefix and region and not str(region).startswith(self.prefix):
            ok = False
            self.error(
                number,
                self.spec.field("region").header,
                f"医保区划 {region} 不在本账号辖区 {self.prefix} 内 (outside jurisdiction)",
            )
        if key is not None and key in self.foreign:
            ok = False
            self.error(
                number,
                self.spec.field(self.spec.key).header,
                f"{key} 已登记在本账号辖区 {self.prefix} 外，不能由本账号导入修改"
                " (registered outside jurisdiction)",
            )
        return ok

    def run(
        self, chunks: Iterator[tuple[Sequence[int], list[list[str]]]]
    ) -> Iterator[list[WireRow]]:
        """Wire rows of each validated chunk (empty once an error was found)."""
        for numbers, rows in chunks:
            yield self.chunk(numbers, rows)
            if self.stopped:
                break
