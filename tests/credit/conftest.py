"""Fixtures for the credit integration: the plan tests' city, a credit token, no settle delay."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from app.credit import service as credit_service
from tests.plans.conftest import city, plan_body, published  # noqa: F401  (fixture re-export)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings with publish and evidence directories in a temporary folder."""
    s = Settings(publish_dir=tmp_path / "publish", evidence_dir=tmp_path / "evidence")
    get_settings.cache_clear()
    os.environ["SPOTCHECK_PUBLISH_DIR"] = str(s.publish_dir)
    yield s
    os.environ.pop("SPOTCHECK_PUBLISH_DIR", None)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results are served as soon as approved (the settle delay is tested on its own)."""
    monkeypatch.setattr(credit_service, "SETTLE_SECONDS", 0.0)


@pytest.fixture
def credit(make_token):  # type: ignore[no-untyped-def]
    """Headers of a token with role credit."""
    return make_token("credit", name="信用平台")
