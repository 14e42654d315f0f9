"""Estimates of the 发现问题率 from a draw's published π (pure; docs/statistics.md).

A draw samples each *frame* independently: a stratum's eligible units (Pareto order sampling
with the published π) and, when the floor needed them, its cooling units (equal π). Certainty
units (π = 1) are all inspected: their problems K are known exactly. For the sampled part
(π < 1) of frame f, with N_f such units, respondents s_f and y_i (1 = 发现问题), the frame's
rate is the π-weighted share (Hájek), a share of units that never leaves [0, 1]:

    p̂_f = Σ_{i∈s_f} (y_i/π_i) / Σ_{i∈s_f} (1/π_i),      t̂_f = N_f · p̂_f
    V̂_f = (N_f/N̂_f)² Σ c_i (e_i − B̂_f)²,  e_i = (y_i − p̂_f)/π_i,  c_i = (1 − π_i) · m/(m − 1),
          B̂_f = Σ c_i e_i / Σ c_i                  (Hájek 1964 / Deville 1999 approximation
                                                      for high-entropy πps designs such as Pareto)

with m = |s_f| and N̂_f = Σ 1/π_i. With equal π = n/N this is exactly the SRSWOR formula
N²(1 − n/N)s²/n. A frame with a single sampled unit ("lonely unit") centres its total N_f·y on
the frame total the overall sampled rate p̄ implies: V̂_f = N_f²(y − p̄)².

Rates: p̂ = (K + Σ_f t̂_f) / (C + Σ_f N_f) over the covered frames (C certainty units), and
V̂(p̂) = Σ_f V̂_f / (C + Σ N_f)². The interval is computed for the sampled part's rate
p̂_s = Σ t̂_f / Σ N_f alone (Korn & Graubard 1998: Clopper–Pearson at the effective size
n* = p̂_s(1 − p̂_s)/V̂(p̂_s) · (t_{n−1}/t_df)², df = sampled respondents − frames), with n*
never above what the weights allow, (Σw)²/Σw² / (1 − n/N) (Kish), and then shifted by the
known part: [(K + N_s·lo)/N, (K + N_s·hi)/N]. When V̂ = 0 or p̂_s ∈ {0, 1}, n* is that bound.

Enough data (ENOUGH_DATA_RULE): an estimate is given only when every task of every frame it
covers has a result; otherwise `status` is "insufficient", `missing` counts the tasks still
without one and no number is given. A final non-result (未检查（停业、注销等）, `final=True`)
is nonresponse: respondents' π are multiplied by the frame's weighted response rate
R_f = Σ_r 1/π / Σ_s 1/π; certainty units some of which went unchecked are a sample of their
own (the r checked of C, π = r/C), no longer known exactly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

METHOD = (
    "π-weighted share (Hájek) per frame; certainty units (π = 1) known exactly unless some went "
    "unchecked (then a sample of their own); variance: Hájek/Deville approximation for "
    "high-entropy πps designs (Pareto), linearised, per frame, lonely units centred on the "
    "overall rate; CI: Korn–Graubard (Clopper–Pearson at the df-adjusted effective sample size "
    "of the sampled part, at most Kish's weight-based size), shifted by the known part"
)
METHOD_ZH = (
    "每个抽样框内按入样概率 π 加权计算发现问题的比例（Hájek 估计：Σ(y/π)/Σ(1/π)，"
    "结果总在 0–100% 之间）；必抽单位（π = 1）全部检查，其结果是确知的，不带抽样误差——"
    "但其中有“未检查”的，已检查的部分按等概率样本处理，计入误差。方差按高熵 πps 抽样"
    "（Pareto 顺序抽样）的 Hájek/Deville 近似计算；只抽到一个单位的层，以总体比例为中心"
    "估计其方差。置信区间用 Korn–Graubard 方法（按有效样本量计算的 Clopper–Pearson 区间，"
    "有效样本量不超过权重所允许的 Kish 上限），再加上确知部分。区间偏保守："
    "模拟检验中 95% 区间的实际覆盖率在每一层都不低于 95%。"
)
ENOUGH_DATA_RULE = (
    "一个层的全部抽取任务都有结果后才给出该层的估计，全部层都有结果后才给出总体估计"
    "（未检查为最终结果，按无应答处理）；否则为“数据不足”并给出尚缺的结果数"
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
    # found is None and no result will ever come (未检查（停业、注销等）): nonresponse, not pending.
    final: bool = False


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
    rate: float | None  # None unless status == "ok": no estimate without enough data
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    effective_n: float | None
    degrees_of_freedom: int
    complete: bool
    lonely_units: int
    status: str = "ok"  # "ok" | "insufficient" (ENOUGH_DATA_RULE)
    missing: int = 0  # tasks of the covered frames still without a result
    certain: int = 0  # certainty units (π = 1): observed exactly, no sampling error
    # Units of the drawn frames (the stratum's N, shown as 总体数 N), whatever results are in;
    # `population` is the part the estimate speaks for (frames with results).
    size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass(frozen=True, slots=True)
class Detection:
    """Problems found by the (risk-weighted) draw vs the expected count of a uniform draw."""

    observed: int
    found: int
    expected_uniform: float | None
    expected_ci_low: float | None
    expected_ci_high: float | None
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    status: str = "ok"
    missing: int = 0

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
    total: float = 0.0  # HT total of the sampled (π < 1) part
    variance: float = 0.0  # its estimated variance
    observed: int = 0
    found: int = 0
    pending: int = 0
    certain_size: int = 0  # units with π = 1 (all drawn)
    known: float = 0.0  # problems among them: known without sampling error
    sampled_size: int = 0  # N_f minus the certainty units
    sampled_observed: int = 0
    w_sum: float = 0.0
    w2_sum: float = 0.0
    # (N, y) of a sample with a single unit ("lonely"): its variance is finished later
    lonely: list[tuple[float, float]] = field(default_factory=list)


COOLING_SUFFIX = "#冷却"


def frames_from_draw(strata: Iterable[Mapping[str, Any]]) -> list[Frame]:
    """The frames of a published draw's `strata` (key, N, n, eligible, despite_cooldown and,
    with yearly caps, despite_cap): the eligible units, and the resting ones (cooling or at
    their cap) the floor's fill was drawn from."""
    frames: list[Frame] = []
    for st in strata:
        key, size, drawn = str(st["key"]), int(st["N"]), int(st["n"])
        eligible, filled = int(st.get("eligible", size)), int(st.get("despite_cooldown", 0))
        if "despite_cap" in st:  # a fill may be both cooling and capped: count it once
            filled = max(0, drawn - eligible)
        frames.append(Frame(key=key, stratum=key, size=eligible, drawn=drawn - filled))
        if size > eligible:
            frames.append(
                Frame(key=key + COOLING_SUFFIX, stratum=key, size=size - eligible, drawn=filled)
            )
    return frames


