"""π preview of a plan on today's registries, before anything is drawn."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.draw import CURRENT_ALGORITHM, DrawInputError, PlanItem
from app.draw.preview import inclusion_preview as preview_strata
from app.errors import ValidationFailed
from app.models import Item
from app.models.base import utcnow
from app.plans import exclusions, frame
from app.plans import service as plans
from app.plans.schemas import PlanIn


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
        "out": exclusions.summary(
            exclusions.out_of_draw(session, spec, population, plan_items, params, now)
        ),
    }
