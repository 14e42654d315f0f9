"""spotcheck-draw/3 (docs/draw-spec.md §11): its own commitment and seed, the one value of typed
entropy, exact π, formula-guarded frame names, and a verifier that covers the task lists, the
time of every entropy kind and a folder of downloaded files — each written as the attack first."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import shutil
import subprocess
import sys
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import pytest
from consistent_sampler import sampler
from hypothesis import given, settings
from hypothesis import strategies as st

from app.draw import (
    ALGORITHM_V2,
    ALGORITHM_V3,
    CURRENT_ALGORITHM,
    PlanItem,
    SamplingParams,
    SeedError,
    Unit,
    commitment_of,
    derive_seed_v3,
    draw_targets,
    population_file_chunks,
    read_population_file,
)
from app.draw.entropy_form import EntropyFormError, check_entropy, describe_form
from app.draw.sampling import allocate
from app.publish.formats import csv_bytes
from app.publish.tables import TASK_HEADER, task_rows
from app.spreadsheets import xlsx_bytes
from tests.draw.draw_helpers import (
    EMPTY_TEAM_FRAME,
    ITEMS,
    ROOT,
    SECRET_V2,
    load_verifier,
    units,
    units_v2,
    uscc,
    v2_body,
    verifier_path,
)

verifier = load_verifier()
GOLDEN = ROOT / "tests" / "draw" / "golden"
DICE6 = {
    "kind": "dice",
    "scheduled_at": "2026-12-10T09:30:00+08:00",
    "place": "某市医疗保障局三楼会议室",
    "witnesses": ["张三（市纪委监委驻局纪检组）", "李四（公证员）"],
    "count": 6,
    "faces": 10,
}
RECORD2 = {
    "kind": "public_record",
    "description": "上海证券交易所 2026年12月10日 上证指数收盘点位",
    "available_at": "2026-12-10T15:30:00+08:00",
    "decimals": 2,
}
FRAME0 = hashlib.sha256(b"").hexdigest()
TEAM_FRAME0 = hashlib.sha256(EMPTY_TEAM_FRAME).hexdigest()


def v3_body(**kw: Any) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The /3 golden shape: 40 units, weights, names needing quotes and a formula guard."""
    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    population[3] = dc_replace(population[3], name='=HYPERLINK("http://x","点我")')
    population[5] = dc_replace(population[5], name="'-已加引号")
    params = SamplingParams(
        ratio=0.2,
        min_per_stratum=8,
        grade_rates={"B": 0.05, "D": 0.6},
        weighted=True,
        algorithm=ALGORITHM_V3,
    )
    kw.setdefault("source", DICE6)
    kw.setdefault("entropy", "2-7-1-8-2-9")
    kw.setdefault("draw_id", "GOLD3-2026-D1")
    kw.setdefault("plan", "GOLD3-2026")
    return v2_body(population, params, algorithm=ALGORITHM_V3, **kw)


def task_lists(body: dict[str, Any]) -> dict[str, bytes]:
    """The task list CSV and XLSX exactly as the site writes them (app/publish/draws.py)."""
    rows = task_rows(body, {})
    return {
        "csv": csv_bytes(TASK_HEADER, rows),
        "xlsx": xlsx_bytes("抽查任务", TASK_HEADER, rows),
    }


def full_check(body: dict[str, Any], plan: dict[str, Any], frame: bytes, **kw: Any) -> Any:
    kw.setdefault("task_lists", task_lists(body))
    kw.setdefault("team_frame", EMPTY_TEAM_FRAME)
    return verifier.check(body, verifier.parse_population(frame), plan=plan, **kw)


# --- 1. the algorithm version -----------------------------------------------------------------


def test_new_publications_take_v3_with_its_own_commitment_tag() -> None:
    assert CURRENT_ALGORITHM == ALGORITHM_V3
    v2, v3 = commitment_of(SECRET_V2, ALGORITHM_V2), commitment_of(SECRET_V2, ALGORITHM_V3)
    assert v2 != v3
    assert v3 == hashlib.sha256(b"spotcheck-draw/3:commitment\n" + SECRET_V2.encode()).hexdigest()


