"""spotcheck-draw/2, the pure side: seed vectors, the π floor, the frame file and its parser,
the pinned golden draw, and the verifier's outcomes (0 valid, 1 invalid, 3 incomplete)."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.draw import (
    ALGORITHM,
    ALGORITHM_V2,
    DrawInputError,
    PlanItem,
    Population,
    SamplingParams,
    SeedError,
    Unit,
    canonical_json,
    commitment_of,
    derive_seed_v2,
    draw_targets,
    population_file_chunks,
    population_lines,
    read_population_file,
)
from app.draw.beacon import QUICKNET, Beacon, round_time, verify_beacon
from app.draw.preview import inclusion_preview
from tests.draw.draw_helpers import (
    DICE,
    GOLDEN,
    ITEMS,
    SECRET_V2,
    SEED,
    beacon_of,
    drand_source,
    golden_v2,
    load_verifier,
    quicknet_round,
    units,
    units_v2,
    v2_body,
    verifier_path,
)

verifier = load_verifier()
FRAME = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # SHA-256 of b""
VECTOR = GOLDEN / "seed_vector_v2.json"


def _frame(population: list[Unit]) -> bytes:
    return b"".join(population_file_chunks(population, ITEMS, algorithm=ALGORITHM_V2))


# --- seed -----------------------------------------------------------------------------------


def test_seed_vectors_v2() -> None:
    vector = json.loads(VECTOR.read_text(encoding="utf-8"))
    commitment = commitment_of(vector["secret"], ALGORITHM_V2)
    assert commitment == vector["commitment"]
    assert commitment != commitment_of(vector["secret"])  # /1 and /2 tags differ
    for case in vector["cases"]:
        seed = derive_seed_v2(
            commitment=commitment,
            secret=vector["secret"],
            frame_sha256=vector["frame_sha256"],
            entropy_source=case["entropy_source"],
            entropy=case["entropy"],
        )
        assert seed == case["seed"], case["name"]
        # the stdlib verifier derives the same bytes
        assert (
            verifier.derive_seed_v2(
                commitment,
                vector["secret"],
                vector["frame_sha256"],
                case["entropy_source"],
                case["entropy"],
            )
            == seed
        )
    drand = next(c for c in vector["cases"] if c["entropy_source"]["kind"] == "drand")
    round_ = quicknet_round()
    assert drand["entropy"] == round_["randomness"]
    assert drand["entropy"] == hashlib.sha256(bytes.fromhex(round_["signature"])).hexdigest()
    verify_beacon(QUICKNET, Beacon(round=round_["round"], signature=round_["signature"]))


def test_seed_vector_file_is_what_the_code_gives() -> None:
    """The pinned vector is regenerated, not hand-edited (SPOTCHECK_REGEN_GOLDEN=1)."""
    round_ = quicknet_round()
    cases = []
    for name, source, entropy in (
        ("dice", DICE, "骰子 3-1-4-1-5-9"),
        ("drand quicknet", drand_source(round_["round"]), round_["randomness"]),
    ):
        seed = derive_seed_v2(
            commitment=commitment_of(SECRET_V2, ALGORITHM_V2),
            secret=SECRET_V2,
            frame_sha256=FRAME,
            entropy_source=source,
            entropy=entropy,
        )
        cases.append({"name": name, "entropy_source": source, "entropy": entropy, "seed": seed})
    data = {
        "secret": SECRET_V2,
        "commitment": commitment_of(SECRET_V2, ALGORITHM_V2),
        "frame_sha256": FRAME,
        "cases": cases,
    }
    if os.environ.get("SPOTCHECK_REGEN_GOLDEN"):
        VECTOR.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert json.loads(VECTOR.read_text(encoding="utf-8")) == data


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["骰", 2]}) == '{"a":["骰",2],"b":1}'.encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secret": "f" * 64}, "承诺值不符"),
        ({"frame_sha256": "ABC"}, "抽样框哈希"),
        ({"entropy": "FC" * 32, "entropy_source": drand_source(1)}, "drand 随机数"),
        ({"entropy": " 骰子 1 "}, "规范化形式"),
        ({"entropy": ""}, "不能为空"),
        ({"entropy_source": {"place": "x"}}, "entropy_source"),
    ],
)
def test_derive_seed_v2_refuses(change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "commitment": commitment_of(SECRET_V2, ALGORITHM_V2),
        "secret": SECRET_V2,
        "frame_sha256": FRAME,
        "entropy_source": DICE,
        "entropy": "骰子 1",
    }
    with pytest.raises(SeedError, match=message):
        derive_seed_v2(**(args | change))


def test_a_v1_commitment_does_not_open_under_v2() -> None:
    with pytest.raises(SeedError):
        derive_seed_v2(
            commitment=commitment_of(SECRET_V2),
            secret=SECRET_V2,
            frame_sha256=FRAME,
            entropy_source=DICE,
            entropy="骰子 1",
        )


# --- the π floor ----------------------------------------------------------------------------


def test_pi_floor_lifts_every_eligible_unit_to_the_ratio() -> None:
    population = units(400, strata=2, grades="ABCD", weights=(0.2, 1.0, 6.0))
    rates = {"A": 0.01, "D": 0.5}
    v1 = SamplingParams(ratio=0.1, grade_rates=rates, weighted=True, min_per_stratum=60)
    v2 = SamplingParams(
        ratio=0.1, grade_rates=rates, weighted=True, min_per_stratum=60, algorithm=ALGORITHM_V2
    )
    d1 = draw_targets(seed=SEED, population=population, items=ITEMS, params=v1)
    d2 = draw_targets(seed=SEED, population=population, items=ITEMS, params=v2)
    assert d1.algorithm == ALGORITHM and d2.algorithm == ALGORITHM_V2
    # /1: weights redistribute, a low-risk unit falls below the ratio; /2: never
    assert min(t.inclusion_prob for t in d1.tasks) < 0.1
    assert min(t.inclusion_prob for t in d2.tasks) >= 0.1
    # the preview follows the same rule (one rule, sampling.unit_min_rate)
    pop = Population.from_units(population)
    assert min(s["pi_min"] for s in inclusion_preview(pop, ITEMS, v2)) >= 0.1
    assert min(s["pi_min"] for s in inclusion_preview(pop, ITEMS, v1)) < 0.1
    for s in inclusion_preview(pop, ITEMS, v2):
        drawn = [t.inclusion_prob for t in d2.tasks if t.stratum == s["key"]]
        assert s["pi_min"] <= min(drawn) and max(drawn) <= s["pi_max"]


def test_pi_floor_raises_n_by_the_sum_of_floored_rates() -> None:
    # 5 units of grade D (rate 0.9) and 5 of grade A (rate 0.01 < ratio 0.2), one stratum:
    # /1 needs ceil(4.5 + 0.05) = 5, /2 floors A at the ratio: ceil(4.5 + 1.0) = 6
    population = [
        Unit(u.uscc, "S", "定点医疗机构", "DA"[k % 2], 1.0, frozenset())
        for k, u in enumerate(units(10, strata=1))
    ]
    items = [PlanItem("YB-01", frozenset())]
    sizes = {}
    for algorithm in (ALGORITHM, ALGORITHM_V2):
        params = SamplingParams(ratio=0.2, grade_rates={"A": 0.01, "D": 0.9}, algorithm=algorithm)
        draw = draw_targets(seed=SEED, population=population, items=items, params=params)
        sizes[algorithm] = draw.strata[0].n
        pis = {t.inclusion_prob for t in draw.tasks}
        if algorithm == ALGORITHM_V2:
            assert min(pis) >= 0.2
    assert sizes == {ALGORITHM: 5, ALGORITHM_V2: 6}


# --- the frame file -------------------------------------------------------------------------


def test_frame_file_v2_header_columns_and_quoting() -> None:
    population = units_v2(8, strata=2)
    text = _frame(population).decode("utf-8")
    lines = list(population_lines(population, ITEMS, algorithm=ALGORITHM_V2))
    assert "\n".join(lines) + "\n" == text
    assert text.startswith("uscc,stratum,kind,grade,weight,cooling_items,region,name\n")
    assert '"某""仁和""大药房1"' in text and '"康复医院,东院2"' in text
    assert '"社区卫生服务中心\n分部3"' in text and ",第一人民医院0\n" in text
    # the /1 file of the same units keeps its 6 columns
    v1 = "\n".join(population_lines(population, ITEMS)) + "\n"
    assert v1.splitlines()[0] == "uscc,stratum,kind,grade,weight,cooling_items"
    assert all(line.count(",") == 5 for line in v1.splitlines())


def test_read_population_file_round_trips_names_and_regions() -> None:
    population = units_v2(30, strata=3)
    data = _frame(population)
    back = read_population_file(data)
    assert sorted(back.units(), key=lambda u: u.uscc) == sorted(population, key=lambda u: u.uscc)
    assert back.name(0) and back.region(0).startswith("37010")
    assert read_population_file([data[:100], data[100:]]).names == back.names  # chunks
    assert read_population_file(gzip.decompress(gzip.compress(data))).regions == back.regions
    # /1 files read back too, without names or regions
    v1 = read_population_file(b"".join(population_file_chunks(population, ITEMS)))
    assert v1.names is None and v1.name(0) == "" and len(v1) == 30


_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
_unit = st.builds(
    lambda k, grade, weight, cooling, region, name: Unit(
        units(1, start=k)[0].uscc,
        f"定点医疗机构|S{k % 3}",
        "定点医疗机构",
        grade,
        weight,
        cooling,
        region,
        name,
    ),
    st.integers(0, 5000),
    st.sampled_from([None, "A", "B"]),
    st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([frozenset(), frozenset({"YB-01"}), frozenset({"YB-01", "YB-02"})]),
    st.sampled_from(["370102", "370203", ""]),
    _name,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_unit, max_size=25, unique_by=lambda u: u.uscc))
def test_frame_file_round_trip_is_byte_identical(population: list[Unit]) -> None:
    items = [PlanItem("YB-01", frozenset()), PlanItem("YB-02", frozenset())]
    data = b"".join(population_file_chunks(population, items, algorithm=ALGORITHM_V2))
    again = b"".join(
        population_file_chunks(read_population_file(data), items, algorithm=ALGORITHM_V2)
    )
    assert again == data
    # the stdlib verifier's csv reading regenerates the same bytes
    rows = verifier.parse_population(data)
    assert verifier.population_text(rows, ALGORITHM_V2).encode("utf-8") == data


def test_draw_of_a_read_frame_hashes_the_file_without_writing_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frame read back carries its file's hash: the draw takes it instead of writing the
    1,000,000 lines again, and it is the hash the written file would have."""
    from app.draw import engine

    population = [
        replace_cooling(u, frozenset({"YB-01"}) if k % 5 == 0 else frozenset())
        for k, u in enumerate(units_v2(40, strata=3))
    ]
    data = _frame(population)
    back = read_population_file(data)
    assert back.source is not None and back.source.sha256 == hashlib.sha256(data).hexdigest()
    params = SamplingParams(ratio=0.2, algorithm=ALGORITHM_V2)
    written = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)

    def no_rewrite(self: object, size: int = 0) -> object:
        raise AssertionError("the frame was written again")

    monkeypatch.setattr(engine._Snapshot, "chunks", no_rewrite)
    read = draw_targets(seed=SEED, population=back, items=ITEMS, params=params)
    assert read.population_sha256 == written.population_sha256 == hashlib.sha256(data).hexdigest()
    assert read.to_dict() == written.to_dict()


