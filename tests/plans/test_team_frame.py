"""The frozen inspector frame (spotcheck-draw/3, docs/draw-spec-teams.md §12), attacked as an
operator with the server key, a database copy and the console would: every registry edit made
after the publication — 停用, 任务上限, 专长 — leaves the draw's teams as they were, so a
dry-run followed by one PATCH no longer steers a team, and a failure cannot be forced by quotas.

Clock: time-machine travels to the announced dice ceremony; nothing sleeps.
"""

import gzip
import hashlib
import json
from datetime import date

from sqlalchemy import select

from app.db import make_sessionmaker
from app.draw.team_frame import read_team_frame, recusal_token
from app.models import DrawPopulation, Inspector, PlanTeamFrame
from app.plans import disclosure
from app.plans.drawing import perform_draw
from app.plans.schemas import DrawIn
from tests.entropy import at_entropy, post_draw
from tests.factories import uscc
from tests.plans.conftest import published

ENTROPY = "3-1-4-1-5-9"


def _draw(client, sup, code, entropy=ENTROPY):
    return post_draw(client, f"/api/v1/plans/{code}/draw", headers=sup, json={"entropy": entropy})


def _dry_run(client, sup, db, code):
    """What the operator with a database copy and the key sees before drawing: the draw made
    in a transaction that is rolled back."""
    spec = client.get(f"/api/v1/plans/{code}", headers=sup).json()["spec"]
    with at_entropy(spec), make_sessionmaker(db)() as s:
        outcome = perform_draw(s, code=code, body=DrawIn(entropy=ENTROPY), actor="dry-run")
        body = dict(outcome.draw.body)
        s.rollback()
    return body


def _teams(body):
    return {t["uscc"]: t["team"] for t in body["tasks"]}


def test_registry_edits_after_publication_do_not_change_the_teams(client, city, db):
    code = published(client, city)
    version = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"][-1]
    assert version["team_frame_sha256"]
    seen = _dry_run(client, city, db, code)
    # The attack: take a drawn member off duty, change the others' quota and expertise.
    victim = seen["tasks"][0]["team"][0]["badge"]
    r = client.patch(f"/api/v1/inspectors/{victim}", headers=city, json={"status": "停用"})
    assert r.status_code == 200, r.text
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector).where(Inspector.badge != victim)):
            i.max_tasks, i.expertise = 1, ["财务"]
        s.commit()
    d = _draw(client, city, code)
    assert d.status_code == 201, d.text
    drawn = d.json()
    assert _teams(drawn) == _teams(seen)
    assert drawn["inspector_pool"] == seen["inspector_pool"]
    assert drawn["team_params"]["algorithm"] == "spotcheck-draw/3 teams"
    assert drawn["seed_inputs"]["team_frame_sha256"] == version["team_frame_sha256"]
    assert drawn["team_frame_file"] == f"{drawn['id']}.inspectors.csv"
    with make_sessionmaker(db)() as s:
        stored = s.get(DrawPopulation, drawn["id"])
        assert stored is not None and stored.team_frame_gz is not None
        data = gzip.decompress(stored.team_frame_gz)
    assert hashlib.sha256(data).hexdigest() == version["team_frame_sha256"]
    rows = {r.badge: r for r in read_team_frame(data)}
    assert rows[victim].status == "在岗" and rows[victim].max_tasks is None


def test_quotas_cut_after_publication_cannot_force_a_failure(client, city, db):
    """Re-roll by forced failure: after previewing, 任务上限 0 on everybody would make the draw
    fail (and take a new dice source at the adjustment). The frozen frame still has them."""
    code = published(client, city)
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector)):
            i.max_tasks = 0
        s.commit()
    d = _draw(client, city, code)
    assert d.status_code == 201, d.text
    assert d.json()["status"] == "current" and d.json()["tasks"]


