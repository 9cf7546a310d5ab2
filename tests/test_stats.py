"""Intervals, verdicts and seed counts against scipy and statsmodels, and the power estimate by simulation."""

import math

import numpy as np
import pytest
from scipy import stats as sp
from statsmodels.stats.weightstats import DescrStatsW, ttost_paired

from labelbench import stats as S


def test_mean_interval_is_scipys_t_interval():
    values = [0.2, 0.4, 0.3, 0.35]
    got = S.mean_interval(values)
    low, high = sp.t.interval(0.95, 3, loc=np.mean(values), scale=sp.sem(values))
    assert (got.mean, got.low, got.high, got.n) == (pytest.approx(0.3125), pytest.approx(low), pytest.approx(high), 4)
    assert got.sd == pytest.approx(np.std(values, ddof=1))


def test_bounded_interval_stays_in_the_unit_range_and_keeps_its_inner_side():
    values = [0.98, 1.0, 0.7]  # the plain t interval runs past 1
    raw = DescrStatsW(np.array(values)).tconfint_mean(alpha=0.05)
    assert raw[1] > 1
    got = S.mean_interval(values, bounds=(0.0, 1.0))
    assert got.high == 1.0 and got.low == pytest.approx(raw[0])
    assert S.mean_interval([0.0, 0.1, 0.0], bounds=(0.0, 1.0)).low == 0.0


def test_identical_values_give_a_point_and_one_value_no_interval():
    same = S.mean_interval([0.25, 0.25, 0.25])
    assert (same.low, same.high, same.sd) == (0.25, 0.25, 0.0)
    one = S.mean_interval([0.5, float("nan")])
    assert one.n == 1 and math.isnan(one.low) and math.isnan(one.high)


@pytest.mark.parametrize("low, high, region, verdict", [
    (0.05, 0.2, S.Region.greater(0.0), S.HOLDS),
    (-0.2, -0.01, S.Region.greater(0.0), S.FAILS),
    (0.0, 0.0, S.Region.greater(0.0), S.FAILS),  # identical runs are not "greater"
    (-0.1, 0.2, S.Region.greater(0.0), S.INCONCLUSIVE),
    (0.05, 0.2, S.Region.greater(0.1), S.INCONCLUSIVE),  # a minimum size moves the boundary
    (-0.9, -0.6, S.Region.smaller(-0.5), S.HOLDS),
    (-0.02, 0.03, S.Region.within(-0.05, 0.05), S.HOLDS),
    (0.0, 0.0, S.Region.within(0.0, 0.0), S.HOLDS),
    (0.06, 0.5, S.Region.within(-0.05, 0.05), S.FAILS),
    (0.01, 0.5, S.Region.within(-0.05, 0.05), S.INCONCLUSIVE),
    (float("nan"), float("nan"), S.Region.greater(0.0), S.INCONCLUSIVE),
])
def test_decide_reads_the_interval_against_the_region(low, high, region, verdict):
    assert S.decide(low, high, region) == verdict


def test_equal_within_a_margin_is_statsmodels_tost_and_greater_is_the_one_sided_paired_t():
    rng = np.random.default_rng(0)
    checked = {"tost": 0, "greater": 0}
    for _ in range(300):
        n = int(rng.integers(3, 8))
        a = rng.normal(0.7, 0.05, n)
        b = a + rng.normal(rng.uniform(-0.08, 0.08), rng.uniform(0.005, 0.05), n)
        est = S.verdict_interval(a - b)
        tost_p = ttost_paired(a, b, -0.05, 0.05)[0]
        assert (S.decide(est.low, est.high, S.Region.within(-0.05, 0.05)) == S.HOLDS) == (tost_p < 0.05)
        one_sided_p = sp.ttest_rel(a, b, alternative="greater").pvalue
        assert (S.decide(est.low, est.high, S.Region.greater(0.0)) == S.HOLDS) == (one_sided_p < 0.05)
        checked["tost"] += tost_p < 0.05
        checked["greater"] += one_sided_p < 0.05
    assert all(v > 20 for v in checked.values())  # both outcomes occurred