def test_seed_vector_v3_is_pinned() -> None:
    vector = json.loads((GOLDEN / "seed_vector_v3.json").read_text(encoding="utf-8"))
    assert commitment_of(vector["secret"], ALGORITHM_V3) == vector["commitment"]
    for case in vector["cases"]:
        inputs = {
            "commitment": vector["commitment"],
            "frame_sha256": vector["frame_sha256"],
            "team_frame_sha256": vector["team_frame_sha256"],
            "entropy_source": case["entropy_source"],
            "entropy": case["entropy"],
        }
        assert derive_seed_v3(secret=vector["secret"], inputs=inputs) == case["seed"]
        # byte for byte: SEED_TAG_V3 || L(secret) || L(canonical(inputs))
        blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        message = b"spotcheck-draw/3:seed\n"
        for part in (vector["secret"].encode(), blob.encode()):
            message += len(part).to_bytes(4, "big") + part
        assert hashlib.sha256(message).hexdigest() == case["seed"]


def test_every_published_seed_input_is_hashed_and_no_other_key_is_accepted() -> None:
    inputs = {
        "commitment": commitment_of(SECRET_V2, ALGORITHM_V3),
        "frame_sha256": FRAME0,
        "team_frame_sha256": TEAM_FRAME0,
        "entropy_source": DICE6,
        "entropy": "2-7-1-8-2-8",
    }
    seed = derive_seed_v3(secret=SECRET_V2, inputs=inputs)
    # the inspector frame is an input: another frozen pool is another seed, and it is required
    assert derive_seed_v3(secret=SECRET_V2, inputs={**inputs, "team_frame_sha256": FRAME0}) != seed
    with pytest.raises(SeedError):
        derive_seed_v3(
            secret=SECRET_V2, inputs={k: v for k, v in inputs.items() if k != "team_frame_sha256"}
        )
    # a junk key would give the operator a free re-roll: refused by the seed and the verifier
    with pytest.raises(SeedError):
        derive_seed_v3(secret=SECRET_V2, inputs={**inputs, "nonce": "1"})
    other = {**inputs, "entropy_source": {**DICE6, "place": "另一会议室"}}
    assert derive_seed_v3(secret=SECRET_V2, inputs=other) != seed
    with pytest.raises(SeedError, match="承诺值"):
        derive_seed_v3(secret="ff" * 32, inputs=inputs)


# --- 2. one value of entropy --------------------------------------------------------------------