def test_draw_of_a_read_frame_rehashes_when_it_would_write_other_lines() -> None:
    """A file whose cooling column names an item the plan does not apply to that kind is not
    what the draw writes: the draw hashes its own file, not the one it read."""
    wide = [PlanItem("YB-01", frozenset()), PlanItem("YB-02", frozenset())]
    population = [
        replace_cooling(u, frozenset({"YB-02"})) if u.kind == "定点医疗机构" else u
        for u in units_v2(12, strata=2)
    ]
    data = b"".join(population_file_chunks(population, wide, algorithm=ALGORITHM_V2))
    back = read_population_file(data)
    params = SamplingParams(ratio=0.5, algorithm=ALGORITHM_V2)
    draw = draw_targets(seed=SEED, population=back, items=ITEMS, params=params)
    own = b"".join(population_file_chunks(back, ITEMS, algorithm=ALGORITHM_V2))
    assert own != data
    assert draw.population_sha256 == hashlib.sha256(own).hexdigest()
    # under /1 the same file (with names) is not the /1 file either
    v1 = draw_targets(seed=SEED, population=back, items=ITEMS, params=SamplingParams(ratio=0.5))
    own_v1 = b"".join(population_file_chunks(back, ITEMS))
    assert v1.population_sha256 == hashlib.sha256(own_v1).hexdigest()


