"""Every check of the in-browser verifier (app/publish/static/verify.js) refuses its forgery.

verify.js is run under node (WebCrypto is built in) on honest published draws and on forgeries
of each: every forgery must make the check it targets fail — that check, by its label and
detail, not merely some check — and every "not checked" (未验证) item must be shown. One node
process runs all cases. tests/mutate_checks.py switches each check off in turn and runs this
file against the mutant (docs/verification.md: a check no test depends on is not a check).
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from app.draw import ALGORITHM_V2, SamplingParams, commitment_of, derive_seed, draw_targets
from app.draw.teams import TeamTask, assign_teams, exclusion_token
from tests.draw import test_teams_recusal as recusal
from tests.draw import test_verifier_visits as visits
from tests.draw.draw_helpers import (
    DICE,
    EMPTY_TEAM_FRAME,
    ITEMS,
    as_json,
    file_text,
    golden_v2,
    units,
    units_v2,
    v2_body,
)
from tests.draw.test_teams import TEAM_FORGERIES, _rich_draw, insp, params, published

VERIFY_JS = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "verify.js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

RUN = """
const fs = require("fs");
globalThis.window = {};
globalThis.document = { addEventListener() {} };
globalThis.location = { search: "" };
eval(fs.readFileSync(process.argv[1], "utf8"));
(async () => {
  const v = window.SpotcheckVerify, out = {};
  for (const [name, c] of Object.entries(JSON.parse(fs.readFileSync(process.argv[2], "utf8")))) {
    try {
      if (c.kind === "draw") {
        const pop = Buffer.from(c.population, "base64");
        const lists = {};
        for (const [k, b] of Object.entries(c.lists || {})) lists[k] = new Uint8Array(Buffer.from(b, "base64"));
        out[name] = { checks: (await v.verifyDraw(c.draw, new Uint8Array(pop), c.plan, lists)).checks };
      } else if (c.kind === "teams") {
        out[name] = { problems: [...(await v.checkTeamConstraints(c.draw)), ...(await v.replayTeams(c.draw))] };
      } else out[name] = { problems: v.replayVisits(c.draw) };
    } catch (e) { out[name] = { error: String(e && e.message) }; }
  }
  console.log(JSON.stringify(out));
})();
"""


@dataclass
class Draw:
    """A published draw as the verify page reads it: the draw JSON, the plan JSON, the file."""

    draw: dict[str, Any]
    plan: dict[str, Any] | None
    frame: bytes
    lists: dict[str, bytes] | None = None  # the task list CSV and XLSX (spotcheck-draw/3)

    def payload(self) -> dict[str, Any]:
        population = base64.b64encode(self.frame).decode()
        lists = {k: base64.b64encode(v).decode() for k, v in (self.lists or {}).items()}
        return {
            "kind": "draw",
            "draw": self.draw,
            "plan": self.plan,
            "population": population,
            "lists": lists,
        }


# --- the honest draws ---------------------------------------------------------------------


@functools.cache
def _dice_frozen() -> tuple[dict[str, Any], dict[str, Any], bytes]:
    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    p = SamplingParams(ratio=0.2, grade_rates={"B": 0.05}, algorithm=ALGORITHM_V2)
    return v2_body(population, p, source=DICE, entropy="骰子 6-6-1-2")


def dice() -> Draw:
    """spotcheck-draw/2 with a dice entropy, names that need quoting, weights, no teams."""
    return Draw(*copy.deepcopy(_dice_frozen()))


def drand() -> Draw:
    return Draw(*golden_v2())


V1_SECRET = "0123456789abcdef" * 4
V1_POPULATION = units(60, strata=3)


def v1() -> Draw:
    """spotcheck-draw/1 with the plan whose version announced the commitment."""
    commitment = commitment_of(V1_SECRET)
    seed = derive_seed(commitment=commitment, secret=V1_SECRET, entropy="骰子 2-6-1-4")
    body = as_json(
        draw_targets(
            seed=seed, population=V1_POPULATION, items=ITEMS, params=SamplingParams(ratio=0.3)
        )
    )
    body.update(id="V1-D1", plan="V1", drawn_at="2026-03-02T10:00:00+08:00")
    body["seed_inputs"] = {"commitment": commitment, "secret": V1_SECRET, "entropy": "骰子 2-6-1-4"}
    plan = {
        "code": "V1",
        "versions": [
            {"version": 1, "commitment": commitment, "published_at": "2026-03-01T10:00:00+08:00"}
        ],
    }
    return Draw(body, plan, file_text(V1_POPULATION).encode())


def v3() -> Draw:
    """spotcheck-draw/3: dice in the announced form, exact π, a guarded formula name, and its
    task lists (tests/draw/test_draw_v3.py)."""
    from tests.draw.test_draw_v3 import task_lists, v3_body

    body, plan, frame = copy.deepcopy(v3_body())  # the sources are shared constants
    return Draw(body, plan, frame, {**task_lists(body), "team_frame": EMPTY_TEAM_FRAME})


def v3_record() -> Draw:
    from tests.draw.test_draw_v3 import RECORD2, task_lists, v3_body

    body, plan, frame = copy.deepcopy(v3_body(source=RECORD2, entropy="3412.56"))
    return Draw(body, plan, frame, {**task_lists(body), "team_frame": EMPTY_TEAM_FRAME})


def v3_teams() -> Draw:
    """spotcheck-draw/3 with teams drawn from its frozen inspector frame, recusals opened
    (tests/draw/team_frame_helpers.py)."""
    from tests.draw.team_frame_helpers import with_teams
    from tests.draw.test_draw_v3 import task_lists, v3_body

    body, plan, frame, team_frame = copy.deepcopy(with_teams(v3_body))
    return Draw(body, plan, frame, {**task_lists(body), "team_frame": team_frame})


def v3_replaced() -> Draw:
    """v3_teams with its replacement steps (docs/draw-spec-teams.md §14): recusals skipped and
    opened, a failed step (tests/draw/test_replacement.py pins the vector)."""
    from tests.draw.team_frame_helpers import replacement_doc, with_teams
    from tests.draw.test_draw_v3 import task_lists, v3_body

    body, plan, frame, team_frame = copy.deepcopy(with_teams(v3_body))
    doc = json.dumps(replacement_doc(body, frame, exhaust=True), ensure_ascii=False).encode()
    lists = {**task_lists(body), "team_frame": team_frame, "replacements": doc}
    return Draw(body, plan, frame, lists)


def _replacements(edit: Callable[[dict[str, Any]], None]) -> Callable[[Draw], None]:
    def tamper(d: Draw) -> None:
        assert d.lists is not None
        doc = json.loads(d.lists["replacements"])
        edit(doc)
        d.lists["replacements"] = json.dumps(doc, ensure_ascii=False).encode()

    return tamper


def _step(n: int, **fields: Any) -> Callable[[Draw], None]:
    return _replacements(lambda doc: doc["steps"][n].update(fields))


def v3_frozen_items(make: Callable[[], Draw] = v3_teams) -> Draw:
    """A /3 draw whose plan version froze its items (docs/draw-spec-teams.md §12.10)."""
    from tests.draw.test_replacement import FROZEN_ITEMS

    d = make()
    assert d.plan is not None
    d.plan["versions"][0]["frozen_items"] = copy.deepcopy(FROZEN_ITEMS)
    return d


def _pool_dropped(d: Draw) -> None:
    """The first replaced member's row taken out of the published pool."""
    assert d.lists is not None
    badge = json.loads(d.lists["replacements"])["steps"][0]["badge"]
    rows = d.draw["inspector_pool"]["rows"]
    d.draw["inspector_pool"]["rows"] = [r for r in rows if r[0] != badge]


