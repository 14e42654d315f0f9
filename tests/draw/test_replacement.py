"""The replacement step (docs/draw-spec-teams.md §14): the test vector, and each forgery of a
published replacements file refused by the stdlib verifier (docs/verify_draw.py
`check_replacements`, which `spotcheck verify` runs too). tests/draw/mutate_verifier.py runs
this file: every check of check_replacements is switched off in turn and some test here fails.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

from app.draw.replacement import Replacements, replay_steps
from tests.draw.draw_helpers import load_verifier
from tests.draw.team_frame_helpers import replacement_doc, with_teams


@functools.cache
def _honest() -> tuple[dict[str, Any], dict[str, Any], bytes, bytes, dict[str, Any]]:
    from tests.draw.test_draw_v3 import v3_body

    body, plan, population, frame = with_teams(v3_body)
    return body, plan, population, frame, replacement_doc(body, population, exhaust=True)


def _check(doc: Any, *, frame: bool = True, draw: dict[str, Any] | None = None) -> Any:
    from tests.draw.test_draw_v3 import task_lists

    body, plan, population, team_frame, _ = copy.deepcopy(_honest())
    body = draw if draw is not None else body
    v = load_verifier()
    return v.check(
        body,
        v.parse_population(population),
        plan=plan,
        task_lists=task_lists(body),
        team_frame=team_frame if frame else None,
        replacements=doc,
    )


# The §14 test vector: the leader of each task of the golden /3 draw with teams
# (tests/draw/team_frame_helpers.py) replaced in turn, then the first task's seat until no one is
# left. Pinned here and in docs/draw-spec-teams.md §14.4.
VECTOR = [
    ("37013", "37009", ["37010"], None),
    ("37005", "37007", [], None),
    ("37015", "37007", [], None),
    ("37004", "37012", [], None),
    ("37007", "37001", [], None),
    ("37014", "37001", [], None),
    ("37009", "37012", ["37006"], None),
    ("37012", "37003", [], None),
    ("37003", "37016", [], None),
    (
        "37016",
        None,
        ["37006", "37010"],
        "无符合条件的替换人员：牵头部门执法人员候选 16 人（已不可用 9 人，已在本检查组 1 人，"
        "交叉互查 2 人，任务上限 2 人，回避 2 人）",
    ),
]


def test_spec_vector() -> None:
    doc = _honest()[4]
    got = [(s["badge"], s["replacement"], s["recused"], s["failure"]) for s in doc["steps"]]
    assert got == VECTOR


def test_honest_replacements_verify() -> None:
    doc = _honest()[4]
    report = _check(copy.deepcopy(doc))
    assert (report.problems, report.not_checked) == ([], [])
    assert any("replacements re-derived" in n for n in report.notes)
    assert replay_steps(_honest()[0], doc["steps"])[0] == []
    # without the frame file, the skipped recusals cannot be checked: incomplete, not valid
    report = _check(copy.deepcopy(doc), frame=False)
    assert any("replacement recusals not checked" in n for n in report.not_checked)
    assert report.exit_code == 3


def _step(n: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["steps"][n].update(fields)


def _friendly(doc: dict[str, Any]) -> None:
    """The operator's friend instead of the rule's candidate."""
    s = doc["steps"][1]
    s["replacement"] = "37011" if s["replacement"] != "37011" else "37002"


def _invented_recusal(doc: dict[str, Any]) -> None:
    """A recusal claimed for the rule's candidate to reach the next one: no token opens it."""
    body = _honest()[0]
    s = doc["steps"][0]
    st = Replacements(body)
    s["recused"] = sorted([*s["recused"], s["replacement"]])
    s["recusal_openings"] = sorted(
        [*s["recusal_openings"], {"badge": s["replacement"], "uscc": s["uscc"], "salt": "1" * 64}],
        key=lambda o: o["badge"],
    )
    got = st.step(s["task"], s["badge"], lambda b, u: b in s["recused"])
    s["replacement"], s["failure"] = got["replacement"], got["failure"]
    doc["steps"] = doc["steps"][:1]


FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "friendly replacement": (_friendly, "replacement is not the rule's"),
    "recusal skip dropped": (
        _step(0, recused=[], recusal_openings=[]),
        "replacement is not the rule's",
    ),
    "recusal invented": (_invented_recusal, "recusal not committed"),
    "opening dropped": (_step(0, recusal_openings=[]), "recusal not opened"),
    "failure text changed": (
        _step(9, failure="无符合条件的替换人员"),
        "replacement is not the rule's",
    ),
    "role changed": (_step(0, role="专家"), "replacement is not the rule's"),
    "seq gap": (_step(2, seq=4), "step malformed"),
    "field missing": (lambda d: d["steps"][0].pop("at"), "step malformed"),
    "reason not Chinese": (_step(0, reason="left"), "reason missing"),
    "recused unsorted": (_step(9, recused=["37010", "37006"]), "排序且不重复"),
    "unknown task": (_step(0, task="X-00001"), "不在本次抽取的组队任务中"),
    "badge not on the team": (_step(0, badge="37999"), "的检查组中"),
    "another draw's file": (lambda d: d.update(draw="OTHER"), "replacements file malformed"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_each_forgery_is_refused(name: str) -> None:
    tamper, wanted = FORGERIES[name]
    doc = copy.deepcopy(_honest()[4])
    tamper(doc)
    report = _check(doc)
    assert report.exit_code == 1, name
    assert any(wanted in p for p in report.problems), report.problems


def test_a_spare_opening_is_refused() -> None:
    doc = copy.deepcopy(_honest()[4])
    s = doc["steps"][1]
    s["recusal_openings"] = [{"badge": "37999", "uscc": s["uscc"], "salt": "0" * 64}]
    report = _check(doc)
    assert any("opening not used" in p for p in report.problems), report.problems


def test_replacements_of_a_draw_without_a_frozen_frame_are_refused() -> None:
    body = copy.deepcopy(_honest()[0])
    doc = copy.deepcopy(_honest()[4])
    body.pop("team_frame_file")
    report = _check(doc, draw=body)
    assert any("no replacements here" in p for p in report.problems), report.problems


def test_the_cli_reads_the_file_beside_the_draw(tmp_path) -> None:
    """`docs/verify_draw.py DRAW.json` finds {id}.replacements.json beside it."""
    from tests.draw.test_draw_v3 import task_lists

    body, plan, population, frame, doc = copy.deepcopy(_honest())
    d = tmp_path
    (d / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False), "utf-8")
    (d / f"{body['plan']}.json").write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    (d / f"{body['id']}.population.csv").write_bytes(population)
    (d / f"{body['id']}.inspectors.csv").write_bytes(frame)
    for kind, data in task_lists(body).items():
        (d / f"{body['id']}.tasks.{kind}").write_bytes(data)
    v = load_verifier()
    path = d / f"{body['id']}.replacements.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    assert v.main(["verify_draw.py", str(d / f"{body['id']}.json")]) in (0, 3)
    _friendly(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    assert v.main(["verify_draw.py", str(d / f"{body['id']}.json")]) == 1
    path.write_text("{not json", "utf-8")
    assert v.main(["verify_draw.py", str(d / f"{body['id']}.json")]) == 1


# --- items frozen with the plan version (docs/draw-spec-teams.md §12.10) ----------------------

FROZEN_ITEMS = [
    {"code": "YB-01", "target_kinds": [], "expertise": ["医学"]},
    {"code": "YB-02", "target_kinds": ["定点零售药店"], "expertise": []},
]


def _frozen_plan(plan: dict[str, Any]) -> dict[str, Any]:
    plan = copy.deepcopy(plan)
    plan["versions"][0]["frozen_items"] = copy.deepcopy(FROZEN_ITEMS)
    return plan


def test_the_draw_is_held_to_the_frozen_items() -> None:
    body, plan, _population, _frame, _ = copy.deepcopy(_honest())
    v = load_verifier()
    assert v.verify_plan(body, _frozen_plan(plan)) == []
    # a task's required expertise from the registry edited after the publication
    forged = copy.deepcopy(body)
    forged["tasks"][0]["required_expertise"] = ["信息"]
    assert any(
        "required expertise not the frozen items'" in p
        for p in v.verify_plan(forged, _frozen_plan(plan))
    )
    # an item's kinds edited after the publication
    forged = copy.deepcopy(body)
    forged["params"]["items"][1]["target_kinds"] = []
    assert any(
        "items differ from the frozen items" in p for p in v.verify_plan(forged, _frozen_plan(plan))
    )
    bad = _frozen_plan(plan)
    bad["versions"][0]["frozen_items"] = [{"code": "YB-01"}]
    assert any("malformed frozen items" in p for p in v.verify_plan(body, bad))
    # a version frozen before §12.10 (no frozen_items) verifies as it always did
    assert v.verify_plan(body, plan) == []


def test_a_failed_attempt_is_held_to_the_frozen_items() -> None:
    from tests.draw.team_frame_helpers import as_failed

    body, plan, population, frame, _ = copy.deepcopy(_honest())
    failed = as_failed(body, frame, population)
    v = load_verifier()
    assert v.verify_plan(failed, _frozen_plan(plan)) == []
    failed["failed_teams"]["item_expertise"]["YB-02"] = ["药学"]
    assert any("item expertise differs" in p for p in v.verify_plan(failed, _frozen_plan(plan)))


def test_quota_taken_by_a_visit_extension_is_not_the_replacements() -> None:
    """§13.3: members a draw added to joined visits took quota; a replacement (as the team
    draw) has the rest — in the rule and in the stdlib replay alike."""
    body = copy.deepcopy(_honest()[0])
    rows = body["inspector_pool"]["rows"]
    capped = next(r for r in rows if r[5] is not None)
    badge, limit = capped[0], min(capped[5], body["team_params"]["max_tasks_per_inspector"])
    before = Replacements(body).info[badge]["cap"]
    body["tasks"].append(
        {
            "id": "X-00001",
            "uscc": "9" * 18,
            "region": "370101",
            "joins": {"draw": "OTHER-D1", "task": "OTHER-D1-00001", "plan": "OTHER"},
            "team": [],
            "visit_added": [{"badge": badge, "role": "组员"}],
        }
    )
    after = Replacements(body).info[badge]["cap"]
    assert before == limit == 6 and after == limit - 1
    v = load_verifier()
    assert v._Replacements(body).info[badge]["cap"] == after
