"""PURE π preview of a plan: per stratum N, n and the inclusion probabilities the draw would use."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.draw.engine import PlanItem, aggregate_strata, group_of, make_profiles
from app.draw.population import Population
from app.draw.sampling import SamplingParams, plan_stratum

UNGRADED = "未评级"


def inclusion_preview(
    population: Population, items: Sequence[PlanItem], params: SamplingParams
) -> list[dict[str, Any]]:
    """Per stratum: N, eligible, n, n_floor, π min/mean/max, certain units and π per grade.

    Uses the engine's own profiles, grouping and stratum plans, so the preview is the draw's π.
    """
    profiles = make_profiles(population, items, params)
    counts = np.bincount(population.pid, minlength=len(profiles)).tolist()
    strata = aggregate_strata(profiles, counts, params)
    members: dict[str, list[int]] = defaultdict(list)  # stratum → profile ids with units
    for p, (prof, count) in enumerate(zip(profiles, counts, strict=True)):
        if count:
            members[prof.stratum].append(p)
    out = []
    for key in sorted(strata):
        st = strata[key]
        assert st.groups is not None
        sizes = plan_stratum(st.groups, st.cooling, params)
        # (grade, π, number of units) per profile
        unit_pis = [
            (
                profiles[p].grade,
                sizes.cooling_pi
                if profiles[p].resting
                else sizes.group_pi[group_of(profiles[p], params)],
                counts[p],
            )
            for p in members[key]
        ]
        by_grade: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for grade, pi, m in unit_pis:
            by_grade[grade or UNGRADED].append((pi, m))
        values = [pi for _, pi, _ in unit_pis]
        out.append(
            {
                "key": key,
                "N": sizes.total,
                "eligible": sizes.eligible,
                "n": sizes.n,
                "n_floor": sizes.n_floor,
                "pi_min": min(values),
                "pi_mean": math.fsum(pi * m for _, pi, m in unit_pis) / sizes.total,
                "pi_max": max(values),
                "certain": sum(m for _, pi, m in unit_pis if pi >= 1.0),
                "grades": {
                    g: {
                        "N": sum(m for _, m in rows),
                        "pi_mean": math.fsum(pi * m for pi, m in rows) / sum(m for _, m in rows),
                    }
                    for g, rows in sorted(by_grade.items())
                },
            }
        )
    return out
