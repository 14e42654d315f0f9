"""Working-day calendar for publication deadlines (docs/rules.md#r8-3).

A day is a working day (工作日) when it is a make-up working day (调休上班), or a Monday–Friday
that is not a statutory holiday. Data comes from the ``chinese_calendar`` package (years it
ships) and an optional override file; a year covered by neither raises
:class:`CalendarDataMissing` instead of silently counting weekends only.

Counting convention: the day of the decision is day 0 and is never counted.
``add_workdays(d, n)`` is the n-th working day strictly after ``d``; ``workdays_between(a, b)``
counts working days in the half-open interval ``(a, b]``, so
``workdays_between(d, add_workdays(d, n)) == n``.

Override file (JSON), one entry per year; an entry replaces the package's data for that year::

    {"2027": {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}}

``holidays`` are days off (weekend days inside a holiday block may be listed or not);
``workdays`` are make-up working days on weekends. Keys starting with ``_`` are comments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar.constants as _cc

__all__ = [
    "CalendarDataMissing",
    "CalendarOverrideError",
    "WorkdayCalendar",
    "load_calendar",
]


class CalendarDataMissing(LookupError):
    """No holiday data (package or override) for a year."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"缺少 {year} 年节假日数据，请提供调休/节假日覆盖文件"
            f" (no holiday data for {year}: provide a calendar override file)"
        )


class CalendarOverrideError(ValueError):
    """The override file is malformed."""


class WorkdayCalendar:
    """Chinese working days: weekends, statutory holidays and make-up working days."""

    def __init__(
        self,
        *,
        holidays: Iterable[date],
        workdays: Iterable[date],
        years: Iterable[int],
    ) -> None:
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        self._years = frozenset(years)
        clash = self._holidays & self._workdays
        if clash:
            raise CalendarOverrideError(
                f"日期既是节假日又是调休工作日 (date both holiday and workday): {min(clash)}"
            )

    @classmethod
    def from_package(
        cls, overrides: Mapping[int, tuple[frozenset[date], frozenset[date]]] | None = None
    ) -> WorkdayCalendar:
        """Builds the calendar from chinese_calendar data, overrides replacing whole years."""
        overrides = overrides or {}
        pkg_holidays: set[date] = {d for d in _cc.holidays if d.year not in overrides}
        pkg_workdays: set[date] = {d for d in _cc.workdays if d.year not in overrides}
        years = {d.year for d in _cc.holidays} | set(overrides)
        for off, on in overrides.values():
            pkg_holidays |= off
            pkg_workdays |= on
        return cls(holidays=pkg_holidays, workdays=pkg_workdays, years=years)

    @property
    def years(self) -> frozenset[int]:
        """Years with holiday data."""
        return self._years

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day; raises CalendarDataMissing for an unknown year."""
        if d.year not in self._years:
            raise CalendarDataMissing(d.year)
        if d in self._workdays:
            return True
        return d.weekday() < 5 and d not in self._holidays

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself not counted; n=0 → start)."""
        if n < 0:
            raise ValueError("工作日数不能为负 (n must be >= 0)")
        d = start
        left = n
        while left:
            d += timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative when ``b`` is before ``a``."""
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        d = a
        while d < b:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return count


def _parse_day(raw: object, year: int, where: str) -> date:
    if not isinstance(raw, str):
        raise CalendarOverrideError(f"{where}: 日期须为 YYYY-MM-DD 字符串 (date string expected)")
    try:
        d = date.fromisoformat(raw)
    except ValueError as exc:
        raise CalendarOverrideError(f"{where}: 无效日期 (invalid date) {raw!r}") from exc
    if d.year != year:
        raise CalendarOverrideError(f"{where}: {raw} 不属于 {year} 年 (date outside its year)")
    return d


def parse_overrides(data: object) -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    """Validates override JSON data into {year: (holidays, workdays)}."""
    if not isinstance(data, dict):
        raise CalendarOverrideError("覆盖文件须为 JSON 对象 (override file must be a JSON object)")
    out: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
    for key, entry in data.items():
        if isinstance(key, str) and key.startswith("_"):
            continue  # "_comment" and similar keys document the file
        if not (isinstance(key, str) and len(key) == 4 and key.isdigit()):
            raise CalendarOverrideError(f"年份键无效 (invalid year key): {key!r}")
        year = int(key)
        if not isinstance(entry, dict):
            raise CalendarOverrideError(f"{key}: 须为对象 (object expected)")
        unknown = set(entry) - {"holidays", "workdays"}
        if unknown:
            raise CalendarOverrideError(f"{key}: 未知字段 (unknown fields) {sorted(unknown)}")
        days: list[frozenset[date]] = []
        for field in ("holidays", "workdays"):
            raw = entry.get(field, [])
            if not isinstance(raw, list):
                raise CalendarOverrideError(f"{key}.{field}: 须为列表 (list expected)")
            days.append(frozenset(_parse_day(x, year, f"{key}.{field}") for x in raw))
        out[year] = (days[0], days[1])
    return out


def load_calendar(override_path: Path | None) -> WorkdayCalendar:
    """The package calendar, with the override file's years (if given) replacing its data."""
    if override_path is None:
        return WorkdayCalendar.from_package()
    try:
        data = json.loads(override_path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise CalendarOverrideError(
            f"无法读取覆盖文件 (cannot read override file) {override_path}: {exc}"
        ) from exc
    except json.JSONDecodeError as exc:
        raise CalendarOverrideError(
            f"覆盖文件不是有效 JSON (override file is not valid JSON) {override_path}: {exc}"
        ) from exc
    return WorkdayCalendar.from_package(parse_overrides(data))
