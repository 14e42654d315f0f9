"""PURE draw of `spotcheck-draw/1`: tickets, strata, pi, selection — no database, no HTTP."""

from app.draw.engine import (
    ALGORITHM,
    POPULATION_HEADER,
    PlanItem,
    StratumResult,
    TargetDraw,
    Task,
    cooling_reason,
    draw_targets,
    params_dict,
    population_file_chunks,
    population_lines,
    stratum_key,
)
from app.draw.population import DrawInputError, Population, PopulationBuilder, Unit
from app.draw.sampling import SamplingParams
from app.draw.seed import (
    EntropyError,
    SeedError,
    commitment_of,
    derive_seed,
    new_secret,
    normalize_entropy,
)
from app.draw.tickets import ticket_of
from app.draw.weights import RiskConfig, risk_config_from_plan, risk_weight

__all__ = [
    "ALGORITHM",
    "POPULATION_HEADER",
    "DrawInputError",
    "EntropyError",
    "PlanItem",
    "Population",
    "PopulationBuilder",
    "RiskConfig",
    "SamplingParams",
    "SeedError",
    "StratumResult",
    "TargetDraw",
    "Task",
    "Unit",
    "commitment_of",
    "cooling_reason",
    "derive_seed",
    "draw_targets",
    "new_secret",
    "normalize_entropy",
    "params_dict",
    "population_file_chunks",
    "population_lines",
    "risk_config_from_plan",
    "risk_weight",
    "stratum_key",
    "ticket_of",
]