REPLACED = "每一步均为替换规则给出的人员"


def v3_failed(claimed: bool = False) -> Draw:
    """A failed /3 attempt (docs/draw-spec-teams.md §12.6): genuine (city-level 交叉互查 in one
    city), or `claimed` — a failure recorded where the published pool admits teams."""
    from dataclasses import replace as dc_replace

    from tests.draw.team_frame_helpers import PARAMS, as_failed, with_teams
    from tests.draw.test_draw_v3 import v3_body

    body, plan, frame, team_frame = copy.deepcopy(with_teams(v3_body))
    params = PARAMS if claimed else dc_replace(PARAMS, region_level=4)
    return Draw(as_failed(body, team_frame, frame, params), plan, frame, {"team_frame": team_frame})


JOIN_EXTEND = "spotcheck-draw/3 join-extend"


def v3_extend() -> Draw:
    """A /3 draw under the join-extend rule (docs/draw-spec-teams.md §13) with no open visit
    listed: every task its own visit, the team draw as without visits."""
    from app.draw import canonical_json
    from tests.draw.test_draw_v3 import task_lists

    d = v3_teams()
    d.draw["visit_rule"] = JOIN_EXTEND
    d.draw["open_visits"] = []
    for t in d.draw["tasks"]:
        t["visit"] = t["id"]
    d.draw["tasks_sha256"] = hashlib.sha256(canonical_json(d.draw["tasks"])).hexdigest()
    d.lists = {**task_lists(d.draw), "team_frame": (d.lists or {})["team_frame"]}
    return d


def v3_failed_extend() -> Draw:
    """A genuine failed /3 attempt under join-extend: `failed_teams.visit_added` (§13.3)."""
    d = v3_failed()
    d.draw["visit_rule"] = JOIN_EXTEND
    d.draw["failed_teams"]["visit_added"] = {}
    return d


def v3_failed_joins(max_tasks: int = 2) -> Draw:
    """A failed /3 join-extend attempt that publishes its open visits (§13.4): five targets
    join a visit and are extended (tests/draw/test_verifier_join_extend.py); genuine with
    `max_tasks` 2, a failure claimed where teams exist with 6."""
    from tests.draw.test_verifier_join_extend import _failed_with_joins

    record, plan, population, frame = _failed_with_joins(max_tasks)
    return Draw(record, plan, population, {"team_frame": frame})


def v3_failed_joins_claimed() -> Draw:
    """The attack of §13.4: a feasible team draw made to fail by claiming more extension."""
    from tests.draw.test_verifier_join_extend import _claim_more_extension

    d = v3_failed_joins(6)
    _claim_more_extension(d.draw)
    return d


def v3_failed_joins_claimed_unlisted() -> Draw:
    """The same claim in a record without its open visits (as before §13.4): the failure
    replays with the claimed quotas, the extension itself is not re-derived."""
    d = v3_failed_joins_claimed()
    del d.draw["open_visits"], d.draw["failed_teams"]["visit_recused"]
    d.draw["recusal_openings"] = []
    return d


def _failed_join_tamper(name: str) -> Callable[[Draw], None]:
    from tests.draw.test_verifier_join_extend import FAILED_FORGERIES

    def tamper(d: Draw) -> None:
        d.draw["_population"] = d.frame
        FAILED_FORGERIES[name][0](d.draw)
        del d.draw["_population"]

    return tamper


def _reseeded_frame(edit: Callable[[bytes], bytes]) -> Callable[[Draw], None]:
    """The frame file edited and the seed re-derived with the forged file's hash (the secret is
    public after the draw); without the plan file, only the file's form gives it away."""

    def tamper(d: Draw) -> None:
        from app.draw import SEED_INPUTS_V3, derive_seed_v3

        assert d.lists is not None
        d.lists["team_frame"] = edit(d.lists["team_frame"])
        inputs = d.draw["seed_inputs"]
        inputs["team_frame_sha256"] = hashlib.sha256(d.lists["team_frame"]).hexdigest()
        d.draw["seed"] = derive_seed_v3(
            secret=inputs["secret"], inputs={k: inputs[k] for k in SEED_INPUTS_V3}
        )
        d.plan = None

    return tamper


def _swap_rows(frame: bytes) -> bytes:
    lines = frame.splitlines(keepends=True)
    return b"".join([lines[0], lines[2], lines[1], *lines[3:]])


def _non_canonical_frame(d: Draw) -> None:
    """Two frame rows swapped and the seed re-derived with the forged file's hash (the secret is
    public after the draw); without the plan file, only the file's form gives it away."""
    from app.draw import SEED_INPUTS_V3, derive_seed_v3

    assert d.lists is not None
    lines = d.lists["team_frame"].splitlines(keepends=True)
    d.lists["team_frame"] = b"".join([lines[0], lines[2], lines[1], *lines[3:]])
    inputs = d.draw["seed_inputs"]
    inputs["team_frame_sha256"] = hashlib.sha256(d.lists["team_frame"]).hexdigest()
    d.draw["seed"] = derive_seed_v3(
        secret=inputs["secret"], inputs={k: inputs[k] for k in SEED_INPUTS_V3}
    )
    d.plan = None


def _team_frame(edit: Callable[[bytes], bytes]) -> Callable[[Draw], None]:
    def tamper(d: Draw) -> None:
        assert d.lists is not None
        d.lists["team_frame"] = edit(d.lists["team_frame"])

    return tamper


def _lists(kind: str, edit: Callable[[bytes], bytes]) -> Callable[[Draw], None]:
    def tamper(d: Draw) -> None:
        assert d.lists is not None
        d.lists = {**d.lists, kind: edit(d.lists[kind])}

    return tamper


def _xlsx_edit(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        import io
        import zipfile

        src = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info).replace(old, new, 1))
        return out.getvalue()

    return edit


def _zip_method(method: int) -> Callable[[bytes], bytes]:
    """The first central-directory entry's compression method set to `method`."""

    def edit(data: bytes) -> bytes:
        at = data.index(b"PK\x01\x02")
        return data[: at + 10] + method.to_bytes(2, "little") + data[at + 12 :]

    return edit


def _reseed(d: Draw) -> None:
    """Seed inputs with a junk key, the seed re-derived with it (a free re-roll)."""
    from app.draw.seed import SEED_TAG_V3, _field, canonical_json

    si = d.draw["seed_inputs"]
    si["nonce"] = "1"
    public = {k: v for k, v in si.items() if k != "secret"}
    message = SEED_TAG_V3 + _field(si["secret"].encode()) + _field(canonical_json(public))
    d.draw["seed"] = hashlib.sha256(message).hexdigest()