def test_recusals_are_frozen_as_tokens_and_opened_only_where_they_decided(client, city, db):
    """Each declared recusal with a target of the frame is a keyed token in the public file (no
    USCC); a recusal that changed a step is opened in the draw, and its opening matches a token
    of that inspector's row — a recusal added after the seed is known has no token."""
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector)):
            i.conflicts = [uscc(k) for k in range(1, 81)]  # every target: nobody can go
        first = s.scalars(select(Inspector).order_by(Inspector.badge)).first()
        assert first is not None
        s.commit()
    # everyone recused from everything: only declared, so publish and check tokens first
    code = published(client, city, code="REC-1")
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanTeamFrame, (code, 2))
        assert frame is not None and len(frame.recusals) == 24 * 80
        data = gzip.decompress(frame.lines_gz)
    assert uscc(1).encode() not in data
    assert all(len(r.tokens) == 80 for r in read_team_frame(data))
    # now only one conflict each: the draw opens exactly the pairs it published as `recused`
    with make_sessionmaker(db)() as s:
        for n, i in enumerate(s.scalars(select(Inspector).order_by(Inspector.badge))):
            i.conflicts = [uscc(k) for k in range(1, 81) if k % 24 == n]
        s.commit()
    code = published(client, city, code="REC-2")
    drawn = _draw(client, city, code).json()
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanTeamFrame, (code, 2))
        assert frame is not None
        rows = {r.badge: r for r in read_team_frame(gzip.decompress(frame.lines_gz))}
    recused = sorted((b, t["uscc"]) for t in drawn["tasks"] for b in t.get("recused", []))
    opened = sorted((o["badge"], o["uscc"]) for o in drawn["recusal_openings"])
    assert opened == recused
    for o in drawn["recusal_openings"]:
        assert recusal_token(o["salt"], o["badge"], o["uscc"]) in rows[o["badge"]].tokens


def test_a_withheld_draw_leaks_nothing_through_later_inspector_loads(client, city, db):
    """With generous quotas, the next public draw's quotas minus its own memberships gave the
    withheld draw's memberships exactly. The later frame counts those loads, so it depends on
    the withheld draw: its draw is withheld until that one is public (one rule,
    app/plans/disclosure.py `frame_dependencies`)."""
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector)):
            i.max_tasks = 100
        s.commit()
    # cooldown 0 and another item: the later frame takes nothing from the withheld one but loads
    hidden = published(client, city, code="HIDDEN-L", publish_tasks="after_window", cooldown_days=0)
    withheld = _draw(client, city, hidden).json()
    later = published(
        client,
        city,
        code="LATER-L",
        publish_tasks="on_draw",
        cooldown_days=0,
        window={"start": "2027-02-01", "end": "2027-02-28"},
    )
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanTeamFrame, (later, 2))
        assert frame is not None
        loads = {r.badge: r.open_tasks for r in read_team_frame(gzip.decompress(frame.lines_gz))}
    assert sum(loads.values()) == sum(len(t["team"]) for t in withheld["tasks"])
    drawn = _draw(client, city, later).json()
    assert "joins" not in json.dumps(drawn)
    with make_sessionmaker(db)() as s:
        public, since = disclosure.draw_disclosure(s, date(2026, 12, 15))[drawn["id"]]
    assert (public, since) == (False, "2027-01-01")


# --- the verifiers: the frame file binds the pool and the recusals -----------------------------


def _site(client, city, db, settings, code="VER-1", conflicts=True):
    """A /3 draw with recusals that changed steps, published; returns (draw, plan, files)."""
    from app.publish.write import publish

    if conflicts:
        with make_sessionmaker(db)() as s:
            for n, i in enumerate(s.scalars(select(Inspector).order_by(Inspector.badge))):
                i.conflicts = [uscc(k) for k in range(1, 81) if k % 3 == n % 3]
            s.commit()
    # the plan's secret is fresh each time: draw until some recusal changed a step (1 in ~10
    # draws has none with these conflicts)
    base = code
    for attempt in range(8):
        code = published(client, city, code=f"{base}-{attempt}")
        drawn = _draw(client, city, code).json()
        if not conflicts or drawn["recusal_openings"]:
            break
    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    site = settings.publish_dir
    draw = json.loads((site / "draws" / f"{drawn['id']}.json").read_text("utf-8"))
    plan = json.loads((site / "plans" / f"{code}.json").read_text("utf-8"))
    files = {
        "population": (site / "draws" / f"{drawn['id']}.population.csv").read_bytes(),
        "team_frame": (site / "draws" / f"{drawn['id']}.inspectors.csv").read_bytes(),
        "csv": (site / "draws" / f"{drawn['id']}.tasks.csv").read_bytes(),
        "xlsx": (site / "draws" / f"{drawn['id']}.tasks.xlsx").read_bytes(),
    }
    return draw, plan, files


def _check(draw, plan, files, **over):
    from tests.draw.draw_helpers import load_verifier

    verifier = load_verifier()
    kw = {
        "plan": plan,
        "task_lists": {"csv": files["csv"], "xlsx": files["xlsx"]},
        "team_frame": files["team_frame"],
    }
    kw.update(over)
    return verifier.check(draw, verifier.parse_population(files["population"]), **kw)


def test_a_published_v3_draw_verifies_with_its_inspector_frame(client, city, db, settings):
    draw, plan, files = _site(client, city, db, settings)
    assert draw["recusal_openings"], "the city's conflicts changed some steps"
    report = _check(draw, plan, files)
    assert (report.problems, report.not_checked) == ([], [])
    report = _check(draw, plan, files, team_frame=None)
    assert report.exit_code == 3 and "inspectors.csv" in report.not_checked[0]


