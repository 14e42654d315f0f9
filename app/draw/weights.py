"""Risk weight of one target from its credit grade, complaints and monitoring flags.

weight = grade_weight(grade) x (1 + per_complaint x min(complaints, complaint_cap))
         x product of flag_weights[f] over the distinct flags f the target carries.
A grade missing from the plan's table (or no grade) weighs `default_grade_weight` (1.0).
The result is rounded to 6 significant digits so the published population file stays short.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """A plan's risk weighting (docs/rules.md#r3-1); grade scale is whatever keys the plan uses."""

    grade_weights: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    default_grade_weight: float = 1.0
    per_complaint: float = 0.0
    complaint_cap: int = 10
    flag_weights: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        factors = [*self.grade_weights.values(), self.default_grade_weight]
        factors += list(self.flag_weights.values())
        if any(not math.isfinite(f) or f <= 0 for f in factors):
            raise ValueError("风险权重必须是正数（risk weights must be positive）")
        if not math.isfinite(self.per_complaint) or self.per_complaint < 0:
            raise ValueError("投诉举报加权不能为负（per_complaint must be >= 0）")
        if self.complaint_cap < 0:
            raise ValueError("投诉举报计数上限不能为负（complaint_cap must be >= 0）")


def risk_config_from_plan(risk_weights: Mapping[str, object] | None) -> RiskConfig | None:
    """Read a plan's `risk_weights`: grade keys → weight; optional `complaint`, `flags`."""
    if not risk_weights:
        return None
    grades: dict[str, float] = {}
    per_complaint = 0.0
    flags: dict[str, float] = {}
    for key, value in risk_weights.items():
        if key == "complaint":
            per_complaint = _number(value, key)
        elif key == "flags":
            if not isinstance(value, Mapping):
                raise ValueError("risk_weights.flags 必须是对象（must be an object）")
            flags = {str(k): _number(v, f"flags.{k}") for k, v in value.items()}
        else:
            grades[key] = _number(value, key)
    return RiskConfig(grade_weights=grades, per_complaint=per_complaint, flag_weights=flags)


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"risk_weights.{key} 必须是数字（must be a number）")
    return float(value)


def risk_weight(
    *, grade: str | None, complaints: int = 0, flags: Iterable[str] = (), config: RiskConfig | None
) -> float:
    """Risk weight of one target (1.0 = neutral); `config=None` means equal weights."""
    if config is None:
        return 1.0
    weight = (
        config.grade_weights.get(grade, config.default_grade_weight)
        if grade
        else (config.default_grade_weight)
    )
    weight *= 1.0 + config.per_complaint * min(max(complaints, 0), config.complaint_cap)
    for flag in sorted(set(flags)):
        weight *= config.flag_weights.get(flag, 1.0)
    return float(f"{weight:.6g}")