def _swap_exact(d: Draw) -> None:
    """A drawn unit of a weighted stratum swapped for an undrawn one of the same π."""
    tasks = d.draw["tasks"]
    drawn = {t["uscc"] for t in tasks}
    t = next(x for x in tasks if x["inclusion_prob"] < 1)
    rows = [line.split(",") for line in d.frame.decode().split("\n")[1:] if line.count(",") >= 7]
    other = next(r[0] for r in rows if r[1] == t["stratum"] and r[0] not in drawn)
    t["uscc"] = other


def sealed() -> Draw:
    d = dice()
    del d.draw["seed_inputs"]["secret"]
    d.draw.update(sealed=True, reveal_at="2026-12-31T00:00:00+08:00")
    return d


def failed() -> Draw:
    """A failed attempt as app/plans/drawing.py stores it: an error and no "tasks" key."""
    d = dice()
    del d.draw["tasks"]
    d.draw.update(status="failed", error={"title": "无法组成检查组", "errors": ["人员不足"]})
    return d


def caps() -> Draw:
    from tests.draw.test_yearly_caps import CAPS, POPULATION
    from tests.draw.test_yearly_caps import params as cap_params

    body, plan, frame = v2_body(POPULATION, cap_params(), source=DICE, entropy="骰子 3-1-4-1-5-9")
    plan["versions"][0]["spec"] = {"yearly_caps": dict(CAPS)}
    return Draw(body, plan, frame)


@functools.cache
def _teams_frozen() -> tuple[dict[str, Any], dict[str, Any], bytes]:
    body, plan, frame = copy.deepcopy(_dice_frozen())
    tasks = [TeamTask(t["uscc"], t["region"], frozenset()) for t in body["tasks"]]
    pool = [insp(f"L{k:02d}", f"37050{k % 3}", expertise=("医学",)) for k in range(10)]
    result = published(
        assign_teams(seed=body["seed"], tasks=tasks, inspectors=pool, params=params(size=2))
    )
    team = {t["uscc"]: t["team"] for t in result["tasks"]}
    for t in body["tasks"]:
        t["team"] = team[t["uscc"]]
    body.update(
        team_params=result["team_params"],
        exclusions=result["exclusions"],
        inspector_pool=result["inspector_pool"],
    )
    return body, plan, frame


def teams() -> Draw:
    """The dice draw with its teams drawn (the targets and the teams in one verifyDraw)."""
    return Draw(*copy.deepcopy(_teams_frozen()))


# --- forgeries of a whole draw: (honest draw, tamper, label of the check that fails, detail) ---


def _other_frame_line(d: Draw) -> None:
    lines = d.frame.decode().split("\n")
    lines[1] = lines[1].replace("定点", "定倍", 1)
    d.frame = "\n".join(lines).encode()


def _not_drawn(d: Draw) -> None:
    """A task replaced by a unit of its stratum that was not drawn."""
    t = d.draw["tasks"][0]
    drawn = {x["uscc"] for x in d.draw["tasks"]}
    rows = [line.split(",") for line in d.frame.decode().split("\n")[1:] if line.count(",") >= 7]
    t["uscc"] = next(r[0] for r in rows if r[1] == t["stratum"] and r[0] not in drawn)


def _fill(d: Draw) -> dict[str, Any]:
    return next(t for t in d.draw["tasks"] if t["despite_cap"] and not t["despite_cooldown"])


def _set(path: str, value: Any) -> Callable[[Draw], None]:
    """Sets draw.a.b (or plan.… with a leading `plan.`) to value."""

    def tamper(d: Draw) -> None:
        keys = path.split(".")
        node: Any = d.plan if keys[0] == "plan" else d.draw
        keys = keys[1:] if keys[0] == "plan" else keys
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value

    return tamper


def _both(*tampers: Callable[[Draw], None]) -> Callable[[Draw], None]:
    def tamper(d: Draw) -> None:
        for t in tampers:
            t(d)

    return tamper


def _drop_secret_check(d: Draw) -> None:
    d.draw["seed_inputs"]["secret"] = "ff" * 32


OTHER_HEX = "ab" * 32
ROUND = "seed_inputs.entropy_source"
MAINNET = {"kind": "drand", "chain": "mainnet", "round": 1}

