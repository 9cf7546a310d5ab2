"""The sources' claims, decided on this run's numbers: one :class:`Verdict` per claim, from which the claims table,
``claims.csv``, the report's summary and its sentences are all rendered (so none of them can contradict another).

A claim is data in the config (``experiments.<name>.claims``, schema in ``workflow/schemas/config.schema.yaml``),
of one of four kinds:

* ``effect`` — a difference between two sides (variant, metric, split), paired by seed: ``greater``, ``smaller``
  (optionally by at least ``margin``) or ``equal`` within ``margin``;
* ``value`` — an absolute figure within ``tolerance``; judged only where the run uses the data and settings the
  figure was measured on (``scope``), otherwise shown with the verdict *out of scope*;
* ``exact`` — a number from a source's own worked example, recomputed by our code on the source's inputs
  (``worked_examples.json``, written by a Keras job) and compared within ``tolerance``;
* ``speed`` — a ratio of step times measured side by side (``speed.json``), per round, against a bound.

An effect claim that a config's seeds cannot decide within its time names the config that can (``decided_in``,
e.g. the default config's ``configs/extended.yaml``): its verdict here is :data:`labelbench.stats.DEFERRED`
whatever this run's numbers say, and it is outside Holm's family (both fixed before any run, so neither the
family nor the verdict depends on the data); this run's numbers are shown as the pilot, with the seeds they plan.

The statistics (intervals, tests, power) are :mod:`labelbench.stats`'. No deep-learning framework is imported.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labelbench import stats
from labelbench.metrics import metric_spec

COLUMNS = ["claim_id", "experiment", "kind", "claim", "source", "source_value", "ours", "ci_low", "ci_high",
           "n_seeds", "verdict", "seeds_needed", "rule", "quantity", "region", "detail", "sentence",
           "test", "p_holds", "p_fails", "family_size", "p_adjusted", "verdict_adjusted", "values_a", "values_b",
           "margin_reason", "magnitude", "decided_in"]
#: the text columns of :data:`COLUMNS` (empty, never NaN, when read back)
TEXT_COLUMNS = ("claim", "source", "rule", "quantity", "region", "detail", "sentence", "test", "verdict_adjusted",
                "values_a", "values_b", "margin_reason", "magnitude", "decided_in")
#: columns added after tables were first written: read as empty from an older table
ADDED_COLUMNS = ("decided_in",)
#: the claims adjusted together for multiplicity (the others are exact recomputations or judged on their own)
FAMILY_KINDS = ("effect", "speed")
KINDS = ("effect", "value", "exact", "speed")


@dataclass
class Verdict:
    """A claim decided: what was measured, its interval, the verdict, and the rule that gave it."""

    claim_id: str
    experiment: str
    kind: str
    claim: str
    source: str
    source_value: float
    ours: float
    ci_low: float
    ci_high: float
    n_seeds: float
    verdict: str
    seeds_needed: float
    rule: str
    quantity: str
    region: str
    detail: str = ""
    explanation: str = ""
    extra: dict = field(default_factory=dict)
    test: str = ""
    p_holds: float = math.nan
    p_fails: float = math.nan
    values_a: list = field(default_factory=list)
    values_b: list = field(default_factory=list)
    margin_reason: str = ""
    #: where the source's figure lies against our interval (the prediction interval for one run, for a value
    #: claim): inside, above or below
    magnitude: str = ""
    magnitude_interval: tuple = (math.nan, math.nan)
    #: the alpha, power and sd bound it was decided and planned with (the config's ``verdicts:``)
    rules: stats.Rules = field(default_factory=stats.Rules)
    #: the config that decides this effect claim instead of this run (the claim's ``decided_in``)
    decided_in: str = ""

    @property
    def sentence(self) -> str:
        """One sentence stating the verdict and the numbers behind it (the report's and the notebooks' prose)."""
        num = _exact_num if self.kind == "exact" else _num
        unit = "rounds" if self.kind == "speed" else "seeds"
        ours = num(self.ours)
        if not math.isnan(self.ci_low):
            ours += (f" ({self.rules.interval} interval {num(self.ci_low)} to {num(self.ci_high)}, "
                     f"{int(self.n_seeds)} {unit})")
        elif not math.isnan(self.n_seeds):
            ours += f" ({int(self.n_seeds)} {unit[:-1] if self.n_seeds == 1 else unit}, no interval)"
        theirs = "" if math.isnan(self.source_value) else f"; the source: {num(self.source_value)}"
        head = f"{self.claim} — {self.verdict}: {self.quantity} = {ours}, claimed {self.region}{theirs}."
        if self.verdict == stats.INCONCLUSIVE:
            need = self.seeds_needed
            if math.isnan(need):
                head += f" One value gives no spread to judge by; run at least 2 {unit}."
            elif math.isinf(need):
                head += f" No affordable number of {unit} (over {stats.MAX_SEEDS}) would likely decide it."
            else:
                head += f" About {int(need)} {unit} would likely decide it."
        if self.magnitude:
            what = (f"one run's {self.rules.interval} prediction interval" if self.kind == "value"
                    else f"our {self.rules.interval} interval")
            lo, hi = (num(x) for x in self.magnitude_interval)
            src = num(self.source_value)
            head += {"inside": f" The source's {src} lies inside {what} ({lo} to {hi}): the same size.",
                     "above": f" The source's {src} lies above {what} ({lo} to {hi}): ours is smaller.",
                     "below": f" The source's {src} lies below {what} ({lo} to {hi}): ours is larger.",
                     }[self.magnitude]
        if self.detail:
            head += f" {self.detail}"
        return head

    def record(self) -> dict:
        """The row of ``claims.csv``: per-seed values as JSON lists; the multiplicity columns are filled where the
        whole run's claims meet (:func:`adjust_for_multiplicity`, in the report job)."""
        row = asdict(self)
        row.pop("explanation")
        row.pop("extra")
        row.pop("magnitude_interval")
        row.pop("rules")
        row["sentence"] = self.sentence
        for key in ("values_a", "values_b"):
            row[key] = json.dumps([round(float(x), 10) for x in row[key]]) if row[key] else ""
        row.update(family_size=math.nan, p_adjusted=math.nan, verdict_adjusted="")
        return {c: row[c] for c in COLUMNS}


