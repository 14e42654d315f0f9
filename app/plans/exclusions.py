"""Why a unit has π = 0 (docs/rules.md#r4-6): the units cooling or at their yearly cap in a
stratum whose floor needs none of them, and for each the visit records that put it out — the
inspection that keeps it cooling and until when, the open visit, this year's visits at the cap.

Read for the π preview (before publication) and at the capture of a plan's frame, frozen with it
(`PlanFrame.out_gz`) and published beside the draw's population file (`{draw}.out.csv`), so
anyone can check each exclusion against the visit records and the population file.
"""

import gzip
import json
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.clock import local_date
from app.draw import PlanItem, Population
from app.draw.engine import aggregate_strata, make_profiles
from app.draw.sampling import SamplingParams, plan_stratum
from app.plans.schemas import PlanIn
from app.visits import reader as visit_reader

SHOWN = 200  # units the preview lists (all are counted)
HEADER = ["统一社会信用代码", "入样概率为0的原因"]


def out_of_draw(
    session: Session,
    spec: PlanIn,
    population: Population,
    plan_items: list[PlanItem],
    params: SamplingParams,
    now: datetime,
) -> list[dict[str, Any]]:
    """Every unit with π = 0 in USCC order: {uscc, cooling, capped, reason}."""
    profiles = make_profiles(population, plan_items, params)
    counts = np.bincount(population.pid, minlength=len(profiles)).tolist()
    zero = set()
    for key, st in aggregate_strata(profiles, counts, params).items():
        assert st.groups is not None
        if plan_stratum(st.groups, st.cooling, params).cooling_pi == 0:
            zero.add(key)
    if not any(p.resting and p.stratum in zero for p in profiles):
        return []
    holds = visit_reader.cooling(
        session,
        plan_code=spec.code,
        items=spec.items,
        today=local_date(now),
        cooldown_days=spec.cooldown_days,
    )
    counted = (
        visit_reader.year_visits(session, plan_code=spec.code, year=spec.window.start.year)
        if spec.yearly_caps
        else {}
    )
    rows: list[dict[str, Any]] = []
    for k, p in enumerate(population.pid.tolist()):
        prof = profiles[p]
        if not prof.resting or prof.stratum not in zero:
            continue
        uscc = population.uscc(k)
        reasons = []
        if prof.cooling:
            reasons += [h.reason() for h in holds.get(uscc, [])]
        if prof.cap is not None:
            visits = "、".join(c.visit for c in counted.get(uscc, []))
            reasons.append(
                f"已达年度上限：{spec.window.start.year} 年已检查 {prof.year_checks} 次"
                f"（{prof.grade}级上限 {prof.cap} 次；{visits}）"
            )
        rows.append(
            {
                "uscc": uscc,
                "cooling": prof.cooling,
                "capped": prof.cap is not None,
                "reason": "；".join(reasons),
            }
        )
    rows.sort(key=lambda r: r["uscc"])
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The preview's `out`: how many, for each cause, and the first `SHOWN` with their reason."""
    return {
        "units": len(rows),
        "cooling": sum(1 for r in rows if r["cooling"]),
        "capped": sum(1 for r in rows if r["capped"]),
        "rows": [{"uscc": r["uscc"], "reason": r["reason"]} for r in rows[:SHOWN]],
    }


def frozen(rows: list[dict[str, Any]]) -> bytes:
    """What the frame keeps: gzip of [[uscc, reason], …] (deterministic bytes)."""
    text = json.dumps([[r["uscc"], r["reason"]] for r in rows], ensure_ascii=False)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def thawed(out_gz: bytes) -> list[list[str]]:
    """The [[uscc, reason], …] a frame kept."""
    return list(json.loads(gzip.decompress(out_gz)))
