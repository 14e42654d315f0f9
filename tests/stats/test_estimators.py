"""Exact checks of the estimators on hand-computed cases."""

import math

import pytest

from app.stats import (
    Frame,
    Observation,
    StatsInputError,
    estimate,
    frames_from_draw,
    observation_of,
)
from app.stats.estimators import beta_quantile, korn_graubard_interval, t_value, z_value


def _srs(frame: str, n: int, found: int, big_n: int) -> list[Observation]:
    return [Observation(frame, n / big_n, i < found) for i in range(n)]


def test_equal_pi_reduces_to_srswor_with_fpc():
    stats = estimate([Frame("h", "h", 100, 10)], _srs("h", 10, 3, 100))
    h = stats.strata[0]
    assert h.rate == pytest.approx(0.3)
    s2 = 10 / 9 * 0.3 * 0.7  # sample variance of the 0/1 values
    assert h.std_error == pytest.approx(math.sqrt((1 - 10 / 100) * s2 / 10), rel=1e-12)


def test_stratified_srswor_combines_strata_by_population_share():
    frames = [Frame("a", "a", 100, 10), Frame("b", "b", 300, 20)]
    obs = _srs("a", 10, 3, 100) + _srs("b", 20, 2, 300)
    o = estimate(frames, obs).overall
    assert o.rate == pytest.approx((100 * 0.3 + 300 * 0.1) / 400)
    var = sum(
        (n_big / 400) ** 2 * (1 - n / n_big) * (n / (n - 1) * p * (1 - p)) / n
        for n_big, n, p in ((100, 10, 0.3), (300, 20, 0.1))
    )
    assert o.std_error == pytest.approx(math.sqrt(var), rel=1e-12)
    assert o.population == 400 and o.observed == 30 and o.found == 5


def test_unequal_pi_is_the_pi_weighted_share():
    """Hájek: Σ(y/π)/Σ(1/π), a share of the frame — never above 100 % (Horvitz–Thompson's
    Σ(y/π)/N read 157 % in small strata)."""
    obs = [Observation("h", 0.5, True), Observation("h", 0.1, True), Observation("h", 0.2, False)]
    h = estimate([Frame("h", "h", 50, 3)], obs).strata[0]
    n_hat = 1 / 0.5 + 1 / 0.1 + 1 / 0.2
    share = (1 / 0.5 + 1 / 0.1) / n_hat
    assert h.rate == pytest.approx(share)
    # Linearised: e_i = (y_i − p̂)/π_i with the Hájek/Deville c_i = (1 − π_i) m/(m − 1),
    # centred on their c-weighted mean, over N̂².
    c = [0.5 * 1.5, 0.9 * 1.5, 0.8 * 1.5]
    e = [(1 - share) / 0.5, (1 - share) / 0.1, (0 - share) / 0.2]
    b = sum(ci * ei for ci, ei in zip(c, e, strict=True)) / sum(c)
    var = sum(ci * (ei - b) ** 2 for ci, ei in zip(c, e, strict=True)) / n_hat**2
    assert h.std_error == pytest.approx(math.sqrt(var), rel=1e-12)
    assert h.ci_low <= h.rate <= h.ci_high


def test_certainty_units_add_no_variance_and_a_census_is_exact():
    obs = [Observation("h", 1.0, i < 2) for i in range(5)]
    h = estimate([Frame("h", "h", 5, 5)], obs).strata[0]
    assert (h.rate, h.std_error, h.ci_low, h.ci_high) == (0.4, 0.0, 0.4, 0.4)


def test_zero_found_still_gives_an_upper_bound():
    h = estimate([Frame("h", "h", 1000, 30)], _srs("h", 30, 0, 1000)).strata[0]
    assert h.rate == 0 and h.ci_low == 0
    # Clopper–Pearson upper bound for 0/30 is 0.1157; the fpc makes it a little narrower.
    assert 0.09 < h.ci_high < 0.1157


def test_lonely_unit_is_centred_on_the_overall_rate():
    frames = [Frame("a", "a", 20, 1), Frame("b", "b", 100, 10)]
    obs = [Observation("a", 0.05, False), *_srs("b", 10, 5, 100)]
    stats = estimate(frames, obs)
    a = stats.strata[0]
    grand = stats.overall.rate
    assert a.lonely_units == 1 and a.rate == 0
    # y/π = 0 against the frame total the overall rate implies, 20·p̄: V̂(p̂_a) = p̄².
    assert a.std_error == pytest.approx(grand)