def _seeds_text(need: float) -> str:
    return f"over {stats.MAX_SEEDS} seeds" if math.isinf(need) else f"{int(need)} seeds"


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    x = x + 0.0  # no "-0.000"
    if x != 0 and (abs(x) < 0.001 or abs(x) >= 1000):
        return f"{x:.4g}"
    return f"{x:.3f}" if abs(x) >= 0.1 or x == 0 else f"{x:.4f}"


def _exact_num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.8g}"


# --------------------------------------------------------------------------------------------- inputs


def side_label(side: dict) -> str:
    split = "" if side.get("split", "test") == "test" else f" ({side['split']})"
    return f"{side['variant']} {side['metric']}{split}"


def resolve_sides(claim: dict) -> tuple[dict, dict]:
    """The two sides of an effect claim, ``b`` inheriting what it does not name from ``a`` (split: test)."""
    a = {"split": "test", **claim["a"]}
    b = {**a, **claim["b"]}
    return a, b


def per_seed(observations: pd.DataFrame, side: dict) -> pd.Series:
    """Per-seed values of one side (index: seed)."""
    hit = observations[(observations["variant"] == side["variant"]) & (observations["metric"] == side["metric"])
                       & (observations["split"] == side.get("split", "test"))]
    return hit.set_index("seed")["value"].astype(float).sort_index()


def lineage_specs(config: dict, dataset: str) -> list[tuple[str, dict]]:
    """(name, spec) of the datasets a dataset is built from, itself first (a mosaic's tiles after it: its source's
    ``built_from`` key)."""
    from labelbench.datasets.sources import get_source

    spec = config["datasets"][dataset]
    built_from = get_source(spec["source"]).built_from
    return [(dataset, spec)] + (lineage_specs(config, spec[built_from]) if built_from else [])


def dataset_lineage(config: dict, dataset: str) -> list[str]:
    """Sources a dataset is built from, itself first (a mosaic names its tiles' source too)."""
    return [spec["source"] for _, spec in lineage_specs(config, dataset)]


