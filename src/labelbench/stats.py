"""Statistics over seeds: intervals of means, paired effects, equivalence, and how many seeds a decision needs.

Everything here is computed by scipy.stats (Student-t intervals through ``ttest_1samp``) and statsmodels (power
of the one-sided t-test, ``TTestPower``); this module only says which test answers which question. Why these
and not rliable: rliable's interval estimates are percentile bootstraps over runs, built for many tasks × many
runs; with the 2–6 seeds a run here has, a bootstrap over seeds has only a handful of distinct resamples and its
intervals are too narrow, and rliable offers neither paired tests, nor equivalence tests, nor power. The
t-interval is exact under normal per-seed values and is what statsmodels' ``ttost_paired`` and scipy's
``ttest_rel`` invert, so the verdicts can be checked against both (``tests/test_stats.py`` does).

Conventions:

* A **summary** interval is the two-sided 95 % t-interval of the mean over seeds, intersected with the range
  the metric can take (``[0, 1]`` for accuracies, F1, AP, AUC, rates). A parameter that lies in that range
  lies in the intersection whenever it lies in the interval, so the intersection keeps the 95 % coverage; it
  only removes values the metric cannot take.
* A **verdict** is the outcome of two one-sided t-tests at 5 % each, read off the two-sided 90 % interval of
  the quantity a claim is about (a paired per-seed difference, a per-seed value, or a log timing ratio):
  *holds* when the whole interval lies in the claimed region, *does not hold* when the whole interval lies
  outside it, *inconclusive* when it straddles a boundary. For "equal within a margin" this is Schuirmann's
  TOST; for "greater than" it is the one-sided paired t-test.
* **Seeds needed** for an inconclusive claim: the smallest n at which a one-sided t-test at 5 % reaches 80 %
  power for the observed distance between the estimate and the nearest boundary, with the observed spread.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

SUMMARY_CONFIDENCE = 0.95
ALPHA = 0.05  # each one-sided test of a verdict
POWER = 0.8
MAX_SEEDS = 1000  # above this a claim is called undecidable at any affordable seed count

HOLDS, FAILS, INCONCLUSIVE, OUT_OF_SCOPE = "holds", "does not hold", "inconclusive", "out of scope"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, OUT_OF_SCOPE)


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` values with its interval (``low``/``high`` NaN when ``n`` < 2)."""

    mean: float
    low: float
    high: float
    n: int
    sd: float


def mean_interval(values, confidence: float = SUMMARY_CONFIDENCE,
                  bounds: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """Mean of ``values`` (NaN dropped) and its two-sided Student-t interval at ``confidence``, intersected with
    ``bounds``. Identical values give a zero-width interval at their mean; one value gives NaN bounds."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan)
    mean = float(v.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, math.nan)
    sd = float(v.std(ddof=1))
    if np.ptp(v) == 0:  # scipy would warn and round; the interval of identical values is that value
        low = high = mean
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = stats.ttest_1samp(v, 0.0).confidence_interval(confidence)
        low, high = float(ci.low), float(ci.high)
    lo, hi = bounds
    return Interval(mean, min(max(low, lo), hi), max(min(high, hi), lo), n, sd)


@dataclass(frozen=True)
class Region:
    """The values a claim says its quantity takes: ``greater`` than ``bound``, ``smaller`` than ``bound``, or
    ``within`` [``low``, ``high``] (inclusive)."""

    kind: str
    bound: float = 0.0
    low: float = 0.0
    high: float = 0.0

    @classmethod
    def greater(cls, bound: float) -> Region:
        return cls("greater", bound=bound)

    @classmethod
    def smaller(cls, bound: float) -> Region:
        return cls("smaller", bound=bound)

    @classmethod
    def within(cls, low: float, high: float) -> Region:
        if low > high:
            raise ValueError(f"empty region [{low}, {high}]")
        return cls("within", low=low, high=high)

    def describe(self, fmt=lambda x: f"{x:.3g}") -> str:
        if self.kind == "greater":
            return f"> {fmt(self.bound)}"
        if self.kind == "smaller":
            return f"< {fmt(self.bound)}"
        return f"in [{fmt(self.low)}, {fmt(self.high)}]"

    def distance(self, x: float) -> float:
        """How far ``x`` is from the nearest boundary of the region (inside or outside)."""
        if self.kind in ("greater", "smaller"):
            return abs(x - self.bound)
        return min(abs(x - self.low), abs(x - self.high))


def decide(low: float, high: float, region: Region) -> str:
    """The verdict of an interval [``low``, ``high``] against ``region`` (module docstring); NaN bounds (one
    seed) are inconclusive."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if region.kind == "greater":
        return HOLDS if low > region.bound else FAILS if high <= region.bound else INCONCLUSIVE
    if region.kind == "smaller":
        return HOLDS if high < region.bound else FAILS if low >= region.bound else INCONCLUSIVE
    if region.low <= low and high <= region.high:
        return HOLDS
    return FAILS if low > region.high or high < region.low else INCONCLUSIVE


def seeds_needed(estimate: Interval, region: Region, alpha: float = ALPHA, power: float = POWER) -> float:
    """Seeds (paired runs) at which a one-sided t-test at ``alpha`` would reach ``power`` for the observed
    distance between the mean and the region's nearest boundary, given the observed spread (statsmodels'
    ``TTestPower``). NaN with fewer than two values (no spread to go on); ``inf`` when the mean sits on a
    boundary or the answer exceeds :data:`MAX_SEEDS`."""
    from statsmodels.stats.power import TTestPower

    if estimate.n < 2 or math.isnan(estimate.sd):
        return math.nan
    distance = region.distance(estimate.mean)
    if estimate.sd == 0:
        return float(estimate.n)
    if distance == 0:
        return math.inf
    effect = distance / estimate.sd
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = TTestPower().solve_power(effect_size=effect, alpha=alpha, power=power, alternative="larger")
    except (ValueError, RuntimeError):  # no finite solution below statsmodels' search limit
        return math.inf
    n = float(np.ravel(n)[0])
    if not math.isfinite(n) or n > MAX_SEEDS:
        return math.inf
    return float(max(math.ceil(n), estimate.n + 1))


def verdict_interval(values, bounds: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """The interval a verdict reads: two-sided at 1 - 2·:data:`ALPHA` (90 %), i.e. two one-sided 5 % tests."""
    return mean_interval(values, confidence=1 - 2 * ALPHA, bounds=bounds)