def replace_cooling(unit: Unit, cooling: frozenset[str]) -> Unit:
    return dataclasses.replace(unit, cooling_items=cooling)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t.replace("region,name", "region,nom"), "表头"),
        (lambda t: t[:-1], "换行结尾"),
        (lambda t: t.replace(",第一人民医院0", ',"第一人民医院0"'), "不必加引号"),
        (lambda t: t.replace('"某""仁和""大药房1"', '"某"仁和"大药房1"'), "格式不符"),
        (lambda t: t.replace(",1.0,", ",1.00,", 1), "规范写法"),
        (lambda t: t.replace("\n91", "\n9x", 1), "第 2 行格式不符"),
        (lambda t: t.replace("\n91", "\nXX91", 1), "第 2 行格式不符"),  # a record mid-line
        (lambda t: t + "91370199MA3C1234X5,S,k,,1.0,,370101\n", "第 12 行格式不符"),  # no name
        (lambda t: t.replace(",370101,", ",370,101,", 1), "格式不符"),
    ],
)
def test_read_population_file_refuses_what_it_would_not_write(mangle: Any, message: str) -> None:
    text = _frame(units_v2(8, strata=2)).decode("utf-8")
    bad = mangle(text)
    assert bad != text
    with pytest.raises(DrawInputError, match=message):
        read_population_file(bad.encode("utf-8"))