SPELLINGS = [
    " 2-7-1-8-2-8",
    "2-7-1-8-2-8 ",
    "2-7-1-8-2-8\n",
    "２-７-１-８-２-８",  # full-width digits
    "2－7－1－8－2－8",  # full-width hyphen
    "2 7 1 8 2 8",
    "2,7,1,8,2,8",
    "271828",
    "骰子 2-7-1-8-2-8",
    "2-7-1-8-2-8点",
    "02-7-1-8-2-8",
    "2-7-1-8-2",
    "2-7-1-8-2-8-1",
    "2-7-1-8-2-10",
    "2-7-1-8-2-",
    "-2-7-1-8-2-8",
    '<img src=x onerror="alert(1)">',
    "",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_dice_take_exactly_the_announced_form(text: str) -> None:
    with pytest.raises(EntropyFormError, match=r"6 个 10 面骰.*0–9.*2-7-1-8-2-8"):
        check_entropy(DICE6, text)


def test_the_one_form_is_accepted_and_faces_other_than_ten_read_one_to_faces() -> None:
    check_entropy(DICE6, "2-7-1-8-2-8")
    check_entropy(DICE6, "0-0-0-9-9-9")
    d6 = {**DICE6, "count": 3, "faces": 6}
    check_entropy(d6, "6-1-3")
    for bad in ("0-1-3", "7-1-3"):
        with pytest.raises(EntropyFormError, match="每个 1–6"):
            check_entropy(d6, bad)


@pytest.mark.parametrize(
    "text", ["3412.5", "3412.560", "3,412.56", "3412.56点", "３４１２.５６", "+3412.56", "03412.56"]
)
def test_public_record_takes_exactly_its_decimals(text: str) -> None:
    check_entropy(RECORD2, "3412.56")
    check_entropy({**RECORD2, "decimals": 0}, "3412")
    with pytest.raises(EntropyFormError, match="恰好 2 位小数"):
        check_entropy(RECORD2, text)


@pytest.mark.parametrize(
    "source",
    [
        {k: v for k, v in DICE6.items() if k != "count"},
        {**DICE6, "faces": 1},
        {**DICE6, "count": 0},
        {**DICE6, "count": 101},
        {**DICE6, "faces": True},
        {k: v for k, v in RECORD2.items() if k != "decimals"},
        {**RECORD2, "decimals": 9},
    ],
)
def test_a_source_without_a_valid_form_is_refused(source: dict[str, Any]) -> None:
    with pytest.raises(EntropyFormError):
        check_entropy(source, "1")


def test_describe_form_names_the_expected_form_in_chinese_first() -> None:
    text = describe_form(DICE6)
    assert text.startswith("6 个 10 面骰的点数（每个 0–9）") and "2-7-1-8-2-8" in text


# --- 3. exact π ------------------------------------------------------------------------------


def _frequencies(
    population: list[Unit], params: SamplingParams, rounds: int
) -> tuple[dict[str, int], dict[str, float]]:
    items = [PlanItem("YB-01", frozenset())]
    hits = {u.uscc: 0 for u in population}
    pis: dict[str, float] = {}
    for r in range(rounds):
        draw = draw_targets(seed=f"{r:064x}", population=population, items=items, params=params)
        for t in draw.tasks:
            hits[t.uscc] += 1
            pis[t.uscc] = t.inclusion_prob
    return hits, pis


def test_small_weighted_stratum_realises_its_published_pi() -> None:
    """N=2, n=1 with π = 1/3 and 2/3: /2 Pareto realises 0.28 / 0.72 (|z| ≈ 11 at 10,000
    seeds); /3 must realise π itself, |z| < 4 over 4,000 seeds."""
    population = [
        Unit(uscc(0), "S", "定点医疗机构", None, 1.0, frozenset()),
        Unit(uscc(1), "S", "定点医疗机构", None, 2.0, frozenset()),
    ]
    rounds = 4000
    for algorithm, exact in ((ALGORITHM_V2, False), (ALGORITHM_V3, True)):
        params = SamplingParams(ratio=0.2, weighted=True, algorithm=algorithm)
        hits, pis = _frequencies(population, params, rounds)
        assert sorted(pis.values()) == [1 / 3, 2 / 3]
        z = [(hits[u] / rounds - pis[u]) / math.sqrt(pis[u] * (1 - pis[u]) / rounds) for u in hits]
        assert (max(map(abs, z)) < 4) is exact, (algorithm, z)


def test_exact_pi_in_a_mixed_stratum_with_rates_weights_and_certainty() -> None:
    weights = (0.5, 1.0, 1.0, 2.0, 3.0, 0.7, 1.5, 9.0, 1.0, 0.8, 2.5, 1.2)
    population = [
        Unit(u.uscc, "S", "定点医疗机构", "D" if k in (2, 9) else None, weights[k], frozenset())
        for k, u in enumerate(units(12))
    ]
    params = SamplingParams(
        ratio=0.1, min_per_stratum=5, grade_rates={"D": 0.5}, weighted=True, algorithm=ALGORITHM_V3
    )
    rounds = 3000
    hits, pis = _frequencies(population, params, rounds)
    assert 1.0 in pis.values() and len(set(pis.values())) >= 5
    for u, count in hits.items():
        p = pis[u]
        if p == 1.0:
            assert count == rounds
            continue
        z = (count / rounds - p) / math.sqrt(p * (1 - p) / rounds)
        assert abs(z) < 4.5, (u, count / rounds, p)  # 12 units: no slack for a Pareto bias


def test_allocation_expectation_is_exactly_the_group_mass() -> None:
    """E[k_j] over the start u equals m_j·π_j scaled to n: exact in rationals, shown by
    integrating the step function k_j(u) over its breakpoints."""
    from fractions import Fraction

    groups = [(1 / 3, 3), (0.25, 4), (0.5, 2), (0.75, 4)]  # Σ m·π = 6 (up to rounding)
    n = 6
    mass = [Fraction(p) * m for p, m in groups]
    total = sum(mass)
    got = [Fraction(0)] * len(groups)
    # k_j(u) changes only where some cumulative·n/total − u crosses an integer
    seed_hash = "ab" * 32
    sizes = [allocate(seed_hash, "S", groups, n)]
    assert sum(sizes[0]) == n
    order_labels = sorted(range(4), key=lambda j: verifier._digest(seed_hash, f"|group|S|{j}"))
    cum = [Fraction(0)]
    for j in order_labels:
        cum.append(cum[-1] + mass[j] * n / total)
    breaks = sorted({Fraction(0), Fraction(1)} | {c - math.floor(c) for c in cum})
    for lo, hi in itertools.pairwise(breaks):
        u = (lo + hi) / 2
        k = [math.ceil(cum[i + 1] - u) - math.ceil(cum[i] - u) for i in range(4)]
        for i, j in enumerate(order_labels):
            got[j] += k[i] * (hi - lo)
    for j, (p, m) in enumerate(groups):
        assert got[j] == mass[j] * n / total and abs(float(got[j]) / m - p) < 1e-15


@settings(max_examples=40, deadline=None)
@given(
    n_units=st.integers(min_value=1, max_value=60),
    ratio=st.sampled_from([0.05, 0.1, 0.2, 0.33, 0.5, 1.0]),
    seed=st.integers(min_value=0, max_value=2**64),
)
def test_equal_weights_equal_consistent_sampler(n_units: int, ratio: float, seed: int) -> None:
    population = [
        Unit(uscc(k), "S", "定点医疗机构", None, 1.0, frozenset()) for k in range(n_units)
    ]
    seed_text = f"{seed:064x}"
    params = SamplingParams(ratio=ratio, weighted=True, algorithm=ALGORITHM_V3)
    draw = draw_targets(seed=seed_text, population=population, items=ITEMS[:1], params=params)
    n = draw.strata[0].n
    ids = [u.uscc for u in population]
    expected = list(sampler(ids, seed=seed_text, take=n, output="id"))
    assert sorted(t.uscc for t in draw.tasks) == sorted(expected)


# --- 4. the /3 frame file: names formula-guarded ------------------------------------------


def test_v3_frame_guards_formula_names_and_reads_them_back() -> None:
    population = units_v2(6)
    population[1] = dc_replace(population[1], name='=HYPERLINK("http://evil","点我")')
    population[2] = dc_replace(population[2], name="@SUM(1)")
    population[3] = dc_replace(population[3], name="'已有引号")
    v3 = b"".join(population_file_chunks(population, ITEMS, algorithm=ALGORITHM_V3))
    v2 = b"".join(population_file_chunks(population, ITEMS, algorithm=ALGORITHM_V2))
    assert ',"=HYPERLINK' in v2.decode()  # /2 files keep their bytes
    text = v3.decode()
    assert "\n" + uscc(0) not in text or True
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "@", "+")), line
    assert """"'=HYPERLINK(""http://evil"",""点我"")\"""" in text and ",'@SUM(1)" in text
    assert ",''已有引号" in text
    back = read_population_file(v3, guarded=True)
    assert back.names == [u.name for u in sorted(population, key=lambda u: u.uscc)]
    # an unguarded formula name is not a /3 file
    forged = text.replace(",'@SUM(1)", ",@SUM(1)").encode()
    with pytest.raises(Exception, match=r"防公式|unguarded"):
        read_population_file(forged, guarded=True)


