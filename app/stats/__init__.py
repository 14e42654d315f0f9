"""PURE statistics from published π: π-weighted (Hájek) rates, intervals, detection — no DB."""

from app.stats.estimators import (
    ENOUGH_DATA_RULE,
    METHOD,
    METHOD_ZH,
    Detection,
    Frame,
    Observation,
    RateEstimate,
    Statistics,
    StatsInputError,
    estimate,
    frames_from_draw,
    observation_of,
    wilson_interval,
    z_value,
)

__all__ = [
    "ENOUGH_DATA_RULE",
    "METHOD",
    "METHOD_ZH",
    "Detection",
    "Frame",
    "Observation",
    "RateEstimate",
    "Statistics",
    "StatsInputError",
    "estimate",
    "frames_from_draw",
    "observation_of",
    "wilson_interval",
    "z_value",
]
