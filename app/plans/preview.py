"""π preview of a plan on today's registries, before anything is drawn."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_date
from app.draw import CURRENT_ALGORITHM, DrawInputError, PlanItem
from app.draw.engine import aggregate_strata, make_profiles
from app.draw.population import Population
from app.draw.preview import inclusion_preview as preview_strata
from app.draw.sampling import SamplingParams, plan_stratum
from app.errors import ValidationFailed
from app.models import Item
from app.models.base import utcnow
from app.plans import frame
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.visits import reader as visit_reader

SHOWN = 200  # units listed by name in the preview (all are counted)


def inclusion_preview(session: Session, *, code: str) -> dict[str, Any]:
    """π per stratum (N, n, min/mean/max, mean per grade) on today's population, no draw."""
    plan = plans.get(session, code)
    spec = PlanIn.model_validate(plan.spec)
    items = list(session.scalars(select(Item).where(Item.code.in_(spec.items)).order_by(Item.code)))
    plan_items = [PlanItem(code=i.code, target_kinds=frozenset(i.target_kinds)) for i in items]
    now = utcnow()
    population = frame.population_units(session, spec, items, now)
    params = frame.sampling_params(spec, CURRENT_ALGORITHM)
    try:
        strata = preview_strata(population, plan_items, params)
    except DrawInputError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "plan", "message": str(exc)}]) from None
    return {
        "plan": code,
        "as_of": now.isoformat(),
        "weighted": params.weighted,
        "population": len(population),
        "strata": strata,
        "out": out_of_draw(session, spec, population, plan_items, params, now),
    }


def out_of_draw(
    session: Session,
    spec: PlanIn,
    population: Population,
    plan_items: list[PlanItem],
    params: SamplingParams,
    now: Any,
) -> dict[str, Any]:
    """The units with π = 0 — cooling or capped in a stratum whose floor needs none of them —
    how many, how many for each cause, and why each (the visit that keeps it cooling and until
    when; the visits of this year that capped it), from the visit records (app/visits)."""
    import numpy as np

    profiles = make_profiles(population, plan_items, params)
    counts = np.bincount(population.pid, minlength=len(profiles)).tolist()
    zero = set()
    for key, st in aggregate_strata(profiles, counts, params).items():
        assert st.groups is not None
        if plan_stratum(st.groups, st.cooling, params).cooling_pi == 0:
            zero.add(key)
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
    rows: list[dict[str, str]] = []
    cooling = capped = 0
    for k, p in enumerate(population.pid.tolist()):
        prof = profiles[p]
        if not prof.resting or prof.stratum not in zero:
            continue
        uscc = population.uscc(k)
        reasons = []
        if prof.cooling:
            cooling += 1
            reasons += [h.reason() for h in holds.get(uscc, [])]
        if prof.cap is not None:
            capped += 1
            visits = "、".join(c.visit for c in counted.get(uscc, []))
            reasons.append(
                f"已达年度上限：{spec.window.start.year} 年已检查 {prof.year_checks} 次"
                f"（{prof.grade}级上限 {prof.cap} 次；{visits}）"
            )
        rows.append({"uscc": uscc, "reason": "；".join(reasons)})
    rows.sort(key=lambda r: r["uscc"])
    return {"units": len(rows), "cooling": cooling, "capped": capped, "rows": rows[:SHOWN]}