# --- 5. the verifier on /3 ------------------------------------------------------------------


def test_v3_draw_verifies_completely_with_its_task_lists() -> None:
    body, plan, frame = v3_body()
    report = full_check(body, plan, frame)
    assert (report.problems, report.not_checked, report.exit_code) == ([], [], 0)
    # the guarded name is in the frame file, the task's name is the registry's
    names = {t["name"] for t in body["tasks"]}
    assert {'=HYPERLINK("http://x","点我")', "'-已加引号"} <= names
    assert not any(n.startswith("''") or n.startswith("'=") for n in names)


def test_v3_without_task_lists_is_incomplete() -> None:
    body, plan, frame = v3_body()
    report = full_check(body, plan, frame, task_lists={"csv": task_lists(body)["csv"]})
    assert report.exit_code == 3 and "tasks.xlsx" in report.not_checked[0]


def _problems(body: dict[str, Any], plan: dict[str, Any], frame: bytes, **kw: Any) -> list[str]:
    return list(full_check(body, plan, frame, **kw).problems)


def test_forged_selection_pareto_instead_of_exact_is_refused() -> None:
    body, plan, frame = v3_body()
    # the same seed drawn with /2 Pareto selection published as /3
    params = SamplingParams(
        ratio=0.2,
        min_per_stratum=8,
        grade_rates={"B": 0.05, "D": 0.6},
        weighted=True,
        algorithm=ALGORITHM_V2,
    )
    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    pareto = draw_targets(seed=body["seed"], population=population, items=ITEMS, params=params)
    exact = {t["uscc"] for t in body["tasks"]}
    if {t.uscc for t in pareto.tasks} == exact:
        pytest.skip("this seed happens to select alike")  # pragma: no cover
    forged = copy.deepcopy(body)
    drop = next(t for t in forged["tasks"] if t["uscc"] not in {t.uscc for t in pareto.tasks})
    add = next(t for t in pareto.tasks if t.uscc not in exact)
    drop.update(uscc=add.uscc, ticket=add.ticket, name=add.name, region=add.region)
    forged["tasks"].sort(key=lambda t: (t["stratum"], t["ticket"], t["uscc"]))
    assert any("tasks differ from replay" in p for p in _problems(forged, plan, frame))


