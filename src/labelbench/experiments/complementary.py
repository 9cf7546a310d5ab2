"""Learning from complementary labels (source 002): each training image carries a class it is *not*; losses from
the source's and the field's, against ordinary labels; Grad-CAM of both kinds of model, measured."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score

from labelbench.cam_scores import cam_metric_families
from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.metric_kernels import EPOCH, SHARE
from labelbench.registry import uses_complementary_labels
from labelbench.selection import ORACLE, selected_column

DEPTHS = ("shallow", "middle", "deep")


def complementary_targets(ds) -> np.ndarray | None:
    """N×K 0/1 matrix of each image's complementary labels (its ``cl_*`` columns), or None when it has none. Reads
    nothing else of the sample table: the true labels stay unread."""
    cols = [c for c in ds.samples.columns if c.startswith("cl_")]
    if not cols:
        return None
    out = np.zeros((len(ds.samples), len(ds.classes)), np.float32)
    for c in cols:
        out[np.arange(len(ds.samples)), ds.samples[c].to_numpy()] = 1.0
    return out


def variant_seeds(spec: dict, variant: str) -> list[int]:
    """A variant's seeds: its own ``seeds``, or the experiment's."""
    return spec["variants"][variant].get("seeds", spec["seeds"])


@register_experiment
class Complementary(Experiment):
    name = "complementary"
    tasks = ("single-label",)
    target_kinds = ("labels", "complementary_labels")
    metrics = ("accuracy",)
    metric_ranges = {"accuracy": SHARE}
    #: per class (accuracy_<class>), per selection criterion (the test accuracy of the epoch it picked and that
    #: epoch's number), per Grad-CAM measure (labelbench.cam_scores)
    metric_families = {r"accuracy_by_.+": SHARE, r"best_epoch_by_.+": EPOCH, **cam_metric_families(),
                       r"accuracy_.+": SHARE}  # a class's name is a folder's: any character
    bar_metrics = ("accuracy",)
    curve_metrics = ("loss", "val_loss", "val_scel", "val_ure", "val_oracle_accuracy")
    figures = ("curves", "metrics", "confusion")
    tables = ("gradcam_metrics", "method_ranking")
    metric_tables = ("method_ranking",)
    gradcam = "keras_pairs"
    # a practitioner has complementary labels only: select on them by default, and record the true-label oracle
    selection_criteria = ("loss", "scel", "ure", "oracle_accuracy")
    default_selection = "scel"

    def check(self, key, spec, datasets):
        gradcam = spec.get("gradcam") or {}
        layers = gradcam.get("layers") or {}
        if not layers:
            raise ConfigError(f"{key}.gradcam.layers: expected the name of a layer at one or more of the depths "
                              f"{', '.join(DEPTHS)} (the Grad-CAM figures draw one grid per depth)")
        reference, compare = gradcam.get("reference", "ordinary"), gradcam.get("compare", "pc_sigmoid")
        for role, variant in (("reference", reference), ("compare", compare)):
            if variant not in spec["variants"]:
                raise ConfigError(
                    f"{key}.gradcam.{role}: the Grad-CAM grids compare gradcam.reference ({reference!r}) with "
                    f"gradcam.compare ({compare!r}), but {variant!r} is not a variant; expected one of "
                    f"{sorted(spec['variants'])}"
                )
        if not set(variant_seeds(spec, reference)) & set(variant_seeds(spec, compare)):
            raise ConfigError(
                f"{key}.variants: the Grad-CAM grids draw {reference!r} and {compare!r} of one seed, but they share "
                f"none ({variant_seeds(spec, reference)} and {variant_seeds(spec, compare)}); expected a seed in "
                "common"
            )

    def gradcam_figures(self, spec):
        return [f"gradcam_{d}_{w}" for d in spec["gradcam"]["layers"] for w in ("correct", "misclassified")]

    def training_targets(self, ds, variant):
        if not uses_complementary_labels(variant.get("loss")):
            return np.eye(len(ds.classes), dtype=np.float32)[ds.targets()]
        comp = complementary_targets(ds)
        if comp is None:
            raise ConfigError(
                f"variant with loss {variant['loss']!r} needs complementary labels, but the dataset has none: "
                "add `complementary: {method: uniform}` to its entry under datasets"
            )
        return comp

    def selection_inputs(self, ds):
        comp = complementary_targets(ds)
        if comp is None:
            return {}
        return {"complementary_labels": comp, "transition": (ds.meta.get("complementary") or {}).get("transition")}

    def split_metrics(self, part, threshold, context):
        cols = [c for c in part.columns if c.startswith("p_")]
        labels = part["label"].to_numpy()
        predicted = part[cols].to_numpy(np.float64).argmax(axis=1)
        values = {"accuracy": float(accuracy_score(labels, predicted))}
        for k, c in enumerate(cols):
            hit = labels == k
            values[f"accuracy_{c[2:]}"] = float(np.mean(predicted[hit] == k)) if hit.any() else float("nan")
        # the test predictions of the epoch each selection criterion ranked best (written by the trainer)
        for criterion in self.selection_criteria:
            chosen = [selected_column(criterion, c[2:]) for c in cols]
            if all(c in part for c in chosen) and part[chosen].notna().all().all():
                picked = part[chosen].to_numpy(np.float64).argmax(axis=1)
                values[f"accuracy_by_{criterion}"] = float(accuracy_score(labels, picked))
                values[f"best_epoch_by_{criterion}"] = float(part[selected_column(criterion, "epoch")].iloc[0])
        return values

    # ------------------------------------------------------------------------------------------ the ranking

    def table(self, kind, metrics, config, name):
        if kind != "method_ranking":
            return super().table(kind, metrics, config, name)
        return method_ranking(metrics, config["experiments"][name], name, self.selection_criteria)

    def table_caption(self, kind, config, name):
        if kind != "method_ranking":
            return ""
        spec = config["experiments"][name]
        training = spec["training"]
        selection = self.selection(training)
        criteria = ", ".join(f"by_{c}" for c in self.selection_criteria if c not in ORACLE)
        return (
            "The complementary-label methods ranked within each dataset by mean test accuracy over seeds (95 % "
            "Student-t interval, kept in [0, 1]), true-label variants below them as references. Each run's model is "
            f"the epoch chosen by training.selection = {selection}. One training run per variant and seed: every "
            f"epoch each criterion is computed on the validation images, early stopping follows {selection}, and "
            f"each criterion keeps the epoch it ranks best among the epochs that run trained; {criteria} and "
            f"by_oracle_accuracy are the test accuracies of those epochs (means over seeds). by_oracle_accuracy "
            "selects on the validation images' TRUE labels, an oracle a practitioner with complementary labels does "
            "not have; every other criterion reads their complementary labels only (labelbench.selection). "
            "diff_to_next: the paired per-seed difference to the method ranked next, decided as the claims' effects "
            "are (one-sided paired t-test at 5 %, 90 % interval). "
            f"Ours: {settings(spec, config['datasets'], selection)}. "
            f"CLCIFAR10 (clcifar10_accuracy, clcifar10_rank): {CLCIFAR10_SETTINGS}; rank_among_clcifar10_methods "
            "is our rank among the methods it reports."
        )


#: test accuracy per method on CLCIFAR10 (CIFAR-10's training images with human-annotated complementary labels),
#: as issue 24 quotes the ntucllab/complementary_cifar README; see CLCIFAR10_SETTINGS
CLCIFAR10 = {"fwd": 0.362, "scl_nl": 0.361, "scl_exp": 0.358, "ure_ga": 0.285, "dm": 0.139, "ure_nn": 0.115}
CLCIFAR10_SETTINGS = (
    "10 classes, CIFAR-10's 50,000 training images at 32 px, one complementary label per image, a ResNet trained "
    "200 epochs with Adam at learning rate 1e-4 (Wang et al. 2023, 'CLCIFAR: CIFAR-Derived Benchmark Datasets with "
    "Human-Annotated Complementary Labels', arXiv 2305.08295; figures as labelbench issue 24 quotes the "
    "ntucllab/complementary_cifar README; NOT verified: none of the 13 stored versions of that README (up to "
    "commit b210909) nor libcll's README carries these figures)"
)


def settings(spec: dict, datasets: dict, selection: str) -> str:
    """The settings of the experiment's runs, in one sentence for the ranking's caption."""
    parts = []
    for dataset in dict.fromkeys(v.get("dataset") or spec["dataset"] for v in spec["variants"].values()):
        d = datasets[dataset]
        size = f"{d['size']} px" if d.get("size") else "native size"
        classes = f"{len(d['classes'])} classes" if d.get("classes") else "its classes"
        train = f", {d['n_train_per_class']} training images per class" if d.get("n_train_per_class") else ""
        comp = d.get("complementary") or {}
        labels = (f", {comp.get('num_cl', 1)} {comp.get('method', 'uniform')} complementary label(s) per image"
                  if comp else "")
        parts.append(f"{dataset} ({d['source']}, {classes}, {size}{train}{labels})")
    model = ", ".join(f"{k} {v}" for k, v in spec["model"].items() if k != "name")
    t = spec["training"]
    seeds = sorted({s for v in spec["variants"] for s in variant_seeds(spec, v)})
    return (f"{'; '.join(parts)}; {spec['model']['name']}{f' ({model})' if model else ''}, "
            f"{t.get('optimizer', 'adam')} at learning rate {t.get('learning_rate')}"
            f"{' (AMSGrad)' if t.get('amsgrad') else ''}, batch {t.get('batch_size')}, up to {t.get('epochs')} epochs, "
            f"{t.get('validation_fraction', 0):g} of the training images for validation, patience "
            f"{t.get('patience')} on {selection}; seeds {seeds} (a variant may run fewer)")


def _by_seed(test: pd.DataFrame, variant: str) -> pd.Series:
    hit = test[(test["variant"] == variant) & (test["metric"] == "accuracy")]
    return hit.set_index("seed")["value"].astype(float).rename("a")


#: bootstrap resamples of the probability of improvement's interval (:func:`improvement_probability`)
POI_RESAMPLES = 2000


def improvement_probability(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """P(a run of method a scores above a run of method b) — Agarwal et al. 2021's probability of improvement,
    computed by rliable (``rliable.metrics.probability_of_improvement``: the Mann-Whitney U over all pairs of runs,
    ties counting a half) — with its 95 % percentile-bootstrap interval, each method's runs resampled on their
    own (the stratified bootstrap rliable's ``get_interval_estimates`` makes, here through
    ``scipy.stats.bootstrap``: rliable's own goes through the ``arch`` package, which fails to import with pandas
    3). Seeded: the same runs give the same interval.

    Unlike the paired difference, it needs no pairing and says how often, not by how much: a reader of a ranking
    of many methods can read 0.5 as a coin toss. With the 2–6 seeds of a run here the bootstrap has few distinct
    resamples and its interval is rough (labelbench.stats explains why verdicts use t-intervals instead); it is a
    description beside the verdict, never the verdict. (nan, nan, nan) with fewer than 2 runs a side."""
    from rliable.metrics import probability_of_improvement
    from scipy.stats import bootstrap

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    point = float(probability_of_improvement(a[:, None], b[:, None]))
    if np.ptp(np.concatenate([a, b])) == 0:
        return point, point, point
    res = bootstrap((a, b), _pairs_won, paired=False, vectorized=True, n_resamples=POI_RESAMPLES,
                    method="percentile", confidence_level=0.95, rng=np.random.default_rng(0))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def _pairs_won(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """rliable's probability of improvement for every bootstrap resample at once (the share of pairs x_i > y_j,
    ties a half; equal to ``probability_of_improvement`` on each, as tests/test_method_ranking.py checks). By hand
    because rliable's takes one resample a call: 2,000 of its Mann-Whitney calls per pair of methods made one
    ranking table take seconds."""
    x, y = np.moveaxis(x, axis, -1)[..., :, None], np.moveaxis(y, axis, -1)[..., None, :]
    return ((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1))


def method_ranking(metrics: pd.DataFrame, spec: dict, name: str, criteria: tuple[str, ...]) -> pd.DataFrame:
    """One row per variant: the complementary-label methods ranked within their dataset by mean test accuracy
    (interval over seeds, :func:`labelbench.stats.mean_interval`), the test accuracy under each selection
    criterion, the paired comparison with the next-ranked method, and CLCIFAR10's figure and rank for the same
    method beside ours.

    The comparison is two-sided: the ranking, not a hypothesis declared beforehand, chose which of the two is
    "above", so "better than next" needs the 95 % interval of the per-seed differences (scipy's paired t,
    ``ttest_rel``) wholly above 0 — a one-sided 5 % test in the direction the means happened to fall would call
    a tie "better" ~10 % of the time. Beside it, the probability that a run of the method beats a run of the next
    one, with its interval (:func:`improvement_probability`, rliable's measure)."""
    from scipy import stats as sps

    from labelbench.stats import HOLDS, INCONCLUSIVE, Region, decide, mean_interval

    test = metrics[metrics["split"] == "test"]

    def values(variant, metric):
        hit = test[(test["variant"] == variant) & (test["metric"] == metric)]
        return hit.sort_values("seed")["value"].to_numpy(np.float64)

    source_rank = {loss: i + 1 for i, loss in enumerate(sorted(CLCIFAR10, key=CLCIFAR10.get, reverse=True))}
    groups: dict[str, list[str]] = {}
    for variant, vspec in spec["variants"].items():
        groups.setdefault(vspec.get("dataset") or spec["dataset"], []).append(variant)
    rows = []
    for dataset, variants in groups.items():
        estimate = {v: mean_interval(values(v, "accuracy"), bounds=(0.0, 1.0)) for v in variants}
        methods = [v for v in variants if uses_complementary_labels(spec["variants"][v]["loss"])]
        ranked = sorted(methods, key=lambda v: -estimate[v].mean if estimate[v].n else math.inf)
        in_source = [v for v in ranked if spec["variants"][v]["loss"] in CLCIFAR10]
        for v in ranked + [v for v in variants if v not in methods]:
            loss = spec["variants"][v]["loss"]
            est = estimate[v]
            row = {"dataset": dataset, "variant": v, "loss": loss,
                   "labels": "complementary" if v in methods else "true (reference)", "n_seeds": est.n,
                   "rank": ranked.index(v) + 1 if v in methods else np.nan,
                   "accuracy": est.mean, "ci_low": est.low, "ci_high": est.high}
            for criterion in criteria:
                label = f"by_{criterion}" + (" (oracle)" if criterion in ORACLE else "")
                by = values(v, f"accuracy_by_{criterion}")
                row[label] = float(by.mean()) if len(by) else np.nan
            row.update({"next": "", "diff_to_next": np.nan, "diff_low": np.nan, "diff_high": np.nan,
                        "p_two_sided": np.nan, "better_than_next": "", "p_improvement": np.nan,
                        "p_improvement_low": np.nan, "p_improvement_high": np.nan})
            if v in methods and ranked.index(v) + 1 < len(ranked):
                below = ranked[ranked.index(v) + 1]
                both = pd.concat([_by_seed(test, v), _by_seed(test, below).rename("b")], axis=1).dropna()
                diffs = (both.iloc[:, 0] - both["b"]).to_numpy()
                est = mean_interval(diffs, confidence=0.95, bounds=(-1.0, 1.0))
                verdict = decide(est.low, est.high, Region.greater(0.0)) if est.n else INCONCLUSIVE
                p = (float(sps.ttest_rel(both.iloc[:, 0], both["b"]).pvalue) if est.n > 1 and np.ptp(diffs) > 0
                     else (0.0 if verdict == HOLDS else np.nan))
                poi, poi_low, poi_high = improvement_probability(values(v, "accuracy"), values(below, "accuracy"))
                row.update({"next": below, "diff_to_next": est.mean, "diff_low": est.low, "diff_high": est.high,
                            "p_two_sided": p, "better_than_next": verdict, "p_improvement": poi,
                            "p_improvement_low": poi_low, "p_improvement_high": poi_high})
            row["clcifar10_accuracy"] = CLCIFAR10.get(loss, np.nan)
            row["clcifar10_rank"] = source_rank.get(loss, np.nan)
            row["rank_among_clcifar10_methods"] = in_source.index(v) + 1 if v in in_source else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
