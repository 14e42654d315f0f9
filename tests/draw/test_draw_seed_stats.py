"""Seed derivation, entropy validation, Pareto frequencies, golden draw, verifier CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.draw import (
    EntropyError,
    PlanItem,
    SamplingParams,
    SeedError,
    Unit,
    commitment_of,
    derive_seed,
    draw_targets,
    normalize_entropy,
)
from app.draw.sampling import solve_inclusion
from tests.draw.draw_helpers import (
    ITEMS,
    SEED,
    as_json,
    file_text,
    load_verifier,
    rows_of,
    units,
    verifier_path,
)

verifier = load_verifier()
SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
GOLDEN = Path(__file__).parent / "golden"


def test_seed_vector_pinned() -> None:
    commitment = commitment_of(SECRET)
    assert commitment == verifier.commitment_of(SECRET)
    seed = derive_seed(commitment=commitment, secret=SECRET, entropy=" 骰子 31415926 ")
    assert seed == derive_seed(commitment=commitment, secret=SECRET, entropy="骰子 31415926")
    assert seed == verifier.derive_seed(commitment, SECRET, "骰子 31415926")
    assert [commitment, seed] == json.loads((GOLDEN / "seed_vector.json").read_text())["expect"]


def test_wrong_secret_rejected() -> None:
    with pytest.raises(SeedError, match="承诺"):
        derive_seed(commitment=commitment_of(SECRET), secret="f" * 64, entropy="1")


@pytest.mark.parametrize("raw", ["", "   ", "a\u200bb", "a\nb", "x" * 257, "\x00"])
def test_entropy_rejected(raw: str) -> None:
    with pytest.raises(EntropyError) as err:
        normalize_entropy(raw)
    assert isinstance(err.value, ValueError) and "公开随机数" in str(err.value)


@given(st.text(max_size=300))
def test_entropy_normalisation_matches_verifier(raw: str) -> None:
    try:
        text = normalize_entropy(raw)
    except EntropyError:
        assert verifier.normalize_entropy(raw) is None
    else:
        assert text == verifier.normalize_entropy(raw) == unicodedata.normalize("NFC", text)
        assert normalize_entropy(text) == text


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.2, 1.0]), st.floats(0.05, 20), st.integers(1, 40)),
        min_size=1,
        max_size=6,
        unique_by=lambda g: (g[0], g[1]),
    ),
    st.integers(0, 200),
)
def test_solve_inclusion_properties(groups: list[tuple[float, float, int]], n: int) -> None:
    groups = sorted(groups)
    floor = math.ceil(sum(m * r for r, _, m in groups) - 1e-9)
    n = max(min(n, sum(m for *_, m in groups)), floor)
    pis = solve_inclusion(groups, n)
    assert pis == verifier.solve_inclusion(groups, n)  # bit-identical in the verifier
    assert all(0 <= p <= 1 and p >= r for p, (r, _, _) in zip(pis, groups, strict=True))
    assert math.isclose(
        sum(m * p for p, (_, _, m) in zip(pis, groups, strict=True)), n, abs_tol=1e-9
    )


def test_pareto_frequencies_match_pi() -> None:
    weights = (0.5, 1.0, 1.0, 2.0, 3.0, 0.7, 1.5, 4.0, 1.0, 0.8, 2.5, 1.2)
    population = [
        Unit(u.uscc, "S", "定点医疗机构", None, weights[k], frozenset())
        for k, u in enumerate(units(12))
    ]
    items = [PlanItem("YB-01", frozenset())]
    params = SamplingParams(ratio=0.3, weighted=True)  # n = 4
    rounds = 2000
    hits = {u.uscc: 0 for u in population}
    pis: dict[str, float] = {}
    for r in range(rounds):
        draw = draw_targets(seed=f"{r:064x}", population=population, items=items, params=params)
        for t in draw.tasks:
            hits[t.uscc] += 1
            pis[t.uscc] = t.inclusion_prob
    assert math.isclose(sum(pis.values()), 4.0)
    for uscc, count in hits.items():
        p = pis[uscc]
        sd = math.sqrt(p * (1 - p) / rounds)
        # Pareto order sampling is approximately exact; its bias here is < 0.01 (spec §5).
        assert abs(count / rounds - p) < 4 * sd + 0.01, (uscc, count / rounds, p)


def _golden_draw() -> tuple[dict[str, object], str]:
    population = units(60, strata=2, weights=(0.5, 1.0, 3.0))
    population[0] = Unit(
        population[0].uscc,
        population[0].stratum,
        population[0].kind,
        "D",
        1.0,
        frozenset({"YB-01"}),
    )
    params = SamplingParams(ratio=0.1, grade_rates={"D": 0.5}, weighted=True)
    draw = draw_targets(seed=SEED, population=population, items=ITEMS, params=params)
    return as_json(draw), file_text(population)


def test_golden_draw() -> None:
    data, text = _golden_draw()
    path = GOLDEN / "draw_weighted.json"
    if os.environ.get("SPOTCHECK_REGEN_GOLDEN"):
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        path.with_suffix(".population.csv").write_text(text, encoding="utf-8", newline="")
    assert data == json.loads(path.read_text(encoding="utf-8"))
    assert text == path.with_suffix(".population.csv").read_text(encoding="utf-8")


def test_verifier_cli(tmp_path: Path) -> None:
    script = verifier_path()
    golden = GOLDEN / "draw_weighted.json"
    ok = subprocess.run([sys.executable, script, golden], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "验证通过" in ok.stdout
    data = json.loads(golden.read_text(encoding="utf-8"))
    data["tasks"][0]["inclusion_prob"] = 0.5
    bad = tmp_path / "draw.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "draw.population.csv").write_bytes(
        golden.with_suffix(".population.csv").read_bytes()
    )
    fail = subprocess.run([sys.executable, script, bad], capture_output=True, text=True)
    assert fail.returncode == 1 and "不一致" in fail.stdout


def test_verifier_refuses_a_draw_remade_with_a_fresh_secret_under_the_old_commitment() -> None:
    # The forger keeps the commitment the plan published, picks a new secret, derives the seed
    # from it exactly as the engine would and re-runs the pure draw: every ticket, π and task
    # is consistent with that seed. Only "the secret opens the commitment" can refuse it.
    population = units(40)
    commitment = commitment_of(SECRET)
    forged_secret = "e" * 64
    entropy = "骰子 31415926"
    forged_seed = verifier.derive_seed(commitment, forged_secret, entropy)
    params = SamplingParams(ratio=0.1)
    body = as_json(
        draw_targets(seed=forged_seed, population=population, items=ITEMS, params=params)
    )
    body["seed_inputs"] = {"commitment": commitment, "secret": forged_secret, "entropy": entropy}
    problems = verifier.verify(body, rows_of(population))
    assert problems == ["公布的密钥与事先公布的承诺值不符（secret does not open commitment）"]
    # the honest draw with the real secret verifies
    honest_seed = verifier.derive_seed(commitment, SECRET, entropy)
    honest = as_json(
        draw_targets(seed=honest_seed, population=population, items=ITEMS, params=params)
    )
    honest["seed_inputs"] = {"commitment": commitment, "secret": SECRET, "entropy": entropy}
    assert verifier.verify(honest, rows_of(population)) == []