def test_seeds_needed_reaches_the_promised_power_in_simulation():
    rng = np.random.default_rng(1)
    pilot = S.verdict_interval([0.02, 0.09, -0.01, 0.06])  # mean 0.04, straddles 0
    assert S.decide(pilot.low, pilot.high, S.Region.greater(0.0)) == S.INCONCLUSIVE
    n = int(S.seeds_needed(pilot, S.Region.greater(0.0)))
    assert 5 <= n <= 40
    decided = 0
    for _ in range(2000):
        sample = rng.normal(pilot.mean, pilot.sd, n)
        est = S.verdict_interval(sample)
        decided += S.decide(est.low, est.high, S.Region.greater(0.0)) == S.HOLDS
    assert decided / 2000 == pytest.approx(0.8, abs=0.04)
    fewer = S.seeds_needed(pilot, S.Region.greater(0.0))
    assert S.seeds_needed(S.verdict_interval([0.02, 0.09, -0.01, 0.06, 0.2, 0.18]), S.Region.greater(0.0)) < fewer


def test_seeds_needed_without_spread_or_on_the_boundary():
    assert math.isnan(S.seeds_needed(S.verdict_interval([0.3]), S.Region.greater(0.0)))
    on_boundary = S.verdict_interval([-0.1, 0.1, -0.05, 0.05])
    assert S.seeds_needed(on_boundary, S.Region.greater(0.0)) == math.inf


@pytest.mark.parametrize("region, truth, sd, independent", [
    (S.Region.greater(0.0), 0.6, 1.0, False),          # a paired "greater" claim, effect 0.6 sd
    (S.Region.smaller(0.0), -0.3, 0.25, True),         # arms on different datasets (Welch), per arm
    (S.Region.within(-0.05, 0.05), 0.0, 0.04, False),  # "close to": TOST, both bounds
    (S.Region.within(-0.05, 0.05), 0.01, 0.06, False),
])
def test_the_planned_seed_count_gives_the_stated_power_under_a_known_truth(region, truth, sd, independent):
    """Simulated from the truth (not from observed values): at the recommended n, the share of runs whose verdict
    is decided the right way is within 5 points of the power stated for that n."""
    n = int(S.seeds_for_effect(truth, sd, region, independent=independent))
    if region.kind == "within":
        stated = S.tost_power(n, truth, sd, region.low, region.high, independent=independent)
    else:
        from statsmodels.stats.power import TTestIndPower, TTestPower

        solver = TTestIndPower() if independent else TTestPower()
        nobs = {"nobs1": n} if independent else {"nobs": n}
        stated = solver.power(effect_size=abs(truth - region.bound) / sd, alpha=S.ALPHA, alternative="larger", **nobs)
    assert stated >= S.POWER
    rng = np.random.default_rng(7)
    holds = 0
    reps = 2000
    for _ in range(reps):
        if independent:
            est, _ = S.welch_interval(rng.normal(truth, sd, n), rng.normal(0.0, sd, n))
        else:
            est = S.verdict_interval(rng.normal(truth, sd, n))
        holds += S.decide(est.low, est.high, region) == S.HOLDS
    assert abs(holds / reps - stated) < 0.05, (n, holds / reps, stated)


def test_a_claim_plans_its_seeds_from_its_declared_effect_and_an_upper_bound_of_the_sd():
    """The observed difference of a 3-seed pilot is noise (post-hoc power recommends anything from a handful to
    thousands); the plan uses the source's own effect and the 80 % upper confidence bound of the sd."""
    from labelbench.claims import planned_seeds

    est = S.verdict_interval([0.29, -0.06, 0.0])  # the mosaic pilot's paired differences
    region = S.Region.greater(0.0)
    need, plan = planned_seeds(est, region, declared=0.1025)
    upper = est.sd * np.sqrt(2 / sp.chi2.ppf(0.2, 2))
    assert need == S.seeds_for_effect(0.1025, upper, region)
    assert plan.startswith("Seeds needed planned for a true 0.102 with sd ")
    post_hoc, why = planned_seeds(est, region, declared=None)
    assert post_hoc == S.seeds_needed(est, region) and "declares no effect" in why
