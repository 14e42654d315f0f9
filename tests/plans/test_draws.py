"""Draws through the API: once per plan, all-or-nothing, teams, redraws, inspector view."""

import math
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.clock import today_local
from app.db import make_sessionmaker
from app.errors import AppError
from app.models import Draw, Inspector, Task
from app.plans.schemas import DrawIn
from tests.entropy import at_entropy, post_draw
from tests.plans.conftest import published
from tests.rounds import approver


def _draw(client, sup, code, entropy="4-2-6-1-3-5"):
    return post_draw(client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": entropy})


def test_draw_once_meets_the_floor_and_reveals_the_seed_inputs(client, city):
    from app.draw import SEED_INPUTS_V3, derive_seed_v3

    code = published(client, city)
    plan = client.get(f"/api/v1/plans/{code}", headers=city).json()
    r = _draw(client, city, code)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["algorithm"] == "spotcheck-draw/3" and d["schema_version"] == "1"
    inputs = d["seed_inputs"]
    assert inputs["commitment"] == plan["commitment"]
    assert inputs["entropy_source"] == plan["spec"]["entropy_source"]
    assert inputs["frame_sha256"] == d["population_sha256"]
    assert set(inputs) == {"secret", *SEED_INPUTS_V3}
    assert d["seed"] == derive_seed_v3(
        secret=inputs["secret"], inputs={k: inputs[k] for k in SEED_INPUTS_V3}
    )
    for s in d["strata"]:
        assert s["n"] >= max(1, math.ceil(0.05 * s["N"]))
    assert len(d["tasks"]) == sum(s["n"] for s in d["strata"])
    assert sum(s["N"] for s in d["strata"]) == 80
    for t in d["tasks"]:
        assert len(t["team"]) == 2 and sum(m["role"] == "组长" for m in t["team"]) == 1
        assert t["name"].startswith("测试医院")
    again = _draw(client, city, code, "9-9-9-0-0-0")
    assert again.status_code == 409 and "不得重复抽取" in again.json()["detail"]
    listed = client.get(f"/api/v1/draws/{d['id']}/tasks", headers=city, params={"limit": 3}).json()
    assert len(listed["items"]) == 3 and listed["next_cursor"]
    pop = client.get(f"/api/v1/draws/{d['id']}/population", headers=city).text
    import hashlib

    assert hashlib.sha256(pop.encode()).hexdigest() == d["population_sha256"]


def test_same_inputs_same_draw_different_entropy_different_draw(client, city):
    a = published(client, city, code="P-A")
    b = published(client, city, code="P-B")
    da, db_ = _draw(client, city, a).json(), _draw(client, city, b).json()
    # different secrets → different seeds even with the same entropy
    assert da["seed"] != db_["seed"]
    assert [t["uscc"] for t in da["tasks"]] != [t["uscc"] for t in db_["tasks"]] or da[
        "seed"
    ] != db_["seed"]


SPELLINGS_OF_ONE_ROLL = [
    "4-2-6-1-3-5 ",
    " 4-2-6-1-3-5",
    "４-２-６-１-３-５",
    "4 2 6 1 3 5",
    "骰子 4-2-6-1-3-5",
    "4-2-6-1-3-5点",
    "4-2-6-1-3-05",
    "4-2-6-1-3",
    '<img src=x onerror="alert(1)">',
]


def test_dice_take_exactly_the_announced_form_once(client, city, session):
    """Issue #24 item 3: 72 spellings of one value gave 72 seeds, and HTML was taken as a dice
    roll. Under /3 every other spelling is a 422 naming the form, and nothing is written."""
    code = published(client, city)
    for text in SPELLINGS_OF_ONE_ROLL:
        r = _draw(client, city, code, text)
        assert r.status_code == 422, (text, r.text)
        problem = r.json()
        assert problem["errors"][0]["field"] == "entropy"
        assert problem["detail"].startswith("随机数格式不符，应为6 个 10 面骰的点数（每个 0–9）")
    assert session.scalar(select(func.count()).select_from(Draw)) == 0
    assert _draw(client, city, code, "4-2-6-1-3-5").status_code == 201
    assert _draw(client, city, code, "4-2-6-1-3-6").status_code == 409  # entered once


def test_publication_must_announce_the_form_of_the_value(client, city):
    from tests.entropy import dice_source
    from tests.plans.conftest import plan_body

    for source, field in (
        ({k: v for k, v in dice_source().items() if k != "count"}, "count"),
        ({**dice_source(), "faces": None}, "faces"),
        (
            {
                "kind": "public_record",
                "description": "上海证券交易所上证指数收盘点位",
                "available_at": dice_source()["scheduled_at"],
            },
            "decimals",
        ),
    ):
        body = plan_body(code=f"F-{field}", entropy_source=source)
        assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
        r = client.post(f"/api/v1/plans/F-{field}/publish", headers=city)
        assert r.status_code == 422 and field in r.json()["detail"], r.text
    bad = plan_body(code="F-bad", entropy_source={**dice_source(), "faces": 1})
    assert client.post("/api/v1/plans", headers=city, json=bad).status_code == 422


def test_public_record_takes_its_decimals(client, city):
    from tests.entropy import dice_source

    at = dice_source()["scheduled_at"]
    source = {
        "kind": "public_record",
        "description": "上海证券交易所上证指数收盘点位",
        "available_at": at,
        "decimals": 2,
    }
    code = published(client, city, code="REC-1", entropy_source=source)
    for text in ("3412.5", "3412.560", "3,412.56", "3412.56点", "上证指数 3412.56"):
        r = _draw(client, city, code, text)
        assert r.status_code == 422 and "恰好 2 位小数" in r.json()["detail"], r.text
    d = _draw(client, city, code, "3412.56")
    assert d.status_code == 201 and d.json()["seed_inputs"]["entropy"] == "3412.56"


def test_draw_requires_publication_and_valid_entropy(client, city, session):
    r = client.post(
        "/api/v1/plans",
        headers=city,
        json=__import__("tests.plans.conftest", fromlist=["plan_body"]).plan_body(code="DRAFT"),
    )
    assert r.status_code == 201
    assert _draw(client, city, "DRAFT").status_code == 409
    code = published(client, city)
    bad = _draw(client, city, code, "\x00\x01")
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(Draw)) == 0
    assert client.get(f"/api/v1/plans/{code}", headers=city).json()["status"] == "published"


