"""The publisher under attack and accident: a unit it cannot build is skipped and reported
(health says so) instead of failing every build forever; a carried file altered on disk is not
carried into later builds (it is rendered again and reported); builds killed half-way leave no
folder that counts among the generations kept."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app import limits
from app.db import make_sessionmaker
from app.events import publication_due
from app.publish import write
from app.publish.publisher import publish_pending, result_release
from tests.entropy import dice_source
from tests.publish.conftest import create_and_publish, draw, site_files

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def quiet(db, settings):
    from app.main import create_app

    off = settings.model_copy(update={"scheduler": "off"})
    with TestClient(create_app(off, engine=db)) as c:
        yield c


def _build(db, settings, *scopes, now=None):
    with make_sessionmaker(db)() as s:
        if scopes:
            publication_due(s, *scopes)
        report = publish_pending(
            s, settings.publish_dir, now=now or T0, release=result_release(settings)
        )
        s.commit()
    return report


def _health(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    return r.json()


def test_a_unit_that_fails_is_skipped_reported_and_retried(
    quiet, pub_city, db, settings, monkeypatch
):
    create_and_publish(quiet, pub_city)
    d = draw(quiet, pub_city, "PUB-1")
    real = write.draw_statistics

    def broken(session, *, draw_id):
        raise RuntimeError("损坏的数据")

    monkeypatch.setattr(write, "draw_statistics", broken)
    report = _build(db, settings)
    assert report is not None
    assert list(report.failed_units) == [f"statistics:{d['id']}"]
    assert "损坏的数据" in report.failed_units[f"statistics:{d['id']}"]
    files = site_files(settings.publish_dir)
    assert f"draws/{d['id']}.json" in files  # the rest of the site is current
    assert "plans/PUB-1.json" in files
    health = _health(quiet)
    assert health["status"] == "degraded"
    assert f"statistics:{d['id']}" in json.dumps(health, ensure_ascii=False)

    monkeypatch.setattr(write, "draw_statistics", real)
    report = _build(db, settings, "retry")
    assert report is not None and report.failed_units == {}
    assert _health(quiet)["status"] == "ok"
    assert any(k.startswith(f"statistics/{d['id']}") for k in site_files(settings.publish_dir))


@pytest.mark.postgres
def test_stored_nul_no_longer_stalls_every_build_on_postgresql(
    quiet, pub_city, db, settings, monkeypatch
):
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL refuses NUL on reading it back; SQLite does not")
    # As data restored from an older version, or written before the input rule existed.
    monkeypatch.setattr(limits, "check_json", lambda raw: None)
    create_and_publish(quiet, pub_city, entropy_source=dice_source(witnesses=["张三\u0000"]))
    d = draw(quiet, pub_city, "PUB-1")
    for _ in range(2):
        report = _build(db, settings, "again")
        assert report is not None
        assert f"statistics:{d['id']}" in report.failed_units
    assert f"draws/{d['id']}.json" in site_files(settings.publish_dir)
    assert _health(quiet)["status"] == "degraded"


def test_a_carried_file_altered_on_disk_is_rendered_again_and_reported(
    quiet, pub_city, db, settings
):
    create_and_publish(quiet, pub_city)
    d = draw(quiet, pub_city, "PUB-1")
    assert _build(db, settings) is not None
    live = settings.publish_dir.resolve() / "draws" / f"{d['id']}.json"
    genuine = live.read_bytes()
    stat = live.stat()
    # One byte changed in place, the file's times put back as they were.
    with live.open("r+b") as fh:
        fh.seek(20)
        byte = fh.read(1)
        fh.seek(20)
        fh.write(b"0" if byte != b"0" else b"1")
    os.utime(live, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert live.read_bytes() != genuine

    report = _build(db, settings, "plan:PUB-1", now=T0 + timedelta(seconds=1))
    assert report is not None
    assert f"draws/{d['id']}.json" in report.altered_files
    now_live = settings.publish_dir.resolve() / "draws" / f"{d['id']}.json"
    assert now_live.read_bytes() == genuine
    assert now_live.stat().st_ino != live.stat().st_ino  # not the altered inode
    # and the next build carries the genuine file again, reporting nothing
    report = _build(db, settings, "plan:PUB-1", now=T0 + timedelta(seconds=2))
    assert report is not None and report.altered_files == []
    assert report.files_linked > 0


def test_killed_builds_leave_no_folder_counted_among_the_kept_generations(
    quiet, pub_city, db, settings
):
    create_and_publish(quiet, pub_city)
    draw(quiet, pub_city, "PUB-1")
    first = _build(db, settings).generation
    second = _build(db, settings, "x", now=T0 + timedelta(seconds=1)).generation
    gens = first.parent
    # Three builds killed after creating their folder (newer than every real generation).
    for i in range(3):
        leftover = gens / f".building-20990101T000000-{4000 + i}-{i}"
        (leftover / "draws").mkdir(parents=True)
        (leftover / "draws" / "half.json").write_bytes(b"{")
    third = _build(db, settings, "y", now=T0 + timedelta(seconds=2)).generation
    names = sorted(p.name for p in gens.iterdir() if p.is_dir())
    assert not [n for n in names if n.startswith(".building-")], names
    # the current one and the two completed before it are kept
    assert {first.name, second.name, third.name} <= set(names), names
    assert settings.publish_dir.resolve() == third
