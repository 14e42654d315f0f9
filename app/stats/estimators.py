"""Horvitz–Thompson estimates of the 发现问题率 from a draw's published π (pure; docs/statistics.md).

A draw samples each *frame* independently: a stratum's eligible units (Pareto order sampling
with the published π) and, when the floor needed them, its cooling units (equal π). For a
frame f with N_f units, sample s_f and indicators y_i (1 = 发现问题):

    t̂_f = Σ_{i∈s_f} y_i / π_i                       (Horvitz–Thompson total)
    V̂_f = Σ_{i∈U_f} c_i (y_i/π_i − B̂_f)²,  c_i = (1 − π_i) · m/(m − 1),
          B̂_f = Σ c_i y_i/π_i / Σ c_i               (Hájek 1964 / Deville 1999 approximation
                                                      for high-entropy πps designs such as Pareto)

where U_f are the sampled non-certainty units (π_i < 1) and m = |U_f|; certainty units add no
variance. With equal π = n/N this is exactly the stratified SRSWOR formula N²(1 − n/N)s²/n.
A frame with a single non-certainty unit ("lonely unit") is centred on the overall rate
instead of on itself: V̂_f = (1 − π_i)((y_i − p̂)/π_i)² (as R survey's lonely.psu = "adjust").

Rates are totals over the covered population (units with π > 0): p̂_h = Σ_f t̂_f / N_h,
V̂(p̂_h) = Σ_f V̂_f / N_h². The confidence interval is Wilson's score interval with the
effective sample size n_eff = p̂(1 − p̂)/V̂(p̂) (Kish) is turned into an interval by Korn & Graubard (1998):
Clopper–Pearson at n_eff·(t_{n−1}/t_df)², df = observed units − frames. When V̂ = 0 or p̂ is
0 or 1, n_eff falls back to the SRSWOR-equivalent n/(1 − n/N); only a census is exact.

Missing results (任务未完成/未检查) are handled as nonresponse within frames: respondents'
π are multiplied by the frame's weighted response rate R_f = Σ_r 1/π / Σ_s 1/π, and the
estimate is marked incomplete.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

METHOD = (
    "Horvitz–Thompson; variance: Hájek/Deville approximation for high-entropy πps designs "
    "(Pareto), per frame, certainty units excluded, lonely units centred on the overall rate; "
    "CI: Korn–Graubard (Clopper–Pearson at the df-adjusted Kish effective sample size)"
)


class StatsInputError(ValueError):
    """Frames and observations do not fit together (Chinese message)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One independently drawn frame: `size` units of which `drawn` were sampled."""

    key: str
    stratum: str
    size: int
    drawn: int


@dataclass(frozen=True, slots=True)
class Observation:
    """One sampled unit: its frame, its π, and whether a problem was found (None: no result)."""

    frame: str
    inclusion_prob: float
    found: bool | None


def _fields_of(obj: Any) -> dict[str, Any]:
    """A flat dataclass of scalars as a dict (what `asdict` gives, without its deep copy)."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """Estimated 发现问题率 of a stratum (or overall) with its confidence interval."""

    key: str
    population: int
    drawn: int
    observed: int
    found: int
    rate: float
    std_error: float
    ci_low: float
    ci_high: float
    effective_n: float | None
    degrees_of_freedom: int
    complete: bool
    lonely_units: int

    def to_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass(frozen=True, slots=True)
class Detection:
    """Problems found by the (risk-weighted) draw vs the expected count of a uniform draw."""

    observed: int
    found: int
    expected_uniform: float
    expected_ci_low: float
    expected_ci_high: float
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass(frozen=True, slots=True)
class Statistics:
    """Everything `estimate` computes."""

    confidence: float
    method: str
    strata: list[RateEstimate]
    overall: RateEstimate
    detection: Detection

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "method": self.method,
            "strata": [s.to_dict() for s in self.strata],
            "overall": self.overall.to_dict(),
            "detection": self.detection.to_dict(),
        }


@dataclass(slots=True)
class _FrameSums:
    frame: Frame
    total: float = 0.0
    variance: float = 0.0
    observed: int = 0
    found: int = 0
    complete: bool = True
    lonely: tuple[float, float] | None = None  # (π*, y) of a lonely unit, finished later


COOLING_SUFFIX = "#冷却"


def frames_from_draw(strata: Iterable[Mapping[str, Any]]) -> list[Frame]:
    """The frames of a published draw's `strata` (key, N, n, eligible, despite_cooldown)."""
    frames: list[Frame] = []
    for st in strata:
        key, size, drawn = str(st["key"]), int(st["N"]), int(st["n"])
        eligible, filled = int(st.get("eligible", size)), int(st.get("despite_cooldown", 0))
        frames.append(Frame(key=key, stratum=key, size=eligible, drawn=drawn - filled))
        if size > eligible:
            frames.append(
                Frame(key=key + COOLING_SUFFIX, stratum=key, size=size - eligible, drawn=filled)
            )
    return frames