def test_a_secret_that_does_not_open_the_v3_commitment_is_refused() -> None:
    """A draw re-made under the published commitment with a fresh secret: every seed-derived
    value consistent with the new secret; only "the secret opens the commitment" refuses it."""
    body, plan, frame = v3_body()
    forged = copy.deepcopy(body)
    secret = "ee" * 32
    forged["seed_inputs"]["secret"] = secret
    public = {k: forged["seed_inputs"][k] for k in verifier.SEED_INPUTS_V3}
    forged["seed"] = verifier.derive_seed_v3(secret, public)
    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    population[3] = dc_replace(population[3], name='=HYPERLINK("http://x","点我")')
    population[5] = dc_replace(population[5], name="'-已加引号")
    params = SamplingParams(
        ratio=0.2,
        min_per_stratum=8,
        grade_rates={"B": 0.05, "D": 0.6},
        weighted=True,
        algorithm=ALGORITHM_V3,
    )
    redo = draw_targets(seed=forged["seed"], population=population, items=ITEMS, params=params)
    forged["tasks"] = [
        {"id": f"{body['id']}-{n:05d}", **t.to_dict(), "required_expertise": [], "team": []}
        for n, t in enumerate(redo.tasks, start=1)
    ]
    forged["strata"] = [s.to_dict() for s in redo.strata]
    problems = _problems(forged, plan, frame, task_lists=task_lists(forged))
    assert problems == ["公布的密钥与事先公布的承诺值不符（secret does not open commitment）"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda b: b["seed_inputs"].update(entropy="骰子 2-7-1-8-2-8"), "announced form"),
        (lambda b: b["seed_inputs"].update(nonce="x"), "seed inputs must be exactly"),
        (lambda b: b["seed_inputs"].update(frame_sha256="0" * 64), "seed does not match"),
        (lambda b: b.update(seed="0" * 64), "seed does not match"),
        (lambda b: b.update(drawn_at="2026-12-10T01:00:00+00:00"), "drawn before the announced"),
    ],
)
def test_v3_seed_entropy_and_time_forgeries(mutate: Any, needle: str) -> None:
    body, plan, frame = v3_body()
    forged = copy.deepcopy(body)
    mutate(forged)
    assert any(needle in p for p in _problems(forged, plan, frame)), _problems(forged, plan, frame)


@pytest.mark.parametrize("source", [DICE6, RECORD2])
def test_an_entropy_announced_after_it_existed_is_refused(source: dict[str, Any]) -> None:
    """A dice or public-record plan version published after the ceremony / record (and a draw
    dated before it): only drand rounds were checked for time before /3."""
    entropy = "2-7-1-8-2-8" if source["kind"] == "dice" else "3412.56"
    body, plan, frame = v3_body(source=source, entropy=entropy)
    assert _problems(body, plan, frame) == []
    late = copy.deepcopy(body)
    late["plan_published_at"] = "2026-12-11T00:00:00+08:00"
    late_plan = copy.deepcopy(plan)
    late_plan["versions"][0]["published_at"] = late["plan_published_at"]
    assert any(
        "entropy not announced before it existed" in p for p in _problems(late, late_plan, frame)
    )