def out_of_scope(claim: dict, config: dict, experiment: str) -> str:
    """Why a value claim's figure does not apply to this run ("" when it does): its ``scope`` names the data
    (dataset sources, recognised by their archives' checksums, and ``dataset`` keys such as a mosaic's
    ``n_train``) and the settings (``training``/``model`` keys) the figure was measured with."""
    from labelbench.datasets.sources import get_source

    scope = claim.get("scope", {})
    exp = config["experiments"][experiment]
    variant = exp["variants"].get(claim["variant"], {})
    dataset = variant.get("dataset") or exp["dataset"]
    reasons = []
    if scope.get("data"):
        lineage = dataset_lineage(config, dataset)
        if not set(lineage) & set(scope["data"]):
            reasons.append(f"the figure is on {' or '.join(scope['data'])}; this run's data is "
                           f"{dataset} ({' from '.join(lineage)})")
        for name, spec in lineage_specs(config, dataset):
            why = get_source(spec["source"]).not_official(spec) if spec["source"] in scope["data"] else ""
            if why:
                reasons.append(f"datasets.{name} is not recognised as the official {spec['source']} data ({why})")
    for section in ("training", "model"):
        for key, want in scope.get(section, {}).items():
            have = exp.get(section, {}).get(key)
            if have != want:
                reasons.append(f"{section}.{key} is {have!r} here, {want!r} in the source")
    for key, want in scope.get("dataset", {}).items():  # sizes of generated data (a mosaic's n_train)
        have = config["datasets"][dataset].get(key)
        if have != want:
            reasons.append(f"datasets.{dataset}.{key} is {have!r} here, {want!r} in the source")
    return "; ".join(reasons)


# --------------------------------------------------------------------------------------------- deciding


def planned_seeds(est: stats.Interval, region: stats.Region, declared: float | None,
                  independent: bool = False, rules: stats.Rules = stats.DEFAULT_RULES) -> tuple[float, str]:
    """Seeds an undecided claim needs, and how they were planned: from the ``declared`` true effect (a claim's
    ``effect``, else the source's own value, else no difference for an equivalence) with the upper confidence
    bound of the observed sd at ``rules.sd_upper_confidence`` (80 % by default; :func:`labelbench.stats.sd_upper`),
    or — a claim that declares nothing — from the observed difference itself (post hoc, said so in the detail)."""
    if est.n < 2 or math.isnan(est.sd):
        return math.nan, ""
    if declared is None:
        return (stats.seeds_needed(est, region, rules.alpha, rules.power, independent=independent),
                "Seeds needed planned from the observed difference (the claim declares no effect).")
    sd = stats.sd_upper(est.sd, est.n, rules.sd_upper_confidence)
    need = stats.seeds_for_effect(declared, sd, region, rules.alpha, rules.power, independent=independent)
    return need, (f"Seeds needed planned for a true {_num(declared)} with sd {_num(sd)} (the "
                  f"{100 * rules.sd_upper_confidence:.3g} % upper bound of the observed {_num(est.sd)}).")


def _declared_effect(claim: dict, direction: str) -> float | None:
    if "effect" in claim:
        return float(claim["effect"])
    if direction == "equal":
        return 0.0
    return float(claim["source_value"]) if claim.get("source_value") is not None else None


def _arm_dataset(config: dict | None, experiment: str, side: dict) -> str | None:
    if config is None:
        return None
    spec = config["experiments"][experiment]
    return spec["variants"].get(side["variant"], {}).get("dataset") or spec.get("dataset")


