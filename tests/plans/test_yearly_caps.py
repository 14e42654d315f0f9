"""The yearly cap per institution across plans, through the API (docs/rules.md#r4-5).

Concurrent plans in one year: a grade-A unit inspected once this year is not drawn by the next
plan with `yearly_caps {"A": 1}` — unless the floor needs it (then the task says which and why)
or it has a complaint; a 未检查 result is no inspection. The counts are frozen in the frame at
publication and the published draw replays with docs/verify_draw.py.
"""

from sqlalchemy import select

from app.clock import today_local
from app.db import make_sessionmaker
from app.models import Target
from app.models.base import utcnow
from tests.draw.draw_helpers import load_verifier
from tests.entropy import post_draw
from tests.plans.conftest import plan_body, published
from tests.rounds import approver

verifier = load_verifier()
CAPS = {"A": 1}


def _draw(client, sup, code, entropy="4-2-6-1-3-5"):
    r = post_draw(client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": entropy})
    assert r.status_code == 201, r.text
    return r.json()


def _frame(client, sup, draw):
    r = client.get(f"/api/v1/draws/{draw['id']}/population", headers=sup)
    assert r.status_code == 200, r.text
    return {row["uscc"]: row for row in verifier.parse_population(r.content)}


def _verified(draw, rows):
    report = verifier.check(draw, list(rows.values()))
    assert report.problems == [], report.problems
    return report


def _approve(client, sup, task, outcome):
    body = {
        "outcome": outcome,
        "decided_on": today_local().isoformat(),
        "findings": "已停业" if outcome.startswith("未检查") else "",
    }
    r = client.put(f"/api/v1/tasks/{task['id']}/result", headers=sup, json=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task['id']}/result/approve", headers=approver(client))
    assert r.status_code == 200, r.text


def test_a_unit_inspected_this_year_is_not_drawn_by_the_next_capped_plan(client, city):
    first = _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    earlier = {t["uscc"] for t in first["tasks"]}
    # a concurrent plan of the same year, other items' cooldown aside (cooldown_days 0)
    code = published(client, city, code="Y-2", cooldown_days=0, ratio=0.3, yearly_caps=CAPS)
    second = _draw(client, city, code, "6-6-1-2-0-0")
    rows = _frame(client, city, second)
    # the frame froze each unit's inspections this year (Y-1's tasks, still open)
    assert {u for u, r in rows.items() if r["year_checks"] == "1"} == earlier & set(rows)
    assert {r["year_checks"] for u, r in rows.items() if u not in earlier} == {"0"}
    capped = {u for u in earlier & set(rows) if rows[u]["grade"] == "A"}
    assert capped, "the test city needs a grade-A unit in the first draw"
    drawn = {t["uscc"] for t in second["tasks"]}
    assert not capped & drawn  # every stratum could meet its floor without them
    assert second["params"]["yearly_caps"] == CAPS
    assert all(t["despite_cap"] is False for t in second["tasks"])
    for s in second["strata"]:
        in_stratum = [u for u, r in rows.items() if r["stratum"] == s["key"]]
        assert s["eligible"] == len(in_stratum) - len(capped & set(in_stratum))
        assert s["despite_cap"] == 0
    # every eligible unit keeps π ≥ ratio
    assert all(t["inclusion_prob"] >= 0.3 for t in second["tasks"])
    _verified(second, rows)
    # the task rows say so too
    task = client.get(f"/api/v1/tasks/{second['tasks'][0]['id']}", headers=city).json()
    assert task["despite_cap"] is False


def test_the_floor_wins_over_the_cap_and_the_draw_says_which_and_why(client, city):
    first = _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    # ratio 1: the floor is every unit, so the capped ones are taken despite the cap
    code = published(client, city, code="Y-3", cooldown_days=0, ratio=1.0, yearly_caps=CAPS)
    third = _draw(client, city, code, "3-3-3-1-0-0")
    rows = _frame(client, city, third)
    capped = {t["uscc"] for t in first["tasks"] if rows.get(t["uscc"], {}).get("grade") == "A"}
    flagged = {t["uscc"]: t for t in third["tasks"] if t["despite_cap"]}
    assert set(flagged) == capped and capped
    for t in flagged.values():
        assert t["reason"] == "本年度已检查 1 次（A级上限 1 次），但为满足本层最低抽查数而抽取"
    assert sum(s["despite_cap"] for s in third["strata"]) == len(capped)
    _verified(third, rows)
    stored = client.get("/api/v1/tasks", headers=city, params={"plan": code, "limit": 1000}).json()[
        "items"
    ]
    assert {t["uscc"] for t in stored if t["despite_cap"]} == capped


def test_a_not_inspected_result_does_not_count_toward_the_cap(client, city):
    first = _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    closed, visited = first["tasks"][0], first["tasks"][1]
    _approve(client, city, closed, "未检查（停业、注销等）")
    _approve(client, city, visited, "未发现问题")
    code = published(client, city, code="Y-2", cooldown_days=0, ratio=0.3, yearly_caps=CAPS)
    rows = _frame(client, city, _draw(client, city, code, "6-6-1-2-0-0"))
    assert rows[closed["uscc"]]["year_checks"] == "0"  # 未检查 was no inspection
    assert rows[visited["uscc"]]["year_checks"] == "1"  # inspected
    assert rows[first["tasks"][2]["uscc"]]["year_checks"] == "1"  # still open: scheduled


def test_a_complaint_keeps_a_capped_unit_eligible(db, client, city):
    first = _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    with make_sessionmaker(db)() as s:
        grades = dict(s.execute(select(Target.uscc, Target.credit_grade)).all())
        chosen = next(t["uscc"] for t in first["tasks"] if grades[t["uscc"]] == "A")
        target = s.scalars(select(Target).where(Target.uscc == chosen)).one()
        complained = target.uscc
        target.tags = ["投诉:1"]
        s.commit()
    code = published(client, city, code="Y-3", cooldown_days=0, ratio=1.0, yearly_caps=CAPS)
    third = _draw(client, city, code, "3-3-3-1-0-0")
    rows = _frame(client, city, third)
    assert (rows[complained]["year_checks"], rows[complained]["cap_exempt"]) == ("1", "1")
    task = next(t for t in third["tasks"] if t["uscc"] == complained)
    assert task["despite_cap"] is False and task["reason"] is None
    others = {t["uscc"] for t in first["tasks"] if grades[t["uscc"]] == "A"} - {complained}
    assert {t["uscc"] for t in third["tasks"] if t["despite_cap"]} == others
    _verified(third, rows)


def test_a_plan_without_caps_keeps_its_frame_and_draw_as_before(client, city):
    _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    second = _draw(
        client, city, published(client, city, code="Y-2", cooldown_days=0), "1-2-0-0-0-0"
    )
    r = client.get(f"/api/v1/draws/{second['id']}/population", headers=city)
    assert r.text.splitlines()[0] == "uscc,stratum,kind,grade,weight,cooling_items,region,name"
    assert "yearly_caps" not in second["params"]
    assert all("despite_cap" not in t for t in second["tasks"])
    assert all("despite_cap" not in s for s in second["strata"])


def test_yearly_caps_are_validated_with_field_errors(client, city):
    for caps, field in (
        ({"X": 1}, "yearly_caps.X"),
        ({"A": 0}, "yearly_caps"),
        ({"A": True}, "yearly_caps"),
        ({"A": 1.5}, "yearly_caps"),
        ({"a": 1, "A": 2}, "yearly_caps"),
    ):
        r = client.post("/api/v1/plans", headers=city, json=plan_body(code="V-1", yearly_caps=caps))
        assert r.status_code == 422, (caps, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"] == field for e in r.json()["errors"]), (caps, r.json())
    r = client.post(
        "/api/v1/plans",
        headers=city,
        json=plan_body(code="V-2", yearly_caps={"a": 1}, yearly_cap_exempt=["举报:2"]),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "yearly_cap_exempt"
    r = client.post(
        "/api/v1/plans", headers=city, json=plan_body(code="V-3", yearly_caps={"a": 1, "b": 2})
    )
    assert r.status_code == 201, r.text
    spec = r.json()["spec"]
    assert spec["yearly_caps"] == {"A": 1, "B": 2}
    assert spec["yearly_cap_exempt"] == ["举报", "投诉"]


def test_the_inclusion_preview_leaves_capped_units_out_of_the_eligible_set(client, city):
    first = _draw(client, city, published(client, city, code="Y-1", cooldown_days=0))
    body = plan_body(code="Y-P", cooldown_days=0, ratio=0.3, yearly_caps=CAPS)
    assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
    capped_preview = client.get("/api/v1/plans/Y-P/inclusion", headers=city)
    assert capped_preview.status_code == 200, capped_preview.text
    # the same plan without caps: the difference per stratum is its grade-A units drawn by Y-1
    body = plan_body(code="Y-Q", cooldown_days=0, ratio=0.3)
    assert client.post("/api/v1/plans", headers=city, json=body).status_code == 201
    plain = client.get("/api/v1/plans/Y-Q/inclusion", headers=city).json()
    capped = {s["key"]: s["eligible"] for s in capped_preview.json()["strata"]}
    uncapped = {s["key"]: s["eligible"] for s in plain["strata"]}
    second = _draw(
        client,
        city,
        published(client, city, code="Y-2", cooldown_days=0, ratio=0.3, yearly_caps=CAPS),
        "6-6-1-2-0-0",
    )
    rows = _frame(client, city, second)
    a_units = [t["uscc"] for t in first["tasks"] if rows[t["uscc"]]["grade"] == "A"]
    expected = dict(uncapped)
    for u in a_units:
        expected[rows[u]["stratum"]] -= 1
    assert capped == expected and capped != uncapped


def test_year_checks_from_a_withheld_draw_withhold_the_later_frame(client, city, db):
    from app.models import PlanFrame

    hidden = published(
        client, city, code="HIDDEN-A", publish_tasks="after_window", ratio=0.3, cooldown_days=0
    )
    withheld = _draw(client, city, hidden)
    # no cooldown: only the yearly counts carry the withheld selection into the later frame
    later = published(client, city, code="LATER-B", cooldown_days=0, yearly_caps=CAPS)
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanFrame, (later, 2))
        assert frame is not None and frame.depends_on == [withheld["id"]]
    plain = published(client, city, code="LATER-C", cooldown_days=0)
    # The stored dependency also counts the inspector frame's loads (the withheld teams' open
    # tasks, docs/rules.md#r7-8); the population frame alone depends on the withheld draw
    # only through the yearly counts:
    from app.models import Item
    from app.plans import frame as frames
    from app.plans.schemas import PlanIn

    with make_sessionmaker(db)() as s:
        for code, wanted in ((later, [withheld["id"]]), (plain, [])):
            spec = PlanIn.model_validate(
                client.get(f"/api/v1/plans/{code}", headers=city).json()["spec"]
            )
            items = list(
                s.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code))
            )
            assert frames.capture(s, spec, items, utcnow()).depends_on == wanted, code