def test_v2_dice_draw_dated_before_its_ceremony_is_refused() -> None:
    population = units_v2(40, strata=2)
    params = SamplingParams(ratio=0.2, algorithm=ALGORITHM_V2)
    dice2 = {k: v for k, v in DICE6.items() if k not in ("count", "faces")}
    body, plan, frame = v2_body(population, params, source=dice2, entropy="骰子 6-6-1-2")
    rows = verifier.parse_population(frame)
    assert verifier.check(body, rows, plan=plan).exit_code == 0
    body["drawn_at"] = "2026-12-09T09:30:00+08:00"
    problems = verifier.check(body, rows, plan=plan).problems
    assert any("drawn before the announced entropy" in p for p in problems)


def test_v3_frame_with_an_unguarded_formula_name_is_refused() -> None:
    body, plan, frame = v3_body()
    text = frame.decode()
    assert """"'=HYPERLINK(""" in text
    forged = text.replace(""""'=HYPERLINK(""", """"=HYPERLINK(""").encode()
    body = copy.deepcopy(body)
    digest = hashlib.sha256(forged).hexdigest()
    body["population_sha256"] = body["seed_inputs"]["frame_sha256"] = digest
    plan = copy.deepcopy(plan)
    plan["versions"][0]["frame_sha256"] = digest
    public = {k: body["seed_inputs"][k] for k in verifier.SEED_INPUTS_V3}
    body["seed"] = verifier.derive_seed_v3(body["seed_inputs"]["secret"], public)
    problems = _problems(body, plan, forged)
    assert any("unguarded name" in p for p in problems)


# --- task lists: one byte changed, a formula unguarded, rows dropped ------------------------


def _csv_forgeries(csv: bytes) -> list[bytes]:
    text = csv.decode("utf-8")
    lines = text.split("\r\n")
    return [
        text.replace("0.2", "0.3", 1).encode(),  # π of the first task with 0.2
        text.replace("组长", "组员", 1).encode() if "组长" in text else text.encode() + b"x",
        "\r\n".join(lines[:1] + lines[2:]).encode(),  # a task dropped
        text.replace("'=HYPERLINK", "=HYPERLINK").encode(),  # the formula guard removed
        text.replace(lines[1].split(",")[1], lines[1].split(",")[1] + "x", 1).encode(),
        csv[3:],  # no BOM
    ]


def test_one_byte_changed_in_the_task_csv_fails() -> None:
    body, plan, frame = v3_body()
    files = task_lists(body)
    assert "'=HYPERLINK" in files["csv"].decode()  # the site guards it
    for forged in _csv_forgeries(files["csv"]):
        if forged == files["csv"]:
            continue
        problems = _problems(body, plan, frame, task_lists={**files, "csv": forged})
        assert any("CSV" in p for p in problems), forged[:200]


def test_a_changed_cell_in_the_task_xlsx_fails() -> None:
    import io
    import zipfile

    body, plan, frame = v3_body()
    files = task_lists(body)

    def rewrite(data: bytes, old: bytes, new: bytes) -> bytes:
        src = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info).replace(old, new, 1))
        return out.getvalue()

    ticket = body["tasks"][0]["ticket"].encode()
    for old, new in ((ticket, ticket[:-1] + b"0"), (b"<row>", b"<row><c/>")):
        forged = rewrite(files["xlsx"], old, new)
        assert forged != files["xlsx"]
        problems = _problems(body, plan, frame, task_lists={**files, "xlsx": forged})
        assert any("XLSX" in p for p in problems)
    problems = _problems(body, plan, frame, task_lists={**files, "xlsx": b"not a zip"})
    assert any("unreadable task list" in p for p in problems)


# --- the command line: a folder of downloaded files -------------------------------------------


