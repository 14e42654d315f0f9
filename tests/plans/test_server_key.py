"""A host restored with a different server key (the key lives outside the database and its
backups): a draw cannot open the published commitment. It is a clear 409 saying what to do,
never a 500, and nothing is written."""

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.db import make_sessionmaker
from app.models import Draw
from tests.entropy import post_draw
from tests.plans.conftest import published


@pytest.fixture
def other_key(monkeypatch):
    def switch():
        monkeypatch.setenv("SPOTCHECK_SERVER_KEY", "a7" * 32)
        get_settings.cache_clear()

    yield switch
    get_settings.cache_clear()


def test_a_draw_with_another_server_key_is_a_409_in_chinese(client, city, db, other_key):
    code = published(client, city)
    other_key()
    r = post_draw(
        client, f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert "服务器密钥" in detail and "承诺值" in detail
    with make_sessionmaker(db)() as s:
        assert s.scalar(select(func.count()).select_from(Draw)) == 0
    r = client.get(f"/api/v1/plans/{code}", headers=city)
    assert r.json()["status"] == "published"
