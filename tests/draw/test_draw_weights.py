"""Risk weights from grade, complaints and flags."""

import pytest

from app.draw import RiskConfig, risk_config_from_plan, risk_weight


def test_plan_risk_weights() -> None:
    config = risk_config_from_plan(
        {"A": 0.5, "B": 1, "C": 2, "D": 4, "complaint": 0.25, "flags": {"智能监控": 1.5}}
    )
    assert config is not None
    assert risk_weight(grade="D", config=config) == 4.0
    assert risk_weight(grade="A", complaints=2, config=config) == 0.75
    assert risk_weight(grade="Z", complaints=99, flags=["智能监控", "智能监控"], config=config) == (
        1.0 * (1 + 0.25 * 10) * 1.5
    )
    assert risk_weight(grade=None, config=config) == 1.0
    assert risk_weight(grade="D", config=None) == 1.0
    assert risk_config_from_plan(None) is None


def test_bad_weights_rejected() -> None:
    with pytest.raises(ValueError):
        RiskConfig(grade_weights={"A": 0.0})
    with pytest.raises(ValueError):
        risk_config_from_plan({"A": "high"})
