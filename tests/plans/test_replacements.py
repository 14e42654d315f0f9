"""The replacement step of a drawn team (docs/draw-spec-teams.md §14), attacked as an operator
with the database and the console would: a member who became unavailable after the draw is
replaced by the next valid candidate in the draw's own order, published and replayed by the
verifiers — a friendly replacement picked by hand (in the published file or the database) is
refused by them.
"""

import copy
import gzip
import json

from sqlalchemy import select, update

from app.db import make_sessionmaker
from app.draw.replacement import Replacements, replay_steps
from app.draw.team_frame import read_team_frame, recusal_token
from app.models import (
    Draw,
    DrawReplacement,
    Inspector,
    PlanTeamFrame,
    Task,
    TaskMember,
    VisitMember,
)
from tests.factories import uscc
from tests.plans.conftest import published
from tests.plans.test_team_frame import _check, _draw, _site


def _replace(client, sup, draw_id, **body):
    return client.post(f"/api/v1/draws/{draw_id}/replacements", headers=sup, json=body)


def _members(db, task_id):
    with make_sessionmaker(db)() as s:
        rows = s.scalars(
            select(TaskMember).where(TaskMember.task_id == task_id).order_by(TaskMember.position)
        )
        return [(m.badge, m.role) for m in rows]


def _republish(db, settings, draw_id):
    from app.publish.write import publish

    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    path = settings.publish_dir / "draws" / f"{draw_id}.replacements.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def test_a_replacement_is_the_next_valid_candidate_in_the_draws_order(client, city, db):
    code = published(client, city, code="REP-1")
    drawn = _draw(client, city, code).json()
    task = drawn["tasks"][0]
    leaver = task["team"][1]["badge"]
    r = _replace(client, city, drawn["id"], badge=leaver, reason="离职", task=task["id"])
    assert r.status_code == 201, r.text
    (step,) = r.json()["steps"]
    assert step["seq"] == 1 and step["badge"] == leaver and step["reason"] == "离职"
    # the rule, replayed on the published body alone, gives that very member
    expected = Replacements(drawn).step(task["id"], leaver, lambda b, u: b in step["recused"])
    assert step["replacement"] == expected["replacement"] is not None
    assert step["failure"] is None
    # the task's team (what its notice lists) now holds the new member in the old one's place
    team = _members(db, task["id"])
    assert team[1] == (step["replacement"], task["team"][1]["role"])
    assert leaver not in [b for b, _ in team]
    with make_sessionmaker(db)() as s:  # the visit's one team too (the notice reads it)
        visit = s.scalars(
            select(VisitMember)
            .where(VisitMember.visit_id == task["id"])
            .order_by(VisitMember.position)
        )
        assert [(m.badge, m.role) for m in visit] == team
    # the replaced member is unavailable for the draw's later replacements
    other = next(t for t in drawn["tasks"][1:] if t["team"][0]["badge"] != leaver)
    r = _replace(client, city, drawn["id"], badge=other["team"][0]["badge"], reason="病假")
    assert r.status_code == 201, r.text
    assert all(s["replacement"] != leaver for s in r.json()["steps"])
    listed = client.get(f"/api/v1/draws/{drawn['id']}/replacements", headers=city).json()
    assert [s["seq"] for s in listed["steps"]] == list(range(1, len(listed["steps"]) + 1))
    problems, _ = replay_steps(drawn, listed["steps"])
    assert problems == []


