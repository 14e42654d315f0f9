"""Every check of the stdlib verifier (docs/verify_draw.py) has a forgery only it refuses.

Each case takes an honest draw, tampers with one thing the way a forger of published files
would, and asserts the verifier names exactly that problem — without the population file
(the checks that need none) and, where the population is given, that the draw is refused too.
Switching any of these checks off makes its case fail (docs/verification.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.draw import SamplingParams, commitment_of, derive_seed, draw_targets
from tests.draw.draw_helpers import ITEMS, as_json, load_verifier, rows_of, units

verifier = load_verifier()
SECRET = "0123456789abcdef" * 4
ENTROPY = "骰子 2-6-1-4"
POPULATION = units(60, strata=3)


def _honest() -> dict[str, Any]:
    commitment = commitment_of(SECRET)
    seed = derive_seed(commitment=commitment, secret=SECRET, entropy=ENTROPY)
    draw = draw_targets(
        seed=seed, population=POPULATION, items=ITEMS, params=SamplingParams(ratio=0.3)
    )
    body = as_json(draw)
    body["seed_inputs"] = {"commitment": commitment, "secret": SECRET, "entropy": ENTROPY}
    return body


def _same_stratum_pair(d: dict[str, Any]) -> tuple[int, int]:
    for i, a in enumerate(d["tasks"]):
        for j in range(i + 1, len(d["tasks"])):
            if d["tasks"][j]["stratum"] == a["stratum"]:
                return i, j
    raise AssertionError("the test draw needs two tasks in one stratum")


def _swap_order(d: dict[str, Any]) -> None:
    i, j = _same_stratum_pair(d)
    d["tasks"][i], d["tasks"][j] = d["tasks"][j], d["tasks"][i]


def _reseed(d: dict[str, Any], secret: str, entropy: str) -> None:
    d["seed_inputs"]["secret"], d["seed_inputs"]["entropy"] = secret, entropy


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "secret not hex": (lambda d: _reseed(d, "XYZ" * 21 + "X", ENTROPY), "不是64位小写十六进制"),
    "entropy not normalised": (lambda d: _reseed(d, SECRET, ENTROPY + " "), "不是规范化形式"),
    "seed not from inputs": (
        lambda d: d.update(seed="ab" * 32),
        "种子与 seed_inputs 推导结果不一致",
    ),
    "strata out of order": (lambda d: d["strata"].reverse(), "分层未按键排序"),
    "bad uscc": (lambda d: d["tasks"][0].update(uscc="not-a-uscc"), "统一社会信用代码格式错误"),
    "drawn twice": (
        lambda d: d["tasks"].insert(1, copy.deepcopy(d["tasks"][0])),
        "同一对象被重复抽取",
    ),
    "unknown stratum": (lambda d: d["tasks"][0].update(stratum="X|Y"), "不在 strata 中"),
    "ticket changed": (lambda d: d["tasks"][0].update(ticket="0.5"), "签号 ticket 应为"),
    "pi out of range": (
        lambda d: d["tasks"][0].update(inclusion_prob=1.5),
        "入样概率 inclusion_prob",
    ),
    "cooldown without reason": (
        lambda d: d["tasks"][0].update(despite_cooldown=True, reason=None),
        "冷却期内仍抽取但未说明原因",
    ),
    "tasks out of order": (_swap_order, "任务未按（分层，签号，代码）排序"),
    "n out of range": (lambda d: d["strata"][0].update(n=0), "N/n 不合法"),
    "floor lowered": (lambda d: d["strata"][0].update(n_floor=0), "最低抽查数应为"),
    "task dropped": (lambda d: d["tasks"].pop(), "但任务数为"),
}


def test_the_honest_draw_verifies() -> None:
    assert verifier.verify(_honest(), rows_of(POPULATION)) == []
    assert verifier.verify(_honest(), None) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_check_refuses_its_forgery(case: str) -> None:
    tamper, message = CASES[case]
    draw = _honest()
    tamper(draw)
    problems = verifier.verify(draw, None)
    assert any(message in p for p in problems), problems
    assert verifier.verify(draw, rows_of(POPULATION)) != []


def test_population_file_checks() -> None:
    rows = rows_of(POPULATION)
    # a unit removed from the file: the hash no longer matches what the draw published
    problems = verifier.verify(_honest(), rows[1:])
    assert any("population_sha256" in p for p in problems), problems
    # rows out of USCC order
    shuffled = [rows[1], rows[0], *rows[2:]]
    problems = verifier.verify(_honest(), shuffled)
    assert any("未按统一社会信用代码排序" in p for p in problems), problems
    # a stratum's published eligible count that the population does not give
    draw = _honest()
    draw["strata"][0]["eligible"] += 1
    assert verifier.verify(draw, None) == []  # nothing without the population shows it
    problems = verifier.verify(draw, rows)
    assert problems == ["分层规模与按总体重算的结果不一致（strata differ from replay）"]
