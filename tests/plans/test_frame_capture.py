"""The capture of a plan's frame at publication (app/plans/frame.py `capture`): the rows read
through the driver, the population sorted once, the file hashed and gzipped in a thread of its
own — and the stored bytes what a plain serial writer makes of the same registries."""

import hashlib
import threading
import zlib

import pytest
from sqlalchemy import String, and_, cast, select

from app.db import make_sessionmaker
from app.draw import ALGORITHM_V3, population_file_chunks, read_population_file
from app.models import Item, PlanFrame, Target
from app.models.base import utcnow
from app.plans import frame as frames
from app.plans.schemas import PlanIn
from tests.plans.conftest import plan_body, published


def _gzip6(data: bytes) -> bytes:
    """gzip as the capture has always made it: level 6, no name, mtime 0, one stream."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


def _spec_items(client, sup, s, code):
    spec = PlanIn.model_validate(client.get(f"/api/v1/plans/{code}", headers=sup).json()["spec"])
    items = list(s.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    return spec, items


def test_the_stored_frame_is_the_serial_writers_file_gzip_and_columns(client, city, db):
    code = published(client, city, code="CAP-1")
    with make_sessionmaker(db)() as s:
        stored = s.get(PlanFrame, (code, 2))
        assert stored is not None
        data = zlib.decompress(stored.lines_gz, 31)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.lines_gz == _gzip6(data)
        parsed = read_population_file(data, guarded=True)
        assert stored.size == len(parsed) > 0
        items = frames.plan_items_of(_spec_items(client, city, s, code)[1])
        assert b"".join(population_file_chunks(parsed, items, algorithm=ALGORITHM_V3)) == data
        # the columns are bound to this gzip and read back as the file does
        assert stored.frame_columns is not None
        back = frames.read_frame(stored.lines_gz, ALGORITHM_V3, stored.frame_columns)
        assert back.data == parsed.data and back.pid.tolist() == parsed.pid.tolist()
        assert back.profiles == parsed.profiles and back.source == parsed.source
        assert list(back.names or ()) == list(parsed.names or ())
        assert list(back.regions or ()) == list(parsed.regions or ())
        # the captured population is in USCC order, as the file
        captured = frames.capture(s, *_spec_items(client, city, s, code), utcnow())
        assert captured.population is not None and captured.population.data == parsed.data
        assert captured.sha256 == stored.sha256 and captured.lines_gz == stored.lines_gz


def test_an_error_in_the_gzip_thread_is_raised_by_the_capture(client, city, db, monkeypatch):
    code = published(client, city, code="CAP-2")

    def broken(**kwargs):
        raise RuntimeError("columns failed")

    monkeypatch.setattr(frames.columns, "encode", broken)
    with make_sessionmaker(db)() as s, pytest.raises(RuntimeError, match="columns failed"):
        frames.capture(s, *_spec_items(client, city, s, code), utcnow())
    assert not [t for t in threading.enumerate() if t.name == "frame-gzip"]


def test_an_error_on_the_way_stops_the_gzip_thread(client, city, db, monkeypatch):
    code = published(client, city, code="CAP-3")

    def broken(*args, **kwargs):
        raise RuntimeError("exclusions failed")

    monkeypatch.setattr(frames.exclusions, "out_of_draw", broken)
    with make_sessionmaker(db)() as s, pytest.raises(RuntimeError, match="exclusions failed"):
        frames.capture(s, *_spec_items(client, city, s, code), utcnow())
    assert not [t for t in threading.enumerate() if t.name == "frame-gzip"]


def test_the_driver_reads_the_rows_sqlalchemy_reads(client, city, db):
    """Bound values of every kind the capture's query has (IN lists, a LIKE prefix, text)."""
    body = plan_body()
    stmt = select(Target.uscc, Target.name, cast(Target.tags, String)).where(
        and_(
            Target.active.is_(True),
            Target.kind.in_(body["scope"]["kinds"]),
            Target.region.startswith("370403"),
            Target.status == "正常",
        )
    )
    with make_sessionmaker(db)() as s:
        wanted = sorted(tuple(r) for r in s.execute(stmt))
        got = sorted(tuple(r) for part in frames._driver_batches(s, stmt, size=7) for r in part)
    assert got == wanted and 0 < len(got) < 80