DRAW_FORGERIES: dict[str, tuple[Callable[[], Draw], Callable[[Draw], None], str, str]] = {
    "unknown algorithm": (v1, _set("algorithm", "spotcheck-draw/9"), "算法版本", ""),
    "plan of another code": (dice, _set("plan.code", "X"), "计划第 1 版", "计划编号不符"),
    "plan version missing": (dice, _set("plan_version", 2), "计划第 2 版", "计划没有第 2 版"),
    "commitment not the plan's": (
        dice,
        _set("plan.versions.0.commitment", OTHER_HEX),
        "计划第 1 版",
        "承诺值不同",
    ),
    "frame hash not the plan's": (
        dice,
        _set("plan.versions.0.frame_sha256", OTHER_HEX),
        "计划第 1 版",
        "抽样框哈希不同",
    ),
    "entropy source not the plan's": (
        dice,
        _set("plan.versions.0.entropy_source", {**DICE, "place": "别处"}),
        "计划第 1 版",
        "随机源不同",
    ),
    "algorithm not the plan's": (
        dice,
        _set("plan.versions.0.algorithm", "spotcheck-draw/1"),
        "计划第 1 版",
        "算法不同",
    ),
    "published at another time": (
        dice,
        _set("plan_published_at", "2023-09-15T10:30:00+00:00"),
        "计划第 1 版",
        "公布时间不同",
    ),
    "yearly caps not the plan's": (
        dice,
        _set("plan.versions.0.spec", {"yearly_caps": {"A": 1}}),
        "计划第 1 版",
        "年度检查上限不同",
    ),
    "entropy not normalised": (
        dice,
        _set("seed_inputs.entropy", " 骰子 6-6-1-2"),
        "规范形式",
        "",
    ),
    "beacon on dice": (dice, _set("beacon", {}), "非 drand 随机源不应带 beacon", ""),
    "unknown drand chain": (
        drand,
        _both(_set(ROUND, MAINNET), _set("plan.versions.0.entropy_source", MAINNET)),
        "drand 链",
        "不认可的链 mainnet",
    ),
    "beacon of another round": (drand, _set("beacon.round", 657414), "drand", "不是计划公布的轮次"),
    "beacon of another chain": (drand, _set("beacon.chain_hash", OTHER_HEX), "drand", "链哈希不符"),
    "round time moved": (
        drand,
        _set("beacon.round_time", "2023-09-15T11:00:06+00:00"),
        "drand",
        "轮次时间应为",
    ),
    "round before the plan": (
        drand,
        _both(
            _set("plan_published_at", "2023-09-15T12:00:00+00:00"),
            _set("plan.versions.0.published_at", "2023-09-15T12:00:00+00:00"),
        ),
        "drand",
        "不晚于计划版本公布时间",
    ),
    "round before the plan (time from the plan file)": (
        drand,
        _both(
            _set("plan_published_at", None),
            _set("plan.versions.0.published_at", "2023-09-15T12:00:00+00:00"),
        ),
        "drand",
        "不晚于计划版本公布时间",
    ),
    "previous signature on quicknet": (
        drand,
        _set("beacon.previous_signature", OTHER_HEX),
        "drand",
        "previous_signature 不符",
    ),
    "signature not hex": (drand, _set("beacon.signature", "zz"), "drand", "签名不是十六进制"),
    "randomness not the signature's": (
        drand,
        _set("beacon.randomness", OTHER_HEX),
        "drand",
        "randomness ≠ SHA-256(签名)",
    ),
    "entropy not the round's": (
        drand,
        _set("seed_inputs.entropy", OTHER_HEX),
        "drand",
        "公开随机数不是该轮 randomness",
    ),
    "secret in a sealed draw": (
        sealed,
        _set("seed_inputs.secret", "00" * 32),
        "密封记录不含密钥",
        "",
    ),
    "secret does not open the commitment": (dice, _drop_secret_check, "密钥与承诺值一致", ""),
    "/1 commitment not announced": (
        v1,
        _set("plan.versions.0.commitment", OTHER_HEX),
        "承诺值见于抽取前公布的计划版本",
        "",
    ),
    "/1 commitment announced after the draw": (
        v1,
        _set("plan.versions.0.published_at", "2026-03-03T10:00:00+08:00"),
        "承诺值见于抽取前公布的计划版本",
        "",
    ),
    "/1 seed not from its inputs": (
        v1,
        _set("seed", OTHER_HEX),
        "种子 = SHA-256(承诺值, 密钥, 公开",
        "",
    ),
    "/2 seed not from its inputs": (dice, _set("seed", OTHER_HEX), "抽样框哈希, 随机源", ""),
    "population not the frame": (
        dice,
        _set("population_sha256", OTHER_HEX),
        "population_sha256 = frame_sha256",
        "",
    ),
    "population file changed": (dice, _other_frame_line, "抽样总体文件哈希", ""),
    "/1 population file changed": (v1, _other_frame_line, "抽样总体文件哈希", ""),
    "population size": (dice, _set("population_size", 41), "population_size", ""),
    "failed draw with tasks": (failed, _set("tasks", []), "抽取失败的记录", ""),
    "failed draw without its error": (failed, _set("error", None), "抽取失败的记录", ""),
    "task ids out of order": (dice, _set("tasks.0.id", "GOLD-2026-D1-00009"), "任务编号", ""),
    "stratum not published": (
        dice,
        lambda d: d.draw["strata"].pop(0),
        "分层",
        "公布的分层与总体文件不一致",
    ),
    "stratum size changed": (dice, _set("strata.0.n_floor", 1), "分层", "n_floor 公布 1"),
    "unit not drawn": (dice, _not_drawn, "分层", "不应入选"),
    "drawn unit not published": (dice, _not_drawn, "分层", "应入选但未公布"),
    "ticket changed": (dice, _set("tasks.0.ticket", "0.5"), "分层", "随机号不符"),
    "pi changed": (dice, _set("tasks.0.inclusion_prob", 0.5), "分层", "入样概率 π 公布 0.5"),
    "cooldown flag": (dice, _set("tasks.0.despite_cooldown", True), "分层", "冷却期标记不符"),
    "cap flag without caps": (dice, _set("tasks.0.despite_cap", False), "分层", "年度上限标记不符"),
    "cap flag dropped": (
        caps,
        lambda d: _fill(d).update(despite_cap=False, reason=None),
        "分层",
        "年度上限标记不符",
    ),
    "items changed": (dice, _set("tasks.0.items", ["YB-02"]), "分层", "检查事项不符"),
    "reason added": (dice, _set("tasks.0.reason", "说明"), "分层", "冷却期或年度上限说明不符"),
    "cap reason dropped": (
        caps,
        lambda d: _fill(d).update(reason=None),
        "分层",
        "冷却期或年度上限说明不符",
    ),
    "name changed": (dice, _set("tasks.0.name", "另一家医院"), "分层", "名称或区划与抽样框不符"),
    "region changed": (dice, _set("tasks.0.region", "370199"), "分层", "名称或区划与抽样框不符"),
    "team without team_params": (
        dice,
        _set("tasks.0.team", [{"badge": "L01", "role": "组长"}]),
        "检查组",
        "缺少 team_params",
    ),
    "team member changed": (teams, _set("tasks.0.team.1.badge", "NOBODY"), "检查组约束", "NOBODY"),
    "leader swapped": (
        teams,
        lambda d: d.draw["tasks"][0]["team"].reverse(),
        "检查组重放",
        "检查组与重放结果不一致",
    ),
    "join without open visits": (
        teams,
        _set("tasks.0.joins", {"draw": "O-D1", "task": "O-D1-00001", "plan": "O"}),
        "一次检查",
        "并入的检查不在 open_visits 中",
    ),
    "open visit of a unit not drawn": (
        teams,
        _set(
            "open_visits",
            [
                {
                    "uscc": "91370000000000000X",
                    "plan": "O",
                    "draw": "O-D1",
                    "task": "O-D1-00001",
                    "visit": "O-D1-00001",
                    "team": [],
                }
            ],
        ),
        "一次检查（跨计划合并",
        "不是本次抽中的对象",
    ),
}


def _listed_visit(window: dict[str, str], plan_window: dict[str, str] | None) -> Callable:
    """The team draw listing an open visit of another plan in `window`; the plan file's window."""

    def tamper(d: Draw) -> None:
        t = d.draw["tasks"][0]
        visit = {"uscc": t["uscc"], "plan": "O", "draw": "O-D1", "task": "O-D1-00001"}
        d.draw["open_visits"] = [{**visit, "visit": "O-D1-00001", "window": window, "team": []}]
        assert d.plan is not None
        d.plan["spec"] = {} if plan_window is None else {"window": plan_window}

    return tamper


DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}
WINDOWS = "时间窗口重叠"
DRAW_FORGERIES |= {
    "listed visit outside the plan's window": (
        teams,
        _listed_visit({"start": "2027-01-01", "end": "2027-01-31"}, DECEMBER),
        WINDOWS,
        "2027-01-01～2027-01-31 与本计划 2026-12-01～2026-12-31 不重叠",
    ),
    "listed visit before the plan's window": (
        teams,
        _listed_visit({"start": "2026-11-01", "end": "2026-11-30"}, DECEMBER),
        WINDOWS,
        "不重叠",
    ),
    "plan file without a window": (
        teams,
        _listed_visit(DECEMBER, None),
        WINDOWS,
        "计划文件缺少检查时间窗口",
    ),
}

