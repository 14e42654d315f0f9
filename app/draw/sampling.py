"""Stratum sizes, inclusion probabilities and Pareto order-sampling keys (pure Python).

These functions are duplicated line for line in docs/verify_draw.py so that the standalone
verifier recomputes bit-identical floats; change both or neither (docs/draw-spec.md §4–§5).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from app.draw.seed import ALGORITHM, ALGORITHMS, FROZEN_FRAME

_EMPTY: Mapping[str, float] = MappingProxyType({})
_NO_CAPS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How many targets a plan draws per stratum and with which probabilities."""

    ratio: float
    min_per_stratum: int = 1
    grade_rates: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    weighted: bool = False
    cooldown_days: int = 365
    algorithm: str = ALGORITHM
    # credit grade → most inspections a year (docs/rules.md#r4-5); spotcheck-draw/2 only
    yearly_caps: Mapping[str, int] = field(default_factory=lambda: _NO_CAPS)

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"不支持的抽取算法 {self.algorithm!r}（unsupported algorithm）")
        if not (isinstance(self.ratio, int | float) and 0 < self.ratio <= 1):
            raise ValueError("抽查比例必须在 (0, 1] 之间（ratio must be in (0, 1]）")
        if isinstance(self.min_per_stratum, bool) or self.min_per_stratum < 0:
            raise ValueError("每层最低抽查数不能为负（min_per_stratum must be >= 0）")
        for grade, rate in self.grade_rates.items():
            if not (isinstance(rate, int | float) and 0 <= rate <= 1):
                raise ValueError(f"信用等级 {grade} 的最低抽查比例必须在 [0, 1] 之间")
        if self.cooldown_days < 0:
            raise ValueError("冷却期天数不能为负（cooldown_days must be >= 0）")
        for grade, cap in self.yearly_caps.items():
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
                raise ValueError(f"信用等级 {grade} 的年度检查上限必须是正整数")
        if self.yearly_caps and self.algorithm not in FROZEN_FRAME:
            raise ValueError("年度检查上限仅适用于 spotcheck-draw/2 及以后（yearly caps need /2+）")


def reached_cap(
    grade: str | None, year_checks: tuple[int, bool] | None, params: SamplingParams
) -> int | None:
    """The yearly cap a unit has reached — it is then out of the eligible set, like a cooling
    unit — or None. A unit of a grade without a cap, or exempt (a complaint), never reaches
    one (docs/rules.md#r4-5). The one place this rule lives (docs/verify_draw.py copies it)."""
    if year_checks is None or grade is None:
        return None
    checks, exempt = year_checks
    cap = params.yearly_caps.get(grade)
    if cap is None or exempt or checks < cap:
        return None
    return cap


def exact_decimal(value: float) -> Fraction:
    """The decimal a float was written as (its shortest repr), as an exact fraction."""
    return Fraction(repr(float(value)))


def unit_min_rate(grade_rate: float | None, params: SamplingParams) -> float:
    """The minimum rate r_i of an eligible unit with this grade rate (None: no grade / no rate).

    `spotcheck-draw/1`: the grade rate, 0.0 without one (the ratio then counts only in
    `rate_sum`). `spotcheck-draw/2` (the π floor): max(grade rate, ratio), so π_i ≥ ratio for
    every eligible unit (docs/draw-spec.md §10.2); `/3` keeps it. The one place this rule lives.
    """
    rate = float(grade_rate) if grade_rate else 0.0
    if params.algorithm in FROZEN_FRAME:
        return max(rate, float(params.ratio))
    return rate


def floor_size(population: int, ratio: float, min_per_stratum: int) -> int:
    """Coverage floor n = min(N, max(min_per_stratum, ceil(ratio * N))), ratio taken exactly."""
    return min(population, max(min_per_stratum, math.ceil(exact_decimal(ratio) * population)))


def rate_sum(rate_counts: Mapping[float, int], ratio: float) -> Fraction:
    """Exact sum of per-unit minimums: the grade rate, or the plan ratio for a unit without one.

    So grade minimum rates come on top of the ratio share of everybody else: rated units can
    never crowd the others out to pi = 0.
    """
    return sum(
        (exact_decimal(r if r > 0 else ratio) * m for r, m in rate_counts.items()), Fraction(0)
    )


def stratum_size(population: int, floor: int, rates: Fraction) -> int:
    """n_h: the coverage floor, raised to ceil(sum of per-unit minimums), capped at N_h."""
    return min(population, max(floor, math.ceil(rates)))


def solve_inclusion(groups: Sequence[tuple[float, float, int]], n: int) -> list[float]:
    """pi for each group (r, w, m): pi = min(1, max(r, c*w)) with sum m*pi = n.

    `groups` must be sorted by (r, w), distinct, with 0 <= r <= 1, w > 0, m >= 1,
    exact sum m*r <= n < sum m. Floating point follows docs/draw-spec.md §4 exactly.
    """
    total = sum(m for _, _, m in groups)
    if n >= total:
        return [1.0 for _ in groups]
    if n <= 0:
        return [r for r, _, _ in groups]
    points = sorted({0.0} | {r / w for r, w, _ in groups} | {1.0 / w for _, w, _ in groups})

    def mass(c: float) -> float:
        return math.fsum(m * min(1.0, max(r, c * w)) for r, w, m in groups)

    if mass(0.0) >= n:
        c = 0.0
    else:
        k = 1
        while mass(points[k]) < n:
            k += 1
        lo, hi = points[k - 1], points[k]
        fixed: list[float] = []
        slope: list[float] = []
        for r, w, m in groups:
            if r / w >= hi:
                fixed.append(m * r)
            elif 1.0 / w <= lo:
                fixed.append(float(m))
            else:
                slope.append(m * w)
        c = (n - math.fsum(fixed)) / math.fsum(slope)
    return [min(1.0, max(r, c * w)) for r, w, _ in groups]