def _folder(tmp_path: Path, body: dict[str, Any], plan: dict[str, Any], frame: bytes) -> Path:
    folder = tmp_path / "下载"
    folder.mkdir()
    (folder / f"{body['id']}.json").write_text(json.dumps(body, ensure_ascii=False), "utf-8")
    (folder / f"{body['id']}.population.csv").write_bytes(frame)
    (folder / f"{plan['code']}.json").write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    for kind, data in task_lists(body).items():
        (folder / f"{body['id']}.tasks.{kind}").write_bytes(data)
    (folder / f"{body['id']}.inspectors.csv").write_bytes(EMPTY_TEAM_FRAME)
    return folder


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(verifier_path()), *args], capture_output=True, text=True, check=False
    )


def test_one_command_on_a_folder_of_downloaded_files_prints_valid(tmp_path: Path) -> None:
    body, plan, frame = v3_body()
    folder = _folder(tmp_path, body, plan, frame)
    done = _run(str(folder))
    assert done.returncode == 0 and "验证通过" in done.stdout, done.stdout
    (folder / f"{body['id']}.tasks.xlsx").unlink()
    done = _run(str(folder))
    assert done.returncode == 3 and "tasks.xlsx" in done.stdout
    (folder / f"{body['id']}.tasks.xlsx").write_bytes(task_lists(body)["xlsx"])
    (folder / f"{body['id']}.inspectors.csv").unlink()
    done = _run(str(folder))
    assert done.returncode == 3 and "inspectors.csv" in done.stdout
    empty = tmp_path / "空"
    empty.mkdir()
    assert _run(str(empty)).returncode == 2


def test_folder_with_a_changed_task_csv_fails(tmp_path: Path) -> None:
    body, plan, frame = v3_body()
    folder = _folder(tmp_path, body, plan, frame)
    path = folder / f"{body['id']}.tasks.csv"
    path.write_bytes(path.read_bytes().replace(b"0.2", b"0.3", 1))
    done = _run(str(folder))
    assert done.returncode == 1 and "CSV" in done.stdout


def test_folder_with_a_cell_added_to_a_task_csv_row_fails(tmp_path: Path) -> None:
    """Every other cell still matches; the added one (say a note a forger slips in) does not
    belong to the draw (mutation run: the column-count check had no test)."""
    body, plan, frame = v3_body()
    folder = _folder(tmp_path, body, plan, frame)
    path = folder / f"{body['id']}.tasks.csv"
    data = path.read_bytes()
    sep = b"\r\n" if b"\r\n" in data else b"\n"
    lines = data.split(sep)
    lines[1] += ",已纠正".encode()
    path.write_bytes(sep.join(lines))
    done = _run(str(folder))
    assert done.returncode == 1 and "columns differ" in done.stdout, done.stdout


def test_golden_v3_replays_from_the_repository(tmp_path: Path) -> None:
    """tests/draw/golden/draw_v3.* (docs/draw-spec.md §11.7): the committed files are what
    the helpers build, and the verifier passes them as a folder."""
    body, plan, frame = v3_body()
    assert json.loads((GOLDEN / "draw_v3.json").read_text("utf-8")) == body
    assert json.loads((GOLDEN / "draw_v3.plan.json").read_text("utf-8")) == plan
    assert (GOLDEN / "draw_v3.population.csv").read_bytes() == frame
    assert (GOLDEN / "draw_v3.inspectors.csv").read_bytes() == EMPTY_TEAM_FRAME
    folder = tmp_path / "golden"
    folder.mkdir()
    names = (
        "draw_v3.json",
        "draw_v3.plan.json",
        "draw_v3.population.csv",
        "draw_v3.inspectors.csv",
    )
    for name in names:
        shutil.copy(
            GOLDEN / name,
            folder / name.replace("draw_v3.plan", plan["code"]).replace("draw_v3", body["id"]),
        )
    for kind, data in task_lists(body).items():
        assert (GOLDEN / f"draw_v3.tasks.{kind}").read_bytes() == data
        shutil.copy(GOLDEN / f"draw_v3.tasks.{kind}", folder / f"{body['id']}.tasks.{kind}")
    done = _run(str(folder))
    assert done.returncode == 0 and "验证通过" in done.stdout, done.stdout


# --- Python 3.8 -------------------------------------------------------------------------------