def test_a_replacement_refuses_what_it_may_not_touch(client, city, db):
    code = published(client, city, code="REP-2")
    drawn = _draw(client, city, code).json()
    task = drawn["tasks"][0]
    member = task["team"][0]["badge"]
    # no reason, or not in Chinese
    for reason in ("", "sick"):
        r = _replace(client, city, drawn["id"], badge=member, reason=reason, task=task["id"])
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    # a badge not on the team; a task of another draw
    r = _replace(client, city, drawn["id"], badge="nobody", reason="离职", task=task["id"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "badge"
    r = _replace(client, city, drawn["id"], badge=member, reason="离职", task="X-00001")
    assert r.status_code == 404
    # a task already carried out
    with make_sessionmaker(db)() as s:
        s.execute(update(Task).where(Task.id == task["id"]).values(status="inspected"))
        s.commit()
    r = _replace(client, city, drawn["id"], badge=member, reason="离职", task=task["id"])
    assert r.status_code == 409 and "已检查" in r.json()["detail"]
    # a draw superseded by a re-draw (as the adjustment marks it)
    with make_sessionmaker(db)() as s:
        s.execute(update(Draw).where(Draw.id == drawn["id"]).values(status="superseded"))
        s.commit()
    t2 = drawn["tasks"][1]
    r = _replace(
        client, city, drawn["id"], badge=t2["team"][0]["badge"], reason="离职", task=t2["id"]
    )
    assert r.status_code == 409 and "重新抽取取代" in r.json()["detail"], r.text
    assert (
        client.get(f"/api/v1/draws/{drawn['id']}/replacements", headers=city).json()["steps"] == []
    )


def test_no_valid_candidate_is_a_published_failed_step(client, city, db):
    """Replacing the same seat again and again uses up the pool (each replaced member is
    unavailable from then on): the step that finds nobody is recorded as failed, with the count
    of each constraint, and leaves the team as it was."""
    code = published(client, city, code="REP-3")
    drawn = _draw(client, city, code).json()
    task = drawn["tasks"][0]
    seat = task["team"][0]["badge"]
    failed = None
    for _ in range(30):
        r = _replace(client, city, drawn["id"], badge=seat, reason="病假", task=task["id"])
        assert r.status_code == 201, r.text
        step = r.json()["steps"][0]
        if step["failure"]:
            failed = step
            break
        seat = step["replacement"]
    assert failed is not None
    assert failed["replacement"] is None
    assert failed["failure"].startswith("无符合条件的替换人员：牵头部门执法人员候选 19 人")
    assert "已不可用" in failed["failure"] and "已在本检查组 1 人" in failed["failure"]
    assert _members(db, task["id"])[0][0] == seat  # the team is unchanged by a failed step
    listed = client.get(f"/api/v1/draws/{drawn['id']}/replacements", headers=city).json()
    assert replay_steps(drawn, listed["steps"])[0] == []
    # a replaced member cannot be asked for again: not on any open team any more
    r = _replace(client, city, drawn["id"], badge=task["team"][0]["badge"], reason="离职")
    assert r.status_code == 422


def test_replacements_are_published_and_verify(client, city, db, settings):
    draw, plan, files = _site(client, city, db, settings, code="REP-V")
    task = draw["tasks"][0]
    leaver = task["team"][0]["badge"]
    r = _replace(client, city, draw["id"], badge=leaver, reason="离职")
    assert r.status_code == 201, r.text
    doc = _republish(db, settings, draw["id"])
    assert doc is not None and doc["draw"] == draw["id"]
    from tests.publish.test_site import ROOT, _required_ok

    schema = json.loads((ROOT / "docs" / "schemas" / "replacements.schema.json").read_text())
    assert _required_ok(schema, doc)
    assert doc["steps"] == r.json()["steps"]
    report = _check(draw, plan, files, replacements=doc)
    assert (report.problems, report.not_checked) == ([], [])
    assert any("替换" in n for n in report.notes)
    # each step is an event of the public log, proven beside the draw's other leaves
    from app.models import LogLeaf

    with make_sessionmaker(db)() as s:
        refs = list(s.scalars(select(LogLeaf.ref).where(LogLeaf.kind == "replacement")))
    assert refs == [f"{draw['id']}/{n}" for n in range(1, len(doc["steps"]) + 1)]
    proofs = settings.publish_dir / "log" / "proofs" / "draws" / f"{draw['id']}.json"
    assert '"replacement"' in proofs.read_text("utf-8")
    # the public draw page shows them
    page = (settings.publish_dir / "draws" / f"{draw['id']}.html").read_text("utf-8")
    assert "检查组成员替换" in page and leaver in page
    # … and the Atom feed announces each step, its time with an offset (Atom requires one)
    import xml.etree.ElementTree as ET
    from datetime import datetime

    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring((settings.publish_dir / "feed.atom").read_bytes())
    step = next(
        e
        for e in feed.iter(f"{atom}entry")
        if e.findtext(f"{atom}id") == f"urn:spotcheck:draw:{draw['id']}:replacement:1"
    )
    assert leaver in (step.findtext(f"{atom}summary") or "")
    assert datetime.fromisoformat(step.findtext(f"{atom}updated") or "").tzinfo is not None


def test_a_friendly_replacement_by_hand_fails_verification(client, city, db, settings):
    """The attack: the operator picks the replacement by hand — editing the published file, or
    the database row the site is built from. The verifiers replay the rule and refuse it."""
    draw, plan, files = _site(client, city, db, settings, code="REP-A")
    task = draw["tasks"][0]
    leaver = task["team"][0]["badge"]
    r = _replace(client, city, draw["id"], badge=leaver, reason="离职", task=task["id"])
    step = r.json()["steps"][0]
    doc = _republish(db, settings, draw["id"])
    st = Replacements(draw)
    friend = next(
        b
        for b in st.rotation(st.pool_of(leaver) or "L")
        if b not in (leaver, step["replacement"]) and b not in [m["badge"] for m in task["team"]]
    )
    # 1. the published file edited
    forged = copy.deepcopy(doc)
    forged["steps"][0]["replacement"] = friend
    report = _check(draw, plan, files, replacements=forged)
    assert report.exit_code == 1
    assert "replacement is not the rule's" in " ".join(report.problems)
    # 2. the database edited, the site rebuilt from it
    with make_sessionmaker(db)() as s:
        s.execute(
            update(DrawReplacement)
            .where(DrawReplacement.draw_id == draw["id"])
            .values(replacement=friend)
        )
        s.commit()
    rebuilt = _republish(db, settings, draw["id"])
    assert rebuilt["steps"][0]["replacement"] == friend
    assert _check(draw, plan, files, replacements=rebuilt).exit_code == 1
    # 3. a recusal invented to skip the rule's candidate: no committed token opens it
    forged = copy.deepcopy(doc)
    s0 = forged["steps"][0]
    if s0["replacement"] is not None:
        s0["recused"] = sorted([*s0["recused"], s0["replacement"]])
        s0["recusal_openings"] = sorted(
            [
                *s0["recusal_openings"],
                {"badge": s0["replacement"], "uscc": s0["uscc"], "salt": "0" * 64},
            ],
            key=lambda o: o["badge"],
        )
        later = Replacements(draw).step(task["id"], leaver, lambda b, u: b in s0["recused"])
        s0["replacement"] = later["replacement"]
        s0["failure"] = later["failure"]
        problems = " ".join(_check(draw, plan, files, replacements=forged).problems)
        assert "recusal not committed" in problems
    # 4. a step claimed for a draw it is not of; 5. a step dropped (seq gap)
    forged = copy.deepcopy(doc)
    forged["draw"] = "OTHER"
    assert _check(draw, plan, files, replacements=forged).exit_code == 1
    forged = copy.deepcopy(doc)
    forged["steps"][0]["seq"] = 2
    assert _check(draw, plan, files, replacements=forged).exit_code == 1


def test_the_draws_order_skips_recused_candidates_and_opens_them(client, city, db):
    """A candidate who would be taken but has a declared recusal with the target is skipped,
    named in the step and opened against the frozen frame's token."""
    with make_sessionmaker(db)() as s:
        for i in s.scalars(select(Inspector)):
            i.conflicts = [uscc(k) for k in range(1, 81)]  # everybody recused from everything
        s.commit()
    code = published(client, city, code="REP-R")
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanTeamFrame, (code, 2))
        assert frame is not None
        truth, frame.recusals = frame.recusals, []  # the draw itself sees none …
        s.commit()
    drawn = _draw(client, city, code).json()
    with make_sessionmaker(db)() as s:
        frame = s.get(PlanTeamFrame, (code, 2))
        assert frame is not None
        frame.recusals = truth  # … the replacement every one (all committed as tokens)
        rows = {r.badge: r for r in read_team_frame(gzip.decompress(frame.lines_gz))}
        s.commit()
    task = drawn["tasks"][0]
    r = _replace(client, city, drawn["id"], badge=task["team"][0]["badge"], reason="病假")
    assert r.status_code == 201, r.text
    step = r.json()["steps"][0]
    assert step["replacement"] is None and step["recused"]
    assert "回避" in step["failure"]
    assert [o["badge"] for o in step["recusal_openings"]] == step["recused"]
    for o in step["recusal_openings"]:
        assert recusal_token(o["salt"], o["badge"], o["uscc"]) in rows[o["badge"]].tokens
    assert replay_steps(drawn, [step])[0] == []


def test_item_edits_after_publication_do_not_change_the_teams(client, city, db, settings):
    """Items are frozen with the version (docs/draw-spec-teams.md §12.10): an item's expertise
    (or kinds) edited after the publication changes neither the draw's items nor its teams, and
    the plan file publishes the frozen items the verifiers hold the draw to."""
    from app.models import Item
    from tests.plans.test_team_frame import _dry_run, _teams

    code = published(client, city, code="ITEMS-1")
    seen = _dry_run(client, city, db, code)
    with make_sessionmaker(db)() as s:
        for item in s.scalars(select(Item)):
            item.expertise = ["信息"]  # nobody has it: a live read would fail every team
            item.target_kinds = ["医保经办机构"]
        s.commit()
    d = _draw(client, city, code)
    assert d.status_code == 201, d.text
    drawn = d.json()
    assert _teams(drawn) == _teams(seen)
    assert drawn["params"]["items"] == seen["params"]["items"]
    assert [t["required_expertise"] for t in drawn["tasks"]] == [
        t["required_expertise"] for t in seen["tasks"]
    ]
    from app.publish.write import publish

    with make_sessionmaker(db)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    site = settings.publish_dir
    plan = json.loads((site / "plans" / f"{code}.json").read_text("utf-8"))
    frozen = plan["versions"][-1]["frozen_items"]
    assert {i["code"]: i["expertise"] for i in frozen} == {"YB-01": ["医学"], "YB-02": ["药学"]}
    draw = json.loads((site / "draws" / f"{drawn['id']}.json").read_text("utf-8"))
    files = {
        "population": (site / "draws" / f"{drawn['id']}.population.csv").read_bytes(),
        "team_frame": (site / "draws" / f"{drawn['id']}.inspectors.csv").read_bytes(),
        "csv": (site / "draws" / f"{drawn['id']}.tasks.csv").read_bytes(),
        "xlsx": (site / "draws" / f"{drawn['id']}.tasks.xlsx").read_bytes(),
    }
    report = _check(draw, plan, files)
    assert (report.problems, report.not_checked) == ([], [])
    # a draw made with the live (edited) expertise would not match the frozen items
    forged = copy.deepcopy(draw)
    forged["tasks"][0]["required_expertise"] = ["信息"]
    assert "required expertise not the frozen items'" in " ".join(
        _check(forged, plan, files).problems
    )
    forged = copy.deepcopy(draw)
    forged["params"]["items"][0]["target_kinds"] = ["医保经办机构"]
    assert "items differ from the frozen items" in " ".join(_check(forged, plan, files).problems)
    other = copy.deepcopy(plan)
    other["versions"][-1]["frozen_items"] = [{"code": "YB-01"}]
    assert "malformed frozen items" in " ".join(_check(draw, other, files).problems)