@dataclass(frozen=True, slots=True)
class StratumPlan:
    """Sizes and π of one stratum (draw-spec §4 steps 2–6)."""

    total: int
    eligible: int
    n_floor: int
    n: int
    n_open: int
    n_fill: int
    group_pi: dict[tuple[float, float], float]
    cooling_pi: float


def plan_stratum(
    groups: Mapping[tuple[float, float], int], cooling: int, params: SamplingParams
) -> StratumPlan:
    """n_floor, n_h and π per (rate, weight) group of the frame, and π of cooling units."""
    eligible = sum(groups.values())
    total = eligible + cooling
    n_floor = floor_size(total, params.ratio, params.min_per_stratum)
    rates: dict[float, int] = {}
    for (r, _), m in groups.items():
        rates[r] = rates.get(r, 0) + m
    n = stratum_size(total, n_floor, rate_sum(rates, params.ratio))
    n_open = min(n, eligible)
    ordered = sorted(groups)
    pis = solve_inclusion([(r, w, groups[(r, w)]) for r, w in ordered], n_open)
    return StratumPlan(
        total=total,
        eligible=eligible,
        n_floor=n_floor,
        n=n,
        n_open=n_open,
        n_fill=n - n_open,
        group_pi=dict(zip(ordered, pis, strict=True)),
        cooling_pi=fill_probability(n - n_open, cooling),
    )


def fill_probability(taken: int, cooling: int) -> float:
    """pi of a cooling unit: the floor's shortfall spread evenly over the cooling units."""
    return taken / cooling if cooling else 0.0


def odds(p: float) -> float:
    """p / (1 - p), the denominator of the Pareto ranking variable (0 < p < 1)."""
    return p / (1.0 - p)


def pareto_key(u: float, p: float) -> float:
    """Rosén's Pareto order-sampling key Q = (U/(1-U)) / (p/(1-p)); smaller is drawn first."""
    return (u / (1.0 - u)) / (p / (1.0 - p))


def pi_groups(
    group_pi: Mapping[tuple[float, float], float], groups: Mapping[tuple[float, float], int]
) -> list[tuple[float, int]]:
    """/3: the eligible units of a stratum by their π — (π, units) in ascending π. Units of
    equal π are interchangeable whatever their (rate, weight) group."""
    out: dict[float, int] = {}
    for g, m in groups.items():
        out[group_pi[g]] = out.get(group_pi[g], 0) + m
    return sorted(out.items())


def _digest(seed_hash: str, label: str) -> bytes:
    return hashlib.sha256(seed_hash.encode("ascii") + label.encode("utf-8")).digest()


def allocate(seed_hash: str, key: str, groups: Sequence[tuple[float, int]], n: int) -> list[int]:
    """/3 exact π (docs/draw-spec.md §11.3): how many units each π-group of stratum `key`
    gives, given (π, units) in ascending π with 0 < π < 1 and `n` units to draw among them.

    Systematic sampling of the group sizes: the groups in a random order (by
    SHA-256(seed_hash ‖ "|group|{key}|{j}"), j the group's index in ascending π), laid end to
    end with lengths b_j = m_j·π_j·n / Σ m·π (exact rationals: the published doubles, scaled
    to sum to n), and the points u, u+1, …, u+n−1 with u = the first 8 bytes of
    SHA-256(seed_hash ‖ "|start|{key}") / 2⁶⁴: group j gives as many units as points fall in
    its stretch, k_j = ⌈C_j − u⌉ − ⌈C_{j−1} − u⌉ (C the cumulative lengths). E[k_j] = b_j, so
    with the k_j smallest tickets of the group each unit is drawn with probability exactly
    b_j / m_j = π_j. One group: k = n (the n smallest tickets: consistent_sampler).
    """
    if len(groups) <= 1:
        return [n for _ in groups]
    order = sorted(range(len(groups)), key=lambda j: _digest(seed_hash, f"|group|{key}|{j}"))
    start = Fraction(int.from_bytes(_digest(seed_hash, f"|start|{key}")[:8], "big"), 2**64)
    mass = [Fraction(pi) * m for pi, m in groups]
    total = sum(mass, Fraction(0))
    out = [0] * len(groups)
    cumulative = Fraction(0)
    before = 0  # ⌈0 − u⌉ = 0
    for j in order:
        cumulative += mass[j]
        after = math.ceil(cumulative * n / total - start)
        out[j] = after - before
        before = after
        if out[j] > groups[j][1]:
            raise ValueError(f"分层 {key}：π 组的抽取数超过其单位数（allocation exceeds a group）")
    return out