def test_pending_results_mean_no_estimate_until_every_task_has_one():
    obs = [Observation("h", 0.125, i < 2) for i in range(8)] + [Observation("h", 0.125, None)] * 2
    h = estimate([Frame("h", "h", 80, 10)], obs).strata[0]
    assert not h.complete and h.observed == 8 and h.drawn == 10
    assert (h.status, h.missing) == ("insufficient", 2)
    assert (h.rate, h.std_error, h.ci_low, h.ci_high) == (None, None, None, None)
    d = h.to_dict()
    assert d["status"] == "insufficient" and d["missing"] == 2 and d["rate"] is None


def test_one_result_of_a_58_task_draw_is_no_estimate():
    frames = [Frame("a", "a", 300, 30), Frame("b", "b", 280, 28)]
    obs = [Observation("a", 0.1, True)] + [Observation("a", 0.1, None)] * 29
    obs += [Observation("b", 0.1, None)] * 28
    stats = estimate(frames, obs)
    assert (stats.overall.status, stats.overall.missing) == ("insufficient", 57)
    assert stats.overall.rate is None and stats.overall.observed == 1
    assert [(s.status, s.missing) for s in stats.strata] == [("insufficient", 29)] * 1 + [
        ("insufficient", 28)
    ]
    det = stats.detection
    assert (det.status, det.missing, det.expected_uniform, det.lift) == (
        "insufficient",
        57,
        None,
        None,
    )


def test_a_stratum_shows_its_size_before_any_result():
    """总体数 N is the stratum's N from the start (it read 0 until a result came in)."""
    frames = [Frame("a", "a", 300, 30), Frame("b", "b", 280, 28), Frame("c", "c", 50, 0)]
    obs = [Observation("a", 0.1, True)] + [Observation("a", 0.1, None)] * 29
    obs += [Observation("b", 0.1, None)] * 28
    stats = estimate(frames, obs)
    assert [(s.key, s.size, s.population) for s in stats.strata] == [
        ("a", 300, 300),
        ("b", 280, 0),  # no result yet: the estimate covers none of it
    ]
    assert stats.overall.size == 580  # frames with nothing drawn are outside (π = 0)


def test_a_complete_stratum_is_estimated_while_another_is_pending():
    frames = [Frame("a", "a", 100, 10), Frame("b", "b", 300, 20)]
    obs = _srs("a", 10, 3, 100) + _srs("b", 19, 2, 300) + [Observation("b", 20 / 300, None)]
    stats = estimate(frames, obs)
    a, b = stats.strata
    assert a.status == "ok" and a.rate == pytest.approx(0.3)
    assert (b.status, b.missing) == ("insufficient", 1)
    assert (stats.overall.status, stats.overall.missing) == ("insufficient", 1)


def test_final_nonresponse_reweights_within_the_frame():
    # 未检查（停业、注销等）: no result will come; respondents stand in for the frame.
    obs = [Observation("h", 0.125, i < 2) for i in range(8)]
    obs += [Observation("h", 0.125, None, final=True)] * 2
    h = estimate([Frame("h", "h", 80, 10)], obs).strata[0]
    assert (h.status, h.missing, h.complete) == ("ok", 0, False)
    assert h.rate == pytest.approx(2 / 8)


def test_a_frame_whose_units_all_went_unchecked_has_no_estimate():
    obs = [Observation("h", 0.1, None, final=True)] * 3
    h = estimate([Frame("h", "h", 30, 3)], obs).strata[0]
    assert (h.status, h.missing, h.observed, h.rate) == ("insufficient", 0, 0, None)


