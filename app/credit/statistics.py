"""Statistics of a draw from its published π and approved results; π preview of a plan."""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.draw import PlanItem
from app.draw.sampling import plan_stratum
from app.errors import NotFound
from app.models import Draw, Item, Result, Task
from app.models.base import utcnow
from app.plans import drawing
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.stats import estimate, frames_from_draw, observation_of
from app.stats.render import statistics_pages
from app.tasks.schemas import CORRECTED, NO_PROBLEM, NON_COOPERATION, PENDING_FOLLOW_UP

# 发现问题: every outcome that records a problem (a serious refusal is one itself);
# 未检查（停业、注销等） and tasks without an approved result are missing data.
FOUND = {CORRECTED: True, PENDING_FOLLOW_UP: True, NON_COOPERATION: True, NO_PROBLEM: False}


def draw_statistics(session: Session, *, draw_id: str, confidence: float = 0.95) -> dict[str, Any]:
    """HT estimates of the 发现问题率 of one draw (docs/statistics.md)."""
    # Only the parts of the body the estimates need (not the 50,000 published tasks).
    draw = session.execute(
        select(
            Draw.id,
            Draw.plan_code,
            Draw.status,
            Draw.body["strata"].label("strata"),
            Draw.body["params"]["weighted"].label("weighted"),
        ).where(Draw.id == draw_id)
    ).one_or_none()
    if draw is None:
        raise NotFound(f"没有抽取 {draw_id}")
    outcomes = dict(
        session.execute(
            select(Result.task_id, Result.outcome)
            .join(Task, Task.id == Result.task_id)
            .where(Task.draw_id == draw_id)
        ).all()
    )
    tasks = session.execute(
        select(Task.id, Task.stratum, Task.inclusion_prob, Task.despite_cooldown)
        .where(Task.draw_id == draw_id)
        .order_by(Task.seq)
    )
    observations = [
        observation_of(
            {"stratum": stratum, "inclusion_prob": pi, "despite_cooldown": cooling},
            FOUND.get(outcomes[task_id]) if task_id in outcomes else None,
        )
        for task_id, stratum, pi, cooling in tasks
    ]
    stats = estimate(frames_from_draw(draw.strata), observations, confidence=confidence)
    return {
        "schema_version": "1",
        "draw": draw.id,
        "plan": draw.plan_code,
        "status": draw.status,
        "weighted": bool(draw.weighted),
        "results": len(outcomes),
        "tasks": len(observations),
        "found_outcomes": sorted(k for k, v in FOUND.items() if v),
        **stats.to_dict(),
    }


def inclusion_preview(session: Session, *, code: str) -> dict[str, Any]:
    """π per stratum (N, n, min/mean/max, mean per grade) on today's population, no draw."""
    plan = plans.get(session, code)
    spec = PlanIn.model_validate(plan.spec)
    items = list(session.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    plan_items = [PlanItem(code=i.code, target_kinds=frozenset(i.target_kinds)) for i in items]
    now = utcnow()
    population, _ = drawing.snapshot(session, spec, items, now)
    params = drawing.sampling_params(spec)
    # Group units as the engine does (docs/draw-spec.md §4): per stratum, eligible units by
    # (grade rate, weight), cooling units apart; π comes from app.draw.sampling itself. Units
    # sharing a profile are counted together: a few thousand profiles, not a million units.
    counts = np.bincount(population.pid, minlength=len(population.profiles)).tolist()
    groups: dict[str, dict[tuple[float, float], Counter[str | None]]] = defaultdict(dict)
    cooling: dict[str, Counter[str | None]] = defaultdict(Counter)
    applicable_of: dict[str, set[str]] = {}  # per kind, not per profile
    for (stratum, kind, grade, weight, cooling_items), count in zip(
        population.profiles, counts, strict=True
    ):
        if not count:
            continue
        applicable = applicable_of.get(kind)
        if applicable is None:
            applicable = applicable_of[kind] = {
                i.code for i in plan_items if not i.target_kinds or kind in i.target_kinds
            }
        if applicable and applicable <= cooling_items:
            cooling[stratum][grade] += count
            groups.setdefault(stratum, {})  # a stratum may be all cooling units
            continue
        rate = float(params.grade_rates.get(grade, 0.0)) if grade is not None else 0.0
        group = (rate, weight if params.weighted else 1.0)
        groups[stratum].setdefault(group, Counter())[grade] += count
    strata = []
    for key in sorted(groups):
        st_groups, st_cool = groups[key], cooling[key]
        sizes = plan_stratum({k: v.total() for k, v in st_groups.items()}, st_cool.total(), params)
        total, eligible, n, n_floor = sizes.total, sizes.eligible, sizes.n, sizes.n_floor
        # (grade, π, number of units)
        unit_pis: list[tuple[str | None, float, int]] = [
            (g, pi, m) for k, pi in sizes.group_pi.items() for g, m in st_groups[k].items()
        ]
        unit_pis += [(g, sizes.cooling_pi, m) for g, m in st_cool.items()]
        values = [pi for _, pi, _ in unit_pis]
        by_grade: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for g, pi, m in unit_pis:
            acc = by_grade[g or "未评级"]
            acc[0] += m
            acc[1] += pi * m
        strata.append(
            {
                "key": key,
                "N": total,
                "eligible": eligible,
                "n": n,
                "n_floor": n_floor,
                "pi_min": min(values),
                "pi_mean": math.fsum(pi * m for _, pi, m in unit_pis) / total,
                "pi_max": max(values),
                "certain": sum(m for _, pi, m in unit_pis if pi >= 1.0),
                "grades": {
                    g: {"N": int(m), "pi_mean": pi_sum / m}
                    for g, (m, pi_sum) in sorted(by_grade.items())
                },
            }
        )
    return {
        "plan": code,
        "as_of": now.isoformat(),
        "weighted": params.weighted,
        "population": len(population),
        "strata": strata,
    }


def site_statistics(
    session: Session, draw_ids: Iterable[str], generated_at: datetime
) -> dict[str, bytes]:
    """The public 统计分析 pages of the given (published, current) draws."""
    stats = [draw_statistics(session, draw_id=d) for d in draw_ids]
    seq, head = audit.head(session)
    base = {"audit_seq": seq, "audit_hash": head}  # footer of the site's base.html
    return statistics_pages(stats, generated_at, "index.html#method", base)