def test_infeasible_teams_name_the_target_and_write_nothing(client, city, session):
    # cross-region at city level: every inspector is in 3704 → nobody may go anywhere.
    code = published(client, city, team={"size": 2, "cross_region": True, "region_level": 4})
    r = _draw(client, city, code)
    assert r.status_code == 422
    problem = r.json()
    assert "检查组" in problem["detail"]
    assert all(e["uscc"] and e["region"] for e in problem["errors"])
    assert session.scalar(select(func.count()).select_from(Task)) == 0
    assert client.get(f"/api/v1/plans/{code}", headers=city).json()["status"] == "published"


def test_redraw_is_an_adjustment_and_keeps_the_old_draw(client, city):
    code = published(client, city)
    first = _draw(client, city, code).json()
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "抽中机构已注销", "changes": {"ratio": 0.1}},
    )
    assert r.status_code == 409  # sampling changes after a draw need a redraw
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={
            "reason": "窗口顺延",
            "changes": {"window": {"start": "2026-12-01", "end": "2027-01-15"}},
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "drawn"
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "抽中机构已注销，重新抽取", "redraw": True},
    )
    assert r.status_code == 201
    plan = r.json()
    assert plan["status"] == "published" and plan["secret"] is None
    assert plan["commitment"] != first["seed_inputs"]["commitment"]
    second = _draw(client, city, code, "1-1-2-3-5-8").json()
    assert second["id"].endswith("-D2") and second["seq"] == 2
    old = client.get(f"/api/v1/draws/{first['id']}", headers=city).json()
    assert old["status"] == "superseded" and old["superseded_reason"] == "抽中机构已注销，重新抽取"
    mine = client.get("/api/v1/tasks", headers=city, params={"plan": code, "limit": 1000}).json()
    assert {t["draw_id"] for t in mine["items"]} == {second["id"]}


def test_inspector_sees_only_own_tasks(client, city, make_token):
    code = published(client, city)
    d = _draw(client, city, code).json()
    badge = d["tasks"][0]["team"][0]["badge"]
    insp = make_token("inspector", badge=badge)
    mine = client.get("/api/v1/tasks", headers=insp).json()["items"]
    expected = {t["id"] for t in d["tasks"] if badge in {m["badge"] for m in t["team"]}}
    assert {t["id"] for t in mine} == expected and expected
    other = next(t for t in d["tasks"] if badge not in {m["badge"] for m in t["team"]})
    assert client.get(f"/api/v1/tasks/{other['id']}", headers=insp).status_code == 404
    assert client.get(f"/api/v1/draws/{d['id']}", headers=insp).status_code == 403