def test_certainty_units_are_known_and_only_the_sampled_part_is_uncertain():
    # 2 certainty units (both with problems) beside an SRS of 10 of 100 with 3 problems.
    mixed = estimate(
        [Frame("h", "h", 102, 12)],
        [Observation("h", 1.0, True), Observation("h", 1.0, True), *_srs("h", 10, 3, 100)],
    ).strata[0]
    alone = estimate([Frame("h", "h", 100, 10)], _srs("h", 10, 3, 100)).strata[0]
    assert alone.ci_low is not None and alone.ci_high is not None
    assert mixed.certain == 2 and mixed.found == 5 and mixed.population == 102
    assert mixed.rate == pytest.approx((2 + 30) / 102)
    # The known part shifts the sampled part's interval; it does not narrow it.
    assert mixed.ci_low == pytest.approx((2 + 100 * alone.ci_low) / 102)
    assert mixed.ci_high == pytest.approx((2 + 100 * alone.ci_high) / 102)
    assert mixed.effective_n == pytest.approx(alone.effective_n)


def test_effective_size_never_exceeds_what_the_weights_allow():
    # Problems only among high-π units: V̂ is tiny and Kish's p̂(1 − p̂)/V̂ would be huge.
    obs = [Observation("h", 0.5, True)] * 4 + [Observation("h", 0.05, False)] * 6
    h = estimate([Frame("h", "h", 128, 10)], obs).strata[0]
    assert h.rate is not None and h.std_error is not None
    kish_y = h.rate * (1 - h.rate) / h.std_error**2
    w = [2.0] * 4 + [20.0] * 6
    kish_w = sum(w) ** 2 / sum(x * x for x in w) / (1 - 10 / 128)
    assert kish_y > 5 * kish_w
    assert h.effective_n == pytest.approx(kish_w)


def test_detection_compares_with_the_expected_count_of_a_uniform_draw():
    frames = [Frame("a", "a", 100, 10), Frame("b", "b", 300, 20)]
    obs = _srs("a", 10, 3, 100) + _srs("b", 20, 2, 300)
    d = estimate(frames, obs).detection
    assert d.found == 5
    assert d.expected_uniform == pytest.approx(10 * 0.3 + 20 * 0.1)
    assert d.lift == pytest.approx(1.0)
    assert d.expected_ci_low < d.expected_uniform < d.expected_ci_high


def test_frames_from_a_published_draw_split_off_the_cooling_units():
    strata = [
        {"key": "K", "N": 50, "n": 4, "eligible": 45, "despite_cooldown": 1},
        {"key": "L", "N": 10, "n": 1, "eligible": 10, "despite_cooldown": 0},
    ]
    frames = frames_from_draw(strata)
    assert [(f.key, f.size, f.drawn) for f in frames] == [
        ("K", 45, 3),
        ("K#冷却", 5, 1),
        ("L", 10, 1),
    ]
    o = observation_of({"stratum": "K", "inclusion_prob": 0.2, "despite_cooldown": True}, True)
    assert o == Observation("K#冷却", 0.2, True)
    closed = observation_of({"stratum": "L", "inclusion_prob": 0.1}, None, final=True)
    assert closed == Observation("L", 0.1, None, final=True)


def test_cooling_frame_without_fill_is_outside_the_covered_population():
    frames = frames_from_draw(
        [{"key": "K", "N": 50, "n": 3, "eligible": 45, "despite_cooldown": 0}]
    )
    stats = estimate(frames, _srs("K", 3, 1, 45))
    assert stats.overall.population == 45


def test_inconsistent_input_is_refused():
    with pytest.raises(StatsInputError):
        estimate([Frame("h", "h", 10, 2)], _srs("h", 1, 0, 10))
    with pytest.raises(StatsInputError):
        estimate([Frame("h", "h", 10, 1)], [Observation("x", 0.1, True)])
    with pytest.raises(StatsInputError):
        estimate([Frame("h", "h", 10, 1)], [Observation("h", 0.0, True)])


def test_interval_helpers_match_known_values():
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert t_value(z_value(0.95), 10) == pytest.approx(2.228139, abs=2e-3)
    assert t_value(z_value(0.95), 30) == pytest.approx(2.042272, abs=1e-4)
    # Clopper–Pearson 3/10: [0.06674, 0.65245].
    assert beta_quantile(0.025, 3, 8) == pytest.approx(0.066739, abs=1e-5)
    assert beta_quantile(0.975, 4, 7) == pytest.approx(0.652453, abs=1e-5)
    lo, hi = korn_graubard_interval(0.3, 10, 10, 9, 0.95)
    assert (lo, hi) == pytest.approx((0.066739, 0.652453), abs=1e-5)
