"""The frozen inspector frame of spotcheck-draw/3 in the pure draw and the stdlib verifier
(docs/draw-spec-teams.md §12): the canonical file, the tokens and their openings, and each check
of docs/verify_draw.py refusing its forgery."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from app.draw import DrawInputError
from app.draw.team_frame import (
    FrameInspector,
    read_team_frame,
    recusal_salt,
    recusal_token,
    team_frame_bytes,
)
from tests.draw.draw_helpers import load_verifier
from tests.draw.team_frame_helpers import FRAME_KEY, with_teams
from tests.draw.test_draw_v3 import task_lists, v3_body

verifier = load_verifier()


def _teams3() -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    return with_teams(v3_body)


def _check(body, plan, population, frame, **kw):
    kw.setdefault("task_lists", task_lists(body))
    return verifier.check(
        body, verifier.parse_population(population), plan=plan, team_frame=frame, **kw
    )


def test_the_frame_file_is_canonical_guarded_and_reads_back() -> None:
    rows = [
        FrameInspector("B2", "=部门", "370102", "执法人员", frozenset({"药学", "医学"}), 3, 1),
        FrameInspector("B1", "某局,分局", "370101", "专家", frozenset(), None, 0, ("a" * 32,)),
    ]
    data = team_frame_bytes(rows)
    text = data.decode()
    assert text.splitlines()[1] == 'B1,"某局,分局",370101,专家,,在岗,,0,' + "a" * 32
    assert text.splitlines()[2] == "B2,'=部门,370102,执法人员,医学;药学,在岗,3,1,"
    assert read_team_frame(data) == sorted(rows, key=lambda r: r.badge)
    assert [r.quota for r in sorted(rows, key=lambda r: r.badge)] == [None, 2]
    for forged in (
        data.replace(b"'=", b"=", 1),  # the formula guard removed
        data.replace(b"\n", b"\r\n"),
        data.replace("医学;药学".encode(), "药学;医学".encode()),
        b"".join(data.splitlines(keepends=True)[i] for i in (0, 2, 1)),  # rows out of order
        data.replace(b",3,1,", b",3,x,"),
    ):
        with pytest.raises(DrawInputError):
            read_team_frame(forged)


def test_tokens_open_only_with_their_salt_and_reveal_no_pair() -> None:
    salt = recusal_salt(FRAME_KEY, "37001", "91370100MA0000001X")
    token = recusal_token(salt, "37001", "91370100MA0000001X")
    assert len(token) == 32 and token not in (
        recusal_token(salt, "37002", "91370100MA0000001X"),
        recusal_token(recusal_salt(b"\0" * 32, "37001", "91370100MA0000001X"), "37001", "x"),
    )
    # without the salt, hashing every (badge, uscc) pair finds nothing: the salt is 256 bits
    guess = hashlib.sha256(b"spotcheck-draw/3:recusal-token||37001|91370100MA0000001X").hexdigest()
    assert guess[:32] != token


def test_a_v3_draw_with_teams_verifies_from_its_files() -> None:
    body, plan, population, frame = _teams3()
    assert any(t["recused"] for t in body["tasks"]), "some recusal changed a step"
    report = _check(body, plan, population, frame)
    assert (report.problems, report.not_checked, report.exit_code) == ([], [], 0)
    report = _check(body, plan, population, None)
    assert report.exit_code == 3 and "team frame file missing" in report.not_checked[0]


def _reseeded(body: dict[str, Any], frame: bytes) -> dict[str, Any]:
    from app.draw import SEED_INPUTS_V3, derive_seed_v3

    forged = copy.deepcopy(body)
    inputs = forged["seed_inputs"]
    inputs["team_frame_sha256"] = hashlib.sha256(frame).hexdigest()
    forged["seed"] = derive_seed_v3(
        secret=inputs["secret"], inputs={k: inputs[k] for k in SEED_INPUTS_V3}
    )
    return forged


def _first_opening(d: dict[str, Any]) -> dict[str, Any]:
    return d["recusal_openings"][0]


FORGERIES = {
    "frame file not the seed's": (
        lambda b, f: (b, f + b"\n"),
        "team frame differs",
    ),
    "quota raised in the pool": (
        lambda b, f: (
            {
                **b,
                "inspector_pool": {
                    **b["inspector_pool"],
                    "rows": [
                        [*b["inspector_pool"]["rows"][0][:5], 99],
                        *b["inspector_pool"]["rows"][1:],
                    ],
                },
            },
            f,
        ),
        "inspector pool is not the frozen frame's",
    ),
    "salt forged": (
        lambda b, f: (
            {
                **b,
                "recusal_openings": [
                    {**_first_opening(b), "salt": "0" * 64},
                    *b["recusal_openings"][1:],
                ],
            },
            f,
        ),
        "recusal not committed",
    ),
    "opening dropped": (
        lambda b, f: ({**b, "recusal_openings": b["recusal_openings"][1:]}, f),
        "recusal not opened",
    ),
    "opening unused": (
        lambda b, f: (
            {
                **b,
                "recusal_openings": sorted(
                    [*b["recusal_openings"], {**_first_opening(b), "badge": "37023"}],
                    key=lambda o: (o["uscc"], o["badge"]),
                ),
            },
            f,
        ),
        "opening not used",
    ),
    "openings unsorted": (
        lambda b, f: ({**b, "recusal_openings": b["recusal_openings"][::-1]}, f),
        "未按",
    ),
    "openings malformed": (
        lambda b, f: ({**b, "recusal_openings": [{"badge": "37000"}]}, f),
        "malformed openings",
    ),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_each_team_frame_check_refuses_its_forgery(name: str) -> None:
    body, plan, population, frame = _teams3()
    if name == "openings unsorted":
        assert len(body["recusal_openings"]) > 1
    tamper, needle = FORGERIES[name]
    forged, forged_frame = tamper(copy.deepcopy(body), frame)
    problems = _check(forged, plan, population, forged_frame).problems
    assert any(needle in p for p in problems), problems


def test_another_frame_announced_with_the_plan_version_is_refused() -> None:
    body, plan, population, frame = _teams3()
    other = copy.deepcopy(plan)
    other["versions"][0]["team_frame_sha256"] = "0" * 64
    problems = _check(body, other, population, frame).problems
    assert any("team_frame_sha256" in p for p in problems), problems


def test_a_non_canonical_frame_re_seeded_is_refused_without_the_plan() -> None:
    body, _plan, population, frame = _teams3()
    lines = frame.splitlines(keepends=True)
    forged_frame = b"".join([lines[0], lines[2], lines[1], *lines[3:]])
    forged = _reseeded(body, forged_frame)
    problems = _check(forged, None, population, forged_frame).problems
    assert any("bad team frame" in p for p in problems), problems


def test_team_frame_hash_not_hex_is_refused() -> None:
    body, plan, population, frame = _teams3()
    forged = copy.deepcopy(body)
    forged["seed_inputs"]["team_frame_sha256"] = "x" * 64
    problems = _check(forged, plan, population, frame).problems
    assert any("team frame not 64 hex" in p for p in problems), problems


def test_v3_teams_under_another_label_are_refused() -> None:
    body, plan, population, frame = _teams3()
    forged = copy.deepcopy(body)
    forged["team_params"]["algorithm"] = "spotcheck-draw/2 teams"
    problems = _check(forged, plan, population, frame).problems
    assert any("不支持的组队算法" in p for p in problems), problems


# --- a failed attempt re-derives (spec §12.6) -------------------------------------------------


def _failed(params: Any) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    from tests.draw.team_frame_helpers import as_failed

    body, plan, population, frame = _teams3()
    return as_failed(body, frame, population, params), plan, population, frame


CITY_LEVEL = {"region_level": 4}  # every inspector and target is in 3701: nobody may go


def test_a_genuine_failed_attempt_verifies_as_such() -> None:
    from dataclasses import replace

    from tests.draw.team_frame_helpers import PARAMS

    record, plan, population, frame = _failed(replace(PARAMS, **CITY_LEVEL))
    report = verifier.check(
        record, verifier.parse_population(population), plan=plan, team_frame=frame
    )
    assert (report.problems, report.not_checked, report.exit_code) == ([], [], 0)
    assert any("failure re-derived" in n for n in report.notes)


def test_a_failure_claimed_where_teams_exist_is_refused() -> None:
    """Re-roll by a failure made by hand: the record says no team could be formed, but the
    published pool and recusals admit one."""
    from tests.draw.team_frame_helpers import PARAMS

    record, plan, population, frame = _failed(PARAMS)
    assert record["failed_teams"]["recused"] == {}
    problems = verifier.check(
        record, verifier.parse_population(population), plan=plan, team_frame=frame
    ).problems
    assert any("failure does not re-derive" in p for p in problems), problems


@pytest.mark.parametrize(
    ("tamper", "needle"),
    [
        (lambda ft: ft.pop("joined"), "malformed"),
        (lambda ft: ft.update(joined=["9" * 18]), "not a drawn target"),
        (lambda ft: ft["recused"].update({next(iter(ft["recused"])): ["37023"]}), "not opened"),
    ],
)
def test_a_failed_record_tampered_is_refused(tamper: Any, needle: str) -> None:
    from dataclasses import replace

    from tests.draw.team_frame_helpers import PARAMS

    record, plan, population, frame = _failed(replace(PARAMS, **CITY_LEVEL))
    if not record["failed_teams"]["recused"]:
        record["failed_teams"]["recused"] = {record["failed_teams"]["joined"] or "x": []}
    tamper(record["failed_teams"])
    problems = verifier.check(
        record, verifier.parse_population(population), plan=plan, team_frame=frame
    ).problems
    assert any(needle in p for p in problems), problems


def test_the_command_line_finds_the_inspector_frame_or_says_why_not(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of downloaded files: the inspector frame beside the draw is read; one that cannot
    be read is a reason (exit 1), one that is missing leaves the verification incomplete."""
    import json

    body, plan, population, frame = _teams3()
    folder = tmp_path / "下载"
    folder.mkdir()
    (folder / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False), "utf-8")
    (folder / f"{body['id']}.population.csv").write_bytes(population)
    (folder / f"{plan['code']}.json").write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    for kind, data in task_lists(body).items():
        (folder / f"{body['id']}.tasks.{kind}").write_bytes(data)
    path = folder / body["team_frame_file"]
    path.write_bytes(frame)
    assert verifier.main(["v", str(folder)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    path.unlink()
    path.mkdir()  # there, but not a readable file
    assert verifier.main(["v", str(folder)]) == 1
    assert "无法读取执法人员名录文件" in capsys.readouterr().out
    path.rmdir()
    assert verifier.main(["v", str(folder)]) == 3
    assert "team frame file missing" in capsys.readouterr().out
