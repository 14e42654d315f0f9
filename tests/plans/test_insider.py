"""The draw as a hostile insider would try to steer it (spotcheck-draw/2): each test is one
attack, and each now fails to steer — refused, or recorded and published.

Clock: time-machine travels to the moments the plans announce; nothing sleeps.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import inspect, select, text

from app.config import get_settings
from app.db import make_sessionmaker
from app.draw import commitment_of
from app.models import Draw, PlanFrame
from app.models.base import utcnow
from tests.entropy import at_entropy, dice_source, post_draw
from tests.factories import uscc
from tests.plans.conftest import plan_body, published

ROUNDS = json.loads((Path(__file__).parents[1] / "draw/golden/drand_rounds.json").read_text())
QUICKNET = next(r for r in ROUNDS["rounds"] if r["chain"] == "quicknet")
DEFAULT = next(r for r in ROUNDS["rounds"] if r["chain"] == "default")
V2 = "spotcheck-draw/3"  # the algorithm new publications take
# City-level 交叉互查 in a registry of one city (3704): no team can be formed.
CITY_CROSS = {"size": 2, "cross_region": True, "region_level": 4}


def _plan(client, sup, code):
    return client.get(f"/api/v1/plans/{code}", headers=sup).json()


def _draw(client, sup, code, entropy="3-1-4-1-5-9"):
    return post_draw(client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": entropy})


# --- 1. preview, then pick ------------------------------------------------------------------


def test_a_draw_without_a_valid_team_is_recorded_and_cannot_be_retried(client, city):
    # City-level cross-region teams in a one-city registry cannot be formed: the supervisor hopes to see the
    # selection, retry with other entropy, then fix the team rule and keep the one that suits.
    code = published(client, city, team=CITY_CROSS)
    first = _draw(client, city, code)
    assert first.status_code == 422, first.text
    problem = first.json()
    draw_id = problem["draw"]
    assert "记为失败并公开" in problem["detail"]
    recorded = client.get(f"/api/v1/draws/{draw_id}", headers=city).json()
    assert recorded["status"] == "failed" and "tasks" not in recorded
    assert recorded["error"]["errors"]
    # Nothing in the refusal lists the would-be selection.
    listed = {e.get("uscc") for e in problem["errors"]} - {None, "*"}
    assert len(listed) <= 1
    # Another entropy, at once or later: the attempt is determined and on record.
    again = _draw(client, city, code, entropy="9-9-9-9-0-0")
    assert again.status_code == 409 and draw_id in again.json()["detail"]
    assert _plan(client, city, code)["draws"] == [draw_id]


def test_after_a_failed_attempt_an_adjustment_takes_a_new_secret_and_a_future_source(client, city):
    code = published(client, city, team=CITY_CROSS)
    before = _plan(client, city, code)
    with at_entropy(before["spec"]):
        assert _draw(client, city, code).status_code == 422
        # The same (now known) entropy source is refused …
        same = client.post(
            f"/api/v1/plans/{code}/adjustments",
            headers=city,
            json={"reason": "检查组人数过多，调整为2人", "changes": {"team": {"size": 2}}},
        )
        assert same.status_code == 422, same.text
        assert any(e["field"] == "entropy_source" for e in same.json()["errors"])
        # … a new future one is taken, with a fresh commitment.
        fresh = client.post(
            f"/api/v1/plans/{code}/adjustments",
            headers=city,
            json={
                "reason": "检查组人数过多，调整为2人",
                "changes": {"team": {"size": 2}, "entropy_source": dice_source()},
            },
        )
        assert fresh.status_code == 201, fresh.text
    after = _plan(client, city, code)
    assert after["commitment"] != before["commitment"]
    kept = _draw(client, city, code)
    assert kept.status_code == 201, kept.text
    assert kept.json()["seed_inputs"]["commitment"] == after["commitment"]
    assert _plan(client, city, code)["draws"] == [f"{code}-D1", f"{code}-D2"]


def test_once_the_entropy_exists_an_undrawn_plan_cannot_be_adjusted_around_its_draw(client, city):
    code = published(client, city)
    with at_entropy(_plan(client, city, code)["spec"]):
        r = client.post(
            f"/api/v1/plans/{code}/adjustments",
            headers=city,
            json={"reason": "换个随机源", "changes": {"entropy_source": dice_source()}},
        )
    assert r.status_code == 409 and "须先抽取" in r.json()["detail"]


# --- 2. grind offline -----------------------------------------------------------------------


def test_publication_requires_an_entropy_source_that_does_not_exist_yet(client, city):
    for code, source in (
        ("NO-SRC", None),
        ("PAST-DICE", dice_source(utcnow() - timedelta(minutes=1))),
        ("PAST-DRAND", {"kind": "drand", "chain": "quicknet", "round": QUICKNET["round"]}),
    ):
        body = plan_body(code=code, entropy_source=source)
        assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
        r = client.post(f"/api/v1/plans/{code}/publish", headers=city)
        assert r.status_code == 422, (code, r.text)
        assert r.json()["errors"][0]["field"] == "entropy_source"
        assert _plan(client, city, code)["status"] == "draft"


def test_the_draw_is_refused_before_the_announced_time_and_with_other_entropy(client, city):
    code = published(client, city)
    early = client.post(f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "1-2-3-0-0-0"})
    assert early.status_code == 409 and "尚未产生" in early.json()["detail"]
    drand = published(
        client,
        city,
        code="DRAND-1",
        entropy_source={"kind": "drand", "chain": "quicknet", "round": 10**9},
    )
    with time_machine.travel(datetime(2200, 1, 1, tzinfo=UTC), tick=True):
        typed = client.post(
            f"/api/v1/plans/{drand}/draw", headers=city, json={"entropy": "my lucky string"}
        )
    assert typed.status_code == 422 and typed.json()["errors"][0]["field"] == "entropy"


def test_a_database_dump_does_not_open_the_commitment(client, city, db):
    code = published(client, city)
    commitment = _plan(client, city, code)["commitment"]
    values: set[str] = set()
    with db.connect() as conn:
        for table in inspect(db).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, str):
                        values.add(value)
                        values.update(json.dumps(value).strip('"').split())
                    elif isinstance(value, dict | list):
                        values.update(json.dumps(value).replace('"', " ").split())
    candidates = {v for v in values if len(v) == 64} | {
        t.strip(",:{}[]") for v in values for t in v.split()
    }
    for algorithm in ("spotcheck-draw/1", "spotcheck-draw/2", V2):
        opened = [
            c
            for c in candidates
            if len(c) == 64 and all(ch in "0123456789abcdef" for ch in c)
            if commitment_of(c, algorithm=algorithm) == commitment
        ]
        assert opened == []
    # With the server key (outside the database) the secret is there, revealed by the draw.
    drawn = _draw(client, city, code).json()
    assert commitment_of(drawn["seed_inputs"]["secret"], algorithm=V2) == commitment


# --- 3. change the frame --------------------------------------------------------------------


def test_edits_after_publication_do_not_change_the_frame(client, city, make_token):
    code = published(client, city, risk_weights={"A": 1, "D": 4})
    plan = _plan(client, city, code)
    version = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"][-1]
    assert version["frame_sha256"] and version["algorithm"] == V2
    # Between publication and draw: a target deactivated, another suspended, a third one's
    # grade pushed back-dated to before the publication.
    assert client.delete(f"/api/v1/targets/{uscc(1)}", headers=city).status_code in (200, 204)
    r = client.patch(f"/api/v1/targets/{uscc(2)}", headers=city, json={"status": "暂停"})
    assert r.status_code == 200, r.text
    credit = make_token("credit")
    pushed = client.put(
        "/api/v1/credit/grades",
        headers=credit,
        json=[{"uscc": uscc(3), "grade": "A", "as_of": "2020-01-01"}],
    )
    assert pushed.status_code == 200, pushed.text
    d = _draw(client, city, code).json()
    assert d["population_sha256"] == version["frame_sha256"] == d["seed_inputs"]["frame_sha256"]
    population = client.get(f"/api/v1/draws/{d['id']}/population", headers=city).text
    rows = {line.split(",")[0]: line.split(",") for line in population.splitlines()[1:]}
    assert uscc(1) in rows and uscc(2) in rows
    assert hashlib.sha256(population.encode()).hexdigest() == version["frame_sha256"]
    assert plan["spec"]["entropy_source"] == d["seed_inputs"]["entropy_source"]


def test_the_frame_is_stored_once_per_published_version(client, city, db):
    code = published(client, city)
    with make_sessionmaker(db)() as s:
        frames = list(s.scalars(select(PlanFrame).where(PlanFrame.plan_code == code)))
    assert len(frames) == 1 and frames[0].size == 80


# --- a real drand round, end to end ---------------------------------------------------------


def _drand_round_plan(client, city, record, chain):
    period, genesis = (3, 1692803367) if chain == "quicknet" else (30, 1595431050)
    at = datetime.fromtimestamp(genesis + (record["round"] - 1) * period, tz=UTC)
    body = plan_body(
        code=f"DRAND-{chain}",
        window={"start": "2023-09-15", "end": "2023-10-15"},
        entropy_source={"kind": "drand", "chain": chain, "round": record["round"]},
    )
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
        r = client.post(f"/api/v1/plans/{body['code']}/publish", headers=city)
        assert r.status_code == 200, r.text
        early = client.post(
            f"/api/v1/plans/{body['code']}/draw",
            headers=city,
            json={"beacon": {k: v for k, v in record.items() if k != "chain"}},
        )
        assert early.status_code == 409
    return body["code"], at


def test_a_real_drand_round_draws_end_to_end(client, city):
    for record in (QUICKNET, DEFAULT):
        code, at = _drand_round_plan(client, city, record, record["chain"])
        beacon = {k: v for k, v in record.items() if k not in ("chain", "randomness")}
        with time_machine.travel(at + timedelta(seconds=5), tick=False):
            forged = dict(beacon, signature=beacon["signature"][:-2] + "00")
            bad = client.post(f"/api/v1/plans/{code}/draw", headers=city, json={"beacon": forged})
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "beacon"
            other = dict(beacon, round=beacon["round"] + 1)
            assert (
                client.post(
                    f"/api/v1/plans/{code}/draw", headers=city, json={"beacon": other}
                ).status_code
                == 422
            )
            r = client.post(f"/api/v1/plans/{code}/draw", headers=city, json={"beacon": beacon})
        assert r.status_code == 201, r.text
        d = r.json()
        assert d["algorithm"] == V2
        assert d["seed_inputs"]["entropy"] == record["randomness"]
        assert d["beacon"]["round"] == record["round"]
        assert d["beacon"]["randomness"] == record["randomness"]
        assert datetime.fromisoformat(d["beacon"]["round_time"]) > datetime.fromisoformat(
            d["plan_published_at"]
        )


# --- 7. withheld draws are public at once as sealed records ---------------------------------


def test_a_withheld_draw_publishes_its_existence_entropy_and_task_hash(client, city, settings, db):
    from app.publish.write import publish

    code = published(client, city, publish_tasks="after_window")
    d = _draw(client, city, code).json()
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
    site = settings.publish_dir
    sealed = json.loads((site / "draws" / f"{d['id']}.sealed.json").read_text())
    announced = json.loads((site / "draws" / f"{d['id']}.json").read_text())
    assert announced["tasks_sha256"] == d["tasks_sha256"] and "tasks" not in announced
    assert sealed["sealed"] is True and sealed["tasks_sha256"] == d["tasks_sha256"]
    assert sealed["seed_inputs"]["entropy"] == d["seed_inputs"]["entropy"]
    assert "secret" not in sealed["seed_inputs"] and "tasks" not in sealed
    blob = "".join(p.read_text(errors="ignore") for p in site.rglob("*") if p.is_file())
    assert d["seed_inputs"]["secret"] not in blob
    assert not any(t["uscc"] in blob for t in d["tasks"])
    # The hash binds the list revealed later.
    canonical = json.dumps(d["tasks"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == d["tasks_sha256"]


def test_draws_of_failed_attempts_are_kept_with_distinct_ids(client, city, db):
    code = published(client, city, team=CITY_CROSS)
    _draw(client, city, code)
    with make_sessionmaker(db)() as s:
        rows = list(s.scalars(select(Draw).where(Draw.plan_code == code)))
    assert [(r.id, r.status, r.task_count) for r in rows] == [(f"{code}-D1", "failed", 0)]


# --- 5. unannounced lists do not leak through other plans or the credit feed -----------------


def test_a_later_plan_does_not_reveal_a_withheld_selection(client, city, settings, db):
    from app.publish.write import publish

    hidden = published(client, city, code="HIDDEN-A", publish_tasks="after_window", ratio=0.3)
    withheld = _draw(client, city, hidden).json()
    later = published(client, city, code="LATER-B", publish_tasks="on_draw")
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanFrame, (later, 2))
        assert frame is not None and frame.depends_on == [withheld["id"]]
    drawn = _draw(client, city, later).json()
    assert any(t["despite_cooldown"] for t in drawn["tasks"]) or any(
        s["eligible"] < s["N"] for s in drawn["strata"]
    ), "the later frame does carry cooling from the withheld draw"
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
    site = settings.publish_dir / "draws"
    announced = json.loads((site / f"{drawn['id']}.json").read_text())
    assert announced.get("sealed") is True and "tasks" not in announced
    assert "strata" not in announced
    _assert_timelocked(site, announced)
    assert not (site / f"{drawn['id']}.population.csv").exists()
    hidden_usccs = {t["uscc"] for t in withheld["tasks"]}
    blob = "".join(p.read_text(errors="ignore") for p in site.parent.rglob("*") if p.is_file())
    assert not any(u in blob for u in hidden_usccs)
    # When the withheld window closes, both are revealed.
    reveal = time_machine.travel(datetime(2027, 1, 2, 2, tzinfo=UTC), tick=False)
    with reveal, make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
    revealed = json.loads((site / f"{drawn['id']}.json").read_text())
    assert revealed["tasks"] and (site / f"{drawn['id']}.population.csv").exists()


def test_a_failed_attempt_does_not_reveal_a_withheld_selection_through_its_frame(
    client, city, settings, db
):
    """A later plan's frame took cooling from a withheld draw and its own draw failed: the
    failed record (population file, strata, error) is sealed until the withheld draw is public,
    as a kept draw's would be; its existence is published at once."""
    from app.publish.write import publish

    hidden = published(client, city, code="HIDDEN-A", publish_tasks="after_window", ratio=0.3)
    withheld = _draw(client, city, hidden).json()
    later = published(client, city, code="LATER-F", publish_tasks="on_draw", team=CITY_CROSS)
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanFrame, (later, 2))
        assert frame is not None and frame.depends_on == [withheld["id"]]
    failed = _draw(client, city, later).json()["draw"]
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    site = settings.publish_dir / "draws"
    announced = json.loads((site / f"{failed}.json").read_text())
    assert announced.get("sealed") is True and announced["status"] == "failed"
    _assert_timelocked(site, announced)
    assert "strata" not in announced and "error" not in announced
    assert "secret" not in announced["seed_inputs"]
    assert not (site / f"{failed}.population.csv").exists()
    page = (site / f"{failed}.html").read_text()
    assert "抽取失败" in page and "不预先告知" not in page  # an on_draw plan's failed attempt
    hidden_usccs = {t["uscc"] for t in withheld["tasks"]}
    blob = "".join(p.read_text(errors="ignore") for p in site.parent.rglob("*") if p.is_file())
    assert not any(u in blob for u in hidden_usccs)
    # When the withheld window closes, the failure is shown whole, with its frame.
    reveal = time_machine.travel(datetime(2027, 1, 2, 2, tzinfo=UTC), tick=False)
    with reveal, make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    revealed = json.loads((site / f"{failed}.json").read_text())
    assert revealed["status"] == "failed" and revealed["error"] and revealed["strata"]
    assert (site / f"{failed}.population.csv").exists()
    # its sealed record and seal stay published; the revealed failure is the record sealed
    from app.cli import _load_verifier

    verifier = _load_verifier()
    sealed = json.loads((site / f"{failed}.sealed.json").read_text())
    assert verifier.verify_sealed(revealed, sealed) == []
    report = verifier.Report()
    verifier.verify_timelock(
        sealed,
        None,
        (site / f"{failed}.sealed.age").read_bytes(),
        report,
        (site / f"{failed}.population.sealed.age").read_bytes(),
    )
    assert report.problems == []


