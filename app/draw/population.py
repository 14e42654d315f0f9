"""The draw's input in columns: one USCC and one profile index per unit, distinct profiles once.

A national population is 1,000,000 units but only a few thousand distinct profiles (stratum,
kind, grade, weight, cooling items), so the draw works on a byte string of USCCs, an integer
array of profile indices and a short list of profiles — no Python object per unit.
`PopulationBuilder` is how the registry snapshot fills it row by row; `Population.from_units`
accepts the row-shaped `Unit`s that tests and small callers use. Under `spotcheck-draw/2` each
unit also carries its `region` (医保区划 code) and `name`, published in the frame file; they
never change what is drawn.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from app.gcpause import gc_paused

USCC_LENGTH = 18
_FORBIDDEN_RE = re.compile('[,"\r\n]')
# The population (frame) file's header: spotcheck-draw/1, and /2 with region and name.
POPULATION_HEADER = "uscc,stratum,kind,grade,weight,cooling_items"
POPULATION_HEADER_V2 = POPULATION_HEADER + ",region,name"
# /2 frame of a plan with a yearly cap (docs/draw-spec.md §10.9): per unit the inspections it
# has had this year and whether it is exempt from the cap (a complaint), before region, name.
POPULATION_HEADER_V2_CAPS = POPULATION_HEADER + ",year_checks,cap_exempt,region,name"

# A unit's inspections this calendar year and whether the cap does not apply to it (a
# complaint); None in a frame without yearly caps.
YearChecks = tuple[int, bool]
# (stratum, kind, credit grade or None, risk weight, item codes in cooldown, year checks)
RawProfile = tuple[str, str, str | None, float, frozenset[str], YearChecks | None]


class DrawInputError(ValueError):
    """The population, items or parameters cannot be drawn from (Chinese message)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One target in the population snapshot."""

    uscc: str
    stratum: str
    kind: str
    grade: str | None
    weight: float
    cooling_items: frozenset[str]
    region: str | None = None
    name: str | None = None
    year_checks: YearChecks | None = None  # frames of plans with a yearly cap only


def _bad_uscc(uscc: object) -> DrawInputError:
    return DrawInputError(f"统一社会信用代码必须是18位大写字母或数字：{uscc!r}")


class PackedStrings(Sequence[str]):
    """`count` texts joined by NUL in one UTF-8 byte string; an item is decoded when read (a
    draw reads the names of the ~5 % of units it draws, not a million Python strings). Where
    each text starts is kept in one integer array (32-bit while the blob allows: 4 bytes a
    text; text k ends one byte before text k + 1 starts)."""

    __slots__ = ("_blob", "_bounds")

    def __init__(self, blob: bytes, count: int) -> None:
        view = np.frombuffer(blob, dtype=np.uint8)
        step = 1 << 22  # found 4 MB at a time (not a mask the size of the blob)
        nul = np.concatenate(
            [np.zeros(0, np.int64)]
            + [np.flatnonzero(view[i : i + step] == 0) + i for i in range(0, len(view), step)]
        )
        if len(nul) != max(count - 1, 0) or (count == 0 and blob):
            raise DrawInputError("冻结抽样框的列数据已损坏（packed texts do not match the count）")
        self._blob = blob
        dtype = np.int32 if len(blob) < (1 << 31) - 1 else np.int64
        bounds: npt.NDArray[np.signedinteger[Any]] = np.empty(count + 1, dtype=dtype)
        bounds[0] = 0
        if count:
            bounds[1:-1] = nul + 1
            bounds[-1] = len(blob) + 1
        self._bounds = bounds

    @property
    def blob(self) -> bytes:
        return self._blob

    def __len__(self) -> int:
        return len(self._bounds) - 1

    @overload
    def __getitem__(self, k: int) -> str: ...

    @overload
    def __getitem__(self, k: slice) -> list[str]: ...

    def __getitem__(self, k: int | slice) -> str | list[str]:
        size = len(self)
        if isinstance(k, slice):
            lo, hi, step = k.indices(size)
            if step != 1:
                return [self[i] for i in range(lo, hi, step)]
            if hi <= lo:
                return []
            text = self._blob[int(self._bounds[lo]) : int(self._bounds[hi]) - 1].decode("utf-8")
            return text.split("\x00")
        if k < 0:
            k += size
        if not 0 <= k < size:
            raise IndexError("PackedStrings index out of range")
        return self._blob[int(self._bounds[k]) : int(self._bounds[k + 1]) - 1].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self[:])

    def take(self, order: npt.NDArray[np.int64], batch: int = 1 << 16) -> PackedStrings:
        """The texts in `order` (indices into these), packed again without decoding them."""
        blob, bounds = self._blob, self._bounds
        parts = []
        for lo in range(0, len(order), batch):
            at = order[lo : lo + batch]
            starts, ends = bounds[at].tolist(), (bounds[at + 1] - 1).tolist()
            parts.append(b"\x00".join([blob[s:e] for s, e in zip(starts, ends, strict=True)]))
        return PackedStrings(b"\x00".join(parts), len(order))


class Population:
    """`size` units: `data` holds their 18-character USCCs back to back (ASCII), `pid[i]` is the
    index in `profiles` of unit i. Units may come in any order; the draw sorts them by USCC.

    `regions[i]` / `names[i]` (both or neither; None for a `spotcheck-draw/1` population) are
    unit i's region code and name; `region(i)` and `name(i)` read them ("" when absent).

    `regions` and `names` may be `PackedStrings` (a frame's stored columns, app/draw/columns.py).

    `source` (set by `read_population_file` and `columns.decode` only) is the file the
    population was read from (or whose columns were stored):
    its header, SHA-256 and each profile's text, so the draw need not write the file again to
    hash it when it would write the same bytes (`SourceFile`). Treat a Population as immutable.
    """

    __slots__ = ("data", "names", "pid", "profiles", "regions", "source")

    def __init__(
        self,
        data: bytes,
        pid: npt.ArrayLike,
        profiles: Sequence[RawProfile],
        *,
        regions: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        size, rest = divmod(len(data), USCC_LENGTH)
        pids = np.asarray(pid, dtype=np.int64)
        if rest or pids.shape != (size,):
            raise DrawInputError("抽样总体的代码与属性数目不一致（population columns differ）")
        if size and not (data.isascii() and data.isalnum() and data.upper() == data):
            bad = next(
                data[i : i + USCC_LENGTH]
                for i in range(0, len(data), USCC_LENGTH)
                if not _is_uscc_form(data[i : i + USCC_LENGTH])
            )
            raise _bad_uscc(bad.decode("ascii", errors="replace"))
        if size and (int(pids.min()) < 0 or int(pids.max()) >= len(profiles)):
            raise DrawInputError("抽样总体的属性编号越界（profile index out of range）")
        profiles = [_with_year(p) for p in profiles]
        if len({p[5] is None for p in profiles}) > 1:
            raise DrawInputError(
                "本年度检查次数须对全部对象给出或全部不给（year checks: all units or none）"
            )
        if (regions is None) != (names is None):
            raise DrawInputError("区划与名称须同时给出（regions and names go together）")
        if regions is not None and names is not None:
            if len(regions) != size or len(names) != size:
                raise DrawInputError(
                    "抽样总体的代码与区划/名称数目不一致（population columns differ）"
                )
            # packed columns (app/draw/columns.py) are text by construction, their regions
            # checked when read
            if not isinstance(regions, PackedStrings):
                for region in set(regions):
                    if not isinstance(region, str) or _FORBIDDEN_RE.search(region):
                        raise DrawInputError(f'区划代码含有不允许的字符（, " 换行）：{region!r}')
            if not isinstance(names, PackedStrings) and not set(map(type, names)) <= {str}:
                raise DrawInputError("检查对象名称必须是文本（names must be text）")
        self.data = data
        self.pid: npt.NDArray[np.int64] = pids
        self.profiles: list[RawProfile] = list(profiles)
        self.regions: Sequence[str] | None = _column(regions)
        self.names: Sequence[str] | None = _column(names)
        self.source: SourceFile | None = None

    @property
    def has_year_checks(self) -> bool:
        """Whether the units carry their inspections this year (a plan with a yearly cap)."""
        return bool(self.profiles) and self.profiles[0][5] is not None

    def __len__(self) -> int:
        return len(self.data) // USCC_LENGTH

    def uscc(self, k: int) -> str:
        """Unit k's USCC (input order)."""
        return self.data[USCC_LENGTH * k : USCC_LENGTH * (k + 1)].decode("ascii")

    def region(self, k: int) -> str:
        """Unit k's region code, "" for a population without regions."""
        return "" if self.regions is None else self.regions[k]

    def name(self, k: int) -> str:
        """Unit k's name, "" for a population without names."""
        return "" if self.names is None else self.names[k]

    @classmethod
    def from_units(cls, units: Iterable[Unit]) -> Population:
        builder = PopulationBuilder()
        builder.add_units(units)
        return builder.build()

    def units(self) -> Iterator[Unit]:
        """The units in input order (for small callers and tests)."""
        data, profiles, regions, names = self.data, self.profiles, self.regions, self.names
        for i, p in enumerate(self.pid.tolist()):
            raw = profiles[p]
            uscc = data[USCC_LENGTH * i : USCC_LENGTH * (i + 1)].decode("ascii")
            region = None if regions is None else regions[i]
            name = None if names is None else names[i]
            yield Unit(uscc, raw[0], raw[1], raw[2], raw[3], raw[4], region, name, raw[5])


def in_uscc_order(population: Population) -> Population:
    """The same units sorted by USCC (stable: equal USCCs keep their order, for the draw to
    refuse), or `population` itself when they already are. Packed names and regions are
    reordered packed; the draw and the file writer then use them as they are instead of
    holding a second, sorted copy (a frame capture: about 55 MB at national scale)."""
    packed = np.frombuffer(population.data, dtype=f"S{USCC_LENGTH}")
    if len(packed) < 2 or bool(np.all(packed[1:] >= packed[:-1])):
        return population
    order = np.argsort(packed, kind="stable")
    regions, names = population.regions, population.names
    if isinstance(regions, PackedStrings) and isinstance(names, PackedStrings):
        regions, names = regions.take(order), names.take(order)
    elif regions is not None and names is not None:
        rank = order.tolist()
        regions, names = [regions[i] for i in rank], [names[i] for i in rank]
    ordered = Population(
        packed[order].tobytes(),
        population.pid[order],
        population.profiles,
        regions=regions,
        names=names,
    )
    return ordered


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The canonical population file a Population was parsed from: `header`, the SHA-256 of
    the whole file, and per profile (same index as `Population.profiles`) the text its lines
    carry after "USCC," and before ",region,name". The parser checked everything else a line
    holds (sorted unique USCCs, minimal quoting, plain regions), so a writer whose header and
    profile texts are these writes these very bytes again (app/draw/engine.py)."""

    header: str
    sha256: str
    profile_texts: tuple[str, ...]


def _column(texts: Sequence[str] | None) -> Sequence[str] | None:
    """A text column as kept: packed columns as they are (immutable), others as a list."""
    if texts is None or isinstance(texts, PackedStrings):
        return texts
    return list(texts)


def _with_year(profile: tuple[object, ...]) -> RawProfile:
    """A profile as given; a five-field one (before yearly caps) has no year checks."""
    if len(profile) == 5:
        return (*profile, None)  # type: ignore[return-value]
    return profile  # type: ignore[return-value]


def _is_uscc_form(uscc: bytes) -> bool:
    return len(uscc) == USCC_LENGTH and uscc.isascii() and uscc.isalnum() and uscc == uscc.upper()


class PopulationBuilder:
    """Collects units one by one; equal profiles are stored once. USCCs are joined every
    65,536 units and profile indices kept as machine integers (a million of each as Python
    objects would take 100 MB).

    `packed` (a frame capture): regions and names are joined by NUL every 65,536 units as
    UTF-8 and the population holds them as `PackedStrings` — not a million name strings (about
    150 MB at national scale). A name or region holding a NUL itself cannot be packed: the
    population then holds them as lists, as without `packed`."""

    __slots__ = (
        "_chunks",
        "_index",
        "_joined",
        "_names",
        "_packed",
        "_pids",
        "_profiles",
        "_regions",
        "_text_parts",
    )

    _BATCH = 1 << 16

    def __init__(self, *, packed: bool = False) -> None:
        self._chunks: list[str] = []
        self._joined: list[bytes] = []
        self._pids = array("q")
        self._index: dict[RawProfile, int] = {}
        self._profiles: list[RawProfile] = []
        self._regions: list[str | None] = []
        self._names: list[str | None] = []
        self._packed = packed
        # per batch of `packed` units: (regions, names) joined by NUL, or as lists (a NUL inside)
        self._text_parts: list[tuple[bytes, bytes] | tuple[list[str], list[str]]] = []

    def add(
        self,
        uscc: str,
        stratum: str,
        kind: str,
        grade: str | None,
        weight: float,
        cooling_items: frozenset[str],
        region: str | None = None,
        name: str | None = None,
        *,
        year_checks: YearChecks | None = None,
    ) -> None:
        """One unit; `region` and `name` (spotcheck-draw/2 frames) may be None; `year_checks`
        (inspections this year, exempt from the cap) only for a plan with a yearly cap."""
        if len(uscc) != USCC_LENGTH:
            raise _bad_uscc(uscc)
        key = (stratum, kind, grade, weight, cooling_items, year_checks)
        p = self._index.get(key)
        if p is None:
            p = self._index[key] = len(self._profiles)
            self._profiles.append(key)
        chunks = self._chunks
        chunks.append(uscc)
        self._pids.append(p)
        self._regions.append(region)
        self._names.append(name)
        if len(chunks) >= self._BATCH:
            self._flush()

    def add_units(self, units: Iterable[Unit]) -> None:
        """`add` of each of `units`."""
        add = self.add
        for u in units:
            add(
                u.uscc,
                u.stratum,
                u.kind,
                u.grade,
                u.weight,
                u.cooling_items,
                u.region,
                u.name,
                year_checks=u.year_checks,
            )

    def _flush(self) -> None:
        joined = "".join(self._chunks)
        if not joined.isascii():
            raise _bad_uscc(next(u for u in self._chunks if not u.isascii()))
        self._joined.append(joined.encode("ascii"))
        self._chunks.clear()
        if self._packed and self._names:
            regions = [r or "" for r in self._regions]
            names = [n or "" for n in self._names]
            joined_regions, joined_names = "\x00".join(regions), "\x00".join(names)
            nuls = len(names) - 1
            if (
                joined_regions.count("\x00") == nuls
                and joined_names.count("\x00") == nuls
                and _FORBIDDEN_RE.search(joined_regions) is None  # else refused by Population
            ):
                self._text_parts.append(
                    (joined_regions.encode("utf-8"), joined_names.encode("utf-8"))
                )
            else:
                self._text_parts.append((regions, names))
            self._regions.clear()
            self._names.clear()

    def _packed_texts(self) -> tuple[Sequence[str], Sequence[str]]:
        """The regions and names of a `packed` builder: packed, or lists when one holds a NUL."""
        size = len(self._pids)
        packed_regions = [r for r, _ in self._text_parts if isinstance(r, bytes)]
        packed_names = [n for _, n in self._text_parts if isinstance(n, bytes)]
        if len(packed_names) == len(packed_regions) == len(self._text_parts):
            return (
                PackedStrings(b"\x00".join(packed_regions), size),
                PackedStrings(b"\x00".join(packed_names), size),
            )
        regions: list[str] = []
        names: list[str] = []
        for r, n in self._text_parts:
            regions += r.decode("utf-8").split("\x00") if isinstance(r, bytes) else r
            names += n.decode("utf-8").split("\x00") if isinstance(n, bytes) else n
        return regions, names

    def build(self) -> Population:
        self._flush()
        pids = np.frombuffer(self._pids, dtype=np.int64) if self._pids else np.zeros(0, np.int64)
        if self._packed:
            regions, names = self._packed_texts()
            self._text_parts.clear()
            return Population(
                b"".join(self._joined), pids, self._profiles, regions=regions, names=names
            )
        labelled = any(r is not None for r in self._regions) or any(
            n is not None for n in self._names
        )
        return Population(
            b"".join(self._joined),
            pids,
            self._profiles,
            regions=[r or "" for r in self._regions] if labelled else None,
            names=[n or "" for n in self._names] if labelled else None,
        )


# spotcheck-draw/3 frame files guard names against spreadsheet formulas (docs/draw-spec.md
# §11.4): a name starting with one of these gets a leading "'" (and so does one starting with
# "'", so the guard is undone unambiguously). Frozen with the file format: the set the service's
# spreadsheet guard had when /3 was defined (app/spreadsheets.py FORMULA_START), plus "'".
NAME_GUARD_START = ("=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠", "'")


def guard_name(name: str) -> str:
    """A /3 frame's name field before quoting: "'" + name when it starts with a guarded
    character."""
    return "'" + name if name.startswith(NAME_GUARD_START) else name


def unguard_name(field: str, line: int) -> str:
    """The name a /3 frame's (unquoted) name field holds; refused unless `guard_name` would
    write it so."""
    if field.startswith("'") and field[1:].startswith(NAME_GUARD_START):
        return field[1:]
    if field.startswith(NAME_GUARD_START):
        raise DrawInputError(
            f"总体文件第 {line} 行：名称以 {field[:1]!r} 开头，须加前导 ' 防公式（unguarded name）"
        )
    return field


def csv_field(text: str) -> str:
    """RFC 4180 minimal quoting: quoted iff the text has , " CR or LF; a " inside is doubled."""
    if _FORBIDDEN_RE.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _unquote(raw: str, line: int) -> str:
    """The name of a quoted field, refused unless `csv_field` would write it so."""
    inner = raw[1:-1]
    if len(raw) < 2 or raw[-1] != '"' or '"' in inner.replace('""', ""):
        raise DrawInputError(f"总体文件第 {line} 行：名称的引号不成对（bad quoting）")
    name = inner.replace('""', '"')
    if csv_field(name) != raw:
        raise DrawInputError(f"总体文件第 {line} 行：名称不必加引号（non-minimal quoting）")
    return name


class _BadProfile(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _raw_profile(fields: tuple[str, ...]) -> RawProfile:
    """The profile of one distinct "stratum,kind,grade,weight,cooling_items" text (followed by
    ",year_checks,cap_exempt" in the frame of a plan with a yearly cap)."""
    stratum, kind, grade, weight_text, cooling_text = fields[:5]
    key = ",".join(fields)
    try:
        weight = float(weight_text)
    except ValueError:
        weight = float("nan")
    if not (weight > 0 and weight != float("inf") and repr(weight) == weight_text):
        raise _BadProfile(
            key,
            f"风险权重 {weight_text!r} 不是规范写法的正数"
            "（weight must be a positive float in shortest repr）",
        )
    cooling = frozenset(code for code in cooling_text.split(";") if code)
    if ";".join(sorted(cooling)) != cooling_text:
        raise _BadProfile(key, f"冷却事项 {cooling_text!r} 未排序或有重复（cooling items）")
    year: YearChecks | None = None
    if len(fields) == 7:
        checks_text, exempt_text = fields[5:]
        if not (
            checks_text.isdigit() and checks_text.isascii() and str(int(checks_text)) == checks_text
        ):
            raise _BadProfile(
                key, f"本年度检查次数 {checks_text!r} 不是规范写法的非负整数（year_checks）"
            )
        if exempt_text not in ("", "1"):
            raise _BadProfile(key, f"免于年度上限 {exempt_text!r} 须为空或 1（cap_exempt）")
        year = (int(checks_text), exempt_text == "1")
    return (stratum, kind, grade or None, weight, cooling, year)


_PLAIN = '[^,"\r\n]*'
_PROFILE = f"({_PLAIN}(?:,{_PLAIN}){{4}})"
_PROFILE_CAPS = f"({_PLAIN}(?:,{_PLAIN}){{6}})"  # the five, year_checks, cap_exempt
# One record each: USCC, the five profile fields as one string, and (/2) region and name. A
# record is matched from the newline before it to the newline after it (left for the next
# record), so every match starts a line; `_parse` counts that the matches cover every line.
_RECORD_V1 = re.compile(f"\\n([0-9A-Z]{{{USCC_LENGTH}}}),{_PROFILE}(?=\\n)")
_NAME = f'("(?:[^"]|"")*"|{_PLAIN})'
_RECORD_V2 = re.compile(f"\\n([0-9A-Z]{{{USCC_LENGTH}}}),{_PROFILE},({_PLAIN}),{_NAME}(?=\\n)")
_RECORD_V2_CAPS = re.compile(
    f"\\n([0-9A-Z]{{{USCC_LENGTH}}}),{_PROFILE_CAPS},({_PLAIN}),{_NAME}(?=\\n)"
)


def read_population_file(data: bytes | Iterable[bytes], *, guarded: bool = False) -> Population:
    """The Population a published population (frame) file describes, /1 or /2 by its header.

    The inverse of `population_file_chunks`: the file must be exactly what it would write
    (UTF-8, LF, final LF, sorted unique USCCs, shortest-repr weights, sorted cooling codes,
    minimal quoting), so for the same plan items writing the result again gives the same bytes.
    Raises DrawInputError (Chinese message) otherwise. One regular-expression pass over the
    text, one dictionary lookup per unit: 1.7–2.1 s with gunzip for 1,000,000 units in a draw
    (docs/performance.md). The file's SHA-256 is kept (`Population.source`). `guarded`: a
    `spotcheck-draw/3` frame, whose names carry the formula guard (`guard_name`).
    """
    blob = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b"".join(data)
    sha256 = hashlib.sha256(blob).hexdigest()
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DrawInputError(f"总体文件不是 UTF-8 编码（not UTF-8）：{exc}") from None
    del blob  # a national frame is 125 MB of bytes, twice that as text: one copy at a time
    newline = text.find("\n")
    header = text[:newline] if newline >= 0 else text
    if header == POPULATION_HEADER_V2:
        record = _RECORD_V2
    elif header == POPULATION_HEADER_V2_CAPS:
        record = _RECORD_V2_CAPS
    elif header == POPULATION_HEADER:
        record = _RECORD_V1
    else:
        raise DrawInputError(
            f"总体文件表头应为 {POPULATION_HEADER_V2}、{POPULATION_HEADER_V2_CAPS} 或 "
            f"{POPULATION_HEADER}（bad header）"
        )
    if not text.endswith("\n"):
        raise DrawInputError("总体文件须以换行结尾（file must end with a newline）")
    with gc_paused():  # millions of short strings, no cycles (app/gcpause.py)
        # the records from the header's newline on (every record follows a newline)
        population, profile_texts = _parse(text, newline, record, guarded)
    population.source = SourceFile(header, sha256, profile_texts)
    return population


def _parse(
    text: str, start: int, record: re.Pattern[str], guarded: bool = False
) -> tuple[Population, tuple[str, ...]]:
    """The records of text[start:] (which starts with the header's newline), read in place."""
    rows: list[tuple[str, ...]] = record.findall(text, start)
    columns = list(zip(*rows, strict=True)) if rows else [()] * (record.groups)
    del rows  # a million tuples: the columns hold their strings
    # positions of the quoted names (only a /2 name may start with a quote)
    quoted = (
        [k for k, raw in enumerate(columns[3]) if raw[:1] == '"']
        if record.groups == 4 and text.find('"', start) >= 0
        else []
    )
    inner_newlines = sum(columns[3][k].count("\n") for k in quoted)
    # Every line is one record unless a line fails the pattern (then it is skipped: count).
    if len(columns[0]) != text.count("\n", start) - 1 - inner_newlines:
        raise DrawInputError(
            f"总体文件第 {_bad_line(text, start, record)} 行格式不符（malformed line: 18-character "
            'USCC, no , " CR LF inside a field, names quoted minimally）'
        )
    usccs: tuple[str, ...] = columns[0]
    # profile ids in order of first appearance, one dictionary lookup per unit
    index = {key: p for p, key in enumerate(dict.fromkeys(columns[1]))}
    pids = list(map(index.__getitem__, columns[1]))
    try:
        profiles = [_raw_profile(tuple(key.split(","))) for key in index]
    except _BadProfile as exc:
        line = 2 + columns[1].index(exc.key)
        raise DrawInputError(f"总体文件第 {line} 行：{exc}") from None
    regions: list[str] | None = None
    names: list[str] | None = None
    if record.groups == 4:
        regions = list(columns[2])
        names = list(columns[3])
        for k in quoted:
            names[k] = _unquote(names[k], k + 2)
        if guarded:
            for k, name in enumerate(names):
                if name.startswith(NAME_GUARD_START):
                    names[k] = unguard_name(name, k + 2)
    population = Population(
        "".join(usccs).encode("ascii"),
        np.array(pids, dtype=np.int64),
        profiles,
        regions=regions,
        names=names,
    )
    packed = np.frombuffer(population.data, dtype=f"S{USCC_LENGTH}")
    if len(packed) > 1 and not bool(np.all(packed[1:] > packed[:-1])):
        raise DrawInputError("总体文件未按统一社会信用代码排序或有重复（not sorted / duplicate）")
    return population, tuple(index)


def _bad_line(text: str, start: int, record: re.Pattern[str]) -> int:
    """File line number of the first line that is not a record (the header is line 1; `start`
    is the header's newline)."""
    position = start
    for match in record.finditer(text, start):
        if match.start() != position:
            break
        position = match.end()
    return text.count("\n", start, position) + 2
