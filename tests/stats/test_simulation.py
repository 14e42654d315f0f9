"""Brute force: the estimators against 2,000 real Pareto draws of a population with known violators."""

import math
import random
import statistics

import pytest

from app.draw import PlanItem, SamplingParams, Unit, draw_targets
from app.stats import estimate, frames_from_draw, observation_of

REPS = 2000
NOMINAL = 0.95
# Coverage is a binomial proportion over REPS runs: allow 3.5 standard deviations.
TOL = 3.5 * math.sqrt(NOMINAL * (1 - NOMINAL) / REPS)
WEIGHTS = {"A": 1.0, "B": 1.5, "C": 2.0, "D": 3.0}
VIOLATION = {"A": 0.05, "B": 0.12, "C": 0.3, "D": 0.6}  # risk grade predicts problems
SIZES = {"S1": 400, "S2": 300, "S3": 200}
ITEMS = [PlanItem(code="YB-01", target_kinds=frozenset())]
PARAMS = SamplingParams(ratio=0.1, weighted=True)


def _population() -> tuple[list[Unit], dict[str, bool]]:
    rng = random.Random(20261124)
    units, truth, k = [], {}, 0
    for stratum, size in SIZES.items():
        for _ in range(size):
            k += 1
            grade = rng.choices("ABCD", weights=[50, 30, 15, 5])[0]
            uscc = f"91370402{k:010d}"
            units.append(
                Unit(
                    uscc=uscc,
                    stratum=stratum,
                    kind="定点医疗机构",
                    grade=grade,
                    weight=WEIGHTS[grade],
                    cooling_items=frozenset(),
                )
            )
            truth[uscc] = rng.random() < VIOLATION[grade]
    return units, truth


@pytest.fixture(scope="module")
def runs():
    """Per repetition: (true rates, estimates, naive interval) for one seed."""
    units, truth = _population()
    true_overall = sum(truth.values()) / len(truth)
    true_h = {s: sum(truth[u.uscc] for u in units if u.stratum == s) / n for s, n in SIZES.items()}
    out = []
    for r in range(REPS):
        body = draw_targets(seed=f"sim-{r}", population=units, items=ITEMS, params=PARAMS).to_dict()
        stats = estimate(
            frames_from_draw(body["strata"]),
            [observation_of(t, truth[t["uscc"]]) for t in body["tasks"]],
        )
        # A wrong method for contrast: the sample share of violators with a binomial interval.
        n = stats.overall.observed
        p = stats.overall.found / n
        half = 1.96 * math.sqrt(p * (1 - p) / n)
        out.append((stats, (p - half, p + half)))
    return true_overall, true_h, out


@pytest.mark.slow
def test_ht_estimate_is_unbiased(runs):
    true_overall, true_h, out = runs
    rates = [s.overall.rate for s, _ in out]
    sd = statistics.stdev(rates)
    assert abs(statistics.fmean(rates) - true_overall) < 4 * sd / math.sqrt(REPS)
    for key, truth in true_h.items():
        per = [next(e.rate for e in s.strata if e.key == key) for s, _ in out]
        assert abs(statistics.fmean(per) - truth) < 4 * statistics.stdev(per) / math.sqrt(REPS)


@pytest.mark.slow
def test_variance_estimate_matches_the_spread_of_the_estimates(runs):
    _, _, out = runs
    rates = [s.overall.rate for s, _ in out]
    mean_var = statistics.fmean(s.overall.std_error**2 for s, _ in out)
    assert 0.85 < mean_var / statistics.variance(rates) < 1.15


@pytest.mark.slow
def test_confidence_intervals_cover_near_nominal(runs):
    true_overall, true_h, out = runs
    covered = sum(s.overall.ci_low <= true_overall <= s.overall.ci_high for s, _ in out) / REPS
    assert abs(covered - NOMINAL) < TOL, covered  # n = 90: near nominal from both sides
    for key, truth in true_h.items():
        ests = [next(e for e in s.strata if e.key == key) for s, _ in out]
        cov_h = sum(e.ci_low <= truth <= e.ci_high for e in ests) / REPS
        # Clopper–Pearson based: conservative for small n_h (20–40 here), never well below.
        assert cov_h > NOMINAL - TOL, (key, cov_h)


@pytest.mark.slow
def test_the_coverage_check_catches_a_wrong_method(runs):
    true_overall, _, out = runs
    naive = sum(lo <= true_overall <= hi for _, (lo, hi) in out) / REPS
    assert abs(naive - NOMINAL) > TOL, naive