def test_a_superseded_withheld_draw_still_seals_the_frames_it_cools(client, city, db):
    """An inspection carried out under a withheld draw that was then re-drawn still cools its
    target for later plans (frame.py `_counted`): a later frame that uses it depends on that
    superseded draw, so it stays sealed while the withheld plan's list is not public."""
    from tests.entropy import dice_source
    from tests.rounds import approve

    hidden = published(client, city, code="HIDDEN-S", publish_tasks="after_window", ratio=0.3)
    first = _draw(client, city, hidden).json()
    approve(client, city, first["tasks"][0]["id"], outcome="未发现问题")
    r = client.post(
        f"/api/v1/plans/{hidden}/adjustments",
        headers=city,
        json={"reason": "重新抽取", "changes": {"entropy_source": dice_source()}, "redraw": True},
    )
    assert r.status_code == 201, r.text
    later = published(client, city, code="LATER-S", publish_tasks="on_draw", cooldown_days=365)
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanFrame, (later, 2))
        assert frame is not None and first["id"] in frame.depends_on


def test_the_credit_feed_holds_a_withheld_plans_results_until_its_window_closes(
    client, city, make_token
):
    from tests.rounds import approve

    code = published(client, city, publish_tasks="after_window")
    task = _draw(client, city, code).json()["tasks"][0]
    approve(client, city, task["id"])
    credit = make_token("credit")
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        early = client.get("/api/v1/credit/results", headers=credit).json()
    assert early["items"] == []
    with time_machine.travel(datetime(2027, 1, 2, 2, tzinfo=UTC), tick=False):
        client.get("/api/v1/credit/results", headers=credit)  # releases the results
    with time_machine.travel(datetime(2027, 1, 2, 3, tzinfo=UTC), tick=False):
        later = (
            client.get(
                "/api/v1/credit/results", headers=credit, params={"cursor": early["next_cursor"]}
            ).json()
            if early["next_cursor"]
            else client.get("/api/v1/credit/results", headers=credit).json()
        )
    assert [i["task_id"] for i in later["items"]] == [task["id"]]