def _effect(claim: dict, experiment: str, observations: pd.DataFrame, config: dict | None = None,
            rules: stats.Rules = stats.DEFAULT_RULES) -> Verdict:
    """An effect: paired by seed where both arms are runs on one dataset (seed s of each arm shares its data split
    and initial draws), by Welch's test where they are not (different datasets: nothing pairs seed s with seed s)."""
    a, b = resolve_sides(claim)
    va, vb = per_seed(observations, a), per_seed(observations, b)
    lo_a, hi_a = metric_spec(experiment, a["metric"]).bounds
    lo_b, hi_b = metric_spec(experiment, b["metric"]).bounds
    bounds = (lo_a - hi_b, hi_a - lo_b)
    margin = float(claim.get("margin", 0.0))
    direction = claim["direction"]
    region = {"greater": stats.Region.greater(margin), "smaller": stats.Region.smaller(-margin if margin else 0.0),
              "equal": stats.Region.within(-margin, margin)}[direction]
    paired = _arm_dataset(config, experiment, a) == _arm_dataset(config, experiment, b)
    if paired:
        both = pd.concat([va.rename("a"), vb.rename("b")], axis=1).dropna()
        diffs = (both["a"] - both["b"]).to_numpy()
        est = stats.verdict_interval(diffs, bounds=bounds, alpha=rules.alpha)
        p_holds, p_fails = stats.p_values(diffs, region)
        arms = (both["a"].to_numpy(), both["b"].to_numpy())
        test = "TOST (two one-sided paired t-tests)" if direction == "equal" else "one-sided paired t-test"
        basis = "per-seed difference"
    else:
        arms = (va.dropna().to_numpy(), vb.dropna().to_numpy())
        est, dof = stats.welch_interval(*arms, bounds=bounds, alpha=rules.alpha)
        p_holds, p_fails = stats.welch_p_values(*arms, region)
        diffs = np.array([])
        test = ("TOST with Welch's t-tests" if direction == "equal" else "one-sided Welch t-test") + (
            f" (unpaired: {_arm_dataset(config, experiment, a)} vs {_arm_dataset(config, experiment, b)}, "
            f"{dof:.1f} df)" if math.isfinite(dof) else " (unpaired arms on different datasets)")
        basis = "difference of the arms' means"
    verdict = stats.decide(est.low, est.high, region) if est.n else stats.INCONCLUSIVE
    quantity = f"{side_label(a)} − {side_label(b)}"
    deferred = claim.get("decided_in") or {}
    need, plan = (planned_seeds(est, region, _declared_effect(claim, direction), independent=not paired, rules=rules)
                  if verdict == stats.INCONCLUSIVE or deferred else (math.nan, ""))
    detail = "" if est.n else "No seed has both sides."
    if deferred:
        alone = verdict
        verdict = stats.DEFERRED
        pilot = (f"This run's {int(est.n)} seeds are the pilot (on their own, {alone}"
                 + (f"; they plan {_seeds_text(need)}" if not math.isnan(need) else "") + "). " if est.n else "")
        detail = " ".join(x for x in (detail, f"{pilot}{deferred['config']} decides it: "
                                              f"{deferred['reason'].rstrip('.')}.") if x)
    return Verdict(
        claim_id=claim["id"], experiment=experiment, kind="effect", claim=claim["claim"], source=claim["source"],
        source_value=float(claim.get("source_value", math.nan)), ours=est.mean, ci_low=est.low, ci_high=est.high,
        n_seeds=est.n, verdict=verdict, seeds_needed=need,
        rule=f"{test} at {rules.test_level}: the {rules.interval} interval of the {basis} {region.describe()}",
        quantity=quantity, region=region.describe(_num),
        detail=" ".join(x for x in (detail, plan) if x), explanation=claim.get("explanation", ""),
        extra={"a": a, "b": b, "differences": diffs.tolist()}, test=test, p_holds=p_holds, p_fails=p_fails,
        values_a=list(arms[0]), values_b=list(arms[1]), margin_reason=claim.get("margin_reason", ""),
        magnitude=stats.magnitude(float(claim.get("source_value", math.nan)), est.low, est.high),
        magnitude_interval=(est.low, est.high), rules=rules, decided_in=deferred.get("config", ""))


def _value(claim: dict, experiment: str, observations: pd.DataFrame, config: dict,
           rules: stats.Rules = stats.DEFAULT_RULES) -> Verdict:
    side = {"split": "test", **{k: claim[k] for k in ("variant", "metric", "split") if k in claim}}
    values = per_seed(observations, side).dropna().to_numpy()
    est = stats.verdict_interval(values, bounds=metric_spec(experiment, side["metric"]).bounds, alpha=rules.alpha)
    tol, target = float(claim["tolerance"]), float(claim["source_value"])
    region = stats.Region.within(target - tol, target + tol)
    why_not = out_of_scope(claim, config, experiment)
    if why_not:
        verdict, detail, need = stats.OUT_OF_SCOPE, f"Out of scope: {why_not}.", math.nan
    else:
        verdict = stats.decide(est.low, est.high, region) if est.n else stats.INCONCLUSIVE
        detail = "" if est.n else "No seed has this value."
        need = (stats.seeds_needed(est, region, rules.alpha, rules.power) if verdict == stats.INCONCLUSIVE
                else math.nan)
    p_holds, p_fails = stats.p_values(values, region) if not why_not else (math.nan, math.nan)
    predicted = stats.prediction_interval(values, rules.confidence, metric_spec(experiment, side["metric"]).bounds)
    return Verdict(
        claim_id=claim["id"], experiment=experiment, kind="value", claim=claim["claim"], source=claim["source"],
        source_value=target, ours=est.mean, ci_low=est.low, ci_high=est.high, n_seeds=est.n, verdict=verdict,
        seeds_needed=need,
        rule=f"equivalence (TOST, one-sample t at {rules.test_level}): the {rules.interval} interval of the mean "
             f"within ±{tol:g} of the "
             "source's value, judged only on the source's data and settings",
        quantity=side_label(side), region=region.describe(_num), detail=detail,
        explanation=claim.get("explanation", ""), test="TOST (two one-sided one-sample t-tests)",
        p_holds=p_holds, p_fails=p_fails, values_a=list(values), margin_reason=claim.get("tolerance_reason", ""),
        magnitude=stats.magnitude(target, *predicted) if not why_not else "", magnitude_interval=predicted,
        rules=rules)


