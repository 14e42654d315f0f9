"""Every check of the stdlib verifier (docs/verify_draw.py) has a forgery only it refuses.

Each case takes an honest draw, tampers with one thing the way a forger of published files
would, and asserts the verifier names exactly that problem — without the population file
(the checks that need none) and, where the population is given, that the draw is refused too.
Switching any of these checks off makes its case fail (docs/verification.md).
"""

from __future__ import annotations

import copy
import functools
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


# --- main(): the files around the draw ------------------------------------------------------


def _write(tmp_path: Any, draw: dict[str, Any], population: bytes | None) -> Any:
    import json

    path = tmp_path / "D.json"
    path.write_text(json.dumps(draw, ensure_ascii=False), encoding="utf-8")
    if population is not None:
        (tmp_path / "D.population.csv").write_bytes(population)
    return path


def _file(population: list[Any] = POPULATION) -> bytes:
    from tests.draw.draw_helpers import file_text

    return file_text(population).encode("utf-8")


def test_main_exit_codes_and_messages(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, _honest(), _file())
    assert verifier.main(["v", str(path)]) == 0
    assert "验证通过" in capsys.readouterr().out
    # no population file: incomplete, never 验证通过 (it used to say valid)
    (tmp_path / "D.population.csv").unlink()
    assert verifier.main(["v", str(path)]) == 3
    out = capsys.readouterr().out
    assert "验证未完成（incomplete）" in out and "population file missing" in out
    assert "验证通过" not in out
    # a population file that is not the one hashed
    (tmp_path / "D.population.csv").write_bytes(_file(POPULATION[1:]))
    assert verifier.main(["v", str(path)]) == 1
    assert "总体文件的 SHA-256 与 population_sha256 不符" in capsys.readouterr().out
    # an unreadable population file, and one named that is not there
    (tmp_path / "D.population.csv").write_bytes(b"not,a,population\n")
    assert verifier.main(["v", str(path)]) == 1
    assert "无法读取总体文件" in capsys.readouterr().out
    assert verifier.main(["v", str(path), str(tmp_path / "none.csv")]) == 1
    assert "无法读取总体文件" in capsys.readouterr().out
    # an unreadable plan file
    (tmp_path / "D.population.csv").write_bytes(_file())
    (tmp_path / "plan.json").write_text("{", encoding="utf-8")
    assert verifier.main(["v", str(path), "--plan", str(tmp_path / "plan.json")]) == 1
    assert "无法读取计划文件" in capsys.readouterr().out
    # an unknown algorithm, and a draw file that is not JSON
    path.write_text('{"algorithm": "spotcheck-draw/9"}', encoding="utf-8")
    assert verifier.main(["v", str(path)]) == 1
    assert "不支持的算法" in capsys.readouterr().out


def test_a_task_field_nobody_checks_makes_the_verification_incomplete() -> None:
    draw = _honest()
    draw["tasks"][0]["note"] = "任何人都可以写在这里"
    report = verifier.check(draw, rows_of(POPULATION))
    assert report.problems == [] and report.exit_code == 3
    assert "note" in report.not_checked[0]


# --- the same forgeries for spotcheck-draw/2, and the checks /2 adds ------------------------


def _honest_v2() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, str]]]:
    from app.draw import ALGORITHM_V2
    from tests.draw.draw_helpers import beacon_of, drand_source, quicknet_round, units_v2, v2_body

    population = units_v2(60, strata=3, grades="ABCD", weights=(0.5, 1.0, 4.0))
    params = SamplingParams(
        ratio=0.3, grade_rates={"A": 0.1}, weighted=True, algorithm=ALGORITHM_V2
    )
    round_ = quicknet_round()
    body, plan, frame = v2_body(
        population,
        params,
        source=drand_source(round_["round"]),
        entropy=round_["randomness"],
        beacon=beacon_of(round_),
    )
    return body, plan, verifier.parse_population(frame)


@functools.cache
def _bls_once(chain: str, round_number: Any, signature: Any) -> bool | None:
    result: bool | None = verifier.bls_verify(
        chain, {"round": round_number, "signature": signature}
    )
    return result


