"""Shared builders for the target-draw tests (plain module, imported by path)."""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from app.draw import PlanItem, TargetDraw, Unit, population_lines

ROOT = Path(__file__).resolve().parents[2]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SEED = "3f1a" * 16
ITEMS = [PlanItem("YB-01", frozenset()), PlanItem("YB-02", frozenset({"定点零售药店"}))]


def verifier_path() -> Path:
    """docs/verify_draw.py, or the mutant a mutation run names in SPOTCHECK_VERIFIER."""
    import os

    return Path(os.environ.get("SPOTCHECK_VERIFIER") or ROOT / "docs" / "verify_draw.py")


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw", verifier_path())
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_draw"] = module
    spec.loader.exec_module(module)
    return module


def uscc(k: int) -> str:
    digits = []
    x = k * 7919 + 12345
    for _ in range(10):
        x, r = divmod(x, 31)
        digits.append(ALPHABET[r])
    return f"91{370100 + k % 7:06d}{''.join(digits)}"


def units(n: int, strata: int = 3, start: int = 0, **kw: Any) -> list[Unit]:
    kinds = ("定点医疗机构", "定点零售药店")
    out = []
    for k in range(start, start + n):
        kind = kinds[k % 2]
        out.append(
            Unit(
                uscc=uscc(k),
                stratum=f"{kind}|S{k % strata}",
                kind=kind,
                grade=kw.get("grades", "ABCD")[k % len(kw.get("grades", "ABCD"))],
                weight=kw.get("weights", (1.0,))[k % len(kw.get("weights", (1.0,)))],
                cooling_items=frozenset(),
            )
        )
    return out


def rows_of(population: list[Unit], items: list[PlanItem] = ITEMS) -> list[dict[str, str]]:
    text = "\n".join(population_lines(population, items)) + "\n"
    return list(csv.DictReader(io.StringIO(text, newline="")))


def file_text(population: list[Unit], items: list[PlanItem] = ITEMS) -> str:
    return "\n".join(population_lines(population, items)) + "\n"


def as_json(draw: TargetDraw) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(draw.to_dict(), ensure_ascii=False)))


# --- spotcheck-draw/2 -----------------------------------------------------------------------

GOLDEN = ROOT / "tests" / "draw" / "golden"
SECRET_V2 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
PUBLISHED_AT = "2023-09-15T10:00:00+00:00"  # before quicknet round 657413 (11:00:03 UTC)
DICE = {
    "kind": "dice",
    "scheduled_at": "2026-12-10T09:30:00+08:00",
    "place": "某市医疗保障局三楼会议室",
    "witnesses": ["张三（市纪委监委驻局纪检组）", "李四（公证员）"],
}


def quicknet_round() -> dict[str, Any]:
    """The real quicknet round pinned in golden/drand_rounds.json."""
    import json

    data = json.loads((GOLDEN / "drand_rounds.json").read_text(encoding="utf-8"))
    return dict(data["rounds"][0])


def drand_source(round_number: int) -> dict[str, Any]:
    return {"kind": "drand", "chain": "quicknet", "round": round_number}


def beacon_of(round_: dict[str, Any]) -> dict[str, Any]:
    """The draw JSON's `beacon` for a quicknet round."""
    from app.draw.beacon import QUICKNET, round_time

    return {
        "chain": "quicknet",
        "chain_hash": QUICKNET.chain_hash,
        "round": round_["round"],
        "round_time": round_time(QUICKNET, round_["round"]).isoformat(),
        "signature": round_["signature"],
        "randomness": round_["randomness"],
    }


def units_v2(n: int, strata: int = 2, **kw: Any) -> list[Unit]:
    """`units` with a region and a name per unit; some names need CSV quoting."""
    names = ("第一人民医院", '某"仁和"大药房', "康复医院,东院", "社区卫生服务中心\n分部")
    return [
        Unit(
            u.uscc,
            u.stratum,
            u.kind,
            u.grade,
            u.weight,
            u.cooling_items,
            f"37010{k % 3}",
            f"{names[k % len(names)]}{k}",
        )
        for k, u in enumerate(units(n, strata=strata, **kw))
    ]


# A /3 draw without teams (the target half alone) is bound to an inspector frame with no rows.
EMPTY_TEAM_FRAME = (
    b"badge,department,region,kind,expertise,status,max_tasks,open_tasks,recusal_tokens\n"
)