def test_cooldown_marks_targets_taken_again_to_meet_the_floor(client, city):
    first = _draw(client, city, published(client, city, code="C-1")).json()
    again = _draw(client, city, published(client, city, code="C-2", ratio=1.0)).json()
    earlier = {t["uscc"] for t in first["tasks"]}
    flagged = {t["uscc"] for t in again["tasks"] if t["despite_cooldown"]}
    assert flagged == earlier
    assert all("冷却期" in t["reason"] for t in again["tasks"] if t["despite_cooldown"])


def test_a_not_inspected_result_frees_the_target_for_the_next_draw(client, city):
    first = _draw(client, city, published(client, city, code="C-1")).json()
    closed, visited = first["tasks"][0], first["tasks"][1]
    not_inspected = {
        "outcome": "未检查（停业、注销等）",
        "decided_on": today_local().isoformat(),
        "findings": "已停业",
    }
    found = {**not_inspected, "outcome": "未发现问题", "findings": ""}
    for task, body in ((closed, not_inspected), (visited, found)):
        r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=city, json=body)
        assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
        assert r.status_code == 200, r.text
    again = _draw(client, city, published(client, city, code="C-2", ratio=1.0)).json()
    cooling = {t["uscc"] for t in again["tasks"] if t["despite_cooldown"]}
    # inspected (or still open) tasks keep their targets cooling; 未检查 was no inspection
    assert visited["uscc"] in cooling
    assert closed["uscc"] not in cooling
    assert cooling == {t["uscc"] for t in first["tasks"]} - {closed["uscc"]}


def test_a_redraw_draws_from_the_original_frame_with_its_listed_changes(client, city):
    """A re-draw replaces the superseded draw on the frame frozen with the original version:
    the superseded open tasks do not cool their targets (they used to, so a re-draw left out
    the very selection it replaced), and a target inspected since stays in the frame unless
    the adjustment lists it, with its reason (docs/rules.md#r7-3)."""
    from tests.entropy import dice_source

    first = _draw(client, city, published(client, city, code="RD-1", ratio=0.3)).json()
    inspected, not_visited = first["tasks"][0], first["tasks"][1]
    for task, outcome in ((inspected, "未发现问题"), (not_visited, "未检查（停业、注销等）")):
        body = {
            "outcome": outcome,
            "decided_on": today_local().isoformat(),
            "findings": "" if outcome == "未发现问题" else "已停业",
        }
        r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=city, json=body)
        assert r.status_code == 200, r.text
        r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
        assert r.status_code == 200, r.text
    listed = {"uscc": inspected["uscc"], "reason": "已于 RD-1-D1 检查完毕"}
    r = client.post(
        "/api/v1/plans/RD-1/adjustments",
        headers=city,
        json={
            "reason": "重新抽取",
            "changes": {"entropy_source": dice_source()},
            "redraw": True,
            "frame_changes": {"remove_targets": [listed]},
        },
    )
    assert r.status_code == 201, r.text
    version = client.get("/api/v1/plans/RD-1/versions", headers=city).json()["items"][-1]
    assert version["frame_changes"]["remove_targets"] == [listed]
    again = _draw(client, city, "RD-1").json()
    assert again["id"] == "RD-1-D2"
    by_key = {s["key"]: s for s in first["strata"]}
    for s in again["strata"]:
        # the listed target is out of the frame; nothing cools (the frame is the original's)
        gone = 1 if s["key"] == inspected["stratum"] else 0
        assert (s["N"], s["eligible"]) == (by_key[s["key"]]["N"] - gone, s["N"]), s
    assert inspected["uscc"] not in {t["uscc"] for t in again["tasks"]}
    assert not any(t["despite_cooldown"] for t in again["tasks"])


def test_the_task_quota_counts_open_tasks_of_every_plan(db, client, city):
    first = _draw(client, city, published(client, city, code="Q-1", cooldown_days=0)).json()
    busy: dict[str, int] = {}
    for t in first["tasks"]:
        for m in t["team"]:
            busy[m["badge"]] = busy.get(m["badge"], 0) + 1
    # 任务上限: the busy inspectors have used theirs up; the others may take 3 tasks
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector)):
            i.max_tasks = busy.get(i.badge, 3)
        s.commit()
    second = _draw(client, city, published(client, city, code="Q-2", cooldown_days=0))
    assert second.status_code == 201, second.text
    body = second.json()
    quota = {row[0]: row[5] for row in body["inspector_pool"]["rows"]}
    assert all(quota[b] == 0 for b in busy)  # the published pool says what was left
    later: dict[str, int] = {}
    first_of = {t["uscc"]: t for t in first["tasks"]}
    for t in body["tasks"]:
        if "joins" in t:  # joined Q-1's visit (same window): its team, no quota taken
            assert t["team"] == first_of[t["uscc"]]["team"] and t["visit"] == t["joins"]["task"]
            continue
        for m in t["team"]:
            later[m["badge"]] = later.get(m["badge"], 0) + 1
    assert later and not set(later) & set(busy)
    assert all(n <= 3 for n in later.values())