def bls(chain: str, beacon: dict[str, Any]) -> bool | None:
    """The verifier's own BLS check, computed once per (round, signature): pairings are slow."""
    return _bls_once(chain, beacon.get("round"), beacon.get("signature"))


def _beacon(**change: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["beacon"].update(change)


def _v2_reseed(d: dict[str, Any], **change: Any) -> None:
    """A forger changes seed inputs and re-derives the seed from them, as the engine would."""
    inputs = d["seed_inputs"]
    inputs.update(change)
    d["seed"] = verifier.derive_seed_v2(
        inputs["commitment"],
        inputs["secret"],
        inputs["frame_sha256"],
        inputs["entropy_source"],
        inputs["entropy"],
    )


V2_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "secret does not open": (
        lambda d: _v2_reseed(d, secret="e" * 64),
        "公布的密钥与事先公布的承诺值不符",
    ),
    "frame not hex": (lambda d: _v2_reseed(d, frame_sha256="X" * 64), "frame_sha256 不是64位"),
    "inputs incomplete": (lambda d: d["seed_inputs"].pop("frame_sha256"), "seed_inputs 须包含"),
    "source missing": (
        lambda d: d["seed_inputs"].pop("entropy_source"),
        "entropy_source 须为含 kind 的对象",
    ),
    "drand entropy not hex": (
        lambda d: _v2_reseed(d, entropy=d["seed_inputs"]["entropy"].upper()),
        "drand 随机数须为64位小写十六进制",
    ),
    "seed not from inputs": (
        lambda d: d.update(seed="ab" * 32),
        "种子与 seed_inputs 推导结果不一致",
    ),
    "frame is not the population": (
        lambda d: d.update(population_sha256="0" * 64),
        "population_sha256 与 seed_inputs.frame_sha256 不同",
    ),
    "beacon missing": (lambda d: d.pop("beacon"), "缺少 beacon"),
    "unknown chain": (
        lambda d: _v2_reseed(d, entropy_source={"kind": "drand", "chain": "x", "round": 1}),
        "不认可的 drand 链",
    ),
    "round not an integer": (_beacon(round="657413"), "beacon.round 不是正整数"),
    "another round": (_beacon(round=657414), "beacon 的链或轮次与计划公布的随机源不同"),
    "chain hash": (_beacon(chain_hash="0" * 64), "beacon.chain_hash 与该 drand 链不符"),
    "round time": (_beacon(round_time="2023-09-15T11:00:06+00:00"), "beacon.round_time 应为"),
    "round before publication": (
        lambda d: d.update(plan_published_at="2023-09-15T11:00:03+00:00"),
        "不晚于计划版本公布时间",
    ),
    "drawn before the round": (
        lambda d: d.update(drawn_at="2023-09-15T11:00:00+00:00"),
        "抽取时间早于所用 drand 轮次的时间",
    ),
    "signature not hex": (_beacon(signature="zz"), "beacon.signature 不是十六进制"),
    "previous signature on quicknet": (
        _beacon(previous_signature="ab"),
        "previous_signature 须且仅须见于链式 drand 链",
    ),
    "randomness": (_beacon(randomness="0" * 64), "beacon.randomness 不等于签名的 SHA-256"),
    "entropy not the randomness": (
        lambda d: _v2_reseed(d, entropy="0" * 64),
        "seed_inputs.entropy 不是该轮 drand 随机数",
    ),
    "bad signature": (
        _beacon(signature="a" + "0" * 95),
        "BLS 签名未通过验证",
    ),
    "plan version not a number": (lambda d: d.update(plan_version="1"), "缺少 plan_version"),
    "published_at without offset": (
        lambda d: d.update(plan_published_at="2023-09-15T10:00:00"),
        "plan_published_at 不是带时区的 ISO 8601 时间",
    ),
    "task without a name": (lambda d: d["tasks"][0].pop("name"), "缺少名称 name 或区划 region"),
    "task id": (lambda d: d["tasks"][1].update(id="X-1"), "任务编号应为"),
    "task plan": (lambda d: d["tasks"][0].update(plan="OTHER"), "不是本次抽取的计划"),
    "required expertise unsorted": (
        lambda d: d["tasks"][0].update(required_expertise=["财务", "医学", "财务"]),
        "required_expertise 须为排序且不重复",
    ),
    "teams without team_params": (
        lambda d: d["tasks"][0].update(team=[{"badge": "1", "role": "组长"}]),
        "缺少 team_params",
    ),
}
V2_POPULATION_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "name not the frame's": (
        lambda d: d["tasks"][0].update(name="另一家"),
        "字段不符：",
    ),
    "region not the frame's": (lambda d: d["tasks"][0].update(region="110101"), "的 region"),
    "population size": (
        lambda d: d.update(population_size=d["population_size"] + 1),
        "population size differs",
    ),
}