def observation_of(
    task: Mapping[str, Any], found: bool | None, *, final: bool = False
) -> Observation:
    """The observation of one published task (stratum, inclusion_prob, despite_cooldown or
    despite_cap: a floor fill, observed in its stratum's resting frame).

    `final`: `found` is None for good (未检查（停业、注销等）), not a result still to come.
    """
    filled = task.get("despite_cooldown") or task.get("despite_cap")
    key = str(task["stratum"]) + (COOLING_SUFFIX if filled else "")
    return Observation(
        frame=key, inclusion_prob=float(task["inclusion_prob"]), found=found, final=final
    )


@functools.lru_cache(maxsize=64)  # once per stratum of a national draw: 11,000 calls
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
    d = 1 / (d if d > tiny or d < -tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        num = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
        d = 1 + num * d
        d = 1 / (d if d > tiny or d < -tiny else tiny)
        c = 1 + num / c
        c = c if c > tiny or c < -tiny else tiny
        h *= d * c
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
        d = 1 + num * d
        d = 1 / (d if d > tiny or d < -tiny else tiny)
        c = 1 + num / c
        c = c if c > tiny or c < -tiny else tiny
        delta = d * c
        h *= delta
        if -1e-15 < delta - 1 < 1e-15:
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
    """Inverse of `beta_cdf` in x: Newton steps kept inside a shrinking bisection bracket."""
    lo, hi = 0.0, 1.0
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    # Start near the root (a handful of Newton steps instead of 50 bisections): the normal
    # approximation, or the power-law tails when a or b < 1 (Numerical Recipes' invbetai).
    mean = a / (a + b)
    if a >= 1 and b >= 1:
        x = mean + NormalDist().inv_cdf(q) * math.sqrt(mean * (1 - mean) / (a + b + 1))
    else:
        t = math.exp(a * math.log(mean)) / a
        u = math.exp(b * math.log(1 - mean)) / b
        w = t + u
        x = math.pow(a * w * q, 1 / a) if q < t / w else 1 - math.pow(b * w * (1 - q), 1 / b)
        if not 0 < x < 1:  # these tails are exact as x → 0 or 1: the root is within 1e-16
            return min(1.0, max(0.0, x))
    x = x if 0 < x < 1 else mean
    for _ in range(200):
        f = beta_cdf(x, a, b) - q
        if -1e-13 < f < 1e-13:
            return x
        if f < 0:
            lo = x
        else:
            hi = x
        if hi - lo < 1e-15:
            break
        pdf = math.exp(log_norm + (a - 1) * math.log(x) + (b - 1) * math.log1p(-x))
        step = x - f / pdf if pdf > 0 else math.nan
        if not lo < step < hi:
            step = (lo + hi) / 2
        if abs(step - x) < 1e-14:
            return step
        x = step
    return x


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
    sums.pending = sum(1 for o in obs if o.found is None and not o.final)
    responded = [o for o in obs if o.found is not None]
    sums.observed = len(responded)
    sums.found = sum(1 for o in responded if o.found)
    # Certainty units (π = 1) are a census: their part of the total is known exactly — unless
    # some went unchecked (未检查): then the checked ones are an equal-probability sample of
    # them (π = r/C, the share that responded) and that part is uncertain like any sample.
    certain = [o for o in obs if o.inclusion_prob >= 1.0]
    certain_resp = [o for o in certain if o.found is not None]
    if certain_resp and len(certain_resp) == len(certain):
        sums.certain_size = len(certain)
        sums.known = float(sum(1 for o in certain_resp if o.found))
    elif certain_resp:
        share = len(certain_resp) / len(certain)
        _add_sample(sums, len(certain), [(share, 1.0 if o.found else 0.0) for o in certain_resp])
    sampled = [o for o in obs if o.inclusion_prob < 1.0]
    resp = [o for o in sampled if o.found is not None]
    if not resp:
        return sums
    # Weighting-class nonresponse adjustment; exactly 1 when every result is in.
    response = (
        1.0
        if len(resp) == len(sampled)
        else math.fsum(1 / o.inclusion_prob for o in resp)
        / math.fsum(1 / o.inclusion_prob for o in sampled)
    )
    units = [(o.inclusion_prob * response, 1.0 if o.found else 0.0) for o in resp]
    _add_sample(sums, frame.size - len(certain), units)
    return sums


def _add_sample(sums: _FrameSums, size: int, units: Sequence[tuple[float, float]]) -> None:
    """A sample (π, y) of `size` units into the frame's sums: its Hájek total — the frame's
    size times the π-weighted share Σ(y/π)/Σ(1/π), never above its size (Horvitz–Thompson's
    Σ y/π can be: 157 % in a small stratum) — and the linearised variance of that total,
    Σ c_i (e_i − B)² (N/N̂)², e_i = (y_i − p̂)/π_i, with the Hájek/Deville c_i as above."""
    w_sum = math.fsum(1 / p for p, _ in units)
    share = math.fsum(y / p for p, y in units) / w_sum
    sums.sampled_size += size
    sums.sampled_observed += len(units)
    sums.total += size * share
    sums.w_sum += w_sum
    sums.w2_sum += math.fsum(1 / (p * p) for p, _ in units)
    m = len(units)
    if m == 1:
        sums.lonely.append((float(size), units[0][1]))
        return
    c = [(1 - p) * m / (m - 1) for p, _ in units]
    e = [(y - share) / p for p, y in units]
    c_sum = math.fsum(c)
    if c_sum == 0:  # every unit of the sample had π = 1 after all: no sampling error
        return
    b = math.fsum(ci * ei for ci, ei in zip(c, e, strict=True)) / c_sum
    scale = (size / w_sum) ** 2
    sums.variance += scale * math.fsum(ci * (ei - b) ** 2 for ci, ei in zip(c, e, strict=True))


def _rate(
    key: str, parts: Sequence[_FrameSums], centre: float, confidence: float
) -> tuple[RateEstimate, float]:
    """The estimate over `parts` (covered frames only) and its variance of the rate.

    `centre` is the overall rate of the sampled part, which lonely units are centred on.
    """
    drawn = sum(p.frame.drawn for p in parts)
    pending = sum(p.pending for p in parts)
    complete = all(p.observed == p.frame.drawn for p in parts)
    size = sum(p.frame.size for p in parts)
    parts = [p for p in parts if p.observed > 0]  # a frame without results says nothing
    observed = sum(p.observed for p in parts)
    found = sum(p.found for p in parts)
    certain = sum(p.certain_size for p in parts)
    known = math.fsum(p.known for p in parts)
    sampled = [p for p in parts if p.sampled_observed > 0]
    n_s = sum(p.sampled_observed for p in sampled)
    size_s = sum(p.sampled_size for p in sampled)
    population = certain + size_s
    lonely = 0
    var_total = 0.0
    for p in sampled:
        var_total += p.variance
        for units, y in p.lonely:
            lonely += 1
            # Its total N·y centred on the total the overall rate implies: E(V̂) = V + bias²,
            # never below V (the former (1 − π)((y − p̄)/π)² gave E(V̂)/V = 0.70 at N = 4).
            var_total += (units * y - centre * units) ** 2
    t_s = math.fsum(p.total for p in sampled)
    rate_s = t_s / size_s if size_s else 0.0
    var_s = var_total / size_s**2 if size_s else 0.0
    status = "ok" if pending == 0 and observed > 0 else "insufficient"
    rate: float | None = None
    std_error = low = high = n_eff = None
    variance = 0.0
    if status == "ok":
        rate = (known + t_s) / population
        variance = var_total / population**2
        std_error = math.sqrt(variance)
        if size_s == 0:  # every covered unit had π = 1: a census
            low = high = rate
        else:
            df = n_s - len(sampled)
            n_eff, lo_s, hi_s = sampled_interval(
                rate_s, var_s, n_s, size_s, df, confidence, _kish_n(sampled)
            )
            low = (known + size_s * lo_s) / population
            high = (known + size_s * hi_s) / population
    est = RateEstimate(
        key=key,
        population=population,
        drawn=drawn,
        observed=observed,
        found=found,
        rate=rate,
        std_error=std_error,
        ci_low=low,
        ci_high=high,
        effective_n=n_eff,
        degrees_of_freedom=max(0, n_s - len(sampled)),
        complete=complete,
        lonely_units=lonely,
        size=size,
        status=status,
        missing=pending,
        certain=certain,
    )
    return est, variance


def _kish_n(parts: Sequence[_FrameSums]) -> float:
    """Kish's effective sample size of the weights alone, (Σw)²/Σw²."""
    w2 = math.fsum(p.w2_sum for p in parts)
    return math.fsum(p.w_sum for p in parts) ** 2 / w2 if w2 > 0 else 0.0


def sampled_interval(
    rate: float,
    variance: float,
    n: int,
    size: int,
    df: int,
    confidence: float,
    kish_n: float,
) -> tuple[float | None, float, float]:
    """(n_eff, low, high) for the rate of the sampled (π < 1) part of a population."""
    p = min(1.0, max(0.0, rate))
    fraction = min(n / size, 1.0)
    # What the weights alone allow (≤ n, = n/(1 − f) for equal π): a bound the data-based size
    # must not pass, since V̂ is small exactly in the samples that missed low-π problems.
    bound = kish_n / (1 - fraction) if fraction < 1 else math.inf
    n_eff = min(p * (1 - p) / variance, bound) if variance > 0 and 0 < p < 1 else bound
    low, high = korn_graubard_interval(p, n_eff, n, df, confidence)
    return (None if math.isinf(n_eff) else n_eff), low, high


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

    sampled = [s for s in covered if s.sampled_observed > 0]
    size_s = sum(s.sampled_size for s in sampled)
    grand = min(1.0, max(0.0, math.fsum(s.total for s in sampled) / size_s)) if size_s else 0.0
    overall, _ = _rate("overall", covered, grand, confidence)
    by_stratum: dict[str, list[_FrameSums]] = {}
    for s in covered:  # frames grouped by stratum in one pass (thousands of strata)
        by_stratum.setdefault(s.frame.stratum, []).append(s)
    strata: list[RateEstimate] = []
    uniform_var = 0.0
    expected = 0.0
    for key in sorted(by_stratum):
        est, var = _rate(key, by_stratum[key], grand, confidence)
        strata.append(est)
        if est.rate is not None:
            expected += est.observed * est.rate
            uniform_var += est.observed**2 * var
    found = overall.found
    if overall.status == "ok":
        se = math.sqrt(uniform_var)
        exp_low, exp_high = max(0.0, expected - z * se), expected + z * se
        detection = Detection(
            observed=overall.observed,
            found=found,
            expected_uniform=expected,
            expected_ci_low=exp_low,
            expected_ci_high=exp_high,
            lift=found / expected if expected > 0 else None,
            lift_ci_low=found / exp_high if exp_high > 0 else None,
            lift_ci_high=found / exp_low if exp_low > 0 else None,
            status="ok",
            missing=0,
        )
    else:
        detection = Detection(
            observed=overall.observed,
            found=found,
            expected_uniform=None,
            expected_ci_low=None,
            expected_ci_high=None,
            lift=None,
            lift_ci_low=None,
            lift_ci_high=None,
            status="insufficient",
            missing=overall.missing,
        )
    return Statistics(
        confidence=confidence, method=METHOD, strata=strata, overall=overall, detection=detection
    )