def test_read_population_file_refuses_unsorted_rows() -> None:
    text = _frame(units_v2(8, strata=1)).decode("utf-8")
    _header, *rows = text.splitlines(keepends=True)
    # swap two single-line records (names 0 and 4 need no quotes)
    plain = [r for r in rows if r.count('"') == 0]
    bad = text.replace(plain[0], "\0").replace(plain[1], plain[0]).replace("\0", plain[1])
    with pytest.raises(DrawInputError, match="排序"):
        read_population_file(bad.encode("utf-8"))


def test_draw_reads_the_frame_back_and_draws_the_same() -> None:
    population = units_v2(200, strata=3, grades="ABCD", weights=(0.5, 2.0))
    params = SamplingParams(ratio=0.1, weighted=True, algorithm=ALGORITHM_V2)
    direct = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    frame = _frame(population)
    again = draw_targets(
        seed=SEED, population=read_population_file(frame), items=ITEMS, params=params
    )
    assert again.to_dict() == direct.to_dict()
    assert direct.population_sha256 == hashlib.sha256(frame).hexdigest()
    names = {u.uscc: (u.name, u.region) for u in population}
    assert all((t.name, t.region) == names[t.uscc] for t in direct.tasks)


# --- the golden /2 draw ---------------------------------------------------------------------


def test_golden_draw_v2() -> None:
    body, plan, frame = golden_v2()
    path = GOLDEN / "draw_v2.json"
    if os.environ.get("SPOTCHECK_REGEN_GOLDEN"):
        path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        (GOLDEN / "draw_v2.population.csv").write_bytes(frame)
        (GOLDEN / "draw_v2.plan.json").write_text(
            json.dumps(plan, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    assert body == json.loads(path.read_text(encoding="utf-8"))
    assert frame == (GOLDEN / "draw_v2.population.csv").read_bytes()
    assert plan == json.loads((GOLDEN / "draw_v2.plan.json").read_text(encoding="utf-8"))
    # the floor at work: grade B's rate 0.05 is below the ratio, its units get π = 0.2
    rows = {r["uscc"]: r for r in verifier.parse_population(frame)}
    b_pis = {t["inclusion_prob"] for t in body["tasks"] if rows[t["uscc"]]["grade"] == "B"}
    assert b_pis == {0.2}
    assert min(t["inclusion_prob"] for t in body["tasks"]) >= body["params"]["ratio"]


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    script = verifier_path()
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True)


def test_verify_draw_py_on_the_golden_v2_draw(tmp_path: Path) -> None:
    draw, plan = GOLDEN / "draw_v2.json", GOLDEN / "draw_v2.plan.json"
    ok = _run(draw, "--plan", plan)
    assert ok.returncode == 0 and "验证通过" in ok.stdout, ok.stdout
    missing = _run(draw)  # no plan file: incomplete, never 验证通过
    assert missing.returncode == 3 and "验证未完成（incomplete）" in missing.stdout
    assert "plan file missing" in missing.stdout and "验证通过" not in missing.stdout
    # the site layout: draws/ID.json, draws/ID.population.csv.gz, plans/PLAN.json
    body = json.loads(draw.read_text(encoding="utf-8"))
    (tmp_path / "draws").mkdir()
    (tmp_path / "plans").mkdir()
    (tmp_path / "draws" / f"{body['id']}.json").write_bytes(draw.read_bytes())
    (tmp_path / "draws" / f"{body['id']}.population.csv.gz").write_bytes(
        gzip.compress((GOLDEN / "draw_v2.population.csv").read_bytes())
    )
    (tmp_path / "plans" / f"{body['plan']}.json").write_bytes(plan.read_bytes())
    site = _run(tmp_path / "draws" / f"{body['id']}.json")
    assert site.returncode == 0, site.stdout
    body["tasks"][0]["name"] = "另一家医院"
    (tmp_path / "draws" / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False))
    bad = _run(tmp_path / "draws" / f"{body['id']}.json")
    assert bad.returncode == 1 and "验证失败" in bad.stdout and "name" in bad.stdout