# The population file cannot be read: verifyDraw stops with this error.
DRAW_FORGERIES |= {
    # spotcheck-draw/3 (docs/draw-spec.md §11)
    "v3 entropy not in the announced form": (
        v3,
        _set("seed_inputs.entropy", "骰子 2-7-1-8-2-8"),
        "恰为随机源公布的形式",
        "6 个 10 面骰",
    ),
    "v3 seed input added": (v3, _reseed, "seed_inputs 恰为", "nonce"),
    "v3 secret does not open the commitment": (
        v3,
        _set("seed_inputs.secret", OTHER_HEX),
        "密钥与承诺值一致",
        "",
    ),
    "v3 seed not derived": (v3, _set("seed", OTHER_HEX), "种子 = SHA-256(密钥", ""),
    "v3 drawn before the ceremony": (
        v3,
        _set("drawn_at", "2026-12-10T01:00:00+00:00"),
        "随机源时间晚于计划公布",
        "抽取时间早于公布的随机源时间",
    ),
    "v3 record announced after it existed": (
        v3_record,
        lambda d: (
            d.draw.update(plan_published_at="2026-12-11T00:00:00+08:00"),
            d.plan["versions"][0].update(published_at="2026-12-11T00:00:00+08:00"),  # type: ignore[index]
        ),
        "随机源时间晚于计划公布",
        "不晚于计划版本公布时间",
    ),
    "v3 entropy time that is no time": (
        v3,
        _set("seed_inputs.entropy_source.scheduled_at", "2026年12月10日上午"),
        "随机源时间晚于计划公布",
        "不是带时区的 ISO 8601 时间",
    ),
    "v3 population hash not the frozen frame": (
        v3,
        _set("population_sha256", OTHER_HEX),
        "抽样总体即计划公布的抽样框",
        "",
    ),
    "v2 dice drawn before the ceremony": (
        dice,
        _set("drawn_at", "2026-12-09T01:00:00+00:00"),
        "随机源时间晚于计划公布",
        "抽取时间早于公布的随机源时间",
    ),
    "v3 exact selection swapped": (v3, _swap_exact, "分层", "不应入选"),
    "v3 one byte of the CSV": (
        v3,
        _lists("csv", lambda b: b.replace(b"0.2", b"0.3", 1)),
        "tasks.csv 与抽取结果逐格一致",
        "不符",
    ),
    "v3 CSV formula unguarded": (
        v3,
        _lists("csv", lambda b: b.replace(b"'=HYPERLINK", b"=HYPERLINK", 1)),
        "tasks.csv 与抽取结果逐格一致",
        "未防公式",
    ),
    "v3 CSV row dropped": (
        v3,
        _lists("csv", lambda b: b"\r\n".join(b.split(b"\r\n")[:1] + b.split(b"\r\n")[2:])),
        "tasks.csv 与抽取结果逐格一致",
        "行任务",
    ),
    "v3 XLSX ticket changed": (
        v3,
        lambda d: _lists(
            "xlsx",
            _xlsx_edit(
                d.draw["tasks"][0]["ticket"].encode(),
                d.draw["tasks"][0]["ticket"][:-1].encode() + b"0",
            ),
        )(d),
        "tasks.xlsx 与抽取结果逐格一致",
        "随机号",
    ),
    "v3 XLSX not a zip": (
        v3,
        _lists("xlsx", lambda b: b"not a zip"),
        "tasks.xlsx 与抽取结果逐格一致",
        "不是 ZIP 文件",
    ),
    "v3 CSV without BOM": (
        v3,
        _lists("csv", lambda b: b[3:]),
        "tasks.csv 与抽取结果逐格一致",
        "UTF-8 BOM",
    ),
    "v3 XLSX directory damaged": (
        v3,
        _lists("xlsx", lambda b: b.replace(b"PK\x01\x02", b"PK\x01\x03", 1)),
        "tasks.xlsx 与抽取结果逐格一致",
        "ZIP 目录损坏",
    ),
    "v3 XLSX unknown compression": (
        v3,
        _lists("xlsx", _zip_method(99)),
        "tasks.xlsx 与抽取结果逐格一致",
        "压缩方式不支持",
    ),
    # spotcheck-draw/3 teams on the frozen inspector frame (docs/draw-spec-teams.md §12)
    "v3 team frame not the seed's": (
        v3_teams,
        _team_frame(lambda b: b + b"\n"),
        "即计划公布时冻结的名录",
        "不符",
    ),
    "v3 failure claimed where teams exist": (
        lambda: v3_failed(claimed=True),
        lambda d: None,
        "无法组成检查组（按公布",
        "失败记录不成立",
    ),
    "v3 failed record without its error": (
        v3_failed,
        lambda d: d.draw.pop("error"),
        "抽取失败的记录（未能组成检查组）：没有任务，有失败原因",
        "",
    ),
    "v3 failed record malformed": (
        v3_failed,
        lambda d: d.draw["failed_teams"].pop("joined"),
        "无法组成检查组（按公布",
        "须恰含",
    ),
    "v3 failed record names a target not drawn": (
        v3_failed,
        lambda d: d.draw["failed_teams"].update(joined=["9" * 18]),
        "无法组成检查组（按公布",
        "未抽中的对象",
    ),
    # /3 join-extend (docs/draw-spec-teams.md §13)
    "v3 join-extend rule unknown": (
        v3_extend,
        lambda d: d.draw.update(visit_rule="spotcheck-draw/3 join-anything"),
        "合并规则 visit_rule",
        "join-anything",
    ),
    "v3 join-extend visit id": (
        v3_extend,
        lambda d: d.draw["tasks"][0].update(visit="X"),
        "一次检查（跨计划合并并补充检查组",
        "visit 应为任务本身的编号",
    ),
    "v3 join-extend team": (
        v3_extend,
        lambda d: d.draw["tasks"][0]["team"].reverse(),
        "检查组约束与重放（第二个随机，扣除补充检查组所用任务额度）",
        "",
    ),
    "v3 failed join-extend without visit_added": (
        v3_failed_extend,
        lambda d: d.draw["failed_teams"].pop("visit_added"),
        "无法组成检查组（按公布",
        "须恰含",
    ),
    "v3 failed join-extend names a target that did not join": (
        v3_failed_extend,
        lambda d: d.draw["failed_teams"].update(visit_added={"9" * 18: ["X"]}),
        "无法组成检查组（按公布",
        "未并入的对象",
    ),
    "v3 failed record under an unknown join rule": (
        v3_failed,
        lambda d: d.draw.update(visit_rule="spotcheck-draw/3 join-anything"),
        "无法组成检查组（按公布",
        "不支持的合并规则",
    ),
    "v3 teams under the /2 label": (
        v3_teams,
        lambda d: d.draw["team_params"].update(algorithm="spotcheck-draw/2 teams"),
        "组队算法为 spotcheck-draw/3 teams",
        "spotcheck-draw/2 teams",
    ),
    "v3 team frame not canonical": (
        v3_teams,
        _non_canonical_frame,
        "即计划公布时冻结的名录",
        "不是规范格式",
    ),
    "v3 team frame header changed": (
        v3_teams,
        _reseeded_frame(lambda b: b.replace(b"badge,", b"code,", 1)),
        "即计划公布时冻结的名录",
        "表头不符",
    ),
    "v3 team frame row short of a column": (
        v3_teams,
        _reseeded_frame(lambda b: b.replace(b",\xe5\x9c\xa8\xe5\xb2\x97,", b",", 1)),
        "即计划公布时冻结的名录",
        "应有 9 列",
    ),
    "v3 team frame open tasks not a count": (
        v3_teams,
        _reseeded_frame(
            lambda b: (
                b.replace("在岗,,0,".encode(), "在岗,,x,".encode(), 1)
                if "在岗,,0,".encode() in b
                else b.replace("在岗,8,0,".encode(), "在岗,8,x,".encode(), 1)
            )
        ),
        "即计划公布时冻结的名录",
        "不是整数",
    ),
    "v3 team frame token not hex": (
        v3_teams,
        _reseeded_frame(lambda b: b[: b.rindex(b";")] + b";XYZ\n"),
        "即计划公布时冻结的名录",
        "回避标记须为32位小写十六进制",
    ),
    "v3 team frame plan version differs": (
        v3_teams,
        lambda d: d.plan["versions"][0].update(team_frame_sha256=OTHER_HEX),  # type: ignore[index]
        "均为计划第",
        "执法人员名录哈希不同",
    ),
    "v3 team frame pool quota raised": (
        v3_teams,
        lambda d: d.draw["inspector_pool"]["rows"][0].__setitem__(5, 99),
        "由冻结的执法人员名录导出",
        "",
    ),
    "v3 recusal salt forged": (
        v3_teams,
        lambda d: d.draw["recusal_openings"][0].update(salt="0" * 64),
        "以标记冻结",
        "不在计划公布时冻结的执法人员名录中",
    ),
    "v3 recusal not opened": (
        v3_teams,
        lambda d: d.draw["recusal_openings"].pop(0),
        "以标记冻结",
        "缺少回避标记的开启值",
    ),
    "v3 recusal opening unused": (
        v3_teams,
        lambda d: d.draw["recusal_openings"].append(
            dict(d.draw["recusal_openings"][-1], badge="37999")
        ),
        "以标记冻结",
        "未用于任何一步",
    ),
    "v3 recusal openings unsorted": (
        v3_teams,
        lambda d: d.draw["recusal_openings"].reverse(),
        "以标记冻结",
        "未按",
    ),
    "v3 recusal openings malformed": (
        v3_teams,
        lambda d: d.draw.update(recusal_openings=[{"badge": "x"}]),
        "以标记冻结",
        "须为 {badge, uscc, salt}",
    ),
    # items frozen with the plan version (docs/draw-spec-teams.md §12.10)
    "v3 required expertise not the frozen items'": (
        v3_frozen_items,
        lambda d: d.draw["tasks"][0].update(required_expertise=["信息"]),
        "均为计划第",
        "所需专长与公布时冻结的检查事项不符",
    ),
    "v3 item kinds not the frozen items'": (
        v3_frozen_items,
        lambda d: d.draw["params"]["items"][1].update(target_kinds=[]),
        "均为计划第",
        "检查事项及其适用类别与公布时冻结的不同",
    ),
    "v3 frozen items malformed": (
        v3_frozen_items,
        lambda d: d.plan["versions"][0].update(frozen_items=[{"code": "YB-01"}]),  # type: ignore[index]
        "均为计划第",
        "frozen_items 格式不符",
    ),
    "v3 failed item expertise not the frozen items'": (
        lambda: v3_frozen_items(v3_failed),
        lambda d: d.draw["failed_teams"]["item_expertise"].update({"YB-02": ["药学"]}),
        "均为计划第",
        "failed_teams.item_expertise 与公布时冻结的检查事项不符",
    ),
    # replacement steps (docs/draw-spec-teams.md §14)
    "v3 replacement friendly": (
        v3_replaced,
        _step(1, replacement="37011"),
        REPLACED,
        "按替换规则应为",
    ),
    "v3 replacement recusal skip dropped": (
        v3_replaced,
        _step(0, recused=[], recusal_openings=[]),
        REPLACED,
        "按替换规则应为",
    ),
    "v3 replacement recusal salt forged": (
        v3_replaced,
        _replacements(lambda doc: doc["steps"][0]["recusal_openings"][0].update(salt="0" * 64)),
        REPLACED,
        "不在计划公布时冻结的执法人员名录中",
    ),
    "v3 replacement failure changed": (
        v3_replaced,
        _step(9, failure="无符合条件的替换人员"),
        REPLACED,
        "按替换规则应为",
    ),
    "v3 replacement seq gap": (v3_replaced, _step(2, seq=4), REPLACED, "缺少字段或序号不符"),
    "v3 replacement reason not Chinese": (
        v3_replaced,
        _step(0, reason="left"),
        REPLACED,
        "没有中文的替换原因",
    ),
    "v3 replacement recused unsorted": (
        v3_replaced,
        _step(9, recused=["37010", "37006"]),
        REPLACED,
        "排序且不重复",
    ),
    "v3 replacement unknown task": (
        v3_replaced,
        _step(0, task="X-00001"),
        REPLACED,
        "不在本次抽取的组队任务中",
    ),
    "v3 replacement badge not on the team": (
        v3_replaced,
        _step(0, badge="37999"),
        REPLACED,
        "的检查组中",
    ),
    "v3 replacement badge not in the pool": (
        v3_replaced,
        _pool_dropped,
        REPLACED,
        "执法检查人员名录中",
    ),
    "v3 replacements of another draw": (
        v3_replaced,
        _replacements(lambda doc: doc.update(draw="OTHER")),
        REPLACED,
        "不属于本次抽取",
    ),
    "v3 replacements on a draw without a frame": (
        v3_replaced,
        lambda d: d.draw.pop("team_frame_file"),
        REPLACED,
        "只有在冻结名录上抽取",
    ),
    "v3 replacements unreadable": (
        v3_replaced,
        lambda d: d.lists.update(replacements=b"\xff"),  # type: ignore[union-attr]
        REPLACED,
        "无法读取",
    ),
    "v3 XLSX with a DOCTYPE": (
        v3,
        _lists("xlsx", _xlsx_edit(b"<worksheet", b"<!DOCTYPE x><worksheet")),
        "tasks.xlsx 与抽取结果逐格一致",
        "DOCTYPE",
    ),
}