def test_a_failed_attempt_is_published_and_verifies_as_a_failure(client, city, settings, db):
    from app import cli
    from app.publish.write import publish

    code = published(client, city, team=CITY_CROSS)
    failed = _draw(client, city, code).json()["draw"]
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    path = settings.publish_dir / "draws" / f"{failed}.json"
    record = json.loads(path.read_text())
    assert record["status"] == "failed" and record["error"] and "tasks" not in record
    assert record["seed_inputs"]["secret"]  # so anyone can confirm the failure was real
    page = (settings.publish_dir / "draws" / f"{failed}.html").read_text()
    assert "抽取失败" in page
    # /3: the record carries the pool (from the frozen inspector frame), each item's expertise
    # and the recusals that changed a step, so the verifiers re-derive the failure: a valid
    # failed attempt verifies as such; a failed record with a secret that does not open the
    # published commitment is refused
    assert record["failed_teams"]["joined"] == [] and record["inspector_pool"]["rows"]
    assert cli.main(["verify", str(path)]) == 0
    forged = dict(record, error={"title": "x", "errors": []}, status="failed")
    forged["seed_inputs"] = dict(record["seed_inputs"], secret="0" * 64)
    (path.parent / "forged.json").write_text(json.dumps(forged, ensure_ascii=False))
    assert cli.main(["verify", str(path.parent / "forged.json")]) == 1