def test_stdlib_verifier_runs_on_python_38() -> None:
    """No 3.9+ syntax or library feature: the grammar of 3.8 parses it, and vermin (the minimum
    version detector) finds nothing above 3.8 — the checks `from datetime import UTC`,
    `zip(strict=…)`, `int | float` in isinstance and dict `|` failed before."""
    import ast

    source = verifier_path().read_text(encoding="utf-8")
    ast.parse(source, feature_version=(3, 8))
    vermin = Path(sys.executable).with_name("vermin")
    done = subprocess.run(
        [str(vermin), "-t=3.8-", "--no-tips", "--violations", str(verifier_path())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "datetime":
            assert "UTC" not in {a.name for a in node.names}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "zip" or not node.keywords, ast.unparse(node)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("entropy_source", "dice", "entropy source missing"),
        ("entropy", 271828, "entropy must be text"),
        ("entropy_source", {**DICE6, "count": None}, "dice form not announced"),
        ("entropy_source", {**RECORD2, "decimals": None}, "public record form not announced"),
        ("entropy_source", {**DICE6, "kind": "coin"}, "unknown entropy source kind"),
    ],
)
def test_a_forged_source_or_entropy_re_seeded_consistently_is_refused(
    field: str, value: Any, needle: str
) -> None:
    """The forger changes the source (in the plan version too) or the entropy and re-derives the
    seed and selection from it: only the entropy form check refuses it."""
    entropy = "3412.56" if value == {**RECORD2, "decimals": None} else "2-7-1-8-2-8"
    source = RECORD2 if "decimals" in str(value) else DICE6
    body, plan, frame = v3_body(source=source, entropy=entropy)
    forged, plan = copy.deepcopy(body), copy.deepcopy(plan)
    forged["seed_inputs"][field] = value
    if field == "entropy_source":
        plan["versions"][0]["entropy_source"] = value
    public = {k: forged["seed_inputs"][k] for k in verifier.SEED_INPUTS_V3}
    forged["seed"] = verifier.derive_seed_v3(forged["seed_inputs"]["secret"], public)
    problems = _problems(forged, plan, frame)
    assert any(needle in p for p in problems), problems


def test_v3_population_hash_must_be_the_frozen_frame() -> None:
    body, plan, _ = v3_body()
    forged = copy.deepcopy(body)
    forged["population_sha256"] = "0" * 64
    problems = verifier.check(forged, None, plan=plan, task_lists=task_lists(forged)).problems
    assert any("frame differs" in p for p in problems), problems


def test_v3_entropy_time_that_is_no_time_is_refused() -> None:
    body, plan, frame = v3_body()
    forged, plan = copy.deepcopy(body), copy.deepcopy(plan)
    source = {**DICE6, "scheduled_at": "2026年12月10日上午"}
    forged["seed_inputs"]["entropy_source"] = plan["versions"][0]["entropy_source"] = source
    public = {k: forged["seed_inputs"][k] for k in verifier.SEED_INPUTS_V3}
    forged["seed"] = verifier.derive_seed_v3(forged["seed_inputs"]["secret"], public)
    problems = _problems(forged, plan, frame)
    assert any("entropy time" in p for p in problems), problems


def test_v3_frame_with_a_formula_like_field_is_refused() -> None:
    body, plan, frame = v3_body()
    forged = frame.replace(",定点医疗机构|S0,".encode(), ",=定点医疗机构|S0,".encode(), 1)
    rows = verifier.parse_population(forged)
    report = verifier.check(body, rows, plan=plan, task_lists=task_lists(body))
    assert any("formula-like field" in p for p in report.problems), report.problems


def test_a_v3_sealed_record_with_entropy_not_in_its_form_is_refused() -> None:
    body, plan, _ = v3_body()
    sealed = {k: v for k, v in copy.deepcopy(body).items() if k not in ("tasks", "strata")}
    del sealed["seed_inputs"]["secret"]
    sealed.update(sealed=True, reveal_at="2026-12-31T00:00:00+08:00")
    assert verifier.check(sealed, None, plan=plan).problems == []
    sealed["seed_inputs"]["entropy"] = "骰子 2-7-1-8-2-8"
    problems = verifier.check(sealed, None, plan=plan).problems
    assert any("announced form" in p for p in problems), problems
