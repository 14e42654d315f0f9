"""Coverage simulation: real draws (app.draw.draw_targets) of finite populations with known 0/1 truth.

Each design is a fixed population (seeded `random`, outside the draw) and one plan's sampling
parameters; every replicate is a real draw with seed f"{seed}-{r}", the estimates use the draw's
published strata and π exactly as the service does. Run the big table for docs/statistics.md:

    .venv/bin/python -m tests.stats.simulation --reps 20000 --seed cov
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.draw import PlanItem, Population, SamplingParams, Unit, draw_targets
from app.stats import estimate, frames_from_draw, observation_of

ITEMS = [PlanItem(code="YB-01", target_kinds=frozenset())]
NOMINAL = 0.95


@dataclass(frozen=True)
class Design:
    name: str
    label: str
    population: Population
    truth: dict[str, bool]
    params: SamplingParams
    true_rates: dict[str, float]  # per stratum and "overall"
    # The share of drawn certainty units (π = 1) that go 未检查（停业、注销等）: a final
    # nonresult, at random (the rates still speak for every unit, unchecked ones included).
    unchecked: float = 0.0


def _design(
    name: str,
    label: str,
    strata: dict[str, int],
    grade_mix: dict[str, float],
    weight: Callable[[str, str], float],
    violation: Callable[[str, str], float],
    params: SamplingParams,
    seed: int,
    unchecked: float = 0.0,
) -> Design:
    rng = random.Random(seed)
    units: list[Unit] = []
    truth: dict[str, bool] = {}
    k = 0
    for stratum, size in strata.items():
        for _ in range(size):
            k += 1
            grade = rng.choices(list(grade_mix), weights=list(grade_mix.values()))[0]
            uscc = f"9137{seed % 10000:04d}{k:010d}"
            units.append(
                Unit(
                    uscc=uscc,
                    stratum=stratum,
                    kind="定点医疗机构",
                    grade=grade,
                    weight=weight(stratum, grade),
                    cooling_items=frozenset(),
                )
            )
            truth[uscc] = rng.random() < violation(stratum, grade)
    rates = {s: sum(truth[u.uscc] for u in units if u.stratum == s) / n for s, n in strata.items()}
    rates["overall"] = sum(truth.values()) / len(truth)
    return Design(name, label, Population.from_units(units), truth, params, rates, unchecked)


GRADES = {"A": 50, "B": 30, "C": 15, "D": 5}
RISK = {"A": 0.05, "B": 0.12, "C": 0.3, "D": 0.6}  # risk grade predicts problems
THREE = {"S1": 250, "S2": 150, "S3": 100}


def designs() -> list[Design]:
    """The designs every interval must cover at ≥ nominal in every stratum."""
    return [
        _design(
            "equal",
            "equal weights (SRSWOR per stratum), ratio 0.1",
            THREE,
            GRADES,
            lambda s, g: 1.0,
            lambda s, g: RISK[g],
            SamplingParams(ratio=0.1, weighted=False),
            1,
        ),
        _design(
            "strong",
            "strong risk weights 1/2/4/8 (A–D), ratio 0.1; in S3 problems sit with low weights",
            THREE,
            GRADES,
            lambda s, g: {"A": 1.0, "B": 2.0, "C": 4.0, "D": 8.0}[g],
            lambda s, g: RISK["DCBA"["ABCD".index(g)]] if s == "S3" else RISK[g],
            SamplingParams(ratio=0.1, weighted=True),
            2,
        ),
        _design(
            "certainty",
            "certainty units: grade_rates D = 1.0 (10 % of units), weights 1/1.5/2/3, ratio 0.1",
            THREE,
            {"A": 45, "B": 30, "C": 15, "D": 10},
            lambda s, g: {"A": 1.0, "B": 1.5, "C": 2.0, "D": 3.0}[g],
            lambda s, g: RISK[g],
            SamplingParams(ratio=0.1, weighted=True, grade_rates={"D": 1.0}),
            3,
        ),
        _design(
            "unchecked",
            "certainty units (D = 1.0, 70 % of units), 40 % of them 未检查; weights 1/1.5/2/3",
            {"U1": 60, "U2": 40, "U3": 25},
            {"A": 20, "B": 5, "C": 5, "D": 70},
            lambda s, g: {"A": 1.0, "B": 1.5, "C": 2.0, "D": 3.0}[g],
            lambda s, g: RISK[g],
            SamplingParams(ratio=0.1, weighted=True, grade_rates={"D": 1.0}),
            5,
            unchecked=0.4,
        ),
        _design(
            "small",
            "small strata N = 4…40 (n = 1…4), weights 1/1.5/2/3, ratio 0.1",
            {f"T{n:02d}": n for n in (4, 7, 10, 12, 15, 20, 25, 40)},
            GRADES,
            lambda s, g: {"A": 1.0, "B": 1.5, "C": 2.0, "D": 3.0}[g],
            lambda s, g: 0.1 + RISK[g],
            SamplingParams(ratio=0.1, weighted=True),
            4,
        ),
    ]


@dataclass
class Tally:
    """Coverage counts of one estimate (a stratum or overall) over the replicates."""

    truth: float
    reps: int = 0
    covered: int = 0
    width: float = 0.0
    naive: int = 0  # covered by the sample share's normal interval (a wrong method, for contrast)
    inside: int = 0  # estimates within [0, 1] and within their own interval
    rates: list[float] = field(default_factory=list)
    variances: list[float] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered / self.reps

    def row(self) -> dict[str, float]:
        mean = math.fsum(self.rates) / self.reps
        emp = math.fsum((r - mean) ** 2 for r in self.rates) / (self.reps - 1)
        return {
            "truth": self.truth,
            "coverage": self.coverage,
            "mc_se": math.sqrt(NOMINAL * (1 - NOMINAL) / self.reps),
            "mean_width": self.width / self.reps,
            "bias": mean - self.truth,
            "var_ratio": (math.fsum(self.variances) / self.reps) / emp if emp > 0 else math.nan,
        }


def run(design: Design, reps: int, seed: str) -> dict[str, Tally]:
    """Coverage of every stratum's and the overall interval over `reps` real draws."""
    tallies = {key: Tally(truth) for key, truth in design.true_rates.items()}
    for r in range(reps):
        body = draw_targets(
            seed=f"{seed}-{r}", population=design.population, items=ITEMS, params=design.params
        ).to_dict()
        missing = random.Random(f"{seed}-{r}-unchecked")
        observations = []
        for t in body["tasks"]:
            if t["inclusion_prob"] >= 1 and missing.random() < design.unchecked:
                observations.append(observation_of(t, None, final=True))
            else:
                observations.append(observation_of(t, design.truth[t["uscc"]]))
        stats = estimate(frames_from_draw(body["strata"]), observations)
        for est in [*stats.strata, stats.overall]:
            assert est.status == "ok" and est.rate is not None
            assert est.ci_low is not None and est.ci_high is not None
            assert est.std_error is not None
            t = tallies[est.key]
            t.reps += 1
            t.covered += est.ci_low <= t.truth <= est.ci_high
            t.width += est.ci_high - est.ci_low
            share = est.found / est.observed
            half = 1.96 * math.sqrt(share * (1 - share) / est.observed)
            t.naive += share - half <= t.truth <= share + half
            t.inside += est.ci_low <= est.rate <= est.ci_high and 0 <= est.rate <= 1
            t.rates.append(est.rate)
            t.variances.append(est.std_error**2)
    return tallies


def table(reps: int, seed: str) -> str:
    """The markdown coverage table of every design (what docs/statistics.md shows)."""
    lines = [
        "| design | estimate | true rate | coverage | mean width | bias | E(V̂)/V |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for d in designs():
        for key, t in run(d, reps, seed).items():
            row = t.row()
            lines.append(
                f"| {d.name} | {key} | {row['truth']:.3f} | {row['coverage']:.4f} | "
                f"{row['mean_width']:.3f} | {row['bias']:+.4f} | {row['var_ratio']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="覆盖率模拟（docs/statistics.md 的表）。" + __doc__
    )
    parser.add_argument("--reps", type=int, default=20000)
    parser.add_argument("--seed", default="cov")
    args = parser.parse_args()
    start = time.perf_counter()
    print(table(args.reps, args.seed))
    se = math.sqrt(NOMINAL * (1 - NOMINAL) / args.reps)
    print(f"\nreps={args.reps} seed={args.seed!r} MC SE at 0.95: {se:.4f}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