# --- determined once the entropy exists: the service draws by itself -------------------------


def test_the_scheduler_draws_a_plan_when_its_drand_round_has_come(client, city, db, monkeypatch):
    from app import jobs
    from app.draw.beacon import parse_beacon
    from app.plans import entropy
    from app.scheduler import DRAW_DUE, register_jobs

    code, at = _drand_round_plan(client, city, QUICKNET, "quicknet")
    dice = published(client, city, code="DICE-LATER")
    relay = {"up": False}

    def fetch(source):
        if not relay["up"]:
            raise entropy.BeaconInvalid("无法从 drand 中继取得（relay down）")
        assert (source.chain, source.round) == ("quicknet", QUICKNET["round"])
        return parse_beacon({k: v for k, v in QUICKNET.items() if k != "chain"})

    monkeypatch.setattr(entropy, "fetch_beacon", fetch)
    register_jobs(get_settings())
    factory = make_sessionmaker(db)
    try:
        # Before the round: nothing; after it with no relay reachable: nothing, no error.
        with time_machine.travel(at - timedelta(minutes=5), tick=False):
            assert DRAW_DUE in jobs.run_due(factory)
        with time_machine.travel(at + timedelta(minutes=1), tick=False):
            assert DRAW_DUE in jobs.run_due(factory)
        assert _plan(client, city, code)["draws"] == []
        relay["up"] = True
        with time_machine.travel(at + timedelta(minutes=3), tick=False):
            assert DRAW_DUE in jobs.run_due(factory)
    finally:
        for name in [j.name for j in jobs.registered()]:
            jobs.unregister(name)
    plan = _plan(client, city, code)
    assert plan["status"] == "drawn" and plan["draws"] == [f"{code}-D1"]
    d = client.get(f"/api/v1/draws/{code}-D1", headers=city).json()
    assert d["seed_inputs"]["entropy"] == QUICKNET["randomness"]
    # the same draw a request would have made: a request now is refused as a second draw
    beacon = {k: v for k, v in QUICKNET.items() if k not in ("chain", "randomness")}
    with time_machine.travel(at + timedelta(minutes=4), tick=False):
        again = client.post(f"/api/v1/plans/{code}/draw", headers=city, json={"beacon": beacon})
    assert again.status_code == 409
    assert _plan(client, city, dice)["draws"] == []  # dice wait for their entropy to be entered


def _assert_timelocked(site, announced):  # type: ignore[no-untyped-def]
    """A draw withheld because its frame depends on a withheld draw is timelock-sealed (its
    record and population file) to the round due when it is revealed (app/plans/sealing.py)."""
    from app.draw.beacon import QUICKNET, round_at
    from app.draw.tlock import stanza
    from app.plans.sealing import opens_at

    lock = announced["timelock"]
    due = opens_at(announced["tasks_public_from"])
    assert lock["round"] == round_at(QUICKNET, due)
    for name in (lock["file"], lock["population_file"]):
        assert stanza((site / name).read_bytes()).round == lock["round"]
