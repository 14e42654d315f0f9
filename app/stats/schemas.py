"""Draw statistics as the API returns them (docs/statistics.md)."""

from typing import Literal

from pydantic import Field

from app.pagination import StrictOut


class RateEstimateOut(StrictOut):
    """The estimated 发现问题率 of a stratum (or overall) and its confidence interval."""

    key: str
    population: int
    drawn: int
    observed: int
    found: int
    rate: float | None = Field(description="null 除非 status 为 ok（数据不足时不给估计）")
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    effective_n: float | None
    degrees_of_freedom: int
    complete: bool
    lonely_units: int
    status: Literal["ok", "insufficient"] = Field(
        description="ok：结果已足够；insufficient：数据不足"
    )
    missing: int = Field(description="尚缺的结果数")
    certain: int = Field(description="必抽单位（π = 1）数：无抽样误差")
    size: int = Field(
        description="总体数 N：抽取所及抽样框的单位数（不论结果多少）；population 为估计所覆盖的部分"
    )


class DetectionOut(StrictOut):
    """Problems found by the (risk-weighted) draw vs the count a uniform draw would expect."""

    observed: int
    found: int
    expected_uniform: float | None
    expected_ci_low: float | None
    expected_ci_high: float | None
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    status: Literal["ok", "insufficient"]
    missing: int


class DrawStatisticsOut(StrictOut):
    """π-weighted (Hájek) estimates of one draw, per stratum and overall."""

    schema_version: str
    draw: str
    plan: str
    status: str
    weighted: bool
    results: int
    tasks: int
    found_outcomes: list[str]
    confidence: float
    method: str
    strata: list[RateEstimateOut]
    overall: RateEstimateOut
    detection: DetectionOut