# a failed join-extend attempt's joins and extensions re-derive (docs/draw-spec-teams.md §13.4)
FAILED = "无法组成检查组（按公布"
DRAW_FORGERIES |= {
    "v3 failure forged by claiming more extension": (
        v3_failed_joins_claimed,
        lambda d: None,
        FAILED,
        "extension forged",
    ),
    "v3 failed join-extend join dropped": (
        v3_failed_joins,
        _failed_join_tamper("a join dropped"),
        FAILED,
        "failed_teams.joined 与按 open_visits 重放的合并不一致",
    ),
    "v3 failed join-extend stray visit_recused": (
        v3_failed_joins,
        _failed_join_tamper("stray visit_recused"),
        FAILED,
        "却有 visit_recused",
    ),
    "v3 failed join-extend member out of pool": (
        v3_failed_joins,
        _failed_join_tamper("member out of pool"),
        FAILED,
        "in_pool",
    ),
    "v3 failed join-extend recusal never met": (
        v3_failed_joins,
        _failed_join_tamper("recusal never met"),
        FAILED,
        "在补充检查组时从未被跳过",
    ),
    "v3 failed join-extend recusal not deciding": (
        v3_failed_joins,
        _failed_join_tamper("recusal not deciding"),
        FAILED,
        "并未决定能否合并",
    ),
    "v3 failed join-extend visit_recused repeated": (
        v3_failed_joins,
        _failed_join_tamper("visit_recused repeated"),
        FAILED,
        "排序且不重复",
    ),
    "v3 failed join-extend visit recusal not opened": (
        v3_failed_joins,
        _failed_join_tamper("visit recusal not opened"),
        "公布的回避均在计划公布时以标记冻结",
        "缺少回避标记的开启值",
    ),
    "v3 failed join-extend without visit_recused": (
        v3_failed_joins,
        _failed_join_tamper("visit_recused missing"),
        FAILED,
        "须恰含",
    ),
    "v3 failure claimed where teams exist, with joins": (
        lambda: v3_failed_joins(6),
        lambda d: None,
        FAILED,
        "失败记录不成立",
    ),
}