def v2_body(
    population: list[Unit],
    params: Any,
    *,
    source: dict[str, Any],
    entropy: str,
    beacon: dict[str, Any] | None = None,
    draw_id: str = "GOLD-2026-D1",
    plan: str = "GOLD-2026",
    items: list[PlanItem] = ITEMS,
    algorithm: str = "spotcheck-draw/2",
    team_frame: bytes = EMPTY_TEAM_FRAME,
) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """A /2 (or, with `algorithm`, /3) draw body as the server publishes it (no teams), its plan
    JSON and frame file. A dice or public-record draw is dated 10 minutes after its source's
    announced time."""
    import hashlib
    from datetime import datetime, timedelta

    from app.draw import (
        ALGORITHM_V3,
        commitment_of,
        derive_seed_v2,
        derive_seed_v3,
        draw_targets,
        population_file_chunks,
    )

    frame = b"".join(population_file_chunks(population, items, algorithm=algorithm))
    frame_sha256 = hashlib.sha256(frame).hexdigest()
    commitment = commitment_of(SECRET_V2, algorithm)
    team_frame_sha256 = hashlib.sha256(team_frame).hexdigest()
    if algorithm == ALGORITHM_V3:
        seed = derive_seed_v3(
            secret=SECRET_V2,
            inputs={
                "commitment": commitment,
                "frame_sha256": frame_sha256,
                "team_frame_sha256": team_frame_sha256,
                "entropy_source": source,
                "entropy": entropy,
            },
        )
    else:
        seed = derive_seed_v2(
            commitment=commitment,
            secret=SECRET_V2,
            frame_sha256=frame_sha256,
            entropy_source=source,
            entropy=entropy,
        )
    when = {"dice": "scheduled_at", "public_record": "available_at"}.get(source["kind"])
    drawn_at = (
        "2023-09-15T11:05:00+00:00"
        if when is None
        else (datetime.fromisoformat(source[when]) + timedelta(minutes=10)).isoformat()
    )
    target = as_json(draw_targets(seed=seed, population=population, items=items, params=params))
    body: dict[str, Any] = {
        "id": draw_id,
        "plan": plan,
        "plan_version": 1,
        "plan_published_at": PUBLISHED_AT,
        "status": "current",
        "drawn_at": drawn_at,
        "algorithm": algorithm,
        "seed": seed,
        "seed_inputs": {
            "commitment": commitment,
            "secret": SECRET_V2,
            "frame_sha256": frame_sha256,
            **({"team_frame_sha256": team_frame_sha256} if algorithm == ALGORITHM_V3 else {}),
            "entropy_source": source,
            "entropy": entropy,
        },
        **({"beacon": beacon} if beacon is not None else {}),
        "population_sha256": target["population_sha256"],
        "population_file": f"{draw_id}.population.csv",
        "population_size": len(population),
        "params": target["params"],
        "strata": target["strata"],
        "tasks": [
            {"id": f"{draw_id}-{n:05d}", **t, "required_expertise": [], "team": []}
            for n, t in enumerate(target["tasks"], start=1)
        ],
    }
    plan_doc = {
        "kind": "plan",
        "code": plan,
        "versions": [
            {
                "version": 1,
                "kind": "publish",
                "published_at": PUBLISHED_AT,
                "commitment": commitment,
                "frame_sha256": frame_sha256,
                "entropy_source": source,
                "algorithm": algorithm,
                **({"team_frame_sha256": team_frame_sha256} if algorithm == ALGORITHM_V3 else {}),
            }
        ],
    }
    return body, plan_doc, frame


def golden_v2() -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The pinned /2 draw (golden/draw_v2.*): weights, regions and names, a drand round, and
    a grade rate (B: 0.05) below the ratio (0.2) that the π floor lifts to the ratio."""
    from app.draw import ALGORITHM_V2, SamplingParams

    population = units_v2(40, strata=2, grades="ABCD", weights=(0.5, 1.0, 4.0))
    params = SamplingParams(
        ratio=0.2,
        min_per_stratum=8,
        grade_rates={"B": 0.05, "D": 0.6},
        weighted=True,
        algorithm=ALGORITHM_V2,
    )
    round_ = quicknet_round()
    return v2_body(
        population,
        params,
        source=drand_source(round_["round"]),
        entropy=round_["randomness"],
        beacon=beacon_of(round_),
    )