def test_the_verifier_refuses_a_pool_or_recusal_not_from_the_frozen_frame(
    client, city, db, settings
):
    import copy

    draw, plan, files = _site(client, city, db, settings)
    frame = files["team_frame"]

    def problems(d=draw, p=plan, **over):
        return " ".join(_check(d, p, files, **over).problems)

    # a frame file other than the one hashed into the seed and published with the version
    assert "team frame differs" in problems(team_frame=frame.replace(b"\n", b"\n", 1) + b"\n")
    # the pool published in the draw is not the frame's (a quota raised)
    forged = copy.deepcopy(draw)
    forged["inspector_pool"]["rows"][0][5] = 7
    assert "inspector pool is not the frozen frame's" in problems(forged)
    # a recusal opened that is no token of that inspector's row (invented after the seed)
    forged = copy.deepcopy(draw)
    forged["recusal_openings"][0]["salt"] = "0" * 64
    assert "recusal not committed" in problems(forged)
    # a recusal used but not opened
    forged = copy.deepcopy(draw)
    forged["recusal_openings"] = forged["recusal_openings"][1:]
    assert "recusal not opened" in problems(forged)
    # an opening nothing used
    forged = copy.deepcopy(draw)
    spare = dict(forged["recusal_openings"][0], uscc=uscc(79))
    forged["recusal_openings"] = sorted(
        [*forged["recusal_openings"], spare], key=lambda o: (o["uscc"], o["badge"])
    )
    assert "opening not used" in problems(forged)
    # the plan version announced another inspector frame
    other = copy.deepcopy(plan)
    for v in other["versions"]:
        v["team_frame_sha256"] = "0" * 64
    assert "team_frame_sha256" in problems(p=other)
    # openings out of order, or not {badge, uscc, salt}
    forged = copy.deepcopy(draw)
    forged["recusal_openings"] = forged["recusal_openings"][::-1]
    if len(forged["recusal_openings"]) > 1:
        assert "未按" in problems(forged)
    forged["recusal_openings"] = [{"badge": "x"}]
    assert "malformed openings" in problems(forged)


def test_a_non_canonical_frame_re_seeded_consistently_is_refused(client, city, db, settings):
    """The secret is public after the draw: a forger can re-derive the seed for any frame. A
    frame written otherwise than canonically (here: a row out of order) is refused, besides
    not being the plan version's."""
    import copy

    from app.draw import SEED_INPUTS_V3, derive_seed_v3

    draw, plan, files = _site(client, city, db, settings, conflicts=False)
    lines = files["team_frame"].decode().splitlines(keepends=True)
    forged_frame = "".join([lines[0], lines[2], lines[1], *lines[3:]]).encode()
    forged = copy.deepcopy(draw)
    inputs = forged["seed_inputs"]
    inputs["team_frame_sha256"] = hashlib.sha256(forged_frame).hexdigest()
    forged["seed"] = derive_seed_v3(
        secret=inputs["secret"], inputs={k: inputs[k] for k in SEED_INPUTS_V3}
    )
    got = " ".join(_check(forged, plan, files, team_frame=forged_frame).problems)
    assert "team_frame_sha256" in got
    got = " ".join(_check(forged, None, files, team_frame=forged_frame).problems)
    assert "bad team frame" in got


def test_a_withheld_plans_open_visits_are_not_listed_by_a_plan_public_earlier(client, city, db):
    """R4.4 (app/plans/visits.py `_lists_public_no_later`): an on_draw plan published before an
    unannounced plan was drawn (so its frozen frames took nothing from it) and drawn after it
    must not list — nor join — the unannounced plan's open visits: its draw is public at once
    and would publish the withheld tasks in `open_visits`."""
    early = published(client, city, code="EARLY-B", ratio=1.0, cooldown_days=0)
    hidden = published(
        client, city, code="HIDDEN-A", ratio=1.0, cooldown_days=0, publish_tasks="after_window"
    )
    withheld = _draw(client, city, hidden)
    assert withheld.status_code == 201, withheld.text
    drawn = _draw(client, city, early).json()
    assert {t["uscc"] for t in drawn["tasks"]} == {t["uscc"] for t in withheld.json()["tasks"]}
    assert drawn["open_visits"] == []
    assert not any("joins" in t or "visit_note" in t for t in drawn["tasks"])
    with make_sessionmaker(db)() as s:
        public, _since = disclosure.draw_disclosure(s, date(2026, 12, 15))[drawn["id"]]
    assert public


# --- a re-draw is the original frame plus the listed changes --------------------------------------


