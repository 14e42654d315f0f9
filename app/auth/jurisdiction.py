"""Jurisdiction (辖区): the one rule of which regions an account or token sees and changes.

Every account and token is bound to a 医保区划 prefix ("3704" a city bureau, "370402" a
district, "" the province or a national administrator) and a department. A record is inside
the jurisdiction when its region starts with the prefix, so a city sees its districts rolled
up. Services take a `Jurisdiction` and apply it in their queries; to a caller, a record
outside it does not exist (404, like an unknown key).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from app.errors import Forbidden, ValidationFailed
from app.regions import region_label


def check_prefix(prefix: str) -> str:
    """A valid 医保区划 prefix (digits, at most 6, even length), or a 422."""
    prefix = prefix.strip()
    if prefix and not (prefix.isdigit() and len(prefix) <= 6 and len(prefix) % 2 == 0):
        raise ValidationFailed(
            f"医保区划前缀“{prefix}”无效：应为 2、4 或 6 位数字（省、市、县区）",
            errors=[{"field": "region", "message": "应为 2、4 或 6 位数字"}],
        )
    return prefix


@dataclass(frozen=True)
class Jurisdiction:
    """A 医保区划 prefix ("" = everywhere) and a department."""

    prefix: str = ""
    department: str = ""

    @property
    def everywhere(self) -> bool:
        return self.prefix == ""

    def covers(self, region: str | None) -> bool:
        """Whether a record of `region` is inside."""
        return str(region or "").startswith(self.prefix)

    def covers_all(self, regions: Iterable[str]) -> bool:
        """Whether every region in `regions` is inside; an empty list means "every region",
        which only an account without prefix covers."""
        listed = list(regions)
        if not listed:
            return self.everywhere
        return all(self.covers(r) for r in listed)

    def clause(self, column: Any) -> ColumnElement[bool]:
        """SQL for "`column` (a region) is inside"."""
        if self.everywhere:
            return true()
        clause: ColumnElement[bool] = column.startswith(self.prefix, autoescape=True)
        return clause

    def covers_plan(self, spec: dict[str, Any]) -> bool:
        """A plan is inside when every region of its scope is (a city plan is invisible to
        one of its districts: the district neither wrote nor may change it)."""
        scope = spec.get("scope") or {}
        return self.covers_all(scope.get("regions") or [])

    def narrow(self, region: str | None) -> str | None:
        """The region a report is computed for: the asked one when inside, the prefix when
        none (or a wider one) was asked; 403 for a region outside."""
        if not region:
            return self.prefix or None
        if self.covers(region):
            return region
        if self.prefix.startswith(region):
            return self.prefix
        raise Forbidden(f"医保区划 {region} 不在本账号辖区 {self.prefix} 内 (outside jurisdiction)")

    def require_regions(self, regions: Sequence[str], *, field: str) -> None:
        """422 unless every listed region is inside (for what a caller creates)."""
        if self.covers_all(regions):
            return
        shown = "、".join(regions) if regions else "全部区划"
        inside = region_label(self.prefix) if self.prefix else "全部区划"
        raise ValidationFailed(
            f"范围 {shown} 超出本账号辖区（医保区划 {inside}）",
            errors=[{"field": field, "message": f"须在本账号辖区{inside}内"}],
        )


EVERYWHERE = Jurisdiction()