def _exact(claim: dict, experiment: str, examples: dict) -> Verdict:
    target, tol = float(claim["source_value"]), float(claim["tolerance"])
    region = stats.Region.within(target - tol, target + tol)
    ours = float(examples[claim["id"]]) if claim["id"] in examples else math.nan
    if math.isnan(ours):
        verdict, detail = stats.INCONCLUSIVE, "Not computed (no worked_examples.json entry)."
    else:
        verdict, detail = (stats.HOLDS if region.low <= ours <= region.high else stats.FAILS), ""
    return Verdict(
        claim_id=claim["id"], experiment=experiment, kind="exact", claim=claim["claim"], source=claim["source"],
        source_value=target, ours=ours, ci_low=math.nan, ci_high=math.nan, n_seeds=math.nan, verdict=verdict,
        seeds_needed=math.nan,
        rule=f"recomputed by our loss code on the source's worked example; |ours − source| ≤ {tol:g}",
        quantity=claim.get("quantity", claim["compute"]), region=region.describe(_exact_num),
        detail=detail, explanation=claim.get("explanation", ""), test="exact recomputation",
        margin_reason=claim.get("tolerance_reason", ""))


def _speed(claim: dict, experiment: str, timings: dict | None, rules: stats.Rules = stats.DEFAULT_RULES) -> Verdict:
    bound = float(claim["bound"])
    rounds = (timings or {}).get("rounds_seconds", {})
    slow, fast = rounds.get(claim["slower"], []), rounds.get(claim["faster"], [])
    log_ratios = np.log(np.asarray(slow, float) / np.asarray(fast, float)) if slow and fast else np.array([])
    log_est = stats.verdict_interval(log_ratios, alpha=rules.alpha)
    region_log = stats.Region.greater(math.log(bound))
    verdict = stats.decide(log_est.low, log_est.high, region_log) if log_est.n else stats.INCONCLUSIVE
    p_holds, p_fails = stats.p_values(log_ratios, region_log)
    device = (timings or {}).get("device", "?")
    detail = (f"Measured on {device}, batch {timings.get('batch')}, {timings.get('steps')} steps a round."
              if timings else "No timings.")
    return Verdict(
        claim_id=claim["id"], experiment=experiment, kind="speed", claim=claim["claim"], source=claim["source"],
        source_value=float(claim.get("source_value", math.nan)), ours=math.exp(log_est.mean),
        ci_low=math.exp(log_est.low), ci_high=math.exp(log_est.high), n_seeds=log_est.n, verdict=verdict,
        seeds_needed=(stats.seeds_needed(log_est, region_log, rules.alpha, rules.power)
                      if verdict == stats.INCONCLUSIVE else math.nan),
        rule=f"one-sided t-test at {rules.test_level} on the per-round log step-time ratio (rounds alternate the "
             f"order): the {rules.interval} interval of the ratio > {bound:g}",
        quantity=f"step time {claim['slower']} / {claim['faster']}", region=f"> {bound:g}", detail=detail,
        explanation=claim.get("explanation", ""), test="one-sided one-sample t-test on log ratios",
        p_holds=p_holds, p_fails=p_fails, values_a=list(slow), values_b=list(fast),
        margin_reason=claim.get("bound_reason", ""),
        magnitude=stats.magnitude(float(claim.get("source_value", math.nan)), math.exp(log_est.low),
                                  math.exp(log_est.high)),
        magnitude_interval=(math.exp(log_est.low), math.exp(log_est.high)), rules=rules)


