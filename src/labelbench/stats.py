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
#: an effect claim whose config names another config that decides it (the claim's ``decided_in``, fixed before
#: any run): this run is that decision's pilot, not its test
DEFERRED = "decided in another config"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, OUT_OF_SCOPE, DEFERRED)
#: the one-sided confidence of the upper bound on the sd that sample sizes are planned with (Browne 1995's 80 %
#: upper confidence limit of a pilot's sd: a pilot of 3 seeds underestimates the sd about half the time)
SD_UPPER_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Rules:
    """The numbers a run's verdicts are decided and planned with: ``alpha`` of each one-sided test (the verdict
    interval is two-sided at 1 − 2·alpha), the ``power`` seed counts are planned for, and the confidence of the
    sd's upper bound used in that planning. A config sets them under ``verdicts:`` (:meth:`from_config`); the
    defaults are this module's constants."""

    alpha: float = ALPHA
    power: float = POWER
    sd_upper_confidence: float = SD_UPPER_CONFIDENCE

    @classmethod
    def from_config(cls, config: dict | None) -> Rules:
        given = (config or {}).get("verdicts") or {}
        return cls(**{k: float(given[k]) for k in ("alpha", "power", "sd_upper_confidence") if k in given})

    @property
    def confidence(self) -> float:
        """The verdict interval's two-sided confidence, 1 − 2·alpha."""
        return 1 - 2 * self.alpha

    @property
    def interval(self) -> str:
        """The verdict interval's confidence as prose, e.g. ``90 %``."""
        return f"{100 * self.confidence:.3g} %"

    @property
    def test_level(self) -> str:
        """Each one-sided test's level as prose, e.g. ``5 %``."""
        return f"{100 * self.alpha:.3g} %"


#: the schema's defaults
DEFAULT_RULES = Rules()


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


def seeds_needed(estimate: Interval, region: Region, alpha: float = ALPHA, power: float = POWER,
                 independent: bool = False) -> float:
    """Seeds (paired runs) at which a one-sided t-test at ``alpha`` would reach ``power`` for the observed
    distance between the mean and the region's nearest boundary, given the observed spread (statsmodels'
    ``TTestPower``; ``independent``: seeds per arm of two unpaired arms, ``TTestIndPower``, ``sd`` being the arms'
    root-mean-square sd). NaN with fewer than two values (no spread to go on); ``inf`` when the mean sits on a
    boundary or the answer exceeds :data:`MAX_SEEDS`."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

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
            solver = TTestIndPower() if independent else TTestPower()
            n = solver.solve_power(effect_size=effect, alpha=alpha, power=power, alternative="larger")
    except (ValueError, RuntimeError):  # no finite solution below statsmodels' search limit
        return math.inf
    n = float(np.ravel(n)[0])
    if not math.isfinite(n) or n > MAX_SEEDS:
        return math.inf
    return float(max(math.ceil(n), estimate.n + 1))


def verdict_interval(values, bounds: tuple[float, float] = (-math.inf, math.inf), alpha: float = ALPHA) -> Interval:
    """The interval a verdict reads: two-sided at 1 − 2·``alpha`` (90 % by default), i.e. two one-sided tests at
    ``alpha``."""
    return mean_interval(values, confidence=1 - 2 * alpha, bounds=bounds)


def _one_sided_p(values: np.ndarray, bound: float, alternative: str) -> float:
    """p of the one-sample t-test of ``values`` against ``bound`` (scipy); identical values give 0 or 1 (the t
    statistic is infinite or undefined there)."""
    from scipy import stats

    if len(values) < 2:
        return math.nan
    if np.ptp(values) == 0:
        beyond = values[0] > bound if alternative == "greater" else values[0] < bound
        return 0.0 if beyond else 1.0
    return float(stats.ttest_1samp(values, bound, alternative=alternative).pvalue)


def p_values(values, region: Region) -> tuple[float, float]:
    """(p that the claim holds, p that it does not) for per-seed ``values`` (paired differences, values or log
    ratios) against ``region``: the one-sided t-tests whose 5 % rejections :func:`decide` reads off the 90 %
    interval, so ``p_holds < ALPHA`` exactly when the verdict is *holds* (up to the metric-range clipping, which
    only removes impossible values). For ``within`` (TOST) p_holds is the larger of the two one-sided p's, and
    p_fails the smaller of the two that put the mean outside."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) >= 2 and np.ptp(v) == 0:  # a zero-width interval at v: p is 0 or 1, as decide() reads it
        verdict = decide(v[0], v[0], region)
        return float(verdict != HOLDS), float(verdict != FAILS)
    if region.kind == "greater":
        return _one_sided_p(v, region.bound, "greater"), _one_sided_p(v, region.bound, "less")
    if region.kind == "smaller":
        return _one_sided_p(v, region.bound, "less"), _one_sided_p(v, region.bound, "greater")
    holds = max(_one_sided_p(v, region.low, "greater"), _one_sided_p(v, region.high, "less"))
    fails = min(_one_sided_p(v, region.low, "less"), _one_sided_p(v, region.high, "greater"))
    return holds, fails