def test_the_honest_v2_draw_verifies() -> None:
    body, plan, rows = _honest_v2()
    report = verifier.check(body, rows, plan=plan, bls=bls)
    assert (report.problems, report.not_checked) == ([], [])


@pytest.mark.parametrize("case", sorted(V2_CASES))
def test_each_v2_check_refuses_its_forgery(case: str) -> None:
    tamper, message = V2_CASES[case]
    body, plan, rows = _honest_v2()
    tamper(body)
    problems = verifier.check(body, None, plan=None, bls=bls).problems
    assert any(message in p for p in problems), problems
    assert verifier.check(body, rows, plan=plan, bls=bls).exit_code == 1


@pytest.mark.parametrize("case", sorted(V2_POPULATION_CASES))
def test_each_v2_population_check_refuses_its_forgery(case: str) -> None:
    tamper, message = V2_POPULATION_CASES[case]
    body, plan, rows = _honest_v2()
    tamper(body)
    assert verifier.check(body, None, plan=plan, bls=bls).problems == []  # only the frame shows it
    problems = verifier.check(body, rows, plan=plan, bls=bls).problems
    assert any(message in p for p in problems), problems


def test_a_beacon_on_a_dice_draw_is_refused() -> None:
    from tests.draw.test_draw_v2 import _dice_draw

    body, plan, rows = _dice_draw()
    assert verifier.check(body, rows, plan=plan, bls=bls).exit_code == 0
    body["beacon"] = {"round": 1}
    assert (
        "非 drand 随机源的抽取不应带 beacon"
        in verifier.check(body, rows, plan=plan, bls=bls).problems[0]
    )
    body.pop("beacon")
    body["seed_inputs"]["entropy"] += " "
    assert any("规范化形式" in p for p in verifier.check(body, rows, plan=plan, bls=bls).problems)


def test_sealed_record_checks() -> None:
    from tests.draw.test_draw_v2 import _sealed_of

    body, plan, rows = _honest_v2()
    sealed = _sealed_of(body)
    assert verifier.check(body, rows, plan=plan, sealed=sealed, bls=bls).exit_code == 0
    cases = {
        "sealed flag": (dict(sealed, sealed=False), "没有 sealed: true"),
        "id": (dict(sealed, id="X"), "密封记录的 id"),
        "inputs": (dict(sealed, seed_inputs={}), "密封记录的 seed_inputs"),
        "count": (dict(sealed, task_count=1), "密封记录的任务数"),
        "hash": (dict(sealed, tasks_sha256="0" * 64), "tasks_sha256 mismatch"),
    }
    for name, (record, message) in cases.items():
        problems = verifier.check(body, rows, plan=plan, sealed=record, bls=bls).problems
        assert any(message in p for p in problems), (name, problems)
    # a sealed dice record whose entropy is not in normal form
    from tests.draw.test_draw_v2 import _dice_draw

    dice, dice_plan, _ = _dice_draw()
    record = _sealed_of(dice)
    record["seed_inputs"]["entropy"] = " x"
    problems = verifier.check(record, None, plan=dice_plan, bls=bls).problems
    assert any("规范化形式" in p for p in problems), problems
    record["seed_inputs"].pop("entropy")
    assert (
        "密封记录的 seed_inputs 不完整"
        in verifier.check(record, None, plan=dice_plan, bls=bls).problems[0]
    )


def test_failed_record_shape_is_checked() -> None:
    body, plan, rows = _honest_v2()
    failed = dict(body, status="failed", error={"title": "无法组队"})
    report = verifier.check(failed, rows, plan=plan, bls=bls)  # tasks still there: wrong shape
    assert any("失败的抽取记录须有 error 且没有 tasks" in p for p in report.problems)