def evaluate_claims(experiment: str, config: dict, observations: pd.DataFrame, examples: dict | None = None,
                    timings: dict | None = None) -> list[Verdict]:
    """Every claim of ``experiment`` decided. ``observations`` is the long per-run table (variant, seed, split,
    metric, value); ``examples`` maps exact claims' ids to our recomputed numbers; ``timings`` is speed.json.
    Alpha, power and the sd bound are the config's ``verdicts:`` (:class:`labelbench.stats.Rules`)."""
    rules = stats.Rules.from_config(config)
    out = []
    for claim in config["experiments"][experiment].get("claims", []):
        kind = claim["kind"]
        if kind == "effect":
            out.append(_effect(claim, experiment, observations, config, rules))
        elif kind == "value":
            out.append(_value(claim, experiment, observations, config, rules))
        elif kind == "exact":
            out.append(_exact(claim, experiment, examples or {}))
        elif kind == "speed":
            out.append(_speed(claim, experiment, timings, rules))
        else:  # the schema allows only KINDS
            raise ValueError(f"claim {claim.get('id')!r}: unknown kind {kind!r}; expected one of {KINDS}")
    return out


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame([v.record() for v in verdicts], columns=COLUMNS)


def write_claims(experiment: str, config: dict, metrics: str | Path, out_csv: str | Path,
                 cam: str | None = None, examples: str | None = None, timings: str | None = None) -> pd.DataFrame:
    """The claims job: decide ``experiment``'s claims from its per-run metrics (and, where its claims need them,
    the per-image Grad-CAM table, the recomputed worked examples and the step timings) and write the table."""
    from labelbench.io import write_table
    from labelbench.metrics import cam_observations

    observations = pd.read_parquet(metrics)
    if cam:
        observations = pd.concat([observations, cam_observations(pd.read_parquet(cam), experiment)],
                                 ignore_index=True)
    ex = json.loads(Path(examples).read_text()) if examples else None
    tm = json.loads(Path(timings).read_text()) if timings else None
    table = verdict_table(evaluate_claims(experiment, config, observations, ex, tm))
    write_table(table, out_csv)
    return table


def read_claims(paths: list[str | Path]) -> pd.DataFrame:
    """The claims tables of several experiments, in one frame with :data:`COLUMNS`."""
    frames = [pd.read_csv(p) for p in paths]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    for col in ADDED_COLUMNS:  # a table written before the column was added has it empty; any other missing raises
        if col not in table:
            table[col] = ""
    for col in TEXT_COLUMNS:
        table[col] = table[col].astype(object).fillna("")
    return table[COLUMNS]


def adjust_for_multiplicity(table: pd.DataFrame, rules: stats.Rules = stats.DEFAULT_RULES) -> pd.DataFrame:
    """The whole run's claims table with Holm's adjustment (:func:`labelbench.stats.holm`) over its decidable
    effect and speed claims: each claim's p is that of the direction its data lean to (the smaller of ``p_holds``
    and ``p_fails``), ``verdict_adjusted`` is that direction where the adjusted p stays under ``rules.alpha`` and
    *inconclusive* otherwise; ``family_size`` counts the family. Value and exact claims keep their verdict (judged
    against a source's figure one by one), and so do claims out of scope or decided in another config (not
    decided here; a deferral is the config's, fixed before the run, so the family does not depend on the data).
    A verdict the adjustment changes says so in its sentence."""
    out = table.copy()
    family = out["kind"].isin(FAMILY_KINDS) & ~out["verdict"].isin([stats.OUT_OF_SCOPE, stats.DEFERRED])
    p_holds = out["p_holds"].astype(float)
    p_fails = out["p_fails"].astype(float)
    lean_holds = p_holds <= p_fails
    p = np.where(lean_holds, p_holds, p_fails)
    p = np.where(family, p, np.nan)
    adjusted = stats.holm(p)
    size = int((family & ~np.isnan(p)).sum())
    out["family_size"] = np.where(family & ~np.isnan(p), size, np.nan)
    out["p_adjusted"] = adjusted
    decided = np.where(lean_holds, stats.HOLDS, stats.FAILS)
    out["verdict_adjusted"] = np.where(~family, out["verdict"],
                                       np.where(adjusted < rules.alpha, decided, stats.INCONCLUSIVE))
    changed = family & (out["verdict_adjusted"] != out["verdict"])
    out.loc[changed, "sentence"] = [
        f"{sentence} After Holm's adjustment over the run's {size} effect and speed claims (adjusted p = "
        f"{_num(p_adj)}): {after}."
        for sentence, p_adj, after in zip(out.loc[changed, "sentence"], out.loc[changed, "p_adjusted"],
                                          out.loc[changed, "verdict_adjusted"], strict=True)]
    return out