# --- verifier outcomes ----------------------------------------------------------------------


def _dice_draw(**kw: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, str]]]:
    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    params = SamplingParams(ratio=0.2, grade_rates={"B": 0.05}, algorithm=ALGORITHM_V2)
    body, plan, frame = v2_body(population, params, source=DICE, entropy="骰子 6-6-1-2", **kw)
    return body, plan, verifier.parse_population(frame)


def test_dice_draw_verifies_completely() -> None:
    body, plan, rows = _dice_draw()
    report = verifier.check(body, rows, plan=plan)
    assert (report.problems, report.not_checked, report.exit_code) == ([], [], 0)
    report = verifier.check(body, None, plan=plan)
    assert report.exit_code == 3 and "population file missing" in report.not_checked[0]
    assert "beacon" not in body


def test_bls_library_missing_is_incomplete() -> None:
    body, plan, frame = golden_v2()
    rows = verifier.parse_population(frame)
    report = verifier.check(body, rows, plan=plan, bls=lambda chain, beacon: None)
    assert report.problems == [] and report.exit_code == 3
    assert "BLS" in report.not_checked[0]
    bad = verifier.check(body, rows, plan=plan, bls=lambda chain, beacon: False)
    assert bad.exit_code == 1 and "BLS 签名未通过" in bad.problems[0]


def test_stdlib_bls_check_agrees_with_the_beacon_module() -> None:
    beacon = beacon_of(quicknet_round())
    assert verifier.bls_verify("quicknet", beacon) is True
    forged = dict(beacon, round=beacon["round"] + 1)
    assert verifier.bls_verify("quicknet", forged) is False
    assert verifier.CHAINS["quicknet"]["chain_hash"] == QUICKNET.chain_hash
    from app.draw.beacon import DEFAULT

    assert verifier.CHAINS["default"]["public_key"] == DEFAULT.public_key
    assert verifier.CHAINS["default"]["genesis_time"] == DEFAULT.genesis_time
    assert verifier.round_time(verifier.CHAINS["quicknet"], 657413) == round_time(QUICKNET, 657413)


def test_failed_draw_verifies_its_seed_and_sizes_only() -> None:
    body, plan, rows = _dice_draw()
    failed = {k: v for k, v in body.items() if k != "tasks"}
    failed |= {"status": "failed", "error": {"title": "无法组成检查组"}}
    report = verifier.check(failed, rows, plan=plan)
    # its seed and sizes replay, but the infeasibility itself is not re-derived: incomplete,
    # never "valid"
    assert report.exit_code == 3 and "只核对种子与分层规模" in report.notes[0]
    assert report.problems == [] and any("无法组成检查组" in n for n in report.not_checked)
    no_error = {k: v for k, v in failed.items() if k != "error"}
    assert verifier.check(no_error, rows, plan=plan).exit_code == 1
    failed["strata"][0]["n"] += 1
    assert verifier.check(failed, rows, plan=plan).exit_code == 1