def test_back_dated_grades_pushed_after_publication_do_not_enter_the_redraw(
    client, city, db, make_token
):
    """The attack: grades pushed after the publication, back-dated before it, then a reasoned
    re-draw. The first draw ignored them; the re-draw took them all (a fresh frame). Now the
    re-draw's frame is the original's: same file, same hash."""
    code = published(client, city, code="GR-1", risk_weights={"A": 1, "D": 4})
    first = _draw(client, city, code).json()
    credit = make_token("credit")
    grades = [{"uscc": uscc(k), "grade": "D", "as_of": "2020-01-01"} for k in range(1, 41)]
    assert client.put("/api/v1/credit/grades", headers=credit, json=grades).status_code == 200
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "抽取记录有误，重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    version = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"][-1]
    assert version["frame_sha256"] == first["seed_inputs"]["frame_sha256"]
    again = _draw(client, city, code, "2-7-1-8-2-8").json()
    assert again["population_sha256"] == first["population_sha256"]
    pop = client.get(f"/api/v1/draws/{again['id']}/population", headers=city).text
    grades_in = {line.split(",")[0]: line.split(",")[3] for line in pop.splitlines()[1:]}
    assert sum(g == "D" for g in grades_in.values()) < 10  # the city's own few D units


def test_a_redraw_takes_only_the_listed_inspector_changes(client, city, db):
    code = published(client, city, code="RI-1")
    first = _draw(client, city, code).json()
    gone = first["tasks"][0]["team"][0]["badge"]
    # after the publication: a registry edit that must not enter the re-draw
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector).where(Inspector.badge != gone)):
            i.max_tasks = 0
        s.commit()
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={
            "reason": "执法人员调离，重新抽取",
            "redraw": True,
            "frame_changes": {"remove_inspectors": [{"badge": gone, "reason": "已调离"}]},
        },
    )
    assert r.status_code == 201, r.text
    again = _draw(client, city, code, "2-7-1-8-2-8")
    assert again.status_code == 201, again.text  # the quotas cut after publication are not in it
    badges = {m["badge"] for t in again.json()["tasks"] for m in t["team"]}
    assert gone not in badges
    pool = {row[0] for row in again.json()["inspector_pool"]["rows"]}
    assert gone not in pool and len(pool) == len(first["inspector_pool"]["rows"]) - 1
    plan = client.get(f"/public/plans/{code}.json")
    if plan.status_code == 200:
        listed = plan.json()["versions"][-1]["frame_changes"]["remove_inspectors"]
        assert listed == [{"badge": gone, "reason": "已调离"}]


def test_a_redraw_cannot_reshape_the_frame_or_list_what_is_not_there(client, city):
    code = published(client, city, code="RS-1")
    _draw(client, city, code)
    url = f"/api/v1/plans/{code}/adjustments"
    r = client.post(
        url, headers=city, json={"reason": "扩大范围", "changes": {"ratio": 0.5}, "redraw": True}
    )
    assert r.status_code == 201, r.text  # the ratio is not part of the frame
    _draw(client, city, code, "2-7-1-8-2-8")
    r = client.post(
        url,
        headers=city,
        json={"reason": "改分层", "changes": {"strata": ["kind"]}, "redraw": True},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "changes.strata"
    r = client.post(
        url,
        headers=city,
        json={
            "reason": "移除",
            "redraw": True,
            "frame_changes": {"remove_targets": [{"uscc": "9" * 18, "reason": "不存在"}]},
        },
    )
    assert r.status_code == 422 and "不在原抽样框中" in r.text
    r = client.post(
        url,
        headers=city,
        json={
            "reason": "只列调整",
            "frame_changes": {"remove_inspectors": []},
            "changes": {"title": "x"},
        },
    )
    assert r.status_code == 422 and "redraw" in r.text


def test_a_redraw_frame_keeps_every_other_line_byte_for_byte():
    """`frame_without` removes the listed units' records only: a name with a line break (quoted)
    stays one record, and with nothing listed the file is the original, byte for byte."""
    from app.plans.frame import frame_without

    text = (
        "uscc,stratum,kind,grade,weight,cooling_items,region,name\n"
        'A1,s,k,A,1,,370101,"第一\n医院"\n'
        "B2,s,k,A,1,,370101,第二医院\n"
    )
    original = gzip.compress(text.encode())
    same, kept, missing = frame_without(original, set())
    assert gzip.decompress(same.lines_gz).decode() == text and kept == {"A1", "B2"}
    less, kept, missing = frame_without(original, {"B2", "C3"})
    assert gzip.decompress(less.lines_gz).decode() == text.rsplit("B2", 1)[0]
    assert (kept, missing, less.size) == ({"A1"}, {"C3"}, 1)
