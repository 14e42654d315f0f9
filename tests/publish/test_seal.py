"""A withheld draw's timelock seal (app/plans/sealing.py): published at the draw, opened by the
public with nothing but drand's signature of its round, equal to what the service reveals."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import app.plans.sealing as sealing_module
from app import cli, jobs
from app.clock import LOCAL_TZ, local_date
from app.db import make_sessionmaker
from app.draw import tlock
from app.draw.beacon import QUICKNET, round_at, round_time
from app.draw.seed import canonical_json, commitment_of
from tests.draw.draw_helpers import load_verifier, verifier_path
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
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
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
    # a relay has no beacon for a round still to come: `spotcheck seal open` says when it is due
    (tmp_path / "relay").mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "relay"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "age").write_bytes(age)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli.main(["seal", "open", str(tmp_path / "age"), "--beacon", url]) == 1
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert f"第 {expected} 轮" in out and "未到时无人能开启" in out, out
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

    # the inspector frame is sealed too (docs/draw-spec-teams.md §12.2): opened, it is the file
    # the seed took, so the opened draw's teams check in full without the service
    frame_age = at_draw[f"draws/{d['id']}.inspectors.sealed.age"]
    assert hashlib.sha256(frame_age).hexdigest() == sealed["timelock"]["team_frame_file_sha256"]
    frame_file = tlock.decrypt(frame_age, VECTOR["signature"])
    assert hashlib.sha256(frame_file).hexdigest() == sealed["seed_inputs"]["team_frame_sha256"]
    # the population file is sealed too: with it the opened draw replays in full
    population_age = at_draw[f"draws/{d['id']}.population.sealed.age"]
    assert (
        hashlib.sha256(population_age).hexdigest() == (sealed["timelock"]["population_file_sha256"])
    )
    population_gz = tlock.decrypt(population_age, VECTOR["signature"])
    population = gzip.decompress(population_gz)
    assert hashlib.sha256(population).hexdigest() == sealed["population_sha256"]
    opened_folder = tmp_path / "opened"
    opened_folder.mkdir()
    (opened_folder / f"{d['id']}.json").write_bytes(opened)
    (opened_folder / f"{d['id']}.population.csv").write_bytes(population)
    (opened_folder / f"{d['id']}.inspectors.csv").write_bytes(frame_file)
    for name in (f"draws/{d['id']}.sealed.json", f"plans/{d['plan']}.json"):
        (opened_folder / Path(name).name).write_bytes(at_draw[name])
    done = _verify(opened_folder)
    # The opened draw replays in full against what was published at the draw: the one problem
    # is the substitution this test made (the round is not the one due at the opening) …
    problems = [line for line in done.stdout.splitlines() if line.startswith("- ")]
    assert done.returncode == 1 and len(problems) == 1, done.stdout
    assert f"drand 轮次为 {VECTOR['round']}" in problems[0]
    # … and without it, only the task list files (rendered at the reveal) are missing: the
    # inspector frame came out of the seal
    _edit(
        opened_folder / f"{d['id']}.sealed.json",
        lambda doc: doc.pop("timelock"),
    )
    done = _verify(opened_folder)
    assert done.returncode == 3 and "问题" not in done.stdout, done.stdout
    not_checked = [line for line in done.stdout.splitlines() if line.startswith("- ")]
    assert not_checked and all("任务清单" in line for line in not_checked), done.stdout

    # The service's own scheduler reveals at 00:00 北京时间 the day after the window, by time
    # alone; what it reveals is what the seal held.
    jobs.run_due(factory, _opening(end) + timedelta(seconds=30))
    revealed_files = site_files(settings.publish_dir)
    revealed = json.loads(revealed_files[f"draws/{d['id']}.json"])
    assert revealed == {**record, "superseded_at": None, "superseded_reason": None}
    assert revealed_files[f"draws/{d['id']}.population.csv.gz"] == population_gz
    # the sealed record and its seals stay published, the same bytes
    for name in (
        f"draws/{d['id']}.sealed.json",
        f"draws/{d['id']}.sealed.age",
        f"draws/{d['id']}.population.sealed.age",
        f"draws/{d['id']}.inspectors.sealed.age",
    ):
        assert revealed_files[name] == at_draw[name]
    assert revealed_files[f"draws/{d['id']}.inspectors.csv"] == frame_file


def test_a_draw_published_at_once_has_no_seal(quiet, pub_city, settings, db, scheduled):  # noqa: F811
    create_and_publish(quiet, pub_city, code="OPEN-1", publish_tasks="on_draw")
    d = draw(quiet, pub_city, "OPEN-1")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    assert f"draws/{d['id']}.sealed.age" not in files
    assert "timelock" not in json.loads(files[f"draws/{d['id']}.json"])


# --- the verifiers --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = verifier_path()  # docs/verify_draw.py, or a mutant (tests/draw/mutate_verifier.py)


def _verify(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(folder)], capture_output=True, text=True, check=False
    )


def _download(files: dict[str, bytes], d: dict[str, Any], folder: Path) -> Path:
    """The files of one draw as the downloads page lists them, into one folder."""
    folder.mkdir()
    for name in (
        f"draws/{d['id']}.json",
        f"draws/{d['id']}.population.csv",
        f"draws/{d['id']}.inspectors.csv",  # spotcheck-draw/3: the frozen inspector frame
        f"draws/{d['id']}.tasks.csv",
        f"draws/{d['id']}.tasks.xlsx",
        f"draws/{d['id']}.sealed.json",
        f"draws/{d['id']}.sealed.age",
        f"draws/{d['id']}.population.sealed.age",
        f"draws/{d['id']}.inspectors.sealed.age",
        f"plans/{d['plan']}.json",
    ):
        if name in files:
            (folder / Path(name).name).write_bytes(files[name])
    return folder


def _edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False))


def test_verifiers_check_the_seals_round_opening_and_file_before_it_opens(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
    tmp_path: Path,
):
    _withheld_plan(quiet, pub_city, "SEAL-3")
    d = draw(quiet, pub_city, "SEAL-3")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    good = _download(files, d, tmp_path / "good")
    done = _verify(good)
    assert done.returncode == 3 and "问题" not in done.stdout, done.stdout  # not yet revealed
    assert "sealed draw not yet revealed" in done.stdout

    lock = json.loads(files[f"draws/{d['id']}.json"])["timelock"]
    day = 24 * 3600 // QUICKNET.period

    def later_round(doc: dict[str, Any]) -> None:  # sealed to the next day's round
        doc["timelock"]["round"] += day
        doc["timelock"]["round_time"] = round_time(QUICKNET, doc["timelock"]["round"]).isoformat()

    def later_day(doc: dict[str, Any]) -> None:  # round and time agree, a day too late
        later_round(doc)
        opens = datetime.fromisoformat(doc["timelock"]["opens_at"]) + timedelta(days=1)
        doc["timelock"]["opens_at"] = opens.isoformat()

    forgeries: list[tuple[str, Any, str]] = [
        ("round", later_round, "drand 轮次"),
        ("day", later_day, "任务清单应于"),
        ("chain", lambda doc: doc["timelock"].update(chain_hash="00" * 32), "quicknet"),
    ]
    for name, change, reason in forgeries:
        folder = _download(files, d, tmp_path / name)
        _edit(folder / f"{d['id']}.json", change)
        done = _verify(folder)
        assert done.returncode == 1 and reason in done.stdout, (name, done.stdout)

    # a seal to another round in place of the published one: its hash, and (hash updated) its
    # header, say so
    other = tlock.encrypt(b"{}", lock["round"] + day)
    folder = _download(files, d, tmp_path / "swapped")
    (folder / f"{d['id']}.sealed.age").write_bytes(other)
    done = _verify(folder)
    assert done.returncode == 1 and "file_sha256" in done.stdout, done.stdout
    _edit(
        folder / f"{d['id']}.json",
        lambda doc: doc["timelock"].update(file_sha256=hashlib.sha256(other).hexdigest()),
    )
    done = _verify(folder)
    assert done.returncode == 1 and "age/tlock" in done.stdout, done.stdout
    # an unreadable seal file is named
    folder = _download(files, d, tmp_path / "unreadable")
    (folder / f"{d['id']}.sealed.age").unlink()
    (folder / f"{d['id']}.sealed.age").mkdir()
    done = _verify(folder)
    assert done.returncode == 1 and "无法读取时间锁文件" in done.stdout, done.stdout
    # the population file's seal likewise
    folder = _download(files, d, tmp_path / "population-swapped")
    (folder / f"{d['id']}.population.sealed.age").write_bytes(other)
    done = _verify(folder)
    assert done.returncode == 1 and "population.sealed.age 的 SHA-256" in done.stdout, done.stdout


def test_verifiers_check_the_revealed_draw_is_the_record_sealed(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
    tmp_path: Path,
):
    end = _withheld_plan(quiet, pub_city, "SEAL-4")
    d = draw(quiet, pub_city, "SEAL-4")
    factory = make_sessionmaker(db)
    jobs.run_due(factory, T0)
    jobs.run_due(factory, _opening(end) + timedelta(seconds=30))
    files = site_files(settings.publish_dir)
    good = _download(files, d, tmp_path / "good")
    for command in (
        [sys.executable, str(VERIFIER), str(good)],
        [sys.executable, "-m", "app.cli", "verify", str(good)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0 and "验证通过" in done.stdout, done.stdout + done.stderr
    # a revealed draw that differs from the sealed record only where nothing else looks
    forged = _download(files, d, tmp_path / "forged")
    _edit(forged / f"{d['id']}.json", lambda doc: doc.update(exclusions=["（改写）"]))
    done = _verify(forged)
    assert done.returncode == 1 and "record_sha256" in done.stdout, done.stdout


# --- spotcheck seal open --------------------------------------------------------------------


def test_spotcheck_seal_open_with_a_signature_file_or_a_relay(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setattr(sealing_module, "seal_round", lambda chain, moment: VECTOR["round"])
    _withheld_plan(quiet, pub_city, "SEAL-5")
    d = draw(quiet, pub_city, "SEAL-5")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    folder = _download(files, d, tmp_path / "public")
    age = str(folder / f"{d['id']}.sealed.age")
    hex_file = tmp_path / "signature.txt"
    hex_file.write_text(VECTOR["signature"] + "\n")
    out = tmp_path / "opened.json"
    assert cli.main(["seal", "open", age, "--signature", str(hex_file), "--out", str(out)]) == 0
    assert "哈希均与密封记录相符" in capsys.readouterr().out
    record = json.loads(out.read_bytes())
    assert record["tasks"] == d["tasks"] and record["seed_inputs"]["secret"]

    population_out = tmp_path / "population.csv.gz"
    population_age = str(folder / f"{d['id']}.population.sealed.age")
    assert (
        cli.main(
            [
                "seal",
                "open",
                population_age,
                "--signature",
                str(hex_file),
                "--out",
                str(population_out),
            ]
        )
        == 0
    )
    opened_population = gzip.decompress(population_out.read_bytes())
    assert hashlib.sha256(opened_population).hexdigest() == record["population_sha256"]
    # the inspector frame: opened, it is the exact inspectors.csv the seed took
    frame_out = tmp_path / f"{d['id']}.inspectors.csv"
    frame_age = str(folder / f"{d['id']}.inspectors.sealed.age")
    argv = ["seal", "open", frame_age, "--signature", str(hex_file), "--out", str(frame_out)]
    assert cli.main(argv) == 0
    wanted = record["seed_inputs"]["team_frame_sha256"]
    assert hashlib.sha256(frame_out.read_bytes()).hexdigest() == wanted
    capsys.readouterr()
    # a sealed record announcing another frame: the opened file is refused
    sealed_path = folder / f"{d['id']}.sealed.json"
    kept = sealed_path.read_bytes()
    _edit(sealed_path, lambda doc: doc["seed_inputs"].update(team_frame_sha256="0" * 64))
    assert cli.main(argv) == 1
    assert "team_frame_sha256" in capsys.readouterr().err
    sealed_path.write_bytes(kept)

    # drand's /public/{round} JSON: its BLS signature is checked before it is used
    beacon = {k: VECTOR[k] for k in ("round", "signature", "randomness")}
    relay = tmp_path / "relay" / QUICKNET.chain_hash / "public"
    relay.mkdir(parents=True)
    (relay / str(VECTOR["round"])).write_text(json.dumps(beacon))
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "relay"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli.main(["seal", "open", age, "--beacon", url, "--out", str(out)]) == 0
    finally:
        server.shutdown()
    assert json.loads(out.read_bytes()) == record

    # refused: another round's beacon, a forged signature, a record that is not the one sealed
    other = next(r for r in ROUNDS if r["chain"] == "quicknet" and r["round"] == 657413)
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps({k: other[k] for k in ("round", "signature", "randomness")}))
    assert cli.main(["seal", "open", age, "--signature", str(other_file)]) == 1
    relabelled = tmp_path / "relabelled.json"
    relabelled.write_text(json.dumps({"round": VECTOR["round"], "signature": other["signature"]}))
    assert cli.main(["seal", "open", age, "--signature", str(relabelled)]) == 1
    hex_other = tmp_path / "other.txt"
    hex_other.write_text(other["signature"])
    assert cli.main(["seal", "open", age, "--signature", str(hex_other)]) == 1
    assert "签名打不开此密文" in capsys.readouterr().out
    _edit(
        folder / f"{d['id']}.sealed.json",
        lambda doc: doc["timelock"].update(record_sha256="0" * 64),
    )
    assert cli.main(["seal", "open", age, "--signature", str(hex_file), "--out", str(out)]) == 1
    assert "record_sha256" in capsys.readouterr().err


def test_an_operator_who_seals_another_list_is_caught_when_the_seal_opens(
    quiet,  # noqa: F811
    pub_city,
    db,
    settings,
    scheduled,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    """As the operator: the seal holds a list without the institution it means to spare (its
    own record_sha256 consistent). Nothing shows it before the round; the opened record is
    refused against the task-list hash published at the draw."""
    monkeypatch.setattr(sealing_module, "seal_round", lambda chain, moment: VECTOR["round"])
    honest = sealing_module.record_bytes

    def spare_one(body: dict[str, Any]) -> bytes:
        return honest({**body, "tasks": body["tasks"][1:]})

    monkeypatch.setattr(sealing_module, "record_bytes", spare_one)
    _withheld_plan(quiet, pub_city, "SEAL-6")
    d = draw(quiet, pub_city, "SEAL-6")
    jobs.run_due(make_sessionmaker(db), T0)
    files = site_files(settings.publish_dir)
    folder = _download(files, d, tmp_path / "public")
    out = folder / "opened" / f"{d['id']}.json"
    out.parent.mkdir()
    age = str(folder / f"{d['id']}.sealed.age")
    signature = tmp_path / "signature.txt"
    signature.write_text(VECTOR["signature"])
    assert cli.main(["seal", "open", age, "--signature", str(signature), "--out", str(out)]) == 0
    opened = json.loads(out.read_bytes())
    assert len(opened["tasks"]) == len(d["tasks"]) - 1
    done = subprocess.run(
        [
            sys.executable,
            str(VERIFIER),
            str(out),
            "--sealed",
            str(folder / f"{d['id']}.sealed.json"),
            "--plan",
            str(folder / f"{d['plan']}.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "tasks_sha256" in done.stdout, done.stdout


# --- each timelock check of the standalone verifier, on a seal made here ----------------------

OPENS = datetime(2026, 12, 19, tzinfo=LOCAL_TZ)
SEALED_ROUND = round_at(QUICKNET, OPENS)
RECORD_FILE = tlock.encrypt(b"{}", SEALED_ROUND)
POPULATION_FILE = tlock.encrypt(b"population", SEALED_ROUND)
FRAME_FILE = tlock.encrypt(b"frame", SEALED_ROUND)


def _sealed() -> dict[str, Any]:
    return {
        "id": "P-D1",
        "sealed": True,
        "tasks_public_from": "2026-12-19",
        "timelock": {
            "format": "age-encryption.org/v1 tlock",
            "chain": "quicknet",
            "chain_hash": QUICKNET.chain_hash,
            "genesis_time": QUICKNET.genesis_time,
            "period": QUICKNET.period,
            "round": SEALED_ROUND,
            "round_time": round_time(QUICKNET, SEALED_ROUND).isoformat(),
            "opens_at": OPENS.astimezone(UTC).isoformat(),
            "file": "P-D1.sealed.age",
            "file_sha256": hashlib.sha256(RECORD_FILE).hexdigest(),
            "record_sha256": "0" * 64,
            "population_file": "P-D1.population.sealed.age",
            "population_file_sha256": hashlib.sha256(POPULATION_FILE).hexdigest(),
            "team_frame_file": "P-D1.inspectors.sealed.age",
            "team_frame_file_sha256": hashlib.sha256(FRAME_FILE).hexdigest(),
        },
    }


def _timelock_report(
    sealed: dict[str, Any],
    plan: dict[str, Any] | None = None,
    seal: bytes | None = RECORD_FILE,
    population: bytes | None = POPULATION_FILE,
    frame: bytes | None = FRAME_FILE,
) -> Any:
    verifier = load_verifier()
    report = verifier.Report()
    verifier.verify_timelock(sealed, plan, seal, report, population, frame)
    return report


def test_an_honest_seal_passes_every_timelock_check() -> None:
    report = _timelock_report(_sealed())
    assert report.problems == [] and report.not_checked == []
    plan = {"spec": {"window": {"end": "2026-12-18"}}}
    without_date = {k: v for k, v in _sealed().items() if k != "tasks_public_from"}
    report = _timelock_report(without_date, plan)
    assert report.problems == [] and report.not_checked == []


def _with(**change: Any) -> dict[str, Any]:
    sealed = _sealed()
    sealed["timelock"].update(change)
    return sealed


@pytest.mark.parametrize(
    ("sealed", "reason"),
    [
        ({**_sealed(), "timelock": "round 1"}, "timelock 应为对象"),
        (_with(opens_at=None), "opens_at 或 round"),
        (_with(round="34900000"), "opens_at 或 round"),
        (_with(period=30), "period"),
        (_with(genesis_time=0), "genesis_time"),
        # one second after midnight: round and time consistent, still the same day
        (
            _with(
                opens_at=(OPENS + timedelta(seconds=1)).astimezone(UTC).isoformat(),
                round=SEALED_ROUND + 1,
                round_time=round_time(QUICKNET, SEALED_ROUND + 1).isoformat(),
            ),
            "不是北京时间 0 点",
        ),
        (_with(round_time=round_time(QUICKNET, SEALED_ROUND + 1).isoformat()), "round_time"),
        (_with(file="other.sealed.age"), "timelock file name"),
        (_with(population_file="other.age"), "timelock population file name"),
        (_with(population_file_sha256="0" * 64), "population.sealed.age 的 SHA-256"),
        (_with(team_frame_file="other.age"), "timelock team frame file name"),
        (_with(team_frame_file_sha256="0" * 64), "inspectors.sealed.age 的 SHA-256"),
    ],
)
def test_each_timelock_check_refuses_its_forgery(sealed: dict[str, Any], reason: str) -> None:
    report = _timelock_report(sealed)
    assert any(reason in p for p in report.problems), report.problems


def test_a_withheld_draw_without_a_seal_is_noted() -> None:
    announced = {**_sealed(), "tasks_withheld": True}
    del announced["timelock"]
    report = _timelock_report(announced)
    assert report.problems == [] and report.not_checked == []
    assert any("没有时间锁密封" in n for n in report.notes), report.notes
    # a revealed draw's sealed record: the plan says whether its list was withheld
    sealed = {k: v for k, v in _sealed().items() if k not in ("timelock", "tasks_public_from")}
    withheld_plan = {"spec": {"publish_tasks": "after_window", "window": {"end": "2026-12-18"}}}
    assert any("没有时间锁密封" in n for n in _timelock_report(sealed, withheld_plan).notes)
    on_draw = {"spec": {"publish_tasks": "on_draw", "window": {"end": "2026-12-18"}}}
    assert _timelock_report(sealed, on_draw).notes == []


def test_a_seal_that_cannot_be_checked_says_so() -> None:
    without_date = {k: v for k, v in _sealed().items() if k != "tasks_public_from"}
    report = _timelock_report(without_date, plan=None)
    assert report.problems == [] and any("plan file missing" in n for n in report.not_checked)
    report = _timelock_report(_sealed(), seal=None, population=None, frame=None)
    assert report.problems == []
    assert [n for n in report.not_checked if "timelock file missing" in n] == [
        n for n in report.not_checked
    ] and len(report.not_checked) == 3
    # a population seal to another round, its hash updated
    other = tlock.encrypt(b"population", SEALED_ROUND + 1)
    report = _timelock_report(
        _with(population_file_sha256=hashlib.sha256(other).hexdigest()), population=other
    )
    assert any("not sealed to that round" in p for p in report.problems), report.problems


def test_a_failed_attempts_sealed_record_has_no_task_list_to_match() -> None:
    verifier = load_verifier()
    failed = {"id": "P-D1", "status": "failed", "error": {"title": "无法组成检查组"}}
    sealed = {"id": "P-D1", "sealed": True, "status": "failed", "task_count": 0}
    assert verifier.verify_sealed(failed, {**sealed, "seed_inputs": {}}) == []
    # a task-list hash where the record has none is still compared (and refused)
    forged = {**sealed, "seed_inputs": {}, "tasks_sha256": "0" * 64}
    assert any("tasks_sha256" in p for p in verifier.verify_sealed(failed, forged))
    kept = {**failed, "status": "current", "tasks": [{"id": "P-D1-00001"}]}
    assert any(
        "tasks_sha256" in p for p in verifier.verify_sealed(kept, {**sealed, "seed_inputs": {}})
    )