FILE_FORGERIES: dict[str, tuple[Callable[[], Draw], Callable[[Draw], None], str]] = {
    "header changed": (
        dice,
        lambda d: setattr(d, "frame", d.frame.replace(b",name", b",title", 1)),
        "总体文件表头不符",
    ),
    "quote not closed": (
        dice,
        lambda d: setattr(d, "frame", d.frame + b'9137,S,K,A,1.0,,370100,"x\n'),
        "引号未闭合",
    ),
    "v3 formula name unguarded": (
        v3,
        lambda d: setattr(d, "frame", d.frame.replace(b"\"'=HYPERLINK", b'"=HYPERLINK', 1)),
        "以公式字符开头却未加前导",
    ),
    "v3 formula-like stratum": (
        v3,
        lambda d: setattr(
            d,
            "frame",
            d.frame.replace(",定点医疗机构|S0,".encode(), ",=定点医疗机构|S0,".encode(), 1),
        ),
        "字段以公式字符开头",
    ),
    "record short of fields": (
        dice,
        lambda d: setattr(d, "frame", d.frame + b"9137,S,K\n"),
        "缺少字段",
    ),
    "year checks not a count": (
        caps,
        lambda d: setattr(d, "frame", d.frame.replace(b",1,,370102", b",x,,370102", 1)),
        "year_checks / cap_exempt 不合法",
    ),
}

# Honest draws: (draw, how many checks are 未验证 and a label each of those must contain)
HONEST: dict[str, tuple[Callable[[], Draw], list[str]]] = {
    "dice": (dice, []),
    "v3": (v3, []),
    "v3 public record": (v3_record, []),
    "v3 without task lists": (
        lambda: replace(v3(), lists={}),
        ["执法人员名录", "tasks.csv 与抽取结果逐格一致", "tasks.xlsx 与抽取结果逐格一致"],
    ),
    "v3 teams": (v3_teams, []),
    "v3 replaced": (v3_replaced, []),
    "v3 frozen items": (v3_frozen_items, []),
    "v3 failed frozen items": (lambda: v3_frozen_items(v3_failed), []),
    "v3 replaced without the frame file": (
        lambda: replace(
            v3_replaced(),
            lists={k: v for k, v in v3_replaced().lists.items() if k != "team_frame"},  # type: ignore[union-attr]
        ),
        ["执法人员名录", "替换时跳过的回避均在计划公布时以标记冻结"],
    ),
    "v3 failed": (v3_failed, []),
    "v3 join-extend": (v3_extend, []),
    "v3 failed join-extend": (v3_failed_extend, []),
    "v3 failed join-extend with open visits": (v3_failed_joins, []),
    # not honest: the claim of more extension in a record without open visits is not refused,
    # only left unchecked (never "valid")
    "v3 failed join-extend claimed, no open visits": (
        v3_failed_joins_claimed_unlisted,
        ["extension taken as published"],
    ),
    "drand": (drand, ["drand BLS 签名"]),
    "v1": (v1, []),
    "sealed": (sealed, ["种子与抽取结果"]),
    "failed": (failed, ["无法组成检查组"]),
    "caps": (caps, []),
    "teams": (teams, []),
    "no plan file": (
        lambda: replace(dice(), plan=None),
        ["计划版本（承诺值、抽样框哈希、随机源）"],
    ),
}


# --- forgeries of the teams and of the joins (the functions the page calls) -------------------


def _cap_all(cap: int) -> Callable[[dict[str, Any]], None]:
    def tamper(d: dict[str, Any]) -> None:
        column = d["inspector_pool"]["columns"].index("max_tasks")
        for row in d["inspector_pool"]["rows"]:
            row[column] = cap

    return tamper


def _recused_pair(d: dict[str, Any]) -> None:
    t = d["tasks"][0]
    token = exclusion_token(d["seed"], t["team"][0]["badge"], t["uscc"])
    d["exclusions"] = sorted([*d["exclusions"], token])


TEAMS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None], str]] = {
    **{f"/1 {k}": (lambda: published(_rich_draw()), f, m) for k, (f, m) in TEAM_FORGERIES.items()},
    **{f"/2 {k}": (recusal._rich_draw2, f, m) for k, (f, m) in TEAM_FORGERIES.items()},
    **{f"/2 {k}": (recusal._rich_draw2, f, m) for k, (f, m) in recusal.V2_FORGERIES.items()},
    "/1 recused pair on a team": (lambda: published(_rich_draw()), _recused_pair, "应回避"),
    "nobody may take a task": (lambda: published(_rich_draw()), _cap_all(0), "重放未能为全部"),
    "too few places": (lambda: published(_rich_draw()), _cap_all(1), "重放未能为全部"),
    "/2 recused list missing": (
        recusal._rich_draw2,
        lambda d: d["tasks"][0].pop("recused"),
        "缺少 recused 列表",
    ),
}
# the Python messages that verify.js words differently
TEAMS["/1 two leaders"] = (*TEAMS["/1 two leaders"][:2], "组长人数不为 1")
TEAMS["/2 two leaders"] = (*TEAMS["/2 two leaders"][:2], "组长人数不为 1")
TEAMS["/1 expert missing"] = (*TEAMS["/1 expert missing"][:2], "专家人数不符")
TEAMS["/2 expert missing"] = (*TEAMS["/2 expert missing"][:2], "专家人数不符")


def _visit_team(k: int, change: Callable[[list[dict[str, Any]]], None]) -> Callable:
    def tamper(d: dict[str, Any]) -> None:
        change(visits._visit_of(d, k)["team"])

    return tamper