def welch_interval(a, b, bounds: tuple[float, float] = (-math.inf, math.inf),
                   alpha: float = ALPHA) -> tuple[Interval, float]:
    """The verdict interval (1 − 2·``alpha``, 90 % by default) of mean(``a``) − mean(``b``) for two arms with no
    pairing basis (runs on different datasets), by Welch's t-test (scipy's ``ttest_ind(equal_var=False)``), and its
    Welch–Satterthwaite degrees of freedom. ``n`` is the smaller arm; ``sd`` the arms' root-mean-square sd (the
    effect-size scale)."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n = min(len(a), len(b))
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan), math.nan
    mean = float(a.mean() - b.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, 1, math.nan), math.nan
    va, vb = a.var(ddof=1), b.var(ddof=1)
    sd = float(math.sqrt((va + vb) / 2))
    if va + vb == 0:
        return Interval(mean, mean, mean, n, 0.0), math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(1 - 2 * alpha)
    lo, hi = bounds
    low, high = float(ci.low), float(ci.high)
    return Interval(mean, min(max(low, lo), hi), max(min(high, hi), lo), n, sd), float(result.df)


def welch_p_values(a, b, region: Region) -> tuple[float, float]:
    """:func:`p_values` for the difference of two unpaired arms (Welch's one-sided tests, scipy)."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if min(len(a), len(b)) < 2 or a.var(ddof=1) + b.var(ddof=1) == 0:
        return p_values(np.atleast_1d(a.mean() - b.mean()) if len(a) and len(b) else [], region)

    def one(bound: float, alternative: str) -> float:
        return float(stats.ttest_ind(a - bound, b, equal_var=False, alternative=alternative).pvalue)

    if region.kind == "greater":
        return one(region.bound, "greater"), one(region.bound, "less")
    if region.kind == "smaller":
        return one(region.bound, "less"), one(region.bound, "greater")
    return (max(one(region.low, "greater"), one(region.high, "less")),
            min(one(region.low, "less"), one(region.high, "greater")))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (statsmodels' ``multipletests``; NaN stays NaN and does not
    count towards the family). Holm rather than Benjamini–Hochberg: each verdict is read and acted on alone, so
    the report bounds the chance that *any* of its decided claims is wrong (family-wise), and with a family of
    ~20 claims Holm gives up little power against BH's false-discovery rate."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    known = ~np.isnan(p)
    if known.any():
        out[known] = multipletests(p[known], alpha=ALPHA, method="holm")[1]
    return out



def sd_upper(sd: float, n: int, confidence: float = SD_UPPER_CONFIDENCE) -> float:
    """The one-sided upper confidence bound of a normal sd estimated from ``n`` values (chi-square, scipy)."""
    from scipy import stats

    if n < 2 or not math.isfinite(sd):
        return math.nan
    return float(sd * math.sqrt((n - 1) / stats.chi2.ppf(1 - confidence, n - 1)))


def tost_power(n: int, truth: float, sd: float, low: float, high: float, alpha: float = ALPHA,
               independent: bool = False) -> float:
    """Power of TOST (two one-sided t-tests at ``alpha``) to show [``low``, ``high``] with ``n`` seeds (paired; per
    arm when ``independent``) when the true difference is ``truth`` and the sd ``sd``: the sum of the two one-sided
    tests' powers less one, each from scipy's noncentral t (the usual approximation, Phillips 1990; exact when
    either test's power is near 1). statsmodels has power for one t-test but not for TOST."""
    from scipy import stats

    df = 2 * n - 2 if independent else n - 1
    if df < 1 or sd <= 0:
        return math.nan
    se = sd * math.sqrt(2 / n) if independent else sd / math.sqrt(n)
    crit = stats.t.ppf(1 - alpha, df)
    lower = stats.nct.sf(crit, df, (truth - low) / se)
    upper = stats.nct.sf(crit, df, (high - truth) / se)
    return float(max(0.0, lower + upper - 1))


def seeds_for_effect(effect: float, sd: float, region: Region, alpha: float = ALPHA, power: float = POWER,
                     independent: bool = False) -> float:
    """Seeds (paired runs, or per arm when ``independent``) at which a verdict reaches ``power`` when the true
    quantity is the declared ``effect`` and the sd is ``sd``: one-sided t-test power (statsmodels' ``TTestPower``
    / ``TTestIndPower``) for ``greater``/``smaller``, :func:`tost_power` for ``within`` (both bounds). ``inf``
    when the declared effect is not inside the claimed region (no n shows it) or the answer exceeds
    :data:`MAX_SEEDS`."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    if not (math.isfinite(sd) and math.isfinite(effect)):
        return math.nan
    if region.kind in ("greater", "smaller"):
        distance = effect - region.bound if region.kind == "greater" else region.bound - effect
        if distance <= 0:
            return math.inf
        if sd == 0:
            return 2.0
        solver = TTestIndPower() if independent else TTestPower()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                n = float(np.ravel(solver.solve_power(effect_size=distance / sd, alpha=alpha, power=power,
                                                      alternative="larger"))[0])
        except (ValueError, RuntimeError):
            return math.inf
        return float(max(2, math.ceil(n))) if math.isfinite(n) and n <= MAX_SEEDS else math.inf
    if not region.low < effect < region.high:
        return math.inf
    if sd == 0:
        return 2.0
    for n in range(2, MAX_SEEDS + 1):
        if tost_power(n, effect, sd, region.low, region.high, alpha, independent) >= power:
            return float(n)
    return math.inf


def prediction_interval(values, confidence: float = 1 - 2 * ALPHA,
                        bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float]:
    """Where one more run would fall: mean ± t·s·√(1 + 1/n) over ``values`` (the normal-theory prediction interval,
    scipy's t quantile), intersected with ``bounds``; NaN with fewer than two values. A source's single run is
    compared with this, not with our mean's interval, which shrinks towards zero width as seeds accumulate."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    n = len(v)
    if n < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) * math.sqrt(1 + 1 / n)
    lo, hi = bounds
    return float(max(v.mean() - half, lo)), float(min(v.mean() + half, hi))


def magnitude(source: float, low: float, high: float) -> str:
    """Where a source's figure lies against our interval: ``inside``, ``above`` or ``below`` ("" when either is
    unknown)."""
    if any(math.isnan(x) for x in (source, low, high)):
        return ""
    return "inside" if low <= source <= high else "above" if source > high else "below"