def _sealed_of(body: dict[str, Any]) -> dict[str, Any]:
    inputs = {k: v for k, v in body["seed_inputs"].items() if k != "secret"}
    return {
        "id": body["id"],
        "plan": body["plan"],
        "plan_version": body["plan_version"],
        "algorithm": body["algorithm"],
        "status": "current",
        "sealed": True,
        "drawn_at": body["drawn_at"],
        "reveal_at": "2023-12-31T16:00:00+00:00",
        "seed_inputs": inputs,
        **({"beacon": body["beacon"]} if "beacon" in body else {}),
        "task_count": len(body["tasks"]),
        "tasks_sha256": hashlib.sha256(canonical_json(body["tasks"])).hexdigest(),
    }


def test_sealed_draw_alone_is_incomplete_and_its_reveal_is_checked() -> None:
    from tests.draw.test_verifier_checks import bls

    body, plan, frame = golden_v2()
    rows = verifier.parse_population(frame)
    sealed = _sealed_of(body)
    alone = verifier.check(sealed, None, plan=plan, bls=bls)
    assert alone.problems == [] and alone.exit_code == 3
    assert "sealed draw not yet revealed" in alone.not_checked[0]
    leaked = copy.deepcopy(sealed)
    leaked["seed_inputs"]["secret"] = SECRET_V2
    assert verifier.check(leaked, None, plan=plan, bls=bls).exit_code == 1
    assert verifier.check(body, rows, plan=plan, sealed=sealed, bls=bls).exit_code == 0
    swapped = copy.deepcopy(body)
    swapped["tasks"][0]["items"] = ["YB-02"]
    problems = verifier.check(
        body | {"tasks": swapped["tasks"]}, rows, plan=plan, sealed=sealed, bls=bls
    )
    assert any("tasks_sha256" in p for p in problems.problems)
    other = dict(sealed, drawn_at="2023-09-15T11:04:00+00:00")
    assert "drawn_at" in verifier.check(body, rows, plan=plan, sealed=other, bls=bls).problems[0]


def _v2_tamper_cases() -> dict[str, tuple[Any, str]]:
    def version(d: dict[str, Any], p: dict[str, Any], **change: Any) -> None:
        p["versions"][0].update(change)

    return {
        "plan is another plan": (lambda d, p: p.update(code="OTHER"), "不是抽取所属计划"),
        "plan version missing": (lambda d, p: d.update(plan_version=2), "没有（或有多个）版本"),
        "commitment not the version's": (
            lambda d, p: version(d, p, commitment="0" * 64),
            "commitment 与计划第 1 版",
        ),
        "frame not the version's": (
            lambda d, p: version(d, p, frame_sha256="0" * 64),
            "frame_sha256 与计划第 1 版",
        ),
        "source not the version's": (
            lambda d, p: version(d, p, entropy_source=drand_source(5)),
            "entropy_source 与计划第 1 版",
        ),
        "algorithm not the version's": (
            lambda d, p: version(d, p, algorithm=ALGORITHM),
            "algorithm 与计划第 1 版",
        ),
        "published_at not the version's": (
            lambda d, p: version(d, p, published_at="2023-09-15T09:00:00+00:00"),
            "published_at 与计划第 1 版",
        ),
    }


@pytest.mark.parametrize("case", sorted(_v2_tamper_cases()))
def test_plan_checks(case: str) -> None:
    tamper, message = _v2_tamper_cases()[case]
    body, plan, rows = _dice_draw()
    tamper(body, plan)
    problems = verifier.check(body, rows, plan=plan).problems
    assert any(message in p for p in problems), problems


def test_v1_draw_checks_its_commitment_against_the_plan_when_given() -> None:
    body, plan, rows = _dice_draw()
    v1 = json.loads((GOLDEN / "draw_weighted.json").read_text(encoding="utf-8"))
    v1 |= {"plan": "P", "drawn_at": "2026-12-01T00:00:00+00:00"}
    v1["seed_inputs"] = {"commitment": "c" * 64}
    plan = {
        "code": "P",
        "versions": [{"commitment": "c" * 64, "published_at": "2026-11-30T00:00:00+00:00"}],
    }
    assert verifier.verify_plan(v1, plan) == []
    plan["versions"][0]["published_at"] = "2026-12-02T00:00:00+00:00"
    assert "承诺值未见于抽取前公布的计划版本" in verifier.verify_plan(v1, plan)[0]
    del body, rows
