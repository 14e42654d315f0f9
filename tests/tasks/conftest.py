"""Fixtures for the task lifecycle: the plan tests' city, a drawn plan, evidence in tmp."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from tests.entropy import post_draw
from tests.plans.conftest import city, published  # noqa: F401  (fixture re-export)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings with publish and evidence directories in a temporary folder."""
    s = Settings(
        publish_dir=tmp_path / "publish",
        evidence_dir=tmp_path / "evidence",
        max_evidence_bytes=64 * 1024,
    )
    get_settings.cache_clear()
    os.environ["SPOTCHECK_PUBLISH_DIR"] = str(s.publish_dir)
    yield s
    os.environ.pop("SPOTCHECK_PUBLISH_DIR", None)
    get_settings.cache_clear()


@pytest.fixture
def drawn(client, city):  # type: ignore[no-untyped-def]  # noqa: F811
    """A published and drawn plan: (supervisor headers, draw JSON)."""
    code = published(client, city)
    r = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 201, r.text
    return city, r.json()