def test_simultaneous_draws_give_exactly_one(db, client, city):
    code = published(client, city)
    factory = make_sessionmaker(db)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        from app.plans.drawing import perform_draw

        barrier.wait()
        with factory() as s:
            from app.db import begin_write

            try:
                begin_write(s)
                perform_draw(
                    s, code=code, body=DrawIn(entropy=f"{n}-{n}-{n}-{n}-{n}-{n}"), actor="t"
                )
                s.commit()
                outcomes.append("ok")
            except AppError as exc:
                s.rollback()
                outcomes.append(str(exc.status))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    spec = client.get(f"/api/v1/plans/{code}", headers=city).json()["spec"]
    clock = at_entropy(spec)
    clock.__enter__()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.__exit__(None, None, None)
    assert sorted(outcomes) == ["409"] * 5 + ["ok"]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Draw)) == 1


def test_the_draw_reads_the_frame_columns_and_a_frame_without_them_draws_the_same(
    client, city, db, monkeypatch
):
    """Publication stores the frozen frame's columns beside its file; the draw reads them, not
    the file, and a frame captured before the columns existed (none stored) draws the same."""
    import time_machine

    from app.db import begin_write
    from app.draw import canonical_json, columns
    from app.models import PlanFrame
    from app.plans import drawing, frame
    from tests.entropy import time_of

    code = published(client, city)
    spec = client.get(f"/api/v1/plans/{code}", headers=city).json()["spec"]
    factory = make_sessionmaker(db)
    with factory() as s:
        stored = s.get(PlanFrame, (code, 2))
        assert stored is not None and stored.frame_columns is not None
        decoded = columns.decode(stored.frame_columns, stored.lines_gz)
        parsed = frame.read_frame(stored.lines_gz)
        assert decoded is not None and decoded.data == parsed.data
        assert list(decoded.names or ()) == parsed.names

    def drawn() -> bytes:
        at = time_of(spec) + timedelta(seconds=5)
        with time_machine.travel(at, tick=False), factory() as s:
            begin_write(s)
            body = drawing.perform_draw(
                s, code=code, body=DrawIn(entropy="4-2-6-1-3-5"), actor="t"
            ).draw.body
            s.rollback()
            return canonical_json(body)

    def parse(*args, **kw):
        raise AssertionError("the frame's file was parsed")

    with monkeypatch.context() as m:
        m.setattr(frame, "read_population_file", parse)
        from_columns = drawn()
    with factory() as s:
        s.get(PlanFrame, (code, 2)).frame_columns = None  # as a frame captured before
        s.commit()
    from_file = drawn()
    assert from_file == from_columns and b'"tasks":[{' in from_file


def test_a_draw_stores_its_body_compressed_with_lz4_on_postgresql(client, city, session):
    """PostgreSQL (14 on, with lz4): the draw's transaction TOASTs with lz4, not pglz (seconds
    for a national body); the body reads back the same and the setting ends with the
    transaction. SQLite stores the text as it is (nothing to check)."""
    from sqlalchemy import text

    from app.plans import drawing

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    lz4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    if not session.scalar(text(lz4)):
        pytest.skip("this server has no lz4")
    before = session.scalar(text("SHOW default_toast_compression"))
    session.rollback()
    code = published(client, city)
    r = _draw(client, city, code)
    assert r.status_code == 201
    d = r.json()
    stored = session.execute(
        text("SELECT pg_column_compression(body), body FROM draws WHERE id = :i"), {"i": d["id"]}
    ).one()
    assert stored[0] == "lz4"  # large enough to be compressed, and with lz4
    assert stored[1]["tasks"] == d["tasks"] and stored[1]["tasks_sha256"] == d["tasks_sha256"]
    assert session.scalar(text("SHOW default_toast_compression")) == before  # not this session's
    drawing.compress_fast(session)
    assert session.scalar(text("SHOW default_toast_compression")) == "lz4"
    session.rollback()
    assert session.scalar(text("SHOW default_toast_compression")) == before