def observation_of(task: Mapping[str, Any], found: bool | None) -> Observation:
    """The observation of one published task (stratum, inclusion_prob, despite_cooldown)."""
    key = str(task["stratum"]) + (COOLING_SUFFIX if task.get("despite_cooldown") else "")
    return Observation(frame=key, inclusion_prob=float(task["inclusion_prob"]), found=found)


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for `confidence` (0.95 → 1.96)."""
    if not 0 < confidence < 1:
        raise StatsInputError("置信水平必须在 (0, 1) 之间（confidence must be in (0, 1)）")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(rate: float, n_eff: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion observed with effective sample size `n_eff`."""
    p = min(1.0, max(0.0, rate))
    if math.isinf(n_eff):
        return p, p
    if n_eff <= 0:
        return 0.0, 1.0
    z2 = z * z
    denom = 1 + z2 / n_eff
    centre = (p + z2 / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def t_value(z: float, df: float) -> float:
    """Student-t quantile matching the normal quantile z (Cornish–Fisher series, df ≥ 1)."""
    if math.isinf(df):
        return z
    z3, z5, z7 = z**3, z**5, z**7
    return (
        z
        + (z3 + z) / (4 * df)
        + (5 * z5 + 16 * z3 + 3 * z) / (96 * df**2)
        + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df**3)
    )


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta I_x(a, b) for a, b > 0."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_cf(a, b, x) / a
    return 1 - front * _beta_cf(b, a, 1 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """Inverse of `beta_cdf` in x, by bisection (monotone, 2⁻⁵⁰ precision)."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def korn_graubard_interval(
    rate: float, n_eff: float, n: int, df: float, confidence: float
) -> tuple[float, float]:
    """Korn–Graubard (1998) interval: Clopper–Pearson at the df-adjusted effective size."""
    p = min(1.0, max(0.0, rate))
    if math.isinf(n_eff):
        return p, p
    if n_eff <= 0 or n < 1:
        return 0.0, 1.0
    z = z_value(confidence)
    if n >= 2 and df >= 1:
        n_eff *= (t_value(z, n - 1) / t_value(z, df)) ** 2
    x = p * n_eff
    alpha = 1 - confidence
    low = 0.0 if x <= 0 else beta_quantile(alpha / 2, x, n_eff - x + 1)
    high = 1.0 if x >= n_eff else beta_quantile(1 - alpha / 2, x + 1, n_eff - x)
    return low, high


def _frame_sums(frame: Frame, obs: Sequence[Observation]) -> _FrameSums:
    sums = _FrameSums(frame)
    if len(obs) != frame.drawn:
        raise StatsInputError(
            f"抽样框 {frame.key} 公布抽取 {frame.drawn} 个，实际有 {len(obs)} 个任务"
        )
    for o in obs:
        if not (0 < o.inclusion_prob <= 1) or not math.isfinite(o.inclusion_prob):
            raise StatsInputError(f"入样概率必须在 (0, 1] 之间：{o.inclusion_prob!r}")
    responded = [o for o in obs if o.found is not None]
    sums.observed = len(responded)
    sums.found = sum(1 for o in responded if o.found)
    sums.complete = len(responded) == len(obs)
    if not responded:
        return sums
    # Weighting-class nonresponse adjustment; exactly 1 when every result is in.
    response = (
        1.0
        if sums.complete
        else math.fsum(1 / o.inclusion_prob for o in responded)
        / math.fsum(1 / o.inclusion_prob for o in obs)
    )
    units = [(o.inclusion_prob * response, 1.0 if o.found else 0.0) for o in responded]
    sums.total = math.fsum(y / p for p, y in units)
    uncertain = [(p, y) for p, y in units if p < 1.0]
    m = len(uncertain)
    if m == 1:
        sums.lonely = uncertain[0]
    elif m >= 2:
        c = [(1 - p) * m / (m - 1) for p, _ in uncertain]
        z = [y / p for p, y in uncertain]
        c_sum = math.fsum(c)
        if c_sum > 0:
            b = math.fsum(ci * zi for ci, zi in zip(c, z, strict=True)) / c_sum
            sums.variance = math.fsum(ci * (zi - b) ** 2 for ci, zi in zip(c, z, strict=True))
    return sums


def _rate(
    key: str, parts: Sequence[_FrameSums], overall_rate: float, confidence: float
) -> tuple[RateEstimate, float]:
    """The estimate over `parts` (covered frames only) and its variance of the rate."""
    drawn = sum(p.frame.drawn for p in parts)
    complete = all(p.complete for p in parts)
    parts = [p for p in parts if p.observed > 0]  # a frame without results says nothing
    population = sum(p.frame.size for p in parts)
    observed = sum(p.observed for p in parts)
    found = sum(p.found for p in parts)
    df = observed - len(parts)
    lonely = 0
    var_total = 0.0
    for p in parts:
        var_total += p.variance
        if p.lonely is not None:
            lonely += 1
            pi, y = p.lonely
            var_total += (1 - pi) * ((y - overall_rate) / pi) ** 2
    if population == 0:
        rate, variance = 0.0, 0.0
    else:
        rate = math.fsum(p.total for p in parts) / population
        variance = var_total / population**2
    fraction = observed / population if population else 1.0
    census = all(p.frame.drawn == p.frame.size and p.complete for p in parts)
    cap = math.inf if census or fraction >= 1 else observed / (1 - fraction)
    clipped = min(1.0, max(0.0, rate))
    if observed == 0:
        n_eff: float | None = None
        low, high = 0.0, 1.0
    else:
        n_eff = clipped * (1 - clipped) / variance if variance > 0 and 0 < clipped < 1 else cap
        low, high = korn_graubard_interval(rate, n_eff, observed, df, confidence)
    est = RateEstimate(
        key=key,
        population=population,
        drawn=drawn,
        observed=observed,
        found=found,
        rate=rate,
        std_error=math.sqrt(variance),
        ci_low=low,
        ci_high=high,
        effective_n=None if n_eff is None or math.isinf(n_eff) else n_eff,
        degrees_of_freedom=df,
        complete=complete,
        lonely_units=lonely,
    )
    return est, variance


def estimate(
    frames: Iterable[Frame], observations: Iterable[Observation], *, confidence: float = 0.95
) -> Statistics:
    """HT estimates per stratum and overall, and the detection rate against a uniform draw."""
    z = z_value(confidence)
    frame_list = list(frames)
    by_key: dict[str, list[Observation]] = {f.key: [] for f in frame_list}
    if len(by_key) != len(frame_list):
        raise StatsInputError("抽样框键重复（duplicate frame keys）")
    for o in observations:
        if o.frame not in by_key:
            raise StatsInputError(f"任务所属抽样框 {o.frame} 不存在")
        by_key[o.frame].append(o)
    for f in frame_list:
        if not (0 <= f.drawn <= f.size):
            raise StatsInputError(f"抽样框 {f.key} 的抽取数 {f.drawn} 不在 [0, {f.size}] 内")
    # Frames with nothing drawn have π = 0: outside the population the draw can speak for.
    covered = [_frame_sums(f, by_key[f.key]) for f in frame_list if f.drawn > 0]

    first, _ = _rate("overall", covered, 0.0, confidence)
    grand = min(1.0, max(0.0, first.rate))
    overall, _ = _rate("overall", covered, grand, confidence)
    by_stratum: dict[str, list[_FrameSums]] = {}
    for s in covered:  # frames grouped by stratum in one pass (thousands of strata)
        by_stratum.setdefault(s.frame.stratum, []).append(s)
    strata: list[RateEstimate] = []
    uniform_var = 0.0
    expected = 0.0
    for key in sorted(by_stratum):
        parts = by_stratum[key]
        est, var = _rate(key, parts, grand, confidence)
        strata.append(est)
        expected += est.observed * est.rate
        uniform_var += est.observed**2 * var
    se = math.sqrt(uniform_var)
    exp_low, exp_high = max(0.0, expected - z * se), expected + z * se
    found = overall.found
    detection = Detection(
        observed=overall.observed,
        found=found,
        expected_uniform=expected,
        expected_ci_low=exp_low,
        expected_ci_high=exp_high,
        lift=found / expected if expected > 0 else None,
        lift_ci_low=found / exp_high if exp_high > 0 else None,
        lift_ci_high=found / exp_low if exp_low > 0 else None,
    )
    return Statistics(
        confidence=confidence, method=METHOD, strata=strata, overall=overall, detection=detection
    )
