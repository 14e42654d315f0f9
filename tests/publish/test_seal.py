"""A withheld draw's timelock seal (app/plans/sealing.py): published at the draw, opened by the
public with nothing but drand's signature of its round, equal to what the service reveals."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import app.plans.sealing as sealing_module
from app import jobs
from app.clock import LOCAL_TZ, local_date
from app.db import make_sessionmaker
from app.draw import tlock
from app.draw.beacon import QUICKNET, round_at, round_time
from app.draw.seed import canonical_json, commitment_of
from tests.publish.conftest import create_and_publish, draw, site_files
from tests.publish.test_publisher import calendar_file, quiet, scheduled  # noqa: F401

DATA = Path(__file__).parents[1] / "draw" / "data"
VECTOR: dict[str, Any] = json.loads((DATA / "tlock_vectors.json").read_text())
ROUNDS = json.loads((DATA / "drand_rounds.json").read_text())["rounds"]
T0 = datetime.now(UTC).replace(microsecond=0)


def _withheld_plan(client, sup, code: str, days: int = 10) -> str:  # type: ignore[no-untyped-def]
    today = local_date(T0)
    end = (today + timedelta(days=days)).isoformat()
    window = {"start": today.isoformat(), "end": end}
    create_and_publish(client, sup, code=code, publish_tasks="after_window", window=window)
    return end


def _opening(end: str) -> datetime:
    return datetime.fromisoformat(end).replace(tzinfo=LOCAL_TZ) + timedelta(days=1)


def test_the_seal_is_made_for_the_first_round_at_the_moment_the_list_is_due(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
):
    end = _withheld_plan(quiet, pub_city, "SEAL-1")
    d = draw(quiet, pub_city, "SEAL-1")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    sealed = json.loads(files[f"draws/{d['id']}.sealed.json"])
    opening = _opening(end)
    expected = round_at(QUICKNET, opening)
    lock = sealed["timelock"]
    assert lock["round"] == expected and lock["chain_hash"] == QUICKNET.chain_hash
    assert lock["opens_at"] == opening.astimezone(UTC).isoformat()
    assert lock["round_time"] == round_time(QUICKNET, expected).isoformat()
    assert round_time(QUICKNET, expected) >= opening > round_time(QUICKNET, expected - 1)
    age = files[f"draws/{d['id']}.sealed.age"]
    assert lock["file"] == f"{d['id']}.sealed.age"
    assert lock["file_sha256"] == hashlib.sha256(age).hexdigest()
    assert tlock.stanza(age) == tlock.Stanza(round=expected, chain_hash=QUICKNET.chain_hash)
    # Before its round nobody holds the key: every real signature the suite has is refused.
    for known in [VECTOR, *(r for r in ROUNDS if r["chain"] == "quicknet")]:
        with pytest.raises(tlock.TimelockError):
            tlock.decrypt(age, known["signature"])
    # the announcement carries the seal too; nothing of the list is readable
    announced = json.loads(files[f"draws/{d['id']}.json"])
    assert announced["timelock"] == lock and "tasks" not in announced
    blob = b"\n".join(files.values())
    assert d["seed_inputs"]["secret"].encode() not in blob and d["seed"].encode() not in blob


def test_the_public_opens_the_seal_with_only_the_rounds_signature_and_it_is_what_is_revealed(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    # The suite holds the real signature of one quicknet round that lies in the past
    # (12040883, drand's own tlock vector); the seal is made for it instead of the round due at
    # the opening, which the test above checks and which no recorded signature exists for yet.
    monkeypatch.setattr(sealing_module, "seal_round", lambda chain, moment: VECTOR["round"])
    end = _withheld_plan(quiet, pub_city, "SEAL-2")
    d = draw(quiet, pub_city, "SEAL-2")
    factory = make_sessionmaker(db)
    jobs.run_due(factory, T0)
    at_draw = site_files(settings.publish_dir)
    assert json.loads(at_draw[f"draws/{d['id']}.json"])["tasks_withheld"] is True

    # The public keeps the two files published at the draw, and later fetches one signature.
    public = tmp_path / "public"
    public.mkdir()
    for name in (f"draws/{d['id']}.sealed.json", f"draws/{d['id']}.sealed.age"):
        (public / Path(name).name).write_bytes(at_draw[name])
    sealed = json.loads((public / f"{d['id']}.sealed.json").read_text())
    age = (public / sealed["timelock"]["file"]).read_bytes()
    assert hashlib.sha256(age).hexdigest() == sealed["timelock"]["file_sha256"]
    opened = tlock.decrypt(age, VECTOR["signature"])
    assert hashlib.sha256(opened).hexdigest() == sealed["timelock"]["record_sha256"]
    record = json.loads(opened)
    assert hashlib.sha256(canonical_json(record["tasks"])).hexdigest() == sealed["tasks_sha256"]
    inputs = record["seed_inputs"]
    assert commitment_of(inputs["secret"], record["algorithm"]) == inputs["commitment"]
    assert inputs["commitment"] == sealed["seed_inputs"]["commitment"]
    assert record["tasks"] == d["tasks"] and record["seed"] == d["seed"]

    # The service's own scheduler reveals at 00:00 北京时间 the day after the window, by time
    # alone; what it reveals is what the seal held.
    jobs.run_due(factory, _opening(end) + timedelta(seconds=30))
    revealed_files = site_files(settings.publish_dir)
    revealed = json.loads(revealed_files[f"draws/{d['id']}.json"])
    assert revealed == {**record, "superseded_at": None, "superseded_reason": None}
    # the sealed record and its seal stay published, the same bytes
    for name in (f"draws/{d['id']}.sealed.json", f"draws/{d['id']}.sealed.age"):
        assert revealed_files[name] == at_draw[name]


def test_a_draw_published_at_once_has_no_seal(quiet, pub_city, settings, db, scheduled):  # noqa: F811
    create_and_publish(quiet, pub_city, code="OPEN-1", publish_tasks="on_draw")
    d = draw(quiet, pub_city, "OPEN-1")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    assert f"draws/{d['id']}.sealed.age" not in files
    assert "timelock" not in json.loads(files[f"draws/{d['id']}.json"])