def _params(**kw: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["team_params"].update(kw)


# (tamper, what verify.js says); the first part are the stdlib verifier's own forgeries
VISITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "team swapped": (visits._swap_team, "并入后的检查组应与所并入检查的检查组相同"),
    "join to a visit not listed": (visits._unlisted, "并入的检查不在 open_visits 中"),
    "join invented": (visits._join_unlisted, "并入的检查不在 open_visits 中"),
    "listed visit skipped": (visits._skip, "现有检查组满足本计划要求，任务应并入"),
    "join the rule refuses": (visits._join_refused, "不具备药学专长），不得并入"),
    "member attributes altered": (
        visits._inflate_expertise,
        "信息与本次公布的执法检查人员名录不一致",
    ),
    "note changed": (visits.CASES["note changed"][0], "visit_note 应为"),
    "note on a joined task": (visits.CASES["note on a joined task"][0], "已并入的任务不应有"),
    "note without a listed visit": (
        visits.CASES["note without a listed visit"][0],
        "没有列出可合并的检查，却有",
    ),
    "visit id of a joined task": (
        visits.CASES["visit id of a joined task"][0],
        "并入后 visit 应为",
    ),
    "visit id of an own task": (
        visits.CASES["visit id of an own task"][0],
        "visit 应为任务本身的编号",
    ),
    "visit id of a refused task": (
        visits.CASES["visit id of a refused task"][0],
        "未并入的任务 visit 应为",
    ),
    "visit id missing": (visits.CASES["visit id missing"][0], "缺少 visit"),
    "open visits unsorted": (visits.CASES["open visits unsorted"][0], "open_visits 须按 uscc 排序"),
    "open visit of a target not drawn": (
        visits.CASES["open visit of a target not drawn"][0],
        "不是本次抽中的对象",
    ),
    "open visit of this plan": (visits.CASES["open visit of this plan"][0], "属于本计划"),
    "open visit without a team": (visits.CASES["open visit without a team"][0], "没有检查组"),
    "recusal published that did not decide": (
        visits.CASES["recusal published that did not decide"][0],
        "并未决定能否合并",
    ),
    "recusal of somebody not on the team": (
        visits.CASES["recusal of somebody not on the team"][0],
        "visit_recused 含不在该检查组中的人员",
    ),
    "recusal unsorted": (visits.CASES["recusal unsorted"][0], "visit_recused 须为排序且不重复"),
    # each reason a listed team cannot take a joined task (joinProblem)
    "member no longer in the pool": (
        _visit_team(1, lambda team: team[1].update(in_pool=False)),
        "已不在执法检查人员名录库或不在岗），不得并入",
    ),
    "too few officers": (
        _visit_team(1, lambda team: team.pop()),
        "执法人员 1 人，本计划要求至少 2 人），不得并入",
    ),
    "too few experts": (_params(experts=1), "专家 0 人，本计划要求至少 1 人），不得并入"),
    "same county on a cross-region visit": (
        _params(cross_region=True, region_level=6),
        "本计划要求交叉互查），不得并入",
    ),
    "no joint member": (
        _params(joint_departments=["某市卫生健康委员会"], joint_members=1),
        "某市卫生健康委员会执法人员 0 人，本计划要求至少 1 人），不得并入",
    ),
    "recused member on a joined visit": (
        lambda d: visits._task(d, 1).update(visit_recused=["B001"]),
        "须回避该检查对象），不得并入",
    ),
}


# --- one node run for every case ----------------------------------------------------------


@pytest.fixture(scope="module")
def js(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for name, (make, _) in HONEST.items():
        cases[f"honest {name}"] = make().payload()
    for name, (make, tamper, *_) in {**DRAW_FORGERIES, **FILE_FORGERIES}.items():
        d = make()
        tamper(d)
        cases[f"draw {name}"] = d.payload()
    overlapping = teams()
    _listed_visit({"start": "2026-12-31", "end": "2027-01-31"}, DECEMBER)(overlapping)
    cases["draw overlapping window"] = overlapping.payload()
    cases["teams honest /1"] = {"kind": "teams", "draw": published(_rich_draw())}
    cases["teams honest /2"] = {"kind": "teams", "draw": recusal._rich_draw2()}
    for name, (make, tamper, _) in TEAMS.items():
        draw = make()
        tamper(draw)
        cases[f"teams {name}"] = {"kind": "teams", "draw": draw}
    cases["visits honest"] = {"kind": "visits", "draw": visits._honest()}
    for name, (tamper, _) in VISITS.items():
        draw = visits._honest()
        tamper(draw)
        cases[f"visits {name}"] = {"kind": "visits", "draw": draw}
    path = tmp_path_factory.mktemp("verify-js") / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        ["node", "-e", RUN, str(VERIFY_JS), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def test_every_case_ran(js: dict[str, Any]) -> None:
    total = len(HONEST) + len(DRAW_FORGERIES) + len(FILE_FORGERIES) + 3 + len(TEAMS) + 1
    assert len(js) == total + len(VISITS)


@pytest.mark.parametrize("name", sorted(HONEST))
def test_an_honest_draw_verifies(js: dict[str, Any], name: str) -> None:
    checks = js[f"honest {name}"].get("checks")
    assert checks, js[f"honest {name}"]
    assert [c for c in checks if c["ok"] is False] == []
    unchecked = [c["label"] for c in checks if c["ok"] is None]
    wanted = HONEST[name][1]
    assert len(unchecked) == len(wanted) and all(
        w in u for w, u in zip(wanted, unchecked, strict=True)
    ), unchecked


def test_the_honest_teams_and_joins_replay(js: dict[str, Any]) -> None:
    assert js["teams honest /1"] == {"problems": []}
    assert js["teams honest /2"] == {"problems": []}
    assert js["visits honest"] == {"problems": []}


@pytest.mark.parametrize("name", sorted(DRAW_FORGERIES))
def test_each_check_refuses_its_forgery(js: dict[str, Any], name: str) -> None:
    _, _, label, detail = DRAW_FORGERIES[name]
    checks = js[f"draw {name}"].get("checks")
    assert checks, js[f"draw {name}"]
    refused = [c for c in checks if c["ok"] is False and label in c["label"]]
    assert any(detail in c["detail"] for c in refused), checks


def test_a_listed_visit_sharing_one_day_with_the_plan_overlaps(js: dict[str, Any]) -> None:
    windows = [c for c in js["draw overlapping window"]["checks"] if WINDOWS in c["label"]]
    assert [c["ok"] for c in windows] == [True], windows


@pytest.mark.parametrize("name", sorted(FILE_FORGERIES))
def test_an_unreadable_population_file_is_an_error(js: dict[str, Any], name: str) -> None:
    assert FILE_FORGERIES[name][2] in js[f"draw {name}"].get("error", ""), js[f"draw {name}"]


@pytest.mark.parametrize("name", sorted(TEAMS))
def test_each_team_check_refuses_its_forgery(js: dict[str, Any], name: str) -> None:
    problems = js[f"teams {name}"]["problems"]
    assert any(TEAMS[name][2] in p for p in problems), problems


@pytest.mark.parametrize("name", sorted(VISITS))
def test_each_join_check_refuses_its_forgery(js: dict[str, Any], name: str) -> None:
    problems = js[f"visits {name}"]["problems"]
    assert any(VISITS[name][1] in p for p in problems), problems


def test_the_file_is_hashed_as_published() -> None:
    """The honest cases are what the site serves: population_sha256 is the file's own hash."""
    d = dice()
    assert hashlib.sha256(d.frame).hexdigest() == d.draw["population_sha256"]
