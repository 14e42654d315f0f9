"""Draw statistics as the API returns them (docs/statistics.md)."""

from app.pagination import StrictOut


class RateEstimateOut(StrictOut):
    """The estimated 发现问题率 of a stratum (or overall) and its confidence interval."""

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


class DetectionOut(StrictOut):
    """Problems found by the (risk-weighted) draw vs the count a uniform draw would expect."""

    observed: int
    found: int
    expected_uniform: float
    expected_ci_low: float
    expected_ci_high: float
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None


class DrawStatisticsOut(StrictOut):
    """Horvitz–Thompson estimates of one draw, per stratum and overall."""

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
